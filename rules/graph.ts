// The analysed view of a threat model that rules match on: per diagram, its elements (actors,
// processes, stores), flows and trust boundaries, with each cell's properties (vocabulary.ts) and
// the derived facts: which boundaries hold an element, whether a flow crosses one, the effective
// data classification from linked assets. Reads the reference's model JSON defensively, so a
// ThreatModel from the API, an imported document or a hand-written file all work.
import type { ThreatModel } from '../contract/threat-models.ts';
import {
  DISMISSED_KEY,
  encryptionImplies,
  onScale,
  protocolEncrypted,
  readProperties,
  scaleRank,
  SUGGESTION_KEY,
  type PropertyValue,
} from './vocabulary.ts';

/**
 * What the engine reads of a model: the parts of the reference's ThreatModel it needs. Loose on
 * purpose, so a ThreatModel from the API and an imported document (formats/) both fit.
 */
export type ModelInput = {
  threat_model_framework?: ThreatModel['threat_model_framework'] | null;
  diagrams?: readonly object[] | null;
  assets?: readonly object[] | null;
  threats?: readonly object[] | null;
};

export type ElementKind = 'actor' | 'process' | 'store';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Boundary {
  id: string;
  name: string;
  box: Box | undefined;
  parent: string | undefined;
  /** A boundary drawn as a line (imported): it holds nothing, flows that cross it say so themselves. */
  line: boolean;
}

export interface Element {
  id: string;
  kind: ElementKind;
  name: string;
  diagramId: string;
  diagramName: string;
  props: Map<string, PropertyValue>;
  /** Ids of the trust boundaries holding this element, innermost first. */
  boundaries: string[];
  inbound: Flow[];
  outbound: Flow[];
  dismissed: Set<string>;
}

export interface Flow {
  id: string;
  kind: 'flow';
  name: string;
  diagramId: string;
  diagramName: string;
  source: Element;
  target: Element;
  props: Map<string, PropertyValue>;
  dismissed: Set<string>;
}

export interface DiagramView {
  id: string;
  name: string;
  elements: Element[];
  flows: Flow[];
  boundaries: Boundary[];
}

export interface ModelView {
  framework: string;
  diagrams: DiagramView[];
  /** Fingerprints of suggestions already accepted as threats (threat metadata `suggestion`). */
  accepted: Set<string>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function boxOf(c: Obj): Box | undefined {
  const pos = isObj(c.position) ? c.position : c;
  const size = isObj(c.size) ? c.size : c;
  const [x, y, width, height] = [num(pos.x), num(pos.y), num(size.width), num(size.height)];
  return x === undefined || y === undefined || width === undefined || height === undefined ? undefined : { x, y, width, height };
}

const inside = (a: Box, b: Box) => a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;

export function labelOf(c: Obj): string {
  if (Array.isArray(c.labels) && isObj(c.labels[0])) {
    const attrs = c.labels[0].attrs;
    const t = isObj(attrs) && isObj(attrs.text) ? str(attrs.text.text) : undefined;
    if (t) return t;
  }
  const t = isObj(c.attrs) && isObj(c.attrs.text) ? str(c.attrs.text.text) : undefined;
  if (t) return t;
  return (isObj(c.data) && str(c.data.name)) || '';
}

function dismissedOf(props: Map<string, PropertyValue>): Set<string> {
  const raw = props.get(`meta:${DISMISSED_KEY}`);
  return new Set(typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : []);
}

/** Highest classification among the assets a cell links to (`data.data_assets`), by asset id. */
function assetClassification(data: unknown, assets: Map<string, string>): string | undefined {
  const ids = isObj(data) && Array.isArray(data.data_assets) ? data.data_assets : [];
  let best: string | undefined;
  for (const id of ids) {
    const c = typeof id === 'string' ? assets.get(id.toLowerCase()) : undefined;
    if (c && (!best || scaleRank('data_classification', c) > scaleRank('data_classification', best))) best = c;
  }
  return best;
}

function maxClass(a: PropertyValue | undefined, b: string | undefined): string | undefined {
  const x = typeof a === 'string' ? a : undefined;
  if (!x) return b;
  if (!b) return x;
  return scaleRank('data_classification', b) > scaleRank('data_classification', x) ? b : x;
}

/** Each asset's classification on our scale: the highest of its `classification` labels and `sensitivity`. */
function assetIndex(assets: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of assets) {
    if (!isObj(a) || typeof a.id !== 'string') continue;
    const labels = [...(Array.isArray(a.classification) ? a.classification : []), a.sensitivity].filter((v): v is string => typeof v === 'string');
    let best: string | undefined;
    for (const l of labels) best = maxClass(best, onScale('data_classification', l));
    if (best) out.set(a.id.toLowerCase(), best);
  }
  return out;
}

