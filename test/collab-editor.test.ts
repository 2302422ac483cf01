// The edit path of live collaboration (server/collab/operations.ts): each instance validates edits
// against its own copy of the session's cells and stores them with one guarded statement; a stale
// copy is caught up from the log or reloaded. Two SessionEditor objects on one database stand for
// two server instances serving the same session.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, signIn, startTestApp, usingPostgres, type SignedIn, type TestApp } from './support/app.ts';
import { parseOperation, type CellOp } from '../server/collab/engine.ts';
import { SessionEditor, applyEditsLocked, applyHistory, type Actor, type EditRequest, type OpOutcome } from '../server/collab/operations.ts';
import * as collabStore from '../server/collab/store.ts';

let t: TestApp;
let owner: SignedIn;
let actor: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signIn(t.app);
  const [row] = await t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider = $1 AND provider_user_id = $2', ['tmi', owner.user]);
  actor = { userUuid: row!.internal_uuid, user: { principal_type: 'user', provider: 'tmi', provider_id: owner.user, email: owner.email, display_name: owner.user } };
});
afterAll(async () => t?.close());

async function liveSession() {
  const tm = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'Editor' } });
  const d = await call(t.app, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token: owner.accessToken, body: { name: 'D', type: 'DFD-1.0.0' } });
  const s = await call(t.app, 'POST', `/threat_models/${tm.body.id}/diagrams/${d.body.id}/collaborate`, { token: owner.accessToken, body: {} });
  expect(s.status).toBe(201);
  return { tm: tm.body.id as string, d: d.body.id as string, sid: s.body.session_id as string };
}

function ops(...cells: { id: string; operation: 'add' | 'update' | 'remove'; data?: unknown }[]): CellOp[] {
  const parsed = parseOperation({ type: 'patch', cells });
  if (!('ops' in parsed)) throw new Error(parsed.message);
  return parsed.ops;
}
const node = (id: string, label: string) => ({ id, shape: 'process', position: { x: 10, y: 20 }, size: { width: 120, height: 60 }, attrs: { text: { text: label } } });
const add = (id: string, label = 'P') => ({ id, operation: 'add' as const, data: node(id, label) });
const update = (id: string, label: string) => ({ id, operation: 'update' as const, data: node(id, label) });
const remove = (id: string) => ({ id, operation: 'remove' as const });
const edit = (...cells: Parameters<typeof ops>): EditRequest => ({ actor, operationId: randomUUID(), ops: ops(...cells) });

async function one(editor: SessionEditor, request: EditRequest): Promise<OpOutcome> {
  return (await editor.apply([request]))[0]!;
}
const seqOf = (o: OpOutcome) => (o.kind === 'applied' || o.kind === 'duplicate' ? o.event.sequence_number : NaN);

/** The stored diagram: cell id → label, and the log's sequence numbers. */
async function stored(d: string, sid: string) {
  const cells = await t.ctx.db.query<{ id: string; label: string }>(
    `SELECT cell_id::text AS id, data->'attrs'->'text'->>'text' AS label FROM diagram_cells WHERE diagram_id = $1 ORDER BY ord`,
    [d],
  );
  const seqs = await t.ctx.db.query<{ seq: string }>('SELECT seq FROM collab_ops WHERE session_id = $1 ORDER BY seq', [sid]);
  return { cells: Object.fromEntries(cells.map((c) => [c.id, c.label])), seqs: seqs.map((r) => Number(r.seq)) };
}

/** A live session that two instances edit, where a's copy lacks b's edit: cells n0 "zero" (a's) and n1 "by b". */
async function copyOneEditBehind() {
  const { d, sid } = await liveSession();
  const a = new SessionEditor(t.ctx.db, sid);
  const b = new SessionEditor(t.ctx.db, sid);
  const [n0, n1] = [randomUUID(), randomUUID()];
  await one(a, edit(add(n0, 'zero')));
  await one(b, edit(add(n1, 'by b')));
  return { d, sid, a, n0, n1 };
}

