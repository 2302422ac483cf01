// Applies collaboration operations (edits, undo, redo). Every operation is committed before the
// caller acknowledges or broadcasts it, so nothing acknowledged can be lost.
//
// Edits take one of two paths:
// - fast: the instance keeps a copy of the session's cells (SessionEditor), validates the edit
//   against it with the pure engine and stores it with one guarded statement that succeeds only if
//   nobody changed the session since that copy — one round trip, commit included, for all the edits
//   that arrived together (group commit). The next batch is sent while one commits, and waits for
//   it inside PostgreSQL rather than for a round trip through the server (SessionEditor.send);
// - locked: lock the session row (the total order across instances), read the touched cells, apply,
//   write — five round trips. Taken when the copy turns out stale more than once in a row (several
//   instances writing the same session at the same moment), for re-sent operation ids, and when
//   the session has ended.
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import type { DiagramOperationEvent } from '../../contract/collab-messages.ts';
import { applyOps, setStates, statesOf, type CellOp, type Change, type Rejection, type StoredCell } from './engine.ts';
import { messages } from './protocol.ts';
import * as store from './store.ts';

type OperationEvent = DiagramOperationEvent;

export type OpOutcome =
  | { kind: 'applied'; event: OperationEvent }
  /** The same operation_id was applied before (a client re-sending after a reconnect). */
  | { kind: 'duplicate'; event: OperationEvent }
  | { kind: 'noop' }
  | { kind: 'rejected'; rejection: Rejection; updateVector: number }
  | { kind: 'ended' };

export type HistoryOutcome = { kind: 'applied'; event: OperationEvent } | { kind: 'empty' } | { kind: 'ended' };

/** The event of a logged operation. */
export function eventOf(row: store.OpRow): OperationEvent {
  return messages.operationEvent({ user: row.initiating_user, operationId: row.operation_id, seq: Number(row.seq), updateVector: Number(row.update_vector), cells: row.patch as CellOp[] });
}

export interface Actor {
  userUuid: string;
  user: store.WireUser;
}

export interface EditRequest {
  actor: Actor;
  operationId: string;
  ops: CellOp[];
}

/** One edit inside an open transaction: three statements (lock the session, read, write). */
async function applyEditIn(q: Queryable, sessionId: string, r: EditRequest): Promise<OpOutcome> {
  const c = await store.readForEdit(q, sessionId, r.operationId, r.ops.map((o) => o.id));
  if (!c || c.state !== 'active') return { kind: 'ended' };
  if (c.dupSeq !== null) {
    const dup = await store.opByOperationId(q, sessionId, r.operationId);
    return { kind: 'duplicate', event: eventOf(dup!) };
  }
  let nextOrd = c.nextCellOrd;
  const result = applyOps(c.cells, r.ops, () => nextOrd++);
  if (!result.ok) return { kind: 'rejected', rejection: result, updateVector: c.updateVector };
  if (result.changes.length === 0) return { kind: 'noop' };
  const written = await store.writeEdit(q, {
    sessionId,
    diagramId: c.diagramId,
    expectSeq: c.seq,
    expectVector: c.updateVector,
    changes: result.changes,
    nextCellOrd: nextOrd,
    operationId: r.operationId,
    userUuid: r.actor.userUuid,
    user: r.actor.user,
    patch: result.patch,
  });
  // Cannot fail: the session row is locked and the operation id was checked under that lock.
  if (!written) throw new Error(`edit ${r.operationId} of session ${sessionId}: guarded write refused under the session lock`);
  return { kind: 'applied', event: appliedEvent(r, written, result.patch) };
}

function appliedEvent(r: EditRequest, written: { seq: number; updateVector: number }, patch: CellOp[]): OperationEvent {
  return messages.operationEvent({ user: r.actor.user, operationId: r.operationId, seq: written.seq, updateVector: written.updateVector, cells: patch });
}

/**
 * The locked path: several edits of one session in one transaction (group commit); each still gets
 * its own sequence number, checks and log entry; the commit and its flush are shared.
 */
export async function applyEditsLocked(db: Db, sessionId: string, requests: EditRequest[]): Promise<OpOutcome[]> {
  return db.tx(async (q) => {
    const out: OpOutcome[] = [];
    for (const r of requests) out.push(await applyEditIn(q, sessionId, r));
    return out;
  });
}

/** What an accepted edit writes: its cell changes, the patch others receive, the next free order slot. */
type Write = { changes: Change[]; patch: CellOp[]; nextCellOrd: number };

/** An edit checked against the copy: a rejection, a no-op, or the changes to write. */
type Planned = { request: EditRequest; outcome: 'noop' | Rejection | Write };

