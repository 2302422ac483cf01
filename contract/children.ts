// Wire pieces shared by the children of a threat model (threats, assets, documents, notes,
// repositories): the server-set fields, list paging and the bulk/restore shapes.
import { Type, type TSchema } from 'typebox';
import { DateTime, Metadata, Nullable, Paging, UUID_PATTERN, Uuid } from './common.ts';

export const NAME = '^[^<>"\'&]*$';
export const SHORT_TEXT = '^[^\\x00-\\x1F]*$';
/** Any `scheme://...` URI, as Document.uri and Repository.uri. */
export const ANY_URI = '^[a-zA-Z][a-zA-Z0-9+.-]*://[^\\s]*$';
/** A UUID or the empty string (threat links to diagram, cell, asset). */
export const OPTIONAL_UUID = Type.String({ maxLength: 36, pattern: '^$|^[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*-[0-9a-fA-F]*$' });

/** Fields every child carries in responses; `version` only where the family has one. */
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

export const listEnvelope = (key: string, item: TSchema) =>
  Type.Object({ [key]: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });

/** A client-chosen id on bulk create/upsert items (honoured, as the reference). */
export const BulkId = Type.String({ format: 'uuid', pattern: UUID_PATTERN, maxLength: 36 });
