// SQL of suggestions: dismissals per threat model, and the rule packs administrators uploaded.
import type { Queryable } from '../../store/db.ts';
import type { Pack } from '../../../rules/index.ts';

export async function dismissals(q: Queryable, tmId: string): Promise<string[]> {
  const rows = await q.query<{ fingerprint: string }>('SELECT fingerprint FROM suggestion_dismissals WHERE threat_model_id = $1', [tmId]);
  return rows.map((r) => r.fingerprint);
}

export async function addDismissal(q: Queryable, tmId: string, fingerprint: string, by: string, at: Date): Promise<void> {
  await q.query(
    'INSERT INTO suggestion_dismissals (threat_model_id, fingerprint, dismissed_by, dismissed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (threat_model_id, fingerprint) DO NOTHING',
    [tmId, fingerprint, by, at],
  );
}

/** True when a dismissal was removed. */
export async function removeDismissal(q: Queryable, tmId: string, fingerprint: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM suggestion_dismissals WHERE threat_model_id = $1 AND fingerprint = $2 RETURNING fingerprint', [tmId, fingerprint]);
  return rows.length > 0;
}

export interface PackRow {
  id: string;
  name: string;
  version: string;
  pack: Pack;
  created_at: Date;
  modified_at: Date;
}

export async function listPacks(q: Queryable): Promise<PackRow[]> {
  return q.query<PackRow>('SELECT id, name, version, pack, created_at, modified_at FROM rule_packs ORDER BY id');
}

export async function findPack(q: Queryable, id: string, forUpdate = false): Promise<PackRow | null> {
  const rows = await q.query<PackRow>(`SELECT id, name, version, pack, created_at, modified_at FROM rule_packs WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function insertPack(q: Queryable, pack: Pack, by: string, at: Date): Promise<void> {
  await q.query('INSERT INTO rule_packs (id, name, version, pack, created_by, created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $6)', [
    pack.id,
    pack.name,
    pack.version,
    JSON.stringify(pack),
    by,
    at,
  ]);
}

export async function updatePack(q: Queryable, pack: Pack, at: Date): Promise<void> {
  await q.query('UPDATE rule_packs SET name = $2, version = $3, pack = $4, modified_at = $5 WHERE id = $1', [pack.id, pack.name, pack.version, JSON.stringify(pack), at]);
}

export async function deletePack(q: Queryable, id: string): Promise<boolean> {
  return (await q.query('DELETE FROM rule_packs WHERE id = $1 RETURNING id', [id])).length > 0;
}

/** Serialises uploads so that two administrators cannot add clashing rule ids at once. */
export async function lockPacks(q: Queryable): Promise<void> {
  await q.query("SELECT pg_advisory_xact_lock(hashtextextended('tmi:rule-packs', 0))");
}
