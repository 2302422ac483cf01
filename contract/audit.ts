// The audit trail on the wire: AuditEntry, the cursor-paginated list of a threat model, the
// offset-paginated list of one object, and the rollback result (reference AuditEntry etc.).
import { Type, type Static } from 'typebox';
import { DateTime, Nullable, Paging, Uuid } from './common.ts';

export { OBJECT_TYPES } from './limits.ts';
export const CHANGE_TYPES = ['created', 'updated', 'patched', 'deleted', 'rolled_back', 'restored'] as const;

export const AuditActor = Type.Object({
  email: Type.String(),
  provider: Type.String(),
  provider_id: Type.String(),
  display_name: Type.String(),
});

export const AuditEntry = Type.Object({
  id: Uuid,
  threat_model_id: Uuid,
  object_type: Type.String(),
  object_id: Uuid,
  version: Nullable(Type.Integer()),
  change_type: Type.String(),
  actor: AuditActor,
  change_summary: Nullable(Type.String()),
  created_at: DateTime,
});
export type AuditEntry = Static<typeof AuditEntry>;

export const ListThreatModelAuditTrailResponse = Type.Object({
  audit_entries: Type.Array(AuditEntry),
  total: Type.Integer(),
  limit: Type.Integer(),
  next_cursor: Nullable(Type.String()),
  prev_cursor: Nullable(Type.String()),
});

export const ListAuditTrailResponse = Type.Object({
  audit_entries: Type.Array(AuditEntry),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

/** Enum-valued filters are plain strings here: the reference lower-cases them before checking. */
export const ThreatModelAuditQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  object_type: Type.Optional(Type.String({ maxLength: 32 })),
  change_type: Type.Optional(Type.String({ maxLength: 32 })),
  actor_email: Type.Optional(Type.String({ maxLength: 254, pattern: '^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$' })),
  created_after: Type.Optional(DateTime),
  created_before: Type.Optional(DateTime),
});
export type ThreatModelAuditQuery = Static<typeof ThreatModelAuditQuery>;

export const ObjectAuditQuery = Type.Object({ ...Paging });

export const RollbackResponse = Type.Object({
  restored_entity: Type.Record(Type.String(), Type.Unknown()),
  audit_entry: AuditEntry,
});

/** Our extension: the object's recorded state before and after one entry. */
export const AuditEntryDiff = Type.Object({
  entry: AuditEntry,
  before: Nullable(Type.Record(Type.String(), Type.Unknown())),
  after: Nullable(Type.Record(Type.String(), Type.Unknown())),
});
export type ListAuditTrailResponse = Static<typeof ListAuditTrailResponse>;
export type ListThreatModelAuditTrailResponse = Static<typeof ListThreatModelAuditTrailResponse>;
export type AuditEntryDiff = Static<typeof AuditEntryDiff>;