/**
 * One session's edits on this instance, over the fast path when it can (see the top of this file).
 * The copy of the cells is this instance's alone; it follows the session by replaying the changes
 * logged since the copy's sequence, or by reloading when the log cannot explain the diagram (a
 * write from outside the session). Batches are submitted in order by the hub's per-session commit
 * loop: `send` while earlier ones may still be committing, `apply` when none is.
 */
export class SessionEditor {
  private copy: store.EditState | null = null;
  /** Batches sent and not yet settled. */
  private inFlight = 0;
  /** The last edit of the newest batch sent: the guard of a batch sent while it commits names it. */
  private head: string | null = null;
  /** Whether the newest batch sent was stored (once known). */
  private stored: Promise<boolean> = Promise.resolve(true);
  /** Batches sent so far (to tell whether any was sent after a given one). */
  private sends = 0;

  constructor(
    private readonly db: Db,
    private readonly sessionId: string,
  ) {}

  /**
   * The fast path without waiting for the batches in flight: the batch is planned on the copy as it
   * will be once they committed, the copy moves on at once, and the statement is sent now. It then
   * waits on the session row inside PostgreSQL, and commits only if the batch before it did (its
   * guard names that batch's last edit). Sent only when every edit is a write (a rejection or no-op
   * seen on a copy that may be behind is confirmed by `apply`), no operation id comes twice, and,
   * with a batch in flight, no cell is removed (store.writeEdits says why). Null when it cannot go
   * this way: the caller waits for the batches in flight, then calls `apply`. 'stale' when the
   * guard refused (every batch sent after this one is then refused too).
   */
  send(requests: EditRequest[]): Promise<OpOutcome[] | 'stale'> | null {
    const copy = this.copy;
    if (!copy) return null;
    const plan = this.plan(copy, requests);
    const writes = writesOf(plan);
    if (writes.length !== plan.length || hasRepeatedIds(writes)) return null;
    if (this.inFlight > 0 && writes.some((p) => p.outcome.changes.some((c) => c.after === null))) return null;
    const after = this.inFlight > 0 ? { head: this.head, stored: this.stored } : null;
    const before = { seq: copy.seq, updateVector: copy.updateVector, nextCellOrd: copy.nextCellOrd };
    const write = this.write(copy, writes, after);
    this.head = writes.at(-1)!.request.operationId;
    this.stored = write.then((n) => n !== null, () => false);
    this.inFlight++;
    const sent = ++this.sends;
    return write.then(
      (numbers) => {
        this.inFlight--;
        if (numbers) return outcomesOf(plan, numbers, copy.updateVector);
        // The copy as it was, for `apply` to catch up from the log; unless batches planned on
        // top of this one were sent since: then it is reloaded.
        if (this.sends === sent && this.copy === copy) rewind(copy, writes, before);
        else this.copy = null;
        return 'stale';
      },
      (err: unknown) => {
        this.inFlight--;
        throw err;
      },
    );
  }

  /**
   * The batch the whole way (catching the copy up, then the locked path if need be); none may be in
   * flight. `refused`: `send` just had it refused, so the copy is known to be behind.
   */
  async apply(requests: EditRequest[], refused = false): Promise<OpOutcome[]> {
    if (this.inFlight > 0) throw new Error(`session ${this.sessionId}: apply while ${this.inFlight} batches are in flight`);
    let loaded = false;
    if (!this.copy) {
      this.copy = await store.loadEditState(this.db, this.sessionId);
      loaded = true;
    }
    if (this.copy) {
      const first = refused && !loaded ? 'stale' : await this.attempt(this.copy, requests, false);
      if (Array.isArray(first)) return first;
      // Stale, or a rejection / no-op seen on a copy that may be behind: catch up and try once more.
      // A copy with nothing to catch up confirms a rejection. Re-sent operation ids (which the
      // guard refuses, and which may look like conflicts on the copy) go to the locked path, which
      // answers them as duplicates.
      const moved = await this.catchUp(requests.map((r) => r.operationId));
      if (moved === 'advanced' || (moved === 'unchanged' && first === 'unconfirmed')) {
        const second = await this.attempt(this.copy!, requests, true);
        if (Array.isArray(second)) return second;
      }
    }
    return applyEditsLocked(this.db, this.sessionId, requests);
  }

