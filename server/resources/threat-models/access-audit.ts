// Access-list changes and ownership transfers of a threat model in the system audit log (issue 14):
// one entry per write that changes who may access the model or who owns it, written in the
// write's own transaction (server/admin/system-audit.ts), with the owner and the entries before
// and after. A write that leaves both as they were records nothing. The order of the entries does
// not count as a change (it grants nothing).
import { recordSystemAudit, type AuditActor } from '../../admin/system-audit.ts';
import { accessDiff } from '../../security-events.ts';
import type { Queryable } from '../../store/db.ts';
import type { ThreatModelRow } from './store.ts';

/** An access list as the audit log keeps it: what an authorization entry names, no internal ids. */
function auditedAccess(row: ThreatModelRow) {
  return {
    owner: { provider: row.owner.provider, provider_id: row.owner.provider_id, email: row.owner.email },
    authorization: row.access.map((a) => ({
      principal_type: a.principal_type,
      provider: a.provider,
      provider_id: a.provider_id,
      ...(a.email ? { email: a.email } : {}),
      role: a.role,
    })),
  };
}

const named = (e: { provider: string; provider_id: string }) => `${e.provider}:${e.provider_id}`;

/**
 * Records the change from `before` to `after` (the same model read in the writing transaction),
 * if there is one; true when it did. `via` is the request that made it.
 */
export async function recordAccessChange(
  q: Queryable,
  via: { actor: AuditActor; method: string; path: string },
  before: ThreatModelRow,
  after: ThreatModelRow,
): Promise<boolean> {
  const diff = accessDiff(before.access, after.access);
  const ownerChanged = before.owner_uuid !== after.owner_uuid;
  if (!diff && !ownerChanged) return false;
  const parts: string[] = [];
  if (ownerChanged) parts.push(`owner ${named(auditedAccess(before).owner)} → ${named(auditedAccess(after).owner)}`);
  if (diff) {
    if (diff.added.length) parts.push(`added ${diff.added.map((e) => `${named(e)} (${e.role})`).join(', ')}`);
    if (diff.removed.length) parts.push(`removed ${diff.removed.map(named).join(', ')}`);
    if (diff.role_changed.length) parts.push(`changed ${diff.role_changed.map((e) => `${named(e)} ${e.previous_role} → ${e.role}`).join(', ')}`);
  }
  let summary = `Access to threat model "${after.name}": ${parts.join('; ')}`;
  if (summary.length > 500) summary = `${summary.slice(0, 497)}...`;
  await recordSystemAudit(q, {
    ...via,
    action: ownerChanged ? 'threat_model.owner_changed' : 'threat_model.access_changed',
    targetType: 'threat_model',
    targetId: after.id,
    fieldPath: `threat_models.${after.id}.${ownerChanged ? 'owner' : 'authorization'}`,
    before: auditedAccess(before),
    after: auditedAccess(after),
    summary,
  });
  return true;
}