describe('SessionEditor', () => {
  it('two instances editing one session interleave into one gapless order, each seeing the other’s cells', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const b = new SessionEditor(t.ctx.db, sid);
    const [n1, n2] = [randomUUID(), randomUUID()];
    expect(seqOf(await one(a, edit(add(n1, 'one'))))).toBe(1);
    expect(seqOf(await one(b, edit(add(n2, 'two'))))).toBe(2); // b's first load already has n1
    expect(seqOf(await one(a, edit(update(n2, 'two by a'))))).toBe(3); // a's copy lacks n2: caught up
    expect(seqOf(await one(b, edit(remove(n1))))).toBe(4); // b's copy is stale by one edit
    const u = await one(a, edit(update(n2, 'two again')));
    expect(u).toMatchObject({ kind: 'applied', event: { sequence_number: 5, update_vector: 5 } });
    expect(await stored(d, sid)).toEqual({ cells: { [n2]: 'two again' }, seqs: [1, 2, 3, 4, 5] });
  });

  it('confirms a rejection or a no-op against the current diagram before reporting it', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const b = new SessionEditor(t.ctx.db, sid);
    const [n0, n1, n2] = [randomUUID(), randomUUID(), randomUUID()];
    await one(b, edit(add(n0))); // b holds a copy from here on
    await one(a, edit(add(n1), add(n2)));
    // On b's stale copy n1 is missing (update would be refused) and n2 too (remove would do nothing).
    expect(await one(b, edit(update(n1, 'seen')))).toMatchObject({ kind: 'applied' });
    expect(await one(b, edit(remove(n2)))).toMatchObject({ kind: 'applied', event: { operation: { cells: [{ id: n2, operation: 'remove' }] } } });
    // Real conflicts and real no-ops stay what they are.
    const conflict = await one(a, edit(add(n1)));
    expect(conflict).toMatchObject({ kind: 'rejected', rejection: { reason: 'cell_already_exists', requiresResync: true }, updateVector: 4 });
    expect(await one(a, edit(remove(n2)))).toEqual({ kind: 'noop' });
    expect(await stored(d, sid)).toEqual({ cells: { [n0]: 'P', [n1]: 'seen' }, seqs: [1, 2, 3, 4] });
  });

  it('replays an undo made elsewhere into its copy', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const n1 = randomUUID();
    await one(a, edit(add(n1, 'first')));
    await one(a, edit(update(n1, 'second')));
    expect(await applyHistory(t.ctx.db, sid, actor, 'undo')).toMatchObject({ kind: 'applied' });
    await one(a, edit(update(n1, 'third'))); // a's copy said "second"; either way the update applies
    expect((await stored(d, sid)).cells).toEqual({ [n1]: 'third' });
    expect(await applyHistory(t.ctx.db, sid, actor, 'undo')).toMatchObject({ kind: 'applied' }); // back to "first"
    expect(await applyHistory(t.ctx.db, sid, actor, 'undo')).toMatchObject({ kind: 'applied' }); // n1 gone
    expect(await one(a, edit(update(n1, 'fourth')))).toMatchObject({ kind: 'rejected', rejection: { reason: 'update_nonexistent_cell' } });
    expect(await one(a, edit(add(n1, 'fifth')))).toMatchObject({ kind: 'applied' });
    expect((await stored(d, sid)).cells).toEqual({ [n1]: 'fifth' });
  });

  it('reloads when the diagram changed in a way the log does not explain', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const [n1, outside] = [randomUUID(), randomUUID()];
    await one(a, edit(add(n1)));
    // A write that bypassed the session (REST refuses those while it is active; this is the race).
    await t.ctx.db.query(
      `INSERT INTO diagram_cells (diagram_id, cell_id, ord, data) VALUES ($1, $2, 100, $3::jsonb)`,
      [d, outside, JSON.stringify(node(outside, 'outside'))],
    );
    await t.ctx.db.query('UPDATE diagrams SET update_vector = update_vector + 1, next_cell_ord = 101 WHERE id = $1', [d]);
    expect(await one(a, edit(add(outside)))).toMatchObject({ kind: 'rejected', rejection: { reason: 'cell_already_exists' }, updateVector: 2 });
    expect(await one(a, edit(update(outside, 'edited live')))).toMatchObject({ kind: 'applied', event: { sequence_number: 2, update_vector: 3 } });
    expect((await stored(d, sid)).cells).toEqual({ [n1]: 'P', [outside]: 'edited live' });
  });

  it('reloads when such a write happened between two logged operations', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const b = new SessionEditor(t.ctx.db, sid);
    const [n1, n2, n3, outside] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await one(a, edit(add(n1)));
    await one(b, edit(add(n2)));
    await t.ctx.db.query(`INSERT INTO diagram_cells (diagram_id, cell_id, ord, data) VALUES ($1, $2, 100, $3::jsonb)`, [d, outside, JSON.stringify(node(outside, 'outside'))]);
    await t.ctx.db.query('UPDATE diagrams SET update_vector = update_vector + 1, next_cell_ord = 101 WHERE id = $1', [d]);
    await one(b, edit(add(n3)));
    // a's copy (at sequence 1) could replay sequences 2 and 3, but they do not explain the step.
    expect(await one(a, edit(add(outside)))).toMatchObject({ kind: 'rejected', rejection: { reason: 'cell_already_exists' } });
  });

  it('answers a re-sent operation id as a duplicate, on either instance, and stores it once', async () => {
    const { sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const b = new SessionEditor(t.ctx.db, sid);
    const first = edit(add(randomUUID()));
    const applied = await one(a, first);
    expect(applied.kind).toBe('applied');
    for (const editor of [a, b]) {
      const again = await one(editor, first);
      expect(again.kind).toBe('duplicate');
      expect(again.kind === 'duplicate' && again.event).toEqual(applied.kind === 'applied' && applied.event);
    }
    const rows = await t.ctx.db.query('SELECT seq FROM collab_ops WHERE session_id = $1 AND operation_id = $2', [sid, first.operationId]);
    expect(rows).toHaveLength(1);
    await expect(
      t.ctx.db.query(
        `INSERT INTO collab_ops (session_id, seq, kind, operation_id, user_uuid, initiating_user, patch, update_vector, created_at)
         VALUES ($1, 99, 'op', $2, $3, '{}'::jsonb, '[]'::jsonb, 1, now())`,
        [sid, first.operationId, actor.userUuid],
      ),
    ).rejects.toThrow(/duplicate key|unique/);
  });

  it('answers a re-sent update (which plans as a write on the copy) as a duplicate: the log refuses the id, nothing is written', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const cell = randomUUID();
    await one(a, edit(add(cell, 'warm-up')));
    const first = edit(update(cell, 'first'));
    const applied = await one(a, first);
    expect(applied.kind).toBe('applied');
    // The same operation id again, in a batch with a fresh edit: the batch statement fails on the
    // unique index, then the locked path stores the fresh edit and answers the re-send.
    const fresh = edit(add(randomUUID(), 'fresh'));
    const out = await a.apply([{ ...first, ops: ops(update(cell, 'changed by a re-send')) }, fresh]);
    expect(out.map((o) => o.kind)).toEqual(['duplicate', 'applied']);
    expect(out[0]!.kind === 'duplicate' && out[0]!.event).toEqual(applied.kind === 'applied' && applied.event);
    const after = await stored(d, sid);
    expect(after.seqs).toEqual([1, 2, 3]);
    expect(after.cells[cell]).toBe('first');
  });

  it('stores a batch in one transaction: each edit its own sequence number, a rejected one skipped', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const [n1, n2] = [randomUUID(), randomUUID()];
    const out = await a.apply([edit(add(n1)), edit(add(n1)), edit(add(n2), update(n1, 'both'))]);
    expect(out.map((o) => o.kind)).toEqual(['applied', 'rejected', 'applied']);
    expect(out.map(seqOf).filter((x) => !Number.isNaN(x))).toEqual([1, 2]);
    expect(await stored(d, sid)).toEqual({ cells: { [n1]: 'both', [n2]: 'P' }, seqs: [1, 2] });
  });

  it('stores a batch in one statement: a cell added, changed and removed inside it, each edit logged with its own numbers and undoable', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    await one(a, edit(add(randomUUID(), 'warm-up'))); // a holds a copy: the batch takes the fast path
    const [n1, n2, n3] = [randomUUID(), randomUUID(), randomUUID()];
    const batch = [edit(add(n1, 'one')), edit(update(n1, 'one changed')), edit(add(n2, 'two')), edit(remove(n1)), edit(add(n3, 'three')), edit(update(n2, 'two changed'))];
    const out = await a.apply(batch);
    expect(out.map(seqOf)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(out.map((o) => (o.kind === 'applied' ? o.event.update_vector : NaN))).toEqual([2, 3, 4, 5, 6, 7]);
    const after = await stored(d, sid);
    expect(after.seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(Object.values(after.cells).sort()).toEqual(['three', 'two changed', 'warm-up']);
    const log = await t.ctx.db.query<{ operation_id: string; update_vector: string }>('SELECT operation_id, update_vector FROM collab_ops WHERE session_id = $1 AND seq > 1 ORDER BY seq', [sid]);
    expect(log.map((r) => [r.operation_id, Number(r.update_vector)])).toEqual(batch.map((b, i) => [b.operationId, i + 2]));
    // Each logged edit carries its own inverse: undoing the last two gives the state after the fourth.
    for (let i = 0; i < 2; i++) expect((await applyHistory(t.ctx.db, sid, actor, 'undo')).kind).toBe('applied');
    expect(Object.values((await stored(d, sid)).cells).sort()).toEqual(['two', 'warm-up']);
  });

  it('sends an operation id that comes twice in one batch to the locked path: stored once, the second a duplicate', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const cell = randomUUID();
    await one(a, edit(add(cell, 'warm-up')));
    // Two updates plan as two writes on the copy; the repeated id must not reach the batch statement.
    const twice = edit(update(cell, 'once'));
    const out = await a.apply([twice, { ...twice, ops: ops(update(cell, 'twice')) }]);
    expect(out.map((o) => o.kind)).toEqual(['applied', 'duplicate']);
    expect((await stored(d, sid)).seqs).toEqual([1, 2]);
  });

  // PGlite has one connection, so only PostgreSQL can hold a write open while another waits.
  it.skipIf(!usingPostgres)('the locked path, after waiting for another instance’s write, reads the diagram as that write left it', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const cell = randomUUID();
    await one(a, edit(add(cell, 'first')));
    const state = (await collabStore.loadEditState(t.ctx.db, sid))!;
    let committing!: () => void;
    const commit = new Promise<void>((r) => (committing = r));
    // Another instance's write, held open: it holds the session row until it commits.
    const other = t.ctx.db.tx(async (q) => {
      const w = await collabStore.writeEdits(q, { sessionId: sid, diagramId: d, expectSeq: state.seq, expectVector: state.updateVector, expectHead: null, nextCellOrd: state.nextCellOrd, edits: [{ changes: [], operationId: randomUUID(), userUuid: actor.userUuid, user: actor.user, patch: [] }] });
      expect(w).toEqual({ seq: 2, updateVector: 2 });
      await commit;
    });
    await new Promise((r) => setTimeout(r, 50));
    const locked = applyEditsLocked(t.ctx.db, sid, [edit(update(cell, 'second'))]);
    await new Promise((r) => setTimeout(r, 200)); // the locked read is waiting for the session row
    committing();
    await other;
    const [out] = await locked;
    expect(out).toMatchObject({ kind: 'applied', event: { sequence_number: 3, update_vector: 3 } });
    expect((await stored(d, sid)).cells).toEqual({ [cell]: 'second' });
  });

  it('sends a batch while the one before it commits: stored right after it, in order; a removal waits', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const [n0, n1] = [randomUUID(), randomUUID()];
    await one(a, edit(add(n0, 'zero'))); // a holds a copy from here on
    const first = a.send([edit(update(n0, 'changed'))]);
    const second = a.send([edit(add(n1, 'one')), edit(update(n1, 'one, changed'))]);
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    // A removal is not sent while a batch is in flight (its scan could not see that batch's cells).
    expect(a.send([edit(remove(n1))])).toBeNull();
    expect(await first).toMatchObject([{ kind: 'applied', event: { sequence_number: 2, update_vector: 2 } }]);
    expect(await second).toMatchObject([
      { kind: 'applied', event: { sequence_number: 3, update_vector: 3 } },
      { kind: 'applied', event: { sequence_number: 4, update_vector: 4 } },
    ]);
    expect(await stored(d, sid)).toEqual({ cells: { [n0]: 'changed', [n1]: 'one, changed' }, seqs: [1, 2, 3, 4] });
    // With nothing in flight the removal goes.
    expect(await a.send([edit(remove(n1))])).toMatchObject([{ kind: 'applied', event: { sequence_number: 5 } }]);
  });

  it('stores batches sent while another write holds the session row in the order they were sent', async () => {
    const { d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    const cell = randomUUID();
    await one(a, edit(add(cell, 'v0')));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // Another transaction on the session row (an undo elsewhere, say), held open: both batches wait
    // for it inside PostgreSQL, in whichever order their connections get there.
    const other = t.ctx.db.tx(async (q) => {
      await collabStore.lockSession(q, sid);
      locked();
      await held;
    });
    await isLocked;
    const batches = [1, 2].map((k) => a.send([edit(update(cell, `v${k}`))]));
    await new Promise((r) => setTimeout(r, 100));
    release();
    await other;
    expect(batches).not.toContain(null);
    const outcomes = await Promise.all(batches.map((b) => b!));
    expect(outcomes.map((o) => (o === 'stale' ? o : o.map(seqOf)))).toEqual([[2], [3]]);
    expect(await stored(d, sid)).toEqual({ cells: { [cell]: 'v2' }, seqs: [1, 2, 3] });
  });

  it('refuses a batch sent behind a refused one even when another instance’s edits took the numbers it expects', async () => {
    const { d, sid, a, n0, n1 } = await copyOneEditBehind();
    const n2 = randomUUID();
    // a's first batch expects sequence 1 and is refused; its second, planned on top of the first,
    // expects sequence 2 / vector 2, which b's edit produced: only the head it names tells.
    const first = a.send([edit(add(n2, 'by a'))]);
    const second = a.send([edit(update(n2, 'by a, changed'))]);
    expect(await first).toBe('stale');
    expect(await second).toBe('stale');
    expect(await stored(d, sid)).toEqual({ cells: { [n0]: 'zero', [n1]: 'by b' }, seqs: [1, 2] });
    // The whole way, both go through, in order.
    expect(await a.apply([edit(add(n2, 'by a'))])).toMatchObject([{ kind: 'applied', event: { sequence_number: 3 } }]);
    expect(await a.apply([edit(update(n2, 'by a, changed'))])).toMatchObject([{ kind: 'applied', event: { sequence_number: 4 } }]);
    expect((await stored(d, sid)).cells).toEqual({ [n0]: 'zero', [n1]: 'by b', [n2]: 'by a, changed' });
  });

  /** A session after one edit, and a batch of one new cell to write on it with `writeEdits` (its guard expecting the session as it is). */
  async function oneEditIn() {
    const { d, sid } = await liveSession();
    await one(new SessionEditor(t.ctx.db, sid), edit(add(randomUUID())));
    const [at] = await t.ctx.db.query<{ seq: string; update_vector: string; next_cell_ord: string }>(
      'SELECT s.seq, g.update_vector, g.next_cell_ord FROM collab_sessions s JOIN diagrams g ON g.id = s.diagram_id WHERE s.id = $1',
      [sid],
    );
    const cell = randomUUID();
    const batch = {
      sessionId: sid,
      diagramId: d,
      expectSeq: Number(at!.seq),
      expectVector: Number(at!.update_vector),
      expectHead: null as string | null,
      nextCellOrd: Number(at!.next_cell_ord) + 1,
      edits: [{ changes: [{ id: cell, before: null, after: { ord: Number(at!.next_cell_ord), data: node(cell, 'new') } }], operationId: randomUUID(), userUuid: actor.userUuid, user: actor.user, patch: [] }],
    };
    return { d, sid, batch };
  }

  it('rolls back a batch sent early that its guard refused, so that the session row it locked is free at once', async () => {
    // A batch sent early locks the session row before it judges it, and may reach it before the
    // batch it follows. Committed, that lock would hold the batch it follows until the commit was
    // flushed to disk; rolled back, it is released without a flush.
    const { d, sid, batch } = await oneEditIn();
    expect(await collabStore.writeEdits(t.ctx.db, { ...batch, expectHead: randomUUID() /* a batch not stored yet */ })).toBeNull();
    const [lock] = await t.ctx.db.query<{ locker: string | null }>('SELECT pg_xact_status(xmax::text::xid8) AS locker FROM collab_sessions WHERE id = $1', [sid]);
    expect(lock!.locker).toBe('aborted');
    expect(await stored(d, sid)).toMatchObject({ seqs: [1] });
  });

  it('refuses a batch sent alone on a session that moved without a failed statement (PostgreSQL logs each one)', async () => {
    const { d, sid, batch } = await oneEditIn();
    let failed = 0;
    const counting = { query: (...args: Parameters<typeof t.ctx.db.query>) => t.ctx.db.query(...args).catch((err: unknown) => ((failed += 1), Promise.reject(err))) };
    expect(await collabStore.writeEdits(counting as typeof t.ctx.db, { ...batch, expectSeq: batch.expectSeq - 1, expectVector: batch.expectVector - 1 })).toBeNull();
    expect(failed).toBe(0);
    expect(await stored(d, sid)).toMatchObject({ seqs: [1] });
    expect(await collabStore.writeEdits(counting as typeof t.ctx.db, batch)).toEqual({ seq: 2, updateVector: 2 });
  });

  it('stores a refused batch the whole way, from its copy caught up', async () => {
    const { d, sid, a, n0, n1 } = await copyOneEditBehind();
    const n2 = randomUUID();
    const batch = [edit(add(n2, 'by a'), update(n0, 'zero, by a'))];
    expect(await a.send(batch)).toBe('stale');
    expect(await a.apply(batch, true)).toMatchObject([{ kind: 'applied', event: { sequence_number: 3, update_vector: 3 } }]);
    expect(await stored(d, sid)).toEqual({ cells: { [n0]: 'zero, by a', [n1]: 'by b', [n2]: 'by a' }, seqs: [1, 2, 3] });
  });

  it('reports the end of the session', async () => {
    const { tm, d, sid } = await liveSession();
    const a = new SessionEditor(t.ctx.db, sid);
    await one(a, edit(add(randomUUID())));
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken })).status).toBe(204);
    expect(await one(a, edit(add(randomUUID())))).toEqual({ kind: 'ended' });
  });
});
