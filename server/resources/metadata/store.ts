// SQL for metadata entries (one polymorphic table keyed by entity type, entity id and key).
import type { Queryable } from '../../store/db.ts';
import type { Metadata } from '../../../contract/common.ts';

export async function listEntries(q: Queryable, type: string, id: string): Promise<Metadata[]> {
  return q.query<Metadata>('SELECT key, value FROM metadata WHERE entity_type = $1 AND entity_id = $2 ORDER BY key', [type, id]);
}

export async function getEntry(q: Queryable, type: string, id: string, key: string): Promise<Metadata | null> {
  const rows = await q.query<Metadata>('SELECT key, value FROM metadata WHERE entity_type = $1 AND entity_id = $2 AND key = $3', [type, id, key]);
  return rows[0] ?? null;
}

export async function existingKeys(q: Queryable, type: string, id: string, keys: string[]): Promise<string[]> {
  const rows = await q.query<{ key: string }>(
    'SELECT key FROM metadata WHERE entity_type = $1 AND entity_id = $2 AND key = ANY($3::text[]) ORDER BY key',
    [type, id, keys],
  );
  return rows.map((r) => r.key);
}

/** Inserts or overwrites the given entries; others stay. */
export async function upsertEntries(q: Queryable, type: string, id: string, items: Metadata[], at: Date): Promise<void> {
  if (items.length === 0) return;
  await q.query(
    `INSERT INTO metadata (entity_type, entity_id, key, value, created_at, modified_at)
     SELECT $1, $2, k, v, $5, $5 FROM unnest($3::text[], $4::text[]) AS m(k, v)
     ON CONFLICT (entity_type, entity_id, key) DO UPDATE SET value = EXCLUDED.value, modified_at = EXCLUDED.modified_at`,
    [type, id, items.map((m) => m.key), items.map((m) => m.value), at],
  );
}

export async function updateValue(q: Queryable, type: string, id: string, key: string, value: string, at: Date): Promise<boolean> {
  const rows = await q.query(
    'UPDATE metadata SET value = $4, modified_at = $5 WHERE entity_type = $1 AND entity_id = $2 AND key = $3 RETURNING key',
    [type, id, key, value, at],
  );
  return rows.length > 0;
}

export async function deleteEntry(q: Queryable, type: string, id: string, key: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM metadata WHERE entity_type = $1 AND entity_id = $2 AND key = $3 RETURNING key', [type, id, key]);
  return rows.length > 0;
}

/** Whether a live child with this id belongs to the threat model (table from the fixed segment list). */
export async function liveChildExists(q: Queryable, table: string, tmId: string, id: string): Promise<boolean> {
  const rows = await q.query(`SELECT 1 FROM ${table} WHERE id = $1 AND threat_model_id = $2 AND deleted_at IS NULL`, [id, tmId]);
  return rows.length > 0;
}
