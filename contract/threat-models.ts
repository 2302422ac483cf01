// Threat models on the wire: ThreatModelInput (POST/PUT), ThreatModel, TMListItem and the list envelope.
import { Type, type Static } from 'typebox';
import { Authorization, AuthorizationInput, DateTime, Metadata, Nullable, Paging, User, Uuid } from './common.ts';
import { THREAT_MODEL_TEXT } from './limits.ts';

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
  threats: Children,
  diagrams: Children,
  documents: Children,
  repositories: Children,
  notes: Children,
  assets: Children,
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
    document_count: Type.Integer(),
    repo_count: Type.Integer(),
    diagram_count: Type.Integer(),
    threat_count: Type.Integer(),
    asset_count: Type.Integer(),
    note_count: Type.Integer(),
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
});
export type ListThreatModelsQuery = Static<typeof ListThreatModelsQuery>;
