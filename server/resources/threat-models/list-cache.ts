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
// first) and for at most as long as their stamps are trusted (STAMP_TRUST_MS).
import type { Queryable } from '../../store/db.ts';
import { CHANGE_LOG_KEEP_MS, changedSinceSql, STAMP_TRUST_MS } from './store.ts';

/** How often an instance deletes change-log rows older than CHANGE_LOG_KEEP_MS (deletes are idempotent across instances). */
export const PRUNE_CHANGE_LOGS_EVERY_MS = 60_000;

/** The change logs: of the lists (0102), of the models' documents and child lists (0103), of who may write them (0104). */
const CHANGE_LOGS = ['threat_model_list_changes', 'threat_model_changes', 'threat_model_access_changes'] as const;

/**
 * Whether a list-relevant write committed since `snapshot` was taken (any write, with no snapshot),
 * and the snapshot to keep with an answer assembled now.
 */
export async function listChangesSince(q: Queryable, snapshot: string | undefined): Promise<{ changed: boolean; now: string }> {
  const rows = await q.query<{ changed: boolean; now: string }>(
    `SELECT ${changedSinceSql('threat_model_list_changes', '$1::text')} AS changed,
            pg_current_snapshot()::text AS now`,
    [snapshot ?? null],
    'tm_list_changes_since',
  );
  return rows[0]!;
}

/**
 * Deletes rows of the change logs that no kept answer, stored document or kept decision can need
 * any more (each instance, every PRUNE_CHANGE_LOGS_EVERY_MS).
 */
export async function pruneChangeLogs(q: Queryable): Promise<void> {
  for (const log of CHANGE_LOGS) {
    await q.query(`DELETE FROM ${log} WHERE at < now() - interval '${CHANGE_LOG_KEEP_MS / 1000} seconds'`, [], `${log}_prune`);
  }
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

  /** The answer kept for `key` and its stamp, if one was kept in the last STAMP_TRUST_MS. */
  get<S>(key: string): { stamp: S; text: string } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (Date.now() - e.keptAt > STAMP_TRUST_MS) {
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