function analyseDiagram(d: Obj, index: number, assets: Map<string, string>): DiagramView {
  const id = str(d.id) ?? `diagram-${index + 1}`;
  const name = str(d.name) ?? id;
  const cells = Array.isArray(d.cells) ? d.cells.filter(isObj) : [];
  const byId = new Map<string, Obj>();
  for (const c of cells) if (typeof c.id === 'string') byId.set(c.id, c);

  const boundaries: Boundary[] = [];
  for (const c of cells) {
    if (c.shape !== 'security-boundary' || typeof c.id !== 'string') continue;
    const props = readProperties(c.data);
    boundaries.push({ id: c.id, name: labelOf(c), box: boxOf(c), parent: str(c.parent) || undefined, line: props.get('meta:boundary_style') === 'line' });
  }
  const boundaryIds = new Set(boundaries.map((b) => b.id));

  // Containment: the parent chain when the cell is embedded, else geometry (hand-written models).
  const holders = (c: Obj): string[] => {
    const parent = str(c.parent);
    if (parent) {
      const chain: string[] = [];
      const seen = new Set<string>();
      for (let p: string | undefined = parent; p && !seen.has(p); p = str(byId.get(p)?.parent) || undefined) {
        seen.add(p);
        if (boundaryIds.has(p)) chain.push(p);
      }
      return chain;
    }
    const box = boxOf(c);
    if (!box) return [];
    return boundaries
      .filter((b) => !b.line && b.id !== c.id && b.box && inside(box, b.box))
      .sort((a, b) => a.box!.width * a.box!.height - b.box!.width * b.box!.height || (a.id < b.id ? -1 : 1))
      .map((b) => b.id);
  };

  const elements: Element[] = [];
  const elementsById = new Map<string, Element>();
  for (const c of cells) {
    const kind = c.shape;
    if ((kind !== 'actor' && kind !== 'process' && kind !== 'store') || typeof c.id !== 'string') continue;
    const props = readProperties(c.data);
    const cls = maxClass(props.get('data_classification'), assetClassification(c.data, assets));
    if (cls) props.set('data_classification', cls);
    if (!props.has('encrypted') && typeof props.get('encryption') === 'string') props.set('encrypted', encryptionImplies(props.get('encryption') as string));
    const e: Element = {
      id: c.id,
      kind,
      name: labelOf(c),
      diagramId: id,
      diagramName: name,
      props,
      boundaries: holders(c),
      inbound: [],
      outbound: [],
      dismissed: dismissedOf(props),
    };
    elements.push(e);
    elementsById.set(e.id, e);
  }

  const flows: Flow[] = [];
  for (const c of cells) {
    if (c.shape !== 'flow' || typeof c.id !== 'string') continue;
    const source = elementsById.get(isObj(c.source) ? (str(c.source.cell) ?? '') : '');
    const target = elementsById.get(isObj(c.target) ? (str(c.target.cell) ?? '') : '');
    if (!source || !target) continue;
    const props = readProperties(c.data);
    const cls = maxClass(props.get('data_classification'), assetClassification(c.data, assets));
    if (cls) props.set('data_classification', cls);
    if (!props.has('encrypted') && typeof props.get('protocol') === 'string') {
      const enc = protocolEncrypted(props.get('protocol') as string);
      if (enc !== undefined) props.set('encrypted', enc);
    }
    if (!props.has('crosses_trust_boundary')) {
      const a = source.boundaries.join(' ');
      const b = target.boundaries.join(' ');
      props.set('crosses_trust_boundary', a !== b);
    }
    const f: Flow = { id: c.id, kind: 'flow', name: labelOf(c), diagramId: id, diagramName: name, source, target, props, dismissed: dismissedOf(props) };
    source.outbound.push(f);
    target.inbound.push(f);
    flows.push(f);
  }

  for (const e of elements) {
    e.props.set('kind', e.kind);
    e.props.set('name', e.name);
    e.props.set('in_trust_boundary', e.boundaries.length > 0);
    e.props.set('inbound_count', String(e.inbound.length));
    e.props.set('outbound_count', String(e.outbound.length));
  }
  for (const f of flows) {
    f.props.set('kind', 'flow');
    f.props.set('name', f.name);
  }
  return { id, name, elements, flows, boundaries };
}

export function analyse(model: ModelInput): ModelView {
  const assets = assetIndex(Array.isArray(model.assets) ? model.assets : []);
  const diagrams = (Array.isArray(model.diagrams) ? model.diagrams : []).filter(isObj).map((d, i) => analyseDiagram(d, i, assets));
  const accepted = new Set<string>();
  for (const t of Array.isArray(model.threats) ? model.threats : []) {
    if (!isObj(t) || !Array.isArray(t.metadata)) continue;
    for (const m of t.metadata) if (isObj(m) && m.key === SUGGESTION_KEY && typeof m.value === 'string') accepted.add(m.value);
  }
  const framework = typeof model.threat_model_framework === 'string' && model.threat_model_framework ? model.threat_model_framework : 'STRIDE';
  return { framework, diagrams, accepted };
}

