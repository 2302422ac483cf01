// SQL for metadata entries (one polymorphic table keyed by entity type, entity id and key): the
// only module that reads or writes the table. The entity type is the audit object type of what
// carries the entries: 'threat_model', or a kind's objectType.
import { Params, type Queryable } from '../../store/db.ts';
import type { Metadata } from '../../../contract/common.ts';
import type { ObjectType } from '../../../contract/limits.ts';

/** What carries entries: a threat model or one of its children, and the review workflow's entities. */
export type MetadataOwner = ObjectType | 'team' | 'project' | 'survey' | 'survey_response';

/**
 * SQL expression: the entries of the entity whose id is in `idColumn`, as a JSON array ordered by
 * key, for reads that return an entity with its metadata in one statement.
 */
export const metadataJsonSql = (type: MetadataOwner, idColumn: string) => `coalesce((
  SELECT json_agg(json_build_object('key', m.key, 'value', m.value) ORDER BY m.key)
  FROM metadata m WHERE m.entity_type = '${type}' AND m.entity_id = ${idColumn}), '[]'::json)`;

/** One entry per key; for a repeated key the later entry wins, as a client editing a list expects. */
export function oneEntryPerKey(items: readonly Metadata[]): Metadata[] {
  return [...new Map(items.map((m) => [m.key, m])).values()];
}

/**
 * The entity's entries become exactly `items` (a repeated key: the later entry) as part of a
 * statement: `with` holds the CTEs that do it (keys no longer given go, the others are written; a
 * key kept keeps its created_at), `json` the entries as metadataJsonSql reads them once written
 * (the statement itself does not see its own writes). `id` and `at` are SQL (placeholders); the
 * rest is bound through `bind`; `when`, SQL, says whether to write at all (the entity's own write
 * in the statement took place). A write of an entity and its entries is then one round trip.
 */
export function entriesReplacedSql(type: MetadataOwner, id: string, items: readonly Metadata[], at: string, bind: (v: unknown) => string, when = 'true'): { with: string; json: string } {
  const e = boundEntries(type, id, items, at, bind, when);
  return {
    with: `metadata_gone AS (DELETE FROM metadata WHERE entity_type = ${e.owner} AND entity_id = ${id} AND NOT (key = ANY(${e.keys}::text[])) AND ${when}),
     metadata_written AS (${e.insert}
       ON CONFLICT (entity_type, entity_id, key) DO UPDATE SET value = EXCLUDED.value, modified_at = EXCLUDED.modified_at)`,
    json: e.json,
  };
}

/**
 * As entriesReplacedSql, for an entity the same statement creates: it has no entries yet, so they
 * are only inserted (no delete of others, no conflict to resolve), which is less work per create.
 */
export function entriesOfNewSql(type: MetadataOwner, id: string, items: readonly Metadata[], at: string, bind: (v: unknown) => string): { with: string; json: string } {
  const e = boundEntries(type, id, items, at, bind);
  return { with: `metadata_written AS (${e.insert})`, json: e.json };
}

/**
 * `items` bound (one entry per key) for the two above: the owner and key placeholders, the
 * `INSERT … SELECT` that writes them, and `json`, the entries as metadataJsonSql reads them once written.
 */
function boundEntries(type: MetadataOwner, id: string, items: readonly Metadata[], at: string, bind: (v: unknown) => string, when = 'true') {
  const entries = oneEntryPerKey(items);
  const owner = bind(type);
  const keys = bind(entries.map((m) => m.key));
  const values = bind(entries.map((m) => m.value));
  return {
    owner,
    keys,
    insert: `INSERT INTO metadata (entity_type, entity_id, key, value, created_at, modified_at)
       SELECT ${owner}, ${id}, k, v, ${at}, ${at} FROM unnest(${keys}::text[], ${values}::text[]) AS m(k, v) WHERE ${when}`,
    json: `coalesce((SELECT json_agg(json_build_object('key', k, 'value', v) ORDER BY k) FROM unnest(${keys}::text[], ${values}::text[]) AS m(k, v)), '[]'::json)`,
  };
}

/** The entity's entries become exactly `items` (entriesReplacedSql), in one statement. */
export async function replaceEntries(q: Queryable, type: MetadataOwner, id: string, items: readonly Metadata[], at: Date): Promise<void> {
  const p = new Params();
  const replaced = entriesReplacedSql(type, p.bind(id), items, p.bind(at), p.bind);
  await q.query(`WITH ${replaced.with} SELECT 1`, p.values, 'metadata_replace');
}

export async function listEntries(q: Queryable, type: MetadataOwner, id: string): Promise<Metadata[]> {
  return q.query<Metadata>('SELECT key, value FROM metadata WHERE entity_type = $1 AND entity_id = $2 ORDER BY key', [type, id]);
}

export async function getEntry(q: Queryable, type: MetadataOwner, id: string, key: string): Promise<Metadata | null> {
  const rows = await q.query<Metadata>('SELECT key, value FROM metadata WHERE entity_type = $1 AND entity_id = $2 AND key = $3', [type, id, key]);
  return rows[0] ?? null;
}

export async function existingKeys(q: Queryable, type: MetadataOwner, id: string, keys: string[]): Promise<string[]> {
  const rows = await q.query<{ key: string }>(
    'SELECT key FROM metadata WHERE entity_type = $1 AND entity_id = $2 AND key = ANY($3::text[]) ORDER BY key',
    [type, id, keys],
  );
  return rows.map((r) => r.key);
}

/** Inserts or overwrites the given entries; others stay. */
export async function upsertEntries(q: Queryable, type: MetadataOwner, id: string, items: readonly Metadata[], at: Date): Promise<void> {
  if (items.length === 0) return;
  await q.query(
    `INSERT INTO metadata (entity_type, entity_id, key, value, created_at, modified_at)
     SELECT $1, $2, k, v, $5, $5 FROM unnest($3::text[], $4::text[]) AS m(k, v)
     ON CONFLICT (entity_type, entity_id, key) DO UPDATE SET value = EXCLUDED.value, modified_at = EXCLUDED.modified_at`,
    [type, id, items.map((m) => m.key), items.map((m) => m.value), at],
  );
}

export async function updateValue(q: Queryable, type: MetadataOwner, id: string, key: string, value: string, at: Date): Promise<boolean> {
  const rows = await q.query(
    'UPDATE metadata SET value = $4, modified_at = $5 WHERE entity_type = $1 AND entity_id = $2 AND key = $3 RETURNING key',
    [type, id, key, value, at],
  );
  return rows.length > 0;
}

/** Removes every entry of the given objects (as the objects themselves are deleted). */
export async function deleteAllEntries(q: Queryable, type: MetadataOwner, ids: readonly string[]): Promise<void> {
  if (ids.length) await q.query('DELETE FROM metadata WHERE entity_type = $1 AND entity_id = ANY($2::uuid[])', [type, ids]);
}

export async function deleteEntry(q: Queryable, type: MetadataOwner, id: string, key: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM metadata WHERE entity_type = $1 AND entity_id = $2 AND key = $3 RETURNING key', [type, id, key]);
  return rows.length > 0;
}
