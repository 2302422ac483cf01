// Unit tests of the pure operation engine (server/collab/engine.ts); rule ids E1..E7 as there.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { applyOps, parseOperation, sameJson, setStates, statesOf, type CellOp, type StoredCell } from '../server/collab/engine.ts';
import type { CellJson } from '../contract/diagrams.ts';

const node = (id = randomUUID(), x = 0): CellJson => ({ id, shape: 'process', x, y: 0, width: 80, height: 40, parent: null });
const stateOf = (cells: StoredCell[]) => new Map(cells.map((c) => [c.data.id.toLowerCase(), c]));
const ops = (raw: unknown[]) => {
  const parsed = parseOperation({ type: 'patch', cells: raw });
  if (!('ops' in parsed)) throw new Error(parsed.message);
  return parsed.ops;
};

/** Applies changes to a state map, as the store does. */
function commit(state: Map<string, StoredCell>, changes: { id: string; after: StoredCell | null }[]) {
  for (const c of changes) {
    if (c.after) state.set(c.id.toLowerCase(), c.after);
    else state.delete(c.id.toLowerCase());
  }
}

describe('parseOperation', () => {
  it('accepts a patch batch and normalises nested geometry to flat (E5)', () => {
    const id = randomUUID();
    const [op] = ops([{ id, operation: 'add', data: { id, shape: 'actor', position: { x: 1, y: 2 }, size: { width: 50, height: 40 } } }]);
    expect(op!.data).toEqual({ id, shape: 'actor', x: 1, y: 2, width: 50, height: 40, parent: null });
  });

  it('rejects non-patch types, empty batches, bad ids, missing data, mismatched ids and invalid cells', () => {
    const id = randomUUID();
    expect(parseOperation({ type: 'replace', cells: [] })).toMatchObject({ ok: false, reason: 'invalid_operation_type' });
    expect(parseOperation({ type: 'patch', cells: [] })).toMatchObject({ ok: false, reason: 'empty_operation' });
    expect(parseOperation(null)).toMatchObject({ ok: false, reason: 'validation_failed' });
    for (const cells of [
      [{ id: 'x', operation: 'remove' }],
      [{ id, operation: 'move' }],
      [{ id, operation: 'add' }],
      [{ id, operation: 'update', data: node() }],
      [{ id, operation: 'add', data: { ...node(id), width: 5 } }],
      [{ id, operation: 'add', data: { ...node(id), shape: 'cloud' } }],
    ]) {
      expect(parseOperation({ type: 'patch', cells }), JSON.stringify(cells)).toMatchObject({ ok: false, requiresResync: false });
    }
  });
});

describe('applyOps', () => {
  it('applies a batch in order, allocating order slots for new cells (E1)', () => {
    const a = node();
    const b = node();
    let ord = 10;
    const r = applyOps(new Map(), ops([{ id: a.id, operation: 'add', data: a }, { id: b.id, operation: 'add', data: b }, { id: a.id, operation: 'update', data: { ...a, x: 5 } }]), () => ord++);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.changes).toEqual([
      { id: a.id, before: null, after: { ord: 10, data: { ...a, x: 5 } } },
      { id: b.id, before: null, after: { ord: 11, data: b } },
    ]);
    expect(r.patch.map((p) => p.operation)).toEqual(['add', 'add', 'update']);
  });

  it('conflicts: add of an existing id (E2), update of a missing id (E3); nothing applies (E1)', () => {
    const a = node();
    const current = stateOf([{ ord: 1, data: a }]);
    const fresh = node();
    expect(applyOps(current, ops([{ id: fresh.id, operation: 'add', data: fresh }, { id: a.id, operation: 'add', data: a }]), () => 2)).toMatchObject({
      ok: false,
      reason: 'cell_already_exists',
      requiresResync: true,
      affected: [a.id],
    });
    const ghost = node();
    expect(applyOps(current, ops([{ id: ghost.id, operation: 'update', data: ghost }]), () => 2)).toMatchObject({ ok: false, reason: 'update_nonexistent_cell' });
  });

  it('remove of a missing cell is a no-op (E4); a batch without effect changes nothing (E6)', () => {
    const a = node();
    const current = stateOf([{ ord: 1, data: a }]);
    const r = applyOps(current, ops([{ id: randomUUID(), operation: 'remove' }, { id: a.id, operation: 'update', data: { ...a } }]), () => 2);
    expect(r).toEqual({ ok: true, changes: [], patch: [] });
  });

  it('matches ids case-insensitively (UUIDs)', () => {
    const a = node();
    const current = stateOf([{ ord: 1, data: a }]);
    const r = applyOps(current, [{ id: a.id.toUpperCase(), operation: 'remove' }] as CellOp[], () => 2);
    expect(r.ok && r.changes).toEqual([{ id: a.id, before: { ord: 1, data: a }, after: null }]);
  });
});

describe('undo and redo (E7)', () => {
  it('undo restores every touched cell, redo re-applies; removed cells come back at their place', () => {
    const a = node();
    const b = node();
    const e = { id: randomUUID(), shape: 'flow', source: { cell: a.id }, target: { cell: b.id } } as CellJson;
    const state = stateOf([{ ord: 1, data: a }, { ord: 2, data: b }, { ord: 3, data: e }]);
    const original = new Map(state);
    const r = applyOps(state, ops([{ id: e.id, operation: 'remove' }, { id: a.id, operation: 'remove' }, { id: b.id, operation: 'update', data: { ...b, x: 9 } }]), () => 4);
    if (!r.ok) throw new Error('rejected');
    commit(state, r.changes);
    const undo = setStates(state, statesOf(r.changes, 'before'));
    // Nodes are re-created before the edge that uses them (stored order).
    expect(undo.patch.map((p) => [p.id, p.operation])).toEqual([
      [a.id, 'add'],
      [b.id, 'update'],
      [e.id, 'add'],
    ]);
    commit(state, undo.changes);
    expect([...state.entries()].sort()).toEqual([...original.entries()].sort());
    const redo = setStates(state, statesOf(r.changes, 'after'));
    commit(state, redo.changes);
    expect([...state.keys()]).toEqual([b.id.toLowerCase()]);
    expect(state.get(b.id.toLowerCase())!.data.x).toBe(9);
  });

  it('is lenient: a cell changed by someone else since is still set back; unchanged cells produce no op', () => {
    const a = node();
    const state = stateOf([{ ord: 1, data: a }]);
    const edit = applyOps(state, ops([{ id: a.id, operation: 'update', data: { ...a, x: 1 } }]), () => 2);
    if (!edit.ok) throw new Error('rejected');
    commit(state, edit.changes);
    state.delete(a.id.toLowerCase()); // another user removed it meanwhile
    const undo = setStates(state, statesOf(edit.changes, 'before'));
    expect(undo.patch).toEqual([{ id: a.id, operation: 'add', data: a }]);
    commit(state, undo.changes);
    expect(setStates(state, statesOf(edit.changes, 'before')).patch).toEqual([]);
  });

  it('sameJson ignores key order', () => {
    expect(sameJson({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
  });
});
