// Ids for imported objects: a source id that is already a UUID is kept (lower case), any other is
// turned into a stable UUID derived from it, so importing the same file twice gives the same ids
// (and the same suggestion fingerprints). `reassignIds` gives a document fresh ids throughout, for
// a server that must not reuse ids already taken.
import { UUID_RE } from '../contract/common.ts';
import { SUGGESTION_KEY } from '../rules/vocabulary.ts';
import type { ModelDocument } from './document.ts';

/** 128 bits from a string (cyrb128: fast, well mixed, not cryptographic; collisions are not a threat here). */
function hash128(s: string): number[] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < s.length; i++) {
    const k = s.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A UUID (version 8, RFC 9562 "custom") derived from `seed`. */
export function stableUuid(seed: string): string {
  const hex = hash128(seed)
    .map((n) => n.toString(16).padStart(8, '0'))
    .join('');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID_RE.test(s);

/** Hands out unique ids for one import: source ids map to the same id every time they are asked. */
export class IdMap {
  private readonly bySource = new Map<string, string>();
  private readonly used = new Set<string>();

  constructor(private readonly namespace: string) {}

  /** The id for `sourceId` of kind `kind`; `keepUuid` keeps a source UUID as the id. */
  of(kind: string, sourceId: string, keepUuid = true): string {
    const key = `${kind}:${sourceId}`;
    const known = this.bySource.get(key);
    if (known) return known;
    let id = keepUuid && isUuid(sourceId) ? sourceId.toLowerCase() : stableUuid(`${this.namespace}:${key}`);
    for (let n = 2; this.used.has(id); n++) id = stableUuid(`${this.namespace}:${key}#${n}`);
    this.used.add(id);
    this.bySource.set(key, id);
    return id;
  }

  /** The id already given to `sourceId`, if any. */
  get(kind: string, sourceId: string): string | undefined {
    return this.bySource.get(`${kind}:${sourceId}`);
  }
}

type Obj = Record<string, unknown>;

/**
 * The same document with every id replaced by `fresh()` and every reference (cell parents and
 * children, flow ends, linked assets, threat links, accepted-suggestion fingerprints) rewritten.
 */
export function reassignIds(doc: ModelDocument, fresh: () => string): ModelDocument {
  const map = new Map<string, string>();
  const to = (id: string) => {
    const key = id.toLowerCase();
    let v = map.get(key);
    if (!v) map.set(key, (v = fresh()));
    return v;
  };
  const ref = (id: unknown) => (typeof id === 'string' && id && map.has(id.toLowerCase()) ? map.get(id.toLowerCase())! : id);
  // Ids first, so references can be rewritten in any order.
  for (const x of [...doc.diagrams, ...doc.threats, ...doc.assets, ...doc.notes, ...doc.documents, ...doc.repositories]) to(x.id);
  for (const d of doc.diagrams) for (const c of d.cells) to(c.id);
  const cell = (c: Obj): Obj => {
    const out: Obj = { ...c, id: ref(c.id) };
    if (typeof c.parent === 'string') out.parent = ref(c.parent);
    if (Array.isArray(c.children)) out.children = c.children.map(ref);
    for (const end of ['source', 'target'] as const) if (c[end] && typeof c[end] === 'object') out[end] = { ...(c[end] as Obj), cell: ref((c[end] as Obj).cell) };
    if (c.data && typeof c.data === 'object' && Array.isArray((c.data as Obj).data_assets)) out.data = { ...(c.data as Obj), data_assets: ((c.data as Obj).data_assets as unknown[]).map(ref) };
    return out;
  };
  return {
    ...doc,
    diagrams: doc.diagrams.map((d) => ({ ...d, id: ref(d.id) as string, cells: d.cells.map((c) => cell(c) as typeof c) })),
    threats: doc.threats.map((t) => ({
      ...t,
      id: ref(t.id) as string,
      diagram_id: ref(t.diagram_id) as string,
      cell_id: ref(t.cell_id) as string,
      asset_id: ref(t.asset_id) as string,
      // An accepted suggestion's fingerprint names its cell ("rule/cell id").
      ...(t.metadata ? { metadata: t.metadata.map((m) => (m.key === SUGGESTION_KEY && m.value.includes('/') ? { ...m, value: `${m.value.slice(0, m.value.lastIndexOf('/'))}/${ref(m.value.slice(m.value.lastIndexOf('/') + 1)) as string}` } : m)) } : {}),
    })),
    assets: doc.assets.map((a) => ({ ...a, id: ref(a.id) as string })),
    notes: doc.notes.map((n) => ({ ...n, id: ref(n.id) as string })),
    documents: doc.documents.map((n) => ({ ...n, id: ref(n.id) as string })),
    repositories: doc.repositories.map((n) => ({ ...n, id: ref(n.id) as string })),
  };
}
