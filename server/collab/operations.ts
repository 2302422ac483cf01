// Applies one collaboration operation (edit, undo or redo) in one transaction: lock the session
// (the total order across instances), load only the touched cells, apply with the pure engine,
// write the touched cells, advance update_vector and the session sequence, append to the log.
// The caller broadcasts only after this commits, so nothing acknowledged can be lost.
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import { applyOps, setStates, statesOf, type CellOp, type Rejection } from './engine.ts';
import * as store from './store.ts';

export interface OperationEvent {
  message_type: 'diagram_operation_event';
  initiating_user: store.WireUser;
  operation_id: string;
  sequence_number: number;
  update_vector: number;
  operation: { type: 'patch'; cells: unknown[] };
}

export type OpOutcome =
  | { kind: 'applied'; event: OperationEvent }
  /** The same operation_id was applied before (a client re-sending after a reconnect). */
  | { kind: 'duplicate'; event: OperationEvent }
  | { kind: 'noop' }
  | { kind: 'rejected'; rejection: Rejection; updateVector: number }
  | { kind: 'ended' };

export type HistoryOutcome = { kind: 'applied'; event: OperationEvent } | { kind: 'empty' } | { kind: 'ended' };

export function eventOf(row: store.OpRow, sessionUser?: store.WireUser): OperationEvent {
  return {
    message_type: 'diagram_operation_event',
    initiating_user: sessionUser ?? row.initiating_user,
    operation_id: row.operation_id,
    sequence_number: Number(row.seq),
    update_vector: Number(row.update_vector),
    operation: { type: 'patch', cells: row.patch },
  };
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

/** One edit inside an open transaction: two statements (read with the session lock, write). */
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
  const { seq, updateVector } = await store.writeEdit(q, {
    sessionId,
    diagramId: c.diagramId,
    changes: result.changes,
    nextCellOrd: nextOrd,
    operationId: r.operationId,
    userUuid: r.actor.userUuid,
    user: r.actor.user,
    patch: result.patch,
  });
  return {
    kind: 'applied',
    event: { message_type: 'diagram_operation_event', initiating_user: r.actor.user, operation_id: r.operationId, sequence_number: seq, update_vector: updateVector, operation: { type: 'patch', cells: result.patch } },
  };
}

/**
 * Several edits of one session in one transaction (group commit): each still gets its own
 * sequence number, checks and log entry; the commit and its flush are shared.
 */
export async function applyEdits(db: Db, sessionId: string, requests: EditRequest[]): Promise<OpOutcome[]> {
  return db.tx(async (q) => {
    const out: OpOutcome[] = [];
    for (const r of requests) out.push(await applyEditIn(q, sessionId, r));
    return out;
  });
}

export async function applyEdit(db: Db, sessionId: string, actor: Actor, operationId: string, ops: CellOp[]): Promise<OpOutcome> {
  return (await applyEdits(db, sessionId, [{ actor, operationId, ops }]))[0]!;
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
    await store.insertOp(q, { sessionId, seq, kind: which, operationId, userUuid: actor.userUuid, user: actor.user, patch: result.patch, changes: null, updateVector });
    return {
      kind: 'applied',
      event: { message_type: 'diagram_operation_event', initiating_user: actor.user, operation_id: operationId, sequence_number: seq, update_vector: updateVector, operation: { type: 'patch', cells: result.patch } },
    } as const;
  });
}