  /**
   * Brings the copy up to date from the log, or reloads it when the log cannot explain the diagram;
   * 'resent' (copy left as it is) when one of `operationIds` was applied before.
   */
  private async catchUp(operationIds: string[]): Promise<'advanced' | 'unchanged' | 'resent' | 'ended'> {
    const copy = this.copy!;
    const since = await store.editsSince(this.db, this.sessionId, copy.seq, operationIds);
    if (!since) {
      this.copy = null;
      return 'ended';
    }
    if (since.applied.length > 0) return 'resent';
    if (since.seq === copy.seq && since.updateVector === copy.updateVector) return 'unchanged';
    // Every logged operation advanced update_vector by exactly one; any other step, a missing row or
    // a row without its changes means something outside the session changed the diagram. (Fewer
    // rows than the sequence advanced also means the copy is too far behind to replay.)
    let vector = copy.updateVector;
    const explained =
      since.ops.length === since.seq - copy.seq &&
      since.ops.every((o) => o.changes !== null && o.updateVector === ++vector) &&
      vector === since.updateVector;
    if (!explained) {
      this.copy = await store.loadEditState(this.db, this.sessionId);
      return this.copy ? 'advanced' : 'ended';
    }
    for (const o of since.ops) applyChanges(copy.cells, o.changes!);
    copy.seq = since.seq;
    copy.updateVector = since.updateVector;
    copy.nextCellOrd = since.nextCellOrd;
    return 'advanced';
  }

  /** Runs the engine over the batch on the copy without changing it (later edits see earlier ones). */
  private plan(copy: store.EditState, requests: EditRequest[]): Planned[] {
    const overlay = new Map<string, StoredCell | null>();
    let nextOrd = copy.nextCellOrd;
    return requests.map((request) => {
      const touched = new Map<string, StoredCell | null>();
      for (const op of request.ops) {
        const id = op.id.toLowerCase();
        touched.set(id, overlay.has(id) ? overlay.get(id)! : (copy.cells.get(id) ?? null));
      }
      const result = applyOps(touched, request.ops, () => nextOrd++);
      if (!result.ok) return { request, outcome: result };
      if (result.changes.length === 0) return { request, outcome: 'noop' };
      for (const c of result.changes) overlay.set(c.id.toLowerCase(), c.after);
      return { request, outcome: { changes: result.changes, patch: result.patch, nextCellOrd: nextOrd } };
    });
  }

  /**
   * Plans the batch on the copy and writes its edits (see write). 'stale' when the guard refused,
   * and the copy is as it was; 'unconfirmed' when the plan holds a rejection or no-op and the copy
   * is not known to be current.
   */
  private async attempt(copy: store.EditState, requests: EditRequest[], confirmed: boolean): Promise<OpOutcome[] | 'stale' | 'unconfirmed'> {
    const plan = this.plan(copy, requests);
    if (!confirmed && plan.some((p) => !isChange(p.outcome))) return 'unconfirmed';
    const writes = writesOf(plan);
    // An operation id twice in one batch (a client re-sending at once) is for the locked path,
    // which answers the second as a duplicate.
    if (hasRepeatedIds(writes)) return 'stale';
    const before = { seq: copy.seq, updateVector: copy.updateVector, nextCellOrd: copy.nextCellOrd };
    let numbers: { seq: number; updateVector: number } | null = before;
    if (writes.length > 0) {
      numbers = await this.write(copy, writes, null);
      if (!numbers) {
        rewind(copy, writes, before);
        return 'stale';
      }
    }
    return outcomesOf(plan, numbers, copy.updateVector);
  }

  /**
   * Moves the copy past the writes at once and stores them with one guarded statement
   * (store.writeEdits) expecting the copy's numbers from before — and, when sent `after` a batch
   * still in flight, that batch's last edit; resolves to those numbers (the batch took the ones
   * after them, one per edit, in order), or null when the guard refused. When it fails, the copy is
   * dropped: whether the batch committed is unknown, so it is reloaded rather than guessed.
   */
  private write(
    copy: store.EditState,
    writes: (Planned & { outcome: Write })[],
    after: { head: string | null; stored: Promise<boolean> } | null,
  ): Promise<{ seq: number; updateVector: number } | null> {
    const before = { seq: copy.seq, updateVector: copy.updateVector };
    const request = {
      sessionId: this.sessionId,
      diagramId: copy.diagramId,
      expectSeq: copy.seq,
      expectVector: copy.updateVector,
      expectHead: after?.head ?? null,
      nextCellOrd: writes.at(-1)!.outcome.nextCellOrd,
      edits: writes.map((p) => ({ changes: p.outcome.changes, operationId: p.request.operationId, userUuid: p.request.actor.userUuid, user: p.request.actor.user, patch: p.outcome.patch })),
    };
    for (const p of writes) applyChanges(copy.cells, p.outcome.changes);
    copy.seq += writes.length;
    copy.updateVector += writes.length;
    copy.nextCellOrd = request.nextCellOrd;
    const stored = async () => {
      const last = await store.writeEdits(this.db, request);
      // Sent on another connection, the statement may have reached the session row before the
      // batch it follows did, and found the session not there yet: once that batch is stored, again.
      if (!last && after && (await after.stored)) return store.writeEdits(this.db, request);
      return last;
    };
    const expected = { seq: before.seq + writes.length, updateVector: before.updateVector + writes.length };
    return stored().then(
      (last) => {
        if (last && (last.seq !== expected.seq || last.updateVector !== expected.updateVector)) {
          // Cannot be: the guard held the session and the diagram at exactly the numbers before.
          this.copy = null;
          throw new Error(`session ${this.sessionId}: batch stored at ${last.seq}/${last.updateVector}, expected ${expected.seq}/${expected.updateVector}`);
        }
        return last ? before : null;
      },
      (err: unknown) => {
        this.copy = null;
        throw err;
      },
    );
  }
}

