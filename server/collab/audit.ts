// The audit entry of a collaboration session's edits, recorded when the session ends.
import type { Queryable } from '../store/db.ts';
import { recordAudit } from '../resources/common/audit.ts';
import { presentDiagram } from '../resources/diagrams/service.ts';
import * as diagrams from '../resources/diagrams/store.ts';

export async function recordSessionAudit(
  q: Queryable,
  e: { seq: number; diagramId: string; tmId: string; hostUuid: string; editors: number },
  reason: string,
): Promise<void> {
  const row = await diagrams.findDiagram(q, e.tmId, e.diagramId);
  if (!row) return;
  const host = await q.query<{ email: string; provider: string; provider_id: string; name: string }>(
    `SELECT email, provider, coalesce(provider_user_id, email) AS provider_id, name FROM users WHERE internal_uuid = $1`,
    [e.hostUuid],
  );
  const h = host[0];
  if (!h) return;
  await recordAudit(
    q,
    {
      threatModelId: e.tmId,
      objectType: 'diagram',
      objectId: e.diagramId,
      version: row.version,
      changeType: 'updated',
      actor: { email: h.email, provider: h.provider, providerId: h.provider_id, name: h.name },
      summary: `Diagram edited in a collaboration session: ${e.seq} operations by ${e.editors} ${e.editors === 1 ? 'user' : 'users'} (${reason})`,
      snapshot: presentDiagram(row, await diagrams.cells(q, e.diagramId)),
    },
    new Date(),
  );
}
