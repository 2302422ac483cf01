// The audit trail: every change to a threat model or one of its children records who, when, what
// changed, and the object's state after the change (used by rollback).
import { randomUUID } from 'node:crypto';
import { Params, type Queryable } from '../../store/db.ts';
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

const COLUMNS = `id, threat_model_id, object_type, object_id, version, change_type, actor_email, actor_provider,
  actor_provider_id, actor_display_name, change_summary, snapshot, created_at`;

/** The entry's values in COLUMNS' order, each as SQL: bound through `bind`, or given as SQL in `sql`. */
function entrySql(id: string, r: Omit<AuditRecord, 'version' | 'snapshot'>, at: Date, bind: (v: unknown) => string, sql: { version: string; snapshot: string }): string {
  return [
    bind(id),
    bind(r.threatModelId),
    bind(r.objectType),
    bind(r.objectId),
    sql.version,
    bind(r.changeType),
    bind(r.actor.email),
    bind(r.actor.provider),
    bind(r.actor.providerId),
    bind(r.actor.name),
    bind(r.summary),
    sql.snapshot,
    bind(at),
  ].join(', ');
}

/** Writes the entry; answers its id. */
export async function recordAudit(q: Queryable, r: AuditRecord, at: Date): Promise<string> {
  const id = randomUUID();
  const p = new Params();
  const version = p.bind(r.version);
  const snapshot = p.bind(r.snapshot === undefined ? null : JSON.stringify(r.snapshot));
  await q.query(`INSERT INTO audit_entries (${COLUMNS}) VALUES (${entrySql(id, r, at, p.bind, { version, snapshot })})`, p.values);
  return id;
}

/**
 * The same entry inside a larger statement, for what that statement writes: `INSERT INTO
 * audit_entries … SELECT … FROM <from>`, with the version and the snapshot as SQL over `from`.
 */
export function auditInsertSql(r: Omit<AuditRecord, 'version' | 'snapshot'>, at: Date, bind: (v: unknown) => string, from: string, sql: { version: string; snapshot: string }): string {
  return `INSERT INTO audit_entries (${COLUMNS}) SELECT ${entrySql(randomUUID(), r, at, bind, sql)} FROM ${from}`;
}
