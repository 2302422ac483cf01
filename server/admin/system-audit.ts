// The system audit log: who did what across the server (administrative writes, administrators'
// sign-ins, ownership transfers, account deletions), with the target and the state before and
// after. Written in the same transaction as the change it records, so a change is never without
// its entry and a rolled-back change leaves none. Secret-looking fields are redacted on the way in.
import { createHash, randomUUID } from 'node:crypto';
import type { Queryable } from '../store/db.ts';

export interface AuditActor {
  userUuid: string | null;
  email: string;
  provider: string;
  providerId: string;
  name: string;
}

export interface SystemAuditRecord {
  actor: AuditActor;
  /** Stable name of what happened, e.g. `user.updated`, `group.member_added`, `settings.updated`. */
  action: string;
  method: string;
  /** The route template (`/admin/users/:user_id`), never a URL with query values. */
  path: string;
  targetType: string;
  targetId: string | null;
  fieldPath: string;
  before?: unknown;
  after?: unknown;
  /** The whole value is a secret whatever the field path says (a setting the registry calls secret). */
  secret?: boolean;
  summary: string;
}

const SECRET_KEY = /(password|passphrase|secret|api_?key|token|credential|private_key|signing_key|encryption)/i;

/** A value with every secret-looking field replaced by a marker and the first 8 hex of its SHA-256. */
export function redact(value: unknown, secret = false): unknown {
  if (value === undefined) return null;
  if (secret) {
    if (value === null || value === '') return '<empty>';
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return { redacted: true, sha256_prefix: createHash('sha256').update(text).digest('hex').slice(0, 8) };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, SECRET_KEY.test(k))]));
  }
  return value;
}

export async function recordSystemAudit(q: Queryable, r: SystemAuditRecord): Promise<string> {
  const id = randomUUID();
  const secretField = Boolean(r.secret) || SECRET_KEY.test(r.fieldPath);
  await q.query(
    `INSERT INTO system_audit (id, actor_uuid, actor_email, actor_provider, actor_provider_id, actor_display_name, action,
       http_method, http_path, target_type, target_id, field_path, old_value, new_value, change_summary)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15)`,
    [
      id,
      r.actor.userUuid,
      r.actor.email,
      r.actor.provider,
      r.actor.providerId,
      r.actor.name,
      r.action,
      r.method,
      r.path,
      r.targetType,
      r.targetId,
      r.fieldPath,
      r.before === undefined ? null : JSON.stringify(redact(r.before, secretField)),
      r.after === undefined ? null : JSON.stringify(redact(r.after, secretField)),
      r.summary,
    ],
  );
  return id;
}

/** The actor of a request's principal. */
export const auditActor = (p: { userUuid: string; email: string; provider: string; providerId: string; name: string }): AuditActor => ({
  userUuid: p.userUuid,
  email: p.email,
  provider: p.provider,
  providerId: p.providerId,
  name: p.name,
});
