// The operation engine of live collaboration, free of I/O: validates a batch of cell operations
// against the cells it touches, applies it all-or-nothing, and records what changed so that undo
// and redo can set those cells back (or forward) whatever happened to other cells meanwhile.
//
// Rules (test/collab-engine.test.ts cites their ids):
// E1 a batch applies in order, all or nothing;
// E2 add of an existing cell id → conflict `cell_already_exists` (requires resync);
// E3 update of a missing cell id → conflict `update_nonexistent_cell` (requires resync);
// E4 remove of a missing cell is a no-op (two users deleting one cell is not a conflict);
// E5 add/update carry a whole cell, validated with the REST cell rules, whose id equals the op's;
// E6 a batch that changes nothing is accepted and produces no event;
// E7 undo sets every cell the operation touched back to its state before it; redo sets them to
//    their state after it; both are lenient (a cell re-created or removed since is overwritten).
import { UUID_RE } from '../../contract/common.ts';
import type { CellJson } from '../../contract/diagrams.ts';
import { MAX_CELL_OPS } from '../../contract/limits.ts';
import { CellError, normalizeCell, sameJson } from '../resources/diagrams/cells.ts';

export { sameJson };

export interface StoredCell {
  ord: number;
  data: CellJson;
}

export interface CellOp {
  id: string;
  operation: 'add' | 'update' | 'remove';
  data?: CellJson;
}

/** One cell's transition; `before`/`after` null mean absent. */
export interface Change {
  id: string;
  before: StoredCell | null;
  after: StoredCell | null;
}

/** A cell's desired state for undo/redo. */
export interface CellState {
  id: string;
  cell: StoredCell | null;
}

export type Rejection = {
  ok: false;
  reason: string;
  message: string;
  affected: string[];
  requiresResync: boolean;
};

export type Applied = {
  ok: true;
  /** Net transitions, one per touched cell, in first-touch order. */
  changes: Change[];
  /** The batch as broadcast: normalised cells, original order. */
  patch: CellOp[];
};

const key = (id: string) => id.toLowerCase();

const reject = (reason: string, message: string, affected: string[], requiresResync: boolean): Rejection => ({ ok: false, reason, message, affected, requiresResync });

/** Parses the `operation` of a diagram_operation_request into cell ops; null reason when valid. */
export function parseOperation(raw: unknown): { ops: CellOp[] } | Rejection {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return reject('validation_failed', 'operation must be an object', [], false);
  const op = raw as { type?: unknown; cells?: unknown };
  if (op.type !== 'patch') return reject('invalid_operation_type', "operation.type must be 'patch'", [], false);
  if (!Array.isArray(op.cells) || op.cells.length === 0) return reject('empty_operation', 'operation.cells must be a non-empty array', [], false);
  if (op.cells.length > MAX_CELL_OPS) return reject('validation_failed', `at most ${MAX_CELL_OPS} cell operations per message`, [], false);
  const ops: CellOp[] = [];
  for (const [i, c] of op.cells.entries()) {
    if (c === null || typeof c !== 'object') return reject('validation_failed', `cells[${i}] must be an object`, [], false);
    const { id, operation, data } = c as { id?: unknown; operation?: unknown; data?: unknown };
    if (typeof id !== 'string' || !UUID_RE.test(id)) return reject('validation_failed', `cells[${i}].id must be a UUID`, [], false);
    if (operation !== 'add' && operation !== 'update' && operation !== 'remove') {
      return reject('validation_failed', `cells[${i}].operation must be add, update or remove`, [id], false);
    }
    if (operation === 'remove') {
      ops.push({ id, operation });
      continue;
    }
    if (data === undefined) return reject('validation_failed', `cells[${i}]: ${operation} requires cell data`, [id], false);
    let cell: CellJson;
    try {
      cell = normalizeCell(data, `cells[${i}].data`);
    } catch (err) {
      if (err instanceof CellError) return reject('validation_failed', err.message, [id], false);
      throw err;
    }
    if (key(cell.id) !== key(id)) return reject('validation_failed', `cells[${i}]: data.id must equal id`, [id], false);
    ops.push({ id, operation, data: cell });
  }
  return { ops };
}

/**
 * Applies a batch to the cells it touches. `current` holds the stored state of every id the batch
 * names (absent ids map to null); `allocOrd` gives the order slot of a newly added cell.
 */
export function applyOps(current: ReadonlyMap<string, StoredCell | null>, ops: CellOp[], allocOrd: () => number): Applied | Rejection {
  const work = new Map<string, StoredCell | null>();
  const before = new Map<string, StoredCell | null>();
  const state = (id: string) => (work.has(key(id)) ? work.get(key(id))! : (current.get(key(id)) ?? null));
  const set = (id: string, cell: StoredCell | null) => {
    if (!before.has(key(id))) before.set(key(id), current.get(key(id)) ?? null);
    work.set(key(id), cell);
  };
  const patch: CellOp[] = [];
  for (const op of ops) {
    const existing = state(op.id);
    if (op.operation === 'add') {
      if (existing) return reject('cell_already_exists', `Cell ${op.id} already exists`, [op.id], true);
      set(op.id, { ord: allocOrd(), data: op.data! });
    } else if (op.operation === 'update') {
      if (!existing) return reject('update_nonexistent_cell', `Cell ${op.id} does not exist`, [op.id], true);
      set(op.id, { ord: existing.ord, data: op.data! });
    } else {
      if (!existing) continue;
      set(op.id, null);
    }
    patch.push(op);
  }
  const changes: Change[] = [];
  for (const [id, b] of before) {
    const a = work.get(id)!;
    if (b === null && a === null) continue;
    if (b !== null && a !== null && b.ord === a.ord && sameJson(b.data, a.data)) continue;
    changes.push({ id: (a ?? b)!.data.id, before: b, after: a });
  }
  return { ok: true, changes, patch: changes.length === 0 ? [] : patch };
}

/** The states undo (`'before'`) or redo (`'after'`) restores, from an operation's changes. */
export function statesOf(changes: Change[], side: 'before' | 'after'): CellState[] {
  return changes.map((c) => ({ id: c.id, cell: c[side] }));
}

/**
 * Sets cells to the given states whatever they are now (E7) and returns the transitions and the
 * patch that expresses them for other clients.
 */
export function setStates(current: ReadonlyMap<string, StoredCell | null>, states: CellState[]): Applied {
  const changes: Change[] = [];
  const patch: CellOp[] = [];
  // Removals first, in reverse; then additions and updates in the stored order, so that nodes are
  // re-created before the edges that use them.
  const removals = states.filter((s) => s.cell === null).reverse();
  const writes = states.filter((s) => s.cell !== null).sort((a, b) => a.cell!.ord - b.cell!.ord);
  for (const s of [...removals, ...writes]) {
    const now = current.get(key(s.id)) ?? null;
    if (s.cell === null) {
      if (!now) continue;
      changes.push({ id: s.id, before: now, after: null });
      patch.push({ id: s.id, operation: 'remove' });
    } else {
      if (now && now.ord === s.cell.ord && sameJson(now.data, s.cell.data)) continue;
      changes.push({ id: s.id, before: now, after: s.cell });
      patch.push({ id: s.id, operation: now ? 'update' : 'add', data: s.cell.data });
    }
  }
  return { ok: true, changes, patch };
}
