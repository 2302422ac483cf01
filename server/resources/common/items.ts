// SQL that every kind's table answers alike (columns id, threat_model_id, deleted_at, version):
// whether an item of a kind belongs to a threat model, for the features that serve every kind.
import type { Queryable } from '../../store/db.ts';
import type { Kind } from '../kinds.ts';

/** An item of this kind in this threat model, deleted or not; null when the model has none with this id. */
export async function findItem(q: Queryable, kind: Kind, tmId: string, id: string): Promise<{ deleted: boolean } | null> {
  // The table name comes from the kind (code), never from a request.
  const rows = await q.query<{ deleted: boolean }>(`SELECT deleted_at IS NOT NULL AS deleted FROM ${kind.table} WHERE id = $1 AND threat_model_id = $2`, [id, tmId]);
  return rows[0] ?? null;
}
