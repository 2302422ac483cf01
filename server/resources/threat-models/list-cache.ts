// The read model of GET /threat_models (migration 0102): answers this instance assembled, each
// kept with the list epoch read *before* it was assembled, and served again only while the epoch in
// the database is unchanged. Every write that can change any list bumps the epoch in its own
// transaction, so:
// - a write that committed before the epoch was read is in the answer;
// - a write that commits later moves the epoch on, and the answer is not served again.
// The epoch lives in the database, so another instance's writes count alike; the answers are kept
// per instance, in memory, within a byte budget (least recently used go first).
import type { Queryable } from '../../store/db.ts';

/** The epoch every list answer is checked against (one row; see migration 0102). */
export async function readListEpoch(q: Queryable): Promise<number> {
  const rows = await q.query<{ epoch: number }>('SELECT epoch FROM threat_model_list_epoch', [], 'tm_list_epoch');
  return Number(rows[0]?.epoch ?? 0);
}

interface Entry {
  epoch: number;
  text: string;
}

export class ListCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  /** `budget`: the bytes of answers kept in all (0: none); an answer over a quarter of it is not kept. */
  constructor(private readonly budget: number) {}

  /** The answer kept for `key` if it was assembled at `epoch`. */
  get(key: string, epoch: number): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.epoch !== epoch) {
      this.drop(key, e);
      return undefined;
    }
    // Most recently used last: the Map's order is the eviction order.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.text;
  }

  set(key: string, epoch: number, text: string): void {
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    const size = text.length + key.length;
    if (this.budget === 0 || size > this.budget / 4) return;
    this.entries.set(key, { epoch, text });
    this.bytes += size;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.drop(k, e);
    }
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.bytes -= e.text.length + key.length;
  }
}
