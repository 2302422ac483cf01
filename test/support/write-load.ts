// Steady client load for fault runs (test/outage.test.ts, bench/faults/run.ts): writers that each
// create threats (POST), replace their own threat (PUT) with a numbered version and read it back
// (GET), spread over one or more TMI instances. Every answer is recorded with its time; afterwards
// lostWrites() reads the data back through the API and counts acknowledged writes that are not
// there — a created threat that is missing, or a threat whose stored version is older than the
// last replacement that got a 2xx.
import { randomUUID } from 'node:crypto';

export type Kind = 'create' | 'update' | 'read';

export interface Outcome {
  at: number;
  /** Which writer (writer i talks to instance i % instances). */
  writer: number;
  kind: Kind;
  /** HTTP status, or 0 when there was no HTTP answer at all (connection refused or reset). */
  status: number;
  /** For answers that are not 2xx: a Retry-After header and the reference's error envelope. */
  retryAfter?: string | null;
  error?: string;
  envelope?: boolean;
}

interface Writer {
  index: number;
  base: string;
  threatId: string;
  /** Version numbers sent in PUTs, in order, and whether each was acknowledged. */
  versions: { n: number; acked: boolean }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class WriteLoad {
  readonly outcomes: Outcome[] = [];
  /** Ids of threats whose creation was acknowledged (2xx). */
  readonly created = new Set<string>();
  private readonly writers: Writer[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  private constructor(
    private readonly token: string,
    private readonly tmId: string,
  ) {}

  /** Creates one threat per writer (before any fault); writer i talks to bases[i % bases.length]. */
  static async prepare(bases: string[], token: string, tmId: string, writers: number): Promise<WriteLoad> {
    const load = new WriteLoad(token, tmId);
    for (let i = 0; i < writers; i++) {
      const base = bases[i % bases.length]!;
      const res = await load.request(base, 'POST', `/threat_models/${tmId}/threats`, { name: 'v0', threat_type: [] });
      if (res.status !== 201) throw new Error(`could not prepare writer ${i}: ${res.status} ${JSON.stringify(res.body)}`);
      load.writers.push({ index: i, base, threatId: (res.body as { id: string }).id, versions: [] });
    }
    return load;
  }

  private async request(base: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
  }

  private async attempt(w: Writer, kind: Kind, method: string, url: string, body?: unknown): Promise<{ status: number; body?: unknown }> {
    const outcome: Outcome = { at: 0, writer: w.index, kind, status: 0 };
    let answer: unknown;
    try {
      const res = await this.request(w.base, method, url, body);
      outcome.status = res.status;
      answer = res.body;
      if (res.status >= 300) {
        const b = res.body as { error?: unknown; error_description?: unknown } | undefined;
        outcome.retryAfter = res.retryAfter;
        outcome.error = typeof b?.error === 'string' ? b.error : undefined;
        outcome.envelope = typeof b?.error === 'string' && typeof b?.error_description === 'string';
      }
    } catch (err) {
      outcome.error = (err as Error).message;
    }
    outcome.at = Date.now();
    this.outcomes.push(outcome);
    return { status: outcome.status, body: answer };
  }

  private async loop(w: Writer): Promise<void> {
    while (this.running) {
      const created = await this.attempt(w, 'create', 'POST', `/threat_models/${this.tmId}/threats`, { name: `c-${randomUUID()}`, threat_type: [] });
      if (created.status === 201) this.created.add((created.body as { id: string }).id);
      const n = w.versions.length + 1;
      const version = { n, acked: false };
      w.versions.push(version);
      const updated = await this.attempt(w, 'update', 'PUT', `/threat_models/${this.tmId}/threats/${w.threatId}`, { name: `v${n}`, threat_type: [] });
      version.acked = updated.status === 200;
      const read = await this.attempt(w, 'read', 'GET', `/threat_models/${this.tmId}/threats/${w.threatId}`);
      // A client that was turned away waits a little before it tries again (not the 5 s the
      // server suggests: the point is to see when service comes back).
      if (created.status !== 201 || updated.status !== 200 || read.status !== 200) await sleep(100);
    }
  }

  /** True when every writer has had a write acknowledged since `since` (all instances serve again). */
  allWritersSucceededSince(since: number): boolean {
    return this.writers.every((w) => this.outcomes.some((o) => o.writer === w.index && o.at > since && o.kind !== 'read' && o.status >= 200 && o.status < 300));
  }

  start(): void {
    this.running = true;
    this.loops = this.writers.map((w) => this.loop(w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Reads everything back through `base`; counts acknowledged writes that are not there. */
  async lostWrites(base: string): Promise<{ checked: number; lost: string[] }> {
    const stored = new Set<string>();
    for (let offset = 0; ; offset += 100) {
      const page = await this.request(base, 'GET', `/threat_models/${this.tmId}/threats?limit=100&offset=${offset}`);
      if (page.status !== 200) throw new Error(`listing threats failed: ${page.status}`);
      const items = (page.body as { threats: { id: string }[] }).threats;
      for (const t of items) stored.add(t.id);
      if (items.length < 100) break;
    }
    const lost = [...this.created].filter((id) => !stored.has(id)).map((id) => `created threat ${id}`);
    let checked = this.created.size;
    for (const w of this.writers) {
      const lastAcked = w.versions.filter((v) => v.acked).at(-1)?.n ?? 0;
      const res = await this.request(base, 'GET', `/threat_models/${this.tmId}/threats/${w.threatId}`);
      const storedVersion = Number(/^v(\d+)$/.exec((res.body as { name?: string } | undefined)?.name ?? '')?.[1] ?? -1);
      // A later PUT that was not acknowledged may still have committed (its answer was lost to
      // the outage), so the stored version may be newer than the last acknowledged one, never older.
      if (storedVersion < lastAcked) lost.push(`threat ${w.threatId}: stored v${storedVersion}, acknowledged v${lastAcked}`);
      checked += w.versions.filter((v) => v.acked).length;
    }
    return { checked, lost };
  }
}

/** Status counts of the outcomes between two instants, e.g. { '201': 40, '503': 12 }. */
export function statusCounts(outcomes: Outcome[], from = 0, to = Infinity): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.at < from || o.at >= to) continue;
    const key = o.status === 0 ? 'no answer' : String(o.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * After a service came back at `since`: how long until the first write succeeded, and until the
 * last failure (after which every request succeeded).
 */
export function recovery(outcomes: Outcome[], since: number): { firstSuccessMs: number | null; allSucceedingMs: number } {
  const after = outcomes.filter((o) => o.at >= since);
  const first = after.find((o) => o.kind !== 'read' && o.status >= 200 && o.status < 300);
  const lastFailure = after.filter((o) => o.status === 0 || o.status >= 300).at(-1);
  return { firstSuccessMs: first ? first.at - since : null, allSucceedingMs: lastFailure ? lastFailure.at - since : 0 };
}
