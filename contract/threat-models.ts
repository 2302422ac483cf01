// Threat models on the wire: ThreatModelInput (POST/PUT), ThreatModel, TMListItem and the list envelope.
import { Type, type Static, type TBoolean, type TInteger } from 'typebox';
import { Authorization, AuthorizationInput, DateTime, Metadata, Nullable, Paging, Role, User, Uuid } from './common.ts';
import { CHILD_KINDS, THREAT_MODEL_TEXT, type ChildCountKey, type ChildKindName } from './limits.ts';

export const ThreatModelInput = Type.Object(
  {
    name: Type.String(THREAT_MODEL_TEXT.name),
    description: Type.Optional(Nullable(Type.String(THREAT_MODEL_TEXT.description))),
    threat_model_framework: Type.Optional(Nullable(Type.String(THREAT_MODEL_TEXT.threat_model_framework))),
    authorization: Type.Optional(Type.Array(AuthorizationInput, { maxItems: 1000 })),
    metadata: Type.Optional(Nullable(Type.Array(Metadata, { maxItems: 100 }))),
    issue_uri: Type.Optional(Nullable(Type.String(THREAT_MODEL_TEXT.issue_uri))),
    is_confidential: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ThreatModelInput = Static<typeof ThreatModelInput>;

/** Embedded children are described by their own resources; here they pass through as objects. */
const Children = Type.Array(Type.Record(Type.String(), Type.Unknown()));
/** ThreatModel embeds the live items of every kind of child, under the kind's name. */
const embedded = Object.fromEntries(CHILD_KINDS.map((k) => [k.name, Children])) as { [K in ChildKindName]: typeof Children };
/** A list item counts the live items of every kind. */
const counts = Object.fromEntries(CHILD_KINDS.map((k) => [k.count, Type.Integer()])) as { [K in ChildCountKey]: TInteger };

export const ThreatModel = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.Optional(Nullable(Type.String())),
  owner: User,
  created_by: User,
  threat_model_framework: Type.String(),
  authorization: Type.Array(Authorization),
  metadata: Type.Array(Metadata),
  issue_uri: Type.Optional(Nullable(Type.String())),
  status: Type.String(),
  status_updated: DateTime,
  alias: Type.Integer(),
  security_reviewer: Type.Optional(Nullable(User)),
  project_id: Type.Optional(Nullable(Uuid)),
  is_confidential: Type.Boolean(),
  created_at: DateTime,
  modified_at: DateTime,
  deleted_at: Type.Optional(Nullable(DateTime)),
  version: Type.Integer(),
  ...embedded,
});
export type ThreatModel = Static<typeof ThreatModel>;

/** Closed, as the contract's: nothing beyond the reference's list item leaves the server. */
export const TMListItem = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.Optional(Nullable(Type.String())),
    created_at: DateTime,
    modified_at: DateTime,
    owner: User,
    created_by: User,
    threat_model_framework: Type.String(),
    ...counts,
    issue_uri: Type.Optional(Nullable(Type.String())),
    status: Type.String(),
    status_updated: DateTime,
    security_reviewer: Type.Optional(Nullable(User)),
    deleted_at: Type.Optional(Nullable(DateTime)),
    alias: Type.Integer(),
  },
  { additionalProperties: false },
);
export type TMListItem = Static<typeof TMListItem>;

export const ListThreatModelsResponse = Type.Object({
  threat_models: Type.Array(TMListItem),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
export type ListThreatModelsResponse = Static<typeof ListThreatModelsResponse>;

const DateFilter = Type.Optional(Type.String({ maxLength: 64 }));
export const ListThreatModelsQuery = Type.Object({
  ...Paging,
  owner: Type.Optional(Type.String({ maxLength: 256 })),
  name: Type.Optional(Type.String({ maxLength: 256 })),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  issue_uri: Type.Optional(Type.String({ maxLength: 1000 })),
  status: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Array(Type.String({ maxLength: 128 }), { maxItems: 50 })])),
  security_reviewer: Type.Optional(Type.String({ maxLength: 256 })),
  created_after: DateFilter,
  created_before: DateFilter,
  modified_after: DateFilter,
  modified_before: DateFilter,
  status_updated_after: DateFilter,
  status_updated_before: DateFilter,
  include_deleted: Type.Optional(Type.Boolean()),
  /** TMI-TS extension: only models of this project. */
  project_id: Type.Optional(Uuid),
  /** TMI-TS extension: only models of the projects of this team. */
  team_id: Type.Optional(Uuid),
});
export type ListThreatModelsQuery = Static<typeof ListThreatModelsQuery>;

/**
 * What a caller may do with a threat model: the actions of the API (`delete` is deleting the model
 * or a diagram; writers delete the other children) and the guarded changes. Names as server/authz.
 */
export const ABILITIES = [
  'read',
  'collaborate',
  'write',
  'delete',
  'share',
  'restore',
  'rollback',
  'list_deleted',
  'change_status',
  'assign_security_reviewer',
] as const;
export type Ability = (typeof ABILITIES)[number];

/**
 * GET /threat_models/{id}/permissions (our extension, docs/compatibility.md): the caller's role on
 * the model and what it lets them do, as the server decides it, so a client offers only that.
 */
export const ThreatModelPermissions = Type.Object(
  {
    threat_model_id: Uuid,
    role: Role,
    abilities: Type.Object(Object.fromEntries(ABILITIES.map((a) => [a, Type.Boolean()])) as { [A in Ability]: TBoolean }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type ThreatModelPermissions = Static<typeof ThreatModelPermissions>;
