// List answers an instance keeps (the read models of the lists), each with the stamp of the
// database state it was assembled from, taken *before* assembling; the caller serves one again only
// while its stamp is still current:
// - GET /threat_models: a snapshot (pg_current_snapshot), current while every transaction recorded
//   in threat_model_list_changes (migration 0102) is visible in it;
// - a child list: a snapshot too, current while every change recorded for the model in the read
//   model's log, threat_model_changes (migration 0103), is visible in it.
// Every write that can change an answer records itself in its own transaction, so a write
// committed before the stamp was taken is in the answer, and one committed later makes the stamp
// stale. The stamps are checked against the database, so another instance's writes count alike;
// the answers are kept per instance, in memory, within a byte budget (least recently used go
// first) and for at most ENTRY_TTL_MS (the change logs keep 20 minutes).
import type { Queryable } from '../../store/db.ts';

/** How long an answer may be kept: well inside the 20 minutes the change log is kept. */
const ENTRY_TTL_MS = 10 * 60_000;
/** How often an instance deletes change-log rows older than 20 minutes (deletes are idempotent across instances). */
export const PRUNE_CHANGE_LOGS_EVERY_MS = 60_000;

/**
 * Whether a list-relevant write committed since `snapshot` was taken (any write, with no snapshot),
 * and the snapshot to keep with an answer assembled now.
 */
export async function listChangesSince(q: Queryable, snapshot: string | undefined): Promise<{ changed: boolean; now: string }> {
  const rows = await q.query<{ changed: boolean; now: string }>(
    `SELECT $1::text IS NULL OR EXISTS (
              SELECT 1 FROM threat_model_list_changes c
              WHERE c.xid >= pg_snapshot_xmin($1::text::pg_snapshot) AND NOT pg_visible_in_snapshot(c.xid, $1::text::pg_snapshot)) AS changed,
            pg_current_snapshot()::text AS now`,
    [snapshot ?? null],
    'tm_list_changes_since',
  );
  return rows[0]!;
}

/**
 * Deletes rows of the change logs (the lists', the models', their access decisions') that no kept
 * answer, stored document or kept decision can need any more: their stamps are trusted 10 minutes
 * (each instance, every PRUNE_CHANGE_LOGS_EVERY_MS).
 */
export async function pruneChangeLogs(q: Queryable): Promise<void> {
  await q.query(`DELETE FROM threat_model_list_changes WHERE at < now() - interval '20 minutes'`, [], 'tm_list_changes_prune');
  await q.query(`DELETE FROM threat_model_changes WHERE at < now() - interval '20 minutes'`, [], 'tm_changes_prune');
  await q.query(`DELETE FROM threat_model_access_changes WHERE at < now() - interval '20 minutes'`, [], 'tm_access_changes_prune');
}

interface Entry<S> {
  stamp: S;
  text: string;
  keptAt: number;
}

export class ListCache {
  private readonly entries = new Map<string, Entry<unknown>>();
  private bytes = 0;

  /** `budget`: the bytes of answers kept in all (0: none); an answer over a quarter of it is not kept. */
  constructor(private readonly budget: number) {}

  /** The answer kept for `key` and its stamp, if one was kept in the last ENTRY_TTL_MS. */
  get<S>(key: string): { stamp: S; text: string } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (Date.now() - e.keptAt > ENTRY_TTL_MS) {
      this.drop(key);
      return undefined;
    }
    // Most recently used last: the Map's order is the eviction order.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e as Entry<S>;
  }

  set<S>(key: string, stamp: S, text: string): void {
    this.drop(key);
    const size = text.length + key.length;
    if (this.budget === 0 || size > this.budget / 4) return;
    this.entries.set(key, { stamp, text, keptAt: Date.now() });
    this.bytes += size;
    for (const k of this.entries.keys()) {
      if (this.bytes <= this.budget) break;
      this.drop(k);
    }
  }

  drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.text.length + key.length;
  }
}