/** The edits of a plan that write (the rest are rejections and no-ops). */
const writesOf = (plan: Planned[]) => plan.filter((p): p is Planned & { outcome: Write } => isChange(p.outcome));

const hasRepeatedIds = (writes: Planned[]): boolean => new Set(writes.map((p) => p.request.operationId)).size !== writes.length;

/**
 * The planned edits' outcomes once their batch is stored at the numbers after `start` (the writes
 * take one each, in plan order); a rejection carries the copy's update vector.
 */
function outcomesOf(plan: Planned[], start: { seq: number; updateVector: number }, updateVector: number): OpOutcome[] {
  let written = 0;
  return plan.map((p): OpOutcome => {
    if (p.outcome === 'noop') return { kind: 'noop' };
    if (!isChange(p.outcome)) return { kind: 'rejected', rejection: p.outcome, updateVector };
    written++;
    return { kind: 'applied', event: appliedEvent(p.request, { seq: start.seq + written, updateVector: start.updateVector + written }, p.outcome.patch) };
  });
}

/** Sets the copy back to before writes it had been moved past (a refused write, nothing in flight after it). */
function rewind(copy: store.EditState, writes: (Planned & { outcome: Write })[], before: { seq: number; updateVector: number; nextCellOrd: number }): void {
  for (const p of [...writes].reverse()) {
    for (const c of [...p.outcome.changes].reverse()) {
      if (c.before) copy.cells.set(c.id.toLowerCase(), c.before);
      else copy.cells.delete(c.id.toLowerCase());
    }
  }
  Object.assign(copy, before);
}

const isChange = (o: Planned['outcome']): o is Write => typeof o === 'object' && 'changes' in o;

function applyChanges(cells: Map<string, StoredCell>, changes: Change[]): void {
  for (const c of changes) {
    if (c.after) cells.set(c.id.toLowerCase(), c.after);
    else cells.delete(c.id.toLowerCase());
  }
}

/** Undo sets the last applied edit's cells back; redo re-applies the last undone edit. */
export async function applyHistory(db: Db, sessionId: string, actor: Actor, which: 'undo' | 'redo'): Promise<HistoryOutcome> {
  return db.tx(async (q) => {
    const s = await store.lockSession(q, sessionId);
    if (!s || s.state !== 'active') return { kind: 'ended' } as const;
    const entry = await store.historyCandidate(q, sessionId, which);
    if (!entry || !entry.inverse) return { kind: 'empty' } as const;
    const counters = await store.diagramCounters(q, s.diagram_id);
    if (!counters) return { kind: 'ended' } as const;
    const states = statesOf(entry.inverse.changes, which === 'undo' ? 'before' : 'after');
    const current = await store.loadCells(q, s.diagram_id, states.map((st) => st.id));
    const result = setStates(current, states);
    await store.writeChanges(q, s.diagram_id, result.changes);
    const updateVector = await store.bumpDiagram(q, s.diagram_id, Number(counters.next_cell_ord));
    const seq = await store.nextSeq(q, sessionId);
    await store.markHistory(q, sessionId, Number(entry.seq), which === 'undo' ? 'undone' : 'applied', which === 'undo' ? seq : null);
    // A fresh operation_id: this is a new operation (the inverse or the replay), not the original.
    const operationId = randomUUID();
    // Its changes are logged too, so that other instances' copies of the cells can replay them.
    await store.insertOp(q, { sessionId, seq, kind: which, operationId, userUuid: actor.userUuid, user: actor.user, patch: result.patch, changes: result.changes, updateVector });
    return {
      kind: 'applied',
      event: messages.operationEvent({ user: actor.user, operationId, seq, updateVector, cells: result.patch }),
    } as const;
  });
}
