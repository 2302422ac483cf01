// Wire pieces shared by the children of a threat model (threats, assets, documents, notes,
// repositories): the server-set fields, list paging and the bulk/restore shapes.
import { Type, type TArray, type TInteger, type TSchema } from 'typebox';
import { DateTime, Metadata, Nullable, Paging, Uuid } from './common.ts';
import { OPTIONAL_UUID_PATTERN, UUID_PATTERN } from './limits.ts';

export { ANY_URI } from './limits.ts';
/** A UUID or the empty string (threat links to diagram, cell, asset). */
export const OPTIONAL_UUID = Type.String({ maxLength: 36, pattern: OPTIONAL_UUID_PATTERN });

/** Fields every child carries in responses; `version` only where the kind has one. */
export const serverFields = (versioned: boolean) => ({
  id: Uuid,
  metadata: Type.Array(Metadata),
  created_at: DateTime,
  modified_at: DateTime,
  deleted_at: Type.Optional(Nullable(DateTime)),
  alias: Type.Integer(),
  ...(versioned ? { version: Type.Integer() } : {}),
});

export const ChildListQuery = Type.Object({
  ...Paging,
  include_deleted: Type.Optional(Type.Boolean()),
});

type ListEnvelope<K extends string, T extends TSchema> = { [P in K]: TArray<T> } & { total: TInteger; limit: TInteger; offset: TInteger };
export const listEnvelope = <K extends string, T extends TSchema>(key: K, item: T) =>
  Type.Object({ [key]: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() } as ListEnvelope<K, T>);

/** A client-chosen id on bulk create/upsert items (honoured, as the reference). */
export const BulkId = Type.String({ format: 'uuid', pattern: UUID_PATTERN, maxLength: 36 });
