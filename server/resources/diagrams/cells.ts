// The one set of cell rules, used by REST (PUT/PATCH) and by live collaboration: a cell is a Node
// (by shape) or an Edge (flow), checked against the contract and normalised to its stored form —
// flat geometry, `parent: null` when unset.
//
// What X6 puts in a cell beyond the contract is dropped, at every depth, before the cell is
// checked: runtime properties (`zIndex`, `visible`, `tools`, `markup`), and the presentation its
// shape definitions merge into every cell — attribute groups for other selectors (`rect`, `top`,
// `lockBadge`, `lines`, `wrap`, a label's `rect`) and attributes the contract does not name
// (`dominantBaseline`, `pointerEvents`, a marker's `fill`). The contract's properties are checked
// strictly. One rule for REST and for the WebSocket (docs/compatibility.md, Diagrams).
import type { TSchema } from 'typebox';
import { Edge, MAX_CELL_BYTES, Node, NODE_SHAPES, type CellJson } from '../../../contract/diagrams.ts';
import { compileOnFirstUse } from '../../../contract/validator.ts';

const NodeCheck = compileOnFirstUse(Node);
const EdgeCheck = compileOnFirstUse(Edge);
const NODE_SHAPE_SET = new Set<string>(NODE_SHAPES);

export class CellError extends Error {
  constructor(
    readonly cellId: string | null,
    message: string,
  ) {
    super(message);
  }
}

const NODE_KEYS = ['angle', 'attrs', 'ports', 'children', 'data'] as const;
const EDGE_KEYS = ['source', 'target', 'attrs', 'labels', 'vertices', 'router', 'connector', 'defaultLabel', 'data'] as const;

type Schema = TSchema & { type?: string; properties?: Record<string, Schema>; patternProperties?: Record<string, Schema>; additionalProperties?: unknown; items?: Schema; anyOf?: Schema[] };

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `value` with the keys `schema` does not declare removed wherever the schema is closed. */
export function dropUndeclared(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value)) return schema.type === 'array' && schema.items ? value.map((v) => dropUndeclared(schema.items!, v)) : value;
  if (!isPlainObject(value)) return value;
  const object = schema.type === 'object' ? schema : schema.anyOf?.find((s) => s.type === 'object');
  if (!object) return value;
  const pattern = object.patternProperties ? Object.values(object.patternProperties)[0] : undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const declared = object.properties && Object.hasOwn(object.properties, k) ? object.properties[k] : pattern;
    if (declared === undefined && object.additionalProperties === false) continue;
    // defineProperty: a key named `__proto__` stays a plain key of an open object.
    Object.defineProperty(out, k, { value: declared ? dropUndeclared(declared, v) : v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The text of an edge label, under the contract's `text` selector or X6's default `label` one. */
export function labelText(label: unknown): string {
  const attrs = isPlainObject(label) && isPlainObject(label.attrs) ? label.attrs : {};
  for (const group of [attrs.text, attrs.label]) if (isPlainObject(group) && typeof group.text === 'string') return group.text;
  return '';
}

function firstError(check: typeof NodeCheck | typeof EdgeCheck, value: unknown): string {
  const e = [...check.Errors(value)][0];
  return e ? `${e.instancePath || '/'} ${e.message}` : 'is invalid';
}

/** Checks one cell and returns its stored form; throws CellError with a readable reason. */
export function normalizeCell(raw: unknown, where = 'cell'): CellJson {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CellError(null, `${where} must be an object`);
  const { id: rawId, shape } = raw as { id?: unknown; shape?: unknown };
  const id = typeof rawId === 'string' ? rawId : null;
  if (typeof shape !== 'string') throw new CellError(id, `${where}: shape is required`);
  if (NODE_SHAPE_SET.has(shape)) {
    const c = dropUndeclared(Node, raw) as Record<string, unknown>;
    if (!NodeCheck.Check(c)) throw new CellError(id, `${where} (${shape}) ${firstError(NodeCheck, c)}`);
    let x: number, y: number, width: number, height: number;
    const pos = c.position as { x: number; y: number } | undefined;
    const size = c.size as { width: number; height: number } | undefined;
    if (pos && size) {
      ({ x, y } = pos);
      ({ width, height } = size);
    } else if ([c.x, c.y, c.width, c.height].every((v) => typeof v === 'number')) {
      [x, y, width, height] = [c.x, c.y, c.width, c.height] as number[];
    } else {
      throw new CellError(id, `${where} (${shape}) needs its geometry: position and size, or x, y, width and height`);
    }
    const out: Record<string, unknown> = { id: c.id, shape, x, y, width, height };
    for (const k of NODE_KEYS) if (c[k] !== undefined) out[k] = c[k];
    out.parent = typeof c.parent === 'string' && c.parent !== '' ? c.parent : null;
    return checkSize(out as CellJson, where);
  }
  if (shape === 'flow') {
    const c = dropUndeclared(Edge, raw) as Record<string, unknown>;
    if (!EdgeCheck.Check(c)) throw new CellError(id, `${where} (flow) ${firstError(EdgeCheck, c)}`);
    const out: Record<string, unknown> = { id: c.id, shape };
    for (const k of EDGE_KEYS) if (c[k] !== undefined) out[k] = c[k];
    return checkSize(out as CellJson, where);
  }
  throw new CellError(id, `${where}: unknown shape '${shape.slice(0, 64)}'; expected one of ${[...NODE_SHAPES, 'flow'].join(', ')}`);
}

function checkSize(cell: CellJson, where: string): CellJson {
  // PostgreSQL's jsonb refuses NUL; WebSocket messages reach here without the HTTP body checks.
  let nul = false;
  const text = JSON.stringify(cell, (k, v: unknown) => {
    if (k.includes('\0') || (typeof v === 'string' && v.includes('\0'))) nul = true;
    return v;
  });
  if (text.length > MAX_CELL_BYTES) throw new CellError(cell.id, `${where} is larger than ${MAX_CELL_BYTES} bytes`);
  if (nul) throw new CellError(cell.id, `${where} contains a NUL character`);
  return cell;
}

/** Checks a whole cells array: every cell valid, ids unique (case-insensitively, as UUIDs). */
export function normalizeCells(raw: unknown[]): CellJson[] {
  const seen = new Set<string>();
  return raw.map((r, i) => {
    const cell = normalizeCell(r, `cells[${i}]`);
    const key = cell.id.toLowerCase();
    if (seen.has(key)) throw new CellError(cell.id, `cells[${i}]: duplicate cell id ${cell.id}`);
    seen.add(key);
    return cell;
  });
}

/** Structural equality of JSON values, ignoring key order (jsonb reorders keys). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameJson(v, bb[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
