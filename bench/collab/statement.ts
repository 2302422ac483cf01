// A live edit's statement alone, against the durable floor's: TMI's writeEdits (server/collab/
// store.ts: the session and diagram rows, the cell, the redo stack and the log row, in one guarded
// statement) and the floor's one INSERT of the same message (bench/collab/relays.ts), each as its
// server sends it, alternated one by one on a quiet connection, with no clients and no fan-out.
// What bench:collab's live edits wait for in PostgreSQL, without the rest of the machine's load.
//
// Each side twice: as configured (a commit waits for its flush of the log to disk), and with
// synchronous_commit off (no flush: what running the statement costs on its own).
//
//   npm run bench:statement      PostgreSQL only (BENCH_PG_URL)
// Env: BENCH_OPS (statements per side and mode, default 1500), BENCH_GAP_MS (pause between two
// statements, default 2).
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { signInOverHttp, startServerProcess } from '../../test/support/process.ts';
import { openDb, type Db } from '../../server/store/db.ts';
import { loadEditState, sessionById, wireUser, writeEdits } from '../../server/collab/store.ts';
import { freshBenchDatabase } from '../support/database.ts';
import { percentile } from '../support/stats.ts';
import { sleep } from '../../test/support/until.ts';
import { api } from '../support/http.ts';

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const OPS = Number(process.env.BENCH_OPS ?? 1500);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 2);
const DB_NAME = 'tmi_h2_bench_statement';

const ms = (x: number) => x.toFixed(2).padStart(6);

/** A node as bench:collab's clients add it, in the form the server stores. */
const node = (id: string, x: number) => ({ id, shape: 'process', position: { x, y: 20 }, size: { width: 120, height: 60 }, attrs: { text: { text: `P${x}` } } });

async function main() {
  const database = await freshBenchDatabase(PG_URL, DB_NAME);
  // The server creates the rows an edit needs (user, model, diagram, session) as it does for clients.
  const tmi = await startServerProcess({ TMI_BUILD_MODE: 'test', TMI_JWT_SECRET: randomBytes(32).toString('hex'), TMI_DATABASE_URL: database.url });
  const base = `http://127.0.0.1:${tmi.port}`;
  const dbs: Db[] = [];
  try {
    const owner = await signInOverHttp(base, `bench-${randomBytes(3).toString('hex')}`);
    const tm = await api(base, owner, 'POST', '/threat_models', { name: 'Statement' });
    const d = await api(base, owner, 'POST', `/threat_models/${tm.id}/diagrams`, { name: 'D', type: 'DFD-1.0.0' });
    const s = await api(base, owner, 'POST', `/threat_models/${tm.id}/diagrams/${d.id}/collaborate`, {});
    const sessionId = s.session_id as string;

    const flushed = await openDb({ databaseUrl: database.url, poolMax: 1 });
    const unflushed = await openDb({ databaseUrl: `${database.url}?options=${encodeURIComponent('-c synchronous_commit=off')}`, poolMax: 1 });
    dbs.push(flushed, unflushed);
    await flushed.query('CREATE TABLE floor_operations (id bigserial PRIMARY KEY, session text NOT NULL, payload jsonb NOT NULL)');
    const session = (await sessionById(flushed, sessionId))!;
    const user = (await wireUser(flushed, session.host_uuid))!;
    let state = (await loadEditState(flushed, sessionId))!;

    /** One edit of TMI's: one added cell, written as a batch of one, as the session writes it. */
    async function edit(db: Db, i: number): Promise<number> {
      const id = randomUUID();
      const operationId = randomUUID();
      const data = node(id, i);
      const after = { ord: state.nextCellOrd, data };
      const t0 = performance.now();
      const done = await writeEdits(db, {
        sessionId,
        diagramId: state.diagramId,
        expectSeq: state.seq,
        expectVector: state.updateVector,
        expectHead: null, // one batch at a time, as when none is in flight before it
        nextCellOrd: state.nextCellOrd + 1,
        edits: [{ changes: [{ id, before: null, after }], operationId, userUuid: session.host_uuid, user, patch: [{ id, operation: 'add', data }] }],
      });
      const took = performance.now() - t0;
      if (!done) throw new Error('the edit was refused: the session moved under the benchmark');
      state = { ...state, seq: done.seq, updateVector: done.updateVector, nextCellOrd: state.nextCellOrd + 1 };
      return took;
    }
    /** The floor's: the client's message, one INSERT, as its relay sends it (an unnamed statement). */
    async function insert(db: Db, i: number): Promise<number> {
      const id = randomUUID();
      const message = JSON.stringify({ message_type: 'diagram_operation_request', operation_id: randomUUID(), base_vector: 0, operation: { type: 'patch', cells: [{ id, operation: 'add', data: node(id, i) }] } });
      const t0 = performance.now();
      await db.query('INSERT INTO floor_operations (session, payload) VALUES ($1, $2)', ['bench', message]);
      return performance.now() - t0;
    }

    console.log(`\nOne live edit's statement against the durable floor's INSERT (PostgreSQL), ${OPS} each, alternated, ${GAP_MS} ms apart`);
    console.log('  mode                   | side  |  p50 ms |  p90 ms |  p99 ms | p50 TMI/floor | p99 TMI/floor');
    for (const [label, db] of [['flushed (as shipped)', flushed], ['synchronous_commit off', unflushed]] as const) {
      for (let i = 0; i < 50; i++) {
        // Not counted: each connection plans its statements and fills its caches first.
        await edit(db, i);
        await insert(db, i);
      }
      const ours: number[] = [];
      const floor: number[] = [];
      for (let i = 0; i < OPS; i++) {
        if (i % 2 === 0) {
          ours.push(await edit(db, i));
          await sleep(GAP_MS);
          floor.push(await insert(db, i));
        } else {
          floor.push(await insert(db, i));
          await sleep(GAP_MS);
          ours.push(await edit(db, i));
        }
        await sleep(GAP_MS);
      }
      const row = (side: string, xs: number[], ratio = '') => console.log(`  ${label.padEnd(22)} | ${side.padEnd(5)} | ${ms(percentile(xs, 50))}  | ${ms(percentile(xs, 90))}  | ${ms(percentile(xs, 99))}  | ${ratio}`);
      row('TMI', ours, `${(percentile(ours, 50) / percentile(floor, 50)).toFixed(2).padStart(13)} | ${(percentile(ours, 99) / percentile(floor, 99)).toFixed(2).padStart(13)}`);
      row('floor', floor);
    }
  } finally {
    for (const db of dbs) await db.close();
    tmi.child.kill('SIGTERM');
    await tmi.exited;
    await database.drop();
  }
}

await main();
