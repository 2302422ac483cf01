// The audit trail: every change to a threat model or one of its children records who, when, what
// changed, and the object's state after the change (used by rollback).
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../store/db.ts';
import type { ObjectType } from '../../../contract/limits.ts';

export type ChangeType = 'created' | 'updated' | 'patched' | 'deleted' | 'restored' | 'rolled_back';

export interface Actor {
  email: string;
  provider: string;
  providerId: string;
  name: string;
}

export interface AuditRecord {
  threatModelId: string;
  /** The threat model or a kind's objectType (contract/limits.ts CHILD_KINDS). */
  objectType: ObjectType;
  objectId: string;
  version: number | null;
  changeType: ChangeType;
  actor: Actor;
  summary: string;
  /** The object as it is after the change; omitted for deletions. */
  snapshot?: unknown;
}

export async function recordAudit(q: Queryable, r: AuditRecord, at: Date): Promise<string> {
  const id = randomUUID();
  await q.query(
    `INSERT INTO audit_entries (id, threat_model_id, object_type, object_id, version, change_type, actor_email, actor_provider,
       actor_provider_id, actor_display_name, change_summary, snapshot, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      id,
      r.threatModelId,
      r.objectType,
      r.objectId,
      r.version,
      r.changeType,
      r.actor.email,
      r.actor.provider,
      r.actor.providerId,
      r.actor.name,
      r.summary,
      r.snapshot === undefined ? null : JSON.stringify(r.snapshot),
      at,
    ],
  );
  return id;
}
