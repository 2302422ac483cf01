// OWASP Threat Dragon models: import of v1 (JointJS `diagramJson`) and v2 (X6 `cells`) JSON, export
// to v2. Threat Dragon keeps threats on cells; TMI keeps them on the model linked to a cell, so each
// one becomes a threat with diagram_id and cell_id. Element properties (isEncrypted, protocol,
// isPublicNetwork, ...) map onto the rules vocabulary. Threat Dragon's trust boundary curves are
// lines; TMI has only boxes, so a curve becomes a box around it, remembers its points, and marks
// the flows crossing it (docs/formats.md).
import type { Metadata } from '../contract/common.ts';
import type { CellJson } from '../contract/diagrams.ts';
import { FRAMEWORKS, lowerSnake } from '../contract/limits.ts';
import { toMetadata, type PropertyValue } from '../rules/vocabulary.ts';
import { boxAround, center, fitBox, flowCell, nodeCell, parsePoints, pointsText, polylinesCross, smallestHolder, type Box, type NodeShape, type Point } from './cells.ts';
import { emptyDocument, ImportError, Reporter, zeroCounts, type Counts, type DiagramDoc, type ExportResult, type ImportResult, type ModelDocument, type ThreatDoc, type Unmapped } from './document.ts';
import { IdMap } from './ids.ts';
import { DEFAULT_LIMITS, parseJson, type Limits } from './limits.ts';
import { severity, TextFitter, threatType } from './text.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Threat Dragon element properties and the cell metadata keys they become (and come back from). */
const PROPERTY_MAP: [td: string, key: string, kind: 'boolean' | 'string'][] = [
  ['isEncrypted', 'encrypted', 'boolean'],
  ['isPublicNetwork', 'public_network', 'boolean'],
  ['isBidirectional', 'bidirectional', 'boolean'],
  ['protocol', 'protocol', 'string'],
  ['isALog', 'is_log', 'boolean'],
  ['storesCredentials', 'stores_credentials', 'boolean'],
  ['isSigned', 'signed', 'boolean'],
  ['privilegeLevel', 'privilege_level', 'string'],
  ['outOfScope', 'out_of_scope', 'boolean'],
  ['reasonOutOfScope', 'out_of_scope_reason', 'string'],
  ['description', 'description', 'string'],
  ['providesAuthentication', 'provides_authentication', 'boolean'],
  ['isWebApplication', 'web_application', 'boolean'],
  ['handlesCardPayment', 'handles_card_payment', 'boolean'],
  ['handlesGoodsOrServices', 'handles_goods_or_services', 'boolean'],
  ['storesInventory', 'stores_inventory', 'boolean'],
];
/** Cell data keys that are structure, not properties. */
const STRUCTURAL = new Set(['type', 'name', 'threats', 'hasOpenThreats', 'isTrustBoundary', 'crossingFlows', 'containedElements', 'trustBoundaryIds', 'threatFrequency', 'new']);

/** "HTTP/S", "HTTPS", "https " -> "https"; other protocols lower case. */
function protocolOf(raw: string): string {
  const p = raw.trim().toLowerCase();
  return p === 'http/s' || p === 'https/tls' ? 'https' : p;
}

const TD_KIND: Record<string, 'actor' | 'process' | 'store' | 'flow' | 'box' | 'line' | 'text'> = {
  actor: 'actor',
  process: 'process',
  store: 'store',
  flow: 'flow',
  'trust-boundary-box': 'box',
  'trust-boundary-curve': 'line',
  'td-text-block': 'text',
  'tm.Actor': 'actor',
  'tm.Process': 'process',
  'tm.Store': 'store',
  'tm.Flow': 'flow',
  'tm.Boundary': 'line',
  'tm.BoundaryBox': 'box',
  'tm.Text': 'text',
};

interface TdCell {
  id: string;
  kind: (typeof TD_KIND)[string] | undefined;
  shape: string;
  name: string;
  props: Obj;
  threats: unknown[];
  box?: Box;
  points?: Point[];
  source?: string;
  target?: string;
  vertices: Point[];
}

/** One cell of either version, in a common shape. */
function readCell(c: Obj, v1: boolean): TdCell {
  const data = v1 ? c : isObj(c.data) ? c.data : {};
  const shape = v1 ? (str(c.type) ?? '') : (str(c.shape) ?? '');
  // The misspelt "trust-broundary-curve" exists in Threat Dragon's own test models.
  const kind = TD_KIND[shape] ?? (shape.startsWith('trust-b') ? (shape.endsWith('box') ? 'box' : 'line') : undefined);
  const pos = isObj(c.position) ? c.position : undefined;
  const size = isObj(c.size) ? c.size : undefined;
  const box = pos && size ? { x: num(pos.x) ?? 0, y: num(pos.y) ?? 0, width: num(size.width) ?? 0, height: num(size.height) ?? 0 } : undefined;
  const end = (e: unknown) => (isObj(e) ? (str(v1 ? e.id : e.cell) ?? str(e.cell) ?? str(e.id)) : undefined);
  const point = (e: unknown) => (isObj(e) && num(e.x) !== undefined && num(e.y) !== undefined ? { x: e.x as number, y: e.y as number } : undefined);
  const vertices = arr(c.vertices).map(point).filter((p): p is Point => !!p);
  const labelAttrs = isObj(arr(c.labels)[0]) ? (arr(c.labels)[0] as Obj).attrs : undefined;
  const labelText = isObj(labelAttrs) ? [labelAttrs.labelText, labelAttrs.text, labelAttrs.label].map((x) => (isObj(x) ? str(x.text) : undefined)).find((t) => t) : undefined;
  const attrText = isObj(c.attrs) && isObj(c.attrs.text) ? str(c.attrs.text.text) : undefined;
  const name = (v1 ? undefined : str(data.name)) || labelText || attrText || (v1 ? str(data.name) : undefined) || '';
  const cell: TdCell = { id: str(c.id) ?? '', kind, shape, name, props: data, threats: arr(data.threats), box, vertices };
  if (kind === 'flow') {
    cell.source = end(c.source);
    cell.target = end(c.target);
  }
  if (kind === 'line') {
    const s = point(c.source);
    const t = point(c.target);
    cell.points = [s, ...vertices, t].filter((p): p is Point => !!p);
  }
  return cell;
}

function propsOf(c: TdCell, fit: TextFitter, r: Reporter): Metadata[] {
  const out: Record<string, PropertyValue> = {};
  for (const [td, key, kind] of PROPERTY_MAP) {
    const v = c.props[td];
    if (kind === 'boolean' && typeof v === 'boolean') out[key] = v;
    else if (kind === 'string' && typeof v === 'string' && v.trim()) {
      const s = fit.meta(key === 'protocol' ? protocolOf(v) : v);
      if (s) out[key] = s;
    }
  }
  if (out.web_application === true) out.technology = 'web-application';
  for (const k of Object.keys(c.props)) {
    if (!STRUCTURAL.has(k) && !PROPERTY_MAP.some(([td]) => td === k) && !['id', 'type', 'size', 'position', 'angle', 'z', 'attrs', 'source', 'target', 'vertices', 'labels', 'smooth'].includes(k)) {
      r.note(`Threat Dragon property '${k}' is not mapped`);
    }
  }
  return toMetadata(out);
}

function threatsOf(c: TdCell, cellId: string | undefined, diagramId: string, ids: IdMap, fit: TextFitter, r: Reporter): ThreatDoc[] {
  return c.threats.filter(isObj).map((t, i) => {
    const status = str(t.status)?.trim() ? lowerSnake(t.status as string) : 'open';
    const score = typeof t.score === 'number' ? t.score : typeof t.score === 'string' && t.score.trim() ? Number(t.score) : NaN;
    const threat: ThreatDoc = {
      id: ids.of('threat', str(t.id) ?? `${diagramId}/${c.id}/${i}`),
      name: fit.name(t.title, 'Untitled threat', 'threat names'),
      description: fit.text(t.description, 2048),
      mitigation: fit.text(t.mitigation, 1024, 'mitigations'),
      severity: severity(t.severity) ?? null,
      status,
      mitigated: status === 'mitigated',
      threat_type: str(t.type)?.trim() ? [threatType(t.type as string)] : [],
      diagram_id: diagramId,
      cell_id: cellId ?? null,
    };
    if (Number.isFinite(score) && score >= 0 && score <= 10) threat.score = Math.round(score * 10) / 10;
    if (str(t.severity)?.trim() && !severity(t.severity) && !/^tbd$/i.test(t.severity as string)) r.note(`threat severity '${t.severity as string}' is not a TMI severity; left empty`);
    if (!cellId) r.note('threats on cells that could not be imported are kept without a cell link');
    return threat;
  });
}

function countFound(diagrams: unknown[], v1: boolean): Counts {
  const c = zeroCounts();
  c.diagrams = diagrams.length;
  for (const d of diagrams) {
    const cells = isObj(d) ? (v1 ? arr(isObj(d.diagramJson) ? d.diagramJson.cells : []) : arr(d.cells)) : [];
    for (const raw of cells) {
      if (!isObj(raw)) continue;
      const cell = readCell(raw, v1);
      if (cell.kind === 'actor' || cell.kind === 'process' || cell.kind === 'store') c.elements += 1;
      else if (cell.kind === 'flow') c.flows += 1;
      else if (cell.kind === 'box' || cell.kind === 'line') c.boundaries += 1;
      c.threats += cell.threats.length;
    }
  }
  return c;
}

export function isThreatDragon(v: unknown): v is Obj {
  return isObj(v) && isObj(v.summary) && isObj(v.detail) && Array.isArray(v.detail.diagrams);
}

export function importThreatDragon(text: string, limits: Limits = DEFAULT_LIMITS): ImportResult {
  const raw = parseJson(text, limits, 'Threat Dragon');
  if (!isThreatDragon(raw)) throw new ImportError('invalid_model', 'The file is not a Threat Dragon model: it needs "summary" and "detail.diagrams".');
  const detail = raw.detail as Obj;
  const summary = raw.summary as Obj;
  const diagramsRaw = arr(detail.diagrams);
  const v1 = diagramsRaw.some((d) => isObj(d) && isObj(d.diagramJson)) && !diagramsRaw.some((d) => isObj(d) && Array.isArray(d.cells));
  const format = v1 ? 'threat-dragon-v1' : 'threat-dragon-v2';
  const r = new Reporter();
  const fit = new TextFitter(r);
  const ids = new IdMap(format);

  const doc = emptyDocument(fit.label(summary.title) || 'Imported Threat Dragon model');
  doc.description = fit.text(summary.description, 2048, 'descriptions', true);
  doc.metadata = [
    ...(fit.meta(summary.owner) ? [{ key: 'owner', value: fit.meta(summary.owner)! }] : []),
    ...(fit.meta(detail.reviewer) ? [{ key: 'reviewer', value: fit.meta(detail.reviewer)! }] : []),
    ...(arr(detail.contributors).length ? [{ key: 'contributors', value: fit.meta(arr(detail.contributors).map((c) => (isObj(c) ? str(c.name) : str(c))).filter(Boolean).join(', '))! }].filter((m) => m.value) : []),
  ];
  const types = diagramsRaw.map((d) => (isObj(d) ? str(d.diagramType) : undefined)).filter((t): t is string => !!t);
  const framework = types.map((t) => FRAMEWORKS.find((f) => f.toLowerCase() === t.toLowerCase())).find((f) => f);
  doc.threat_model_framework = framework ?? 'STRIDE';
  if (types.some((t) => !FRAMEWORKS.some((f) => f.toLowerCase() === t.toLowerCase()))) r.note(`diagram types ${[...new Set(types)].filter((t) => !FRAMEWORKS.some((f) => f.toLowerCase() === t.toLowerCase())).join(', ')} have no TMI framework; the model uses ${doc.threat_model_framework}`);

  diagramsRaw.forEach((d, di) => {
    if (!isObj(d)) {
      r.skip('diagram', `detail.diagrams[${di}]`, 'not an object');
      return;
    }
    const diagramId = ids.of('diagram', `${di}:${str(d.title) ?? ''}`, false);
    const cellsRaw = v1 ? arr(isObj(d.diagramJson) ? d.diagramJson.cells : []) : arr(d.cells);
    const tdCells = cellsRaw.filter(isObj).map((c) => readCell(c, v1));
    const cells: CellJson[] = [];
    const idOf = (c: TdCell) => ids.of('cell', c.id || `${di}:${tdCells.indexOf(c)}`);

    // Nodes first, so that flows can find their ends, then containment by boxes.
    const boxes: { id: string; box: Box }[] = [];
    const lines: { id: string; points: Point[]; name: string }[] = [];
    const placed = new Map<string, { id: string; box: Box; cell: CellJson }>();
    for (const c of tdCells) {
      if (c.kind === 'actor' || c.kind === 'process' || c.kind === 'store' || c.kind === 'box' || c.kind === 'text') {
        const shape: NodeShape = c.kind === 'box' ? 'security-boundary' : c.kind === 'text' ? 'text-box' : c.kind;
        const box = fitBox(c.box ?? {}, shape);
        if (!c.box) r.note('cells without a position were placed at the origin');
        const metadata = c.kind === 'text' ? [] : c.kind === 'box' ? toMetadata({ description: fit.meta(c.props.description) }) : propsOf(c, fit, r);
        const cell = nodeCell(idOf(c), shape, box, fit.label(c.name), metadata);
        cells.push(cell);
        placed.set(c.id, { id: cell.id, box, cell });
        if (shape === 'security-boundary') boxes.push({ id: cell.id, box });
      } else if (c.kind === 'line') {
        if (!c.points || c.points.length < 2) {
          r.skip('boundary', `${str(d.title) ?? `diagram ${di + 1}`}: boundary ${c.id}`, 'a boundary line without end points');
          continue;
        }
        const id = idOf(c);
        const box = boxAround(c.points);
        const cell = nodeCell(id, 'security-boundary', box, fit.label(c.name), toMetadata({ boundary_style: 'line', boundary_points: pointsText(c.points), description: fit.meta(c.props.description) }));
        cells.push(cell);
        lines.push({ id, points: c.points, name: c.name });
        r.note('trust boundary lines became security-boundary boxes around the line (TMI draws boundaries as boxes)');
      } else if (c.kind !== 'flow') {
        r.skip('other', `${str(d.title) ?? `diagram ${di + 1}`}: cell ${c.id}`, `unknown cell shape '${c.shape}'`);
      }
    }
    for (const p of placed.values()) {
      const holder = smallestHolder(p.box, boxes, p.id);
      if (holder) {
        p.cell.parent = holder.id;
        const h = cells.find((x) => x.id === holder.id)!;
        h.children = [...((h.children as string[] | undefined) ?? []), p.id];
      }
    }
    for (const c of tdCells) {
      if (c.kind !== 'flow') continue;
      const s = c.source ? placed.get(c.source) : undefined;
      const t = c.target ? placed.get(c.target) : undefined;
      if (!s || !t || s.cell.shape === 'security-boundary' || t.cell.shape === 'security-boundary' || s.cell.shape === 'text-box' || t.cell.shape === 'text-box') {
        r.skip('flow', `${str(d.title) ?? `diagram ${di + 1}`}: flow '${c.name || c.id}'`, 'not connected to an element at both ends');
        continue;
      }
      const path = [center(s.box), ...c.vertices, center(t.box)];
      const crossing = lines.filter((l) => polylinesCross(path, l.points));
      const metadata = propsOf(c, fit, r);
      if (crossing.length) {
        metadata.push({ key: 'crosses_trust_boundary', value: 'true' });
        metadata.sort((a, b) => (a.key < b.key ? -1 : 1));
      }
      cells.push(flowCell(idOf(c), s.id, t.id, fit.label(c.name), metadata, c.vertices));
    }
    for (const c of tdCells) {
      const kept = cells.find((x) => x.id === ids.get('cell', c.id || `${di}:${tdCells.indexOf(c)}`));
      doc.threats.push(...threatsOf(c, kept?.id, diagramId, ids, fit, r));
    }
    const diagram: DiagramDoc = { id: diagramId, name: fit.name(d.title, `Diagram ${di + 1}`, 'diagram names'), type: 'DFD-1.0.0', cells };
    const desc = fit.text(d.description, 2048);
    if (desc) diagram.description = desc;
    doc.diagrams.push(diagram);
  });
  return { document: doc, report: r.report(format, countFound(diagramsRaw, v1), doc) };
}

// ---- export ------------------------------------------------------------------------------

const TD_SEVERITY: Record<string, string> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };
function tdStatus(s: string | null | undefined): string {
  const v = (s ?? '').toLowerCase();
  if (['mitigated', 'resolved', 'closed', 'verification_pending'].includes(v)) return 'Mitigated';
  if (['not_applicable', 'false_positive', 'accepted'].includes(v)) return 'NotApplicable';
  return 'Open';
}

type Cell = Record<string, unknown>;
const metaOf = (c: Cell): Map<string, string> => {
  const out = new Map<string, string>();
  const md = isObj(c.data) ? c.data._metadata : undefined;
  for (const m of arr(md)) if (isObj(m) && typeof m.key === 'string' && typeof m.value === 'string') out.set(m.key, m.value);
  return out;
};
const labelOf = (c: Cell): string => {
  if (c.shape === 'flow') {
    const l = arr(c.labels)[0];
    const t = isObj(l) && isObj(l.attrs) && isObj(l.attrs.text) ? str(l.attrs.text.text) : undefined;
    return t ?? '';
  }
  return isObj(c.attrs) && isObj(c.attrs.text) ? (str(c.attrs.text.text) ?? '') : '';
};
const geometry = (c: Cell): Box => {
  const pos = isObj(c.position) ? c.position : c;
  const size = isObj(c.size) ? c.size : c;
  return { x: num(pos.x) ?? 0, y: num(pos.y) ?? 0, width: num(size.width) ?? 0, height: num(size.height) ?? 0 };
};

function tdProps(meta: Map<string, string>): Obj {
  const out: Obj = {};
  for (const [td, key, kind] of PROPERTY_MAP) {
    const v = meta.get(key);
    if (v === undefined) continue;
    out[td] = kind === 'boolean' ? v === 'true' : v;
  }
  return out;
}

/** The model as a Threat Dragon v2 file; threats go onto their cells, what Threat Dragon cannot hold is listed. */
export function exportThreatDragon(doc: ModelDocument): ExportResult {
  const notes = new Set<string>();
  const omitted: Unmapped[] = [];
  const framework = FRAMEWORKS.find((f) => f === doc.threat_model_framework) ?? 'STRIDE';
  const byCell = new Map<string, ThreatDoc[]>();
  const cellIds = new Set(doc.diagrams.flatMap((d) => d.cells.map((c) => c.id)));
  for (const t of doc.threats) {
    if (t.cell_id && cellIds.has(t.cell_id)) byCell.set(t.cell_id, [...(byCell.get(t.cell_id) ?? []), t]);
    else omitted.push({ kind: 'threat', source: t.name, reason: 'Threat Dragon keeps threats on cells and this threat is linked to none' });
  }
  let threatNumber = 0;
  const tdThreat = (t: ThreatDoc) => {
    if (t.threat_type.length > 1) notes.add('Threat Dragon holds one type per threat; the first was kept');
    if ((t.cwe_id ?? []).length || (t.cvss ?? []).length || t.ssvc || t.priority) notes.add('CWE, CVSS, SSVC and priority of threats have no place in Threat Dragon');
    return {
      id: t.id,
      title: t.name,
      status: tdStatus(t.status),
      severity: TD_SEVERITY[(t.severity ?? '').toLowerCase()] ?? '',
      type: t.threat_type[0] ?? '',
      description: t.description ?? '',
      mitigation: t.mitigation ?? '',
      modelType: framework,
      number: ++threatNumber,
      score: t.score !== undefined ? String(t.score) : '',
    };
  };
  const diagrams = doc.diagrams.map((d, di) => {
    let z = 0;
    const cells: Obj[] = [];
    for (const c of d.cells as Cell[]) {
      const meta = metaOf(c);
      const threats = (byCell.get(c.id as string) ?? []).map(tdThreat);
      const name = labelOf(c);
      const common = { name, description: meta.get('description') ?? '', hasOpenThreats: threats.some((t) => t.status === 'Open'), threats };
      const id = c.id as string;
      if (c.shape === 'flow') {
        const s = c.source as Obj;
        const t = c.target as Obj;
        cells.push({
          id,
          shape: 'flow',
          zIndex: (z += 1),
          connector: 'smooth',
          source: { cell: s.cell },
          target: { cell: t.cell },
          vertices: arr(c.vertices),
          labels: name ? [{ position: 0.5, attrs: { labelText: { text: name, textAnchor: 'middle', textVerticalAnchor: 'middle' } } }] : [],
          data: { type: 'tm.Flow', ...common, outOfScope: false, reasonOutOfScope: '', isBidirectional: false, isEncrypted: false, isPublicNetwork: false, protocol: '', ...tdProps(meta), isTrustBoundary: false },
        });
      } else if (c.shape === 'security-boundary' && meta.get('boundary_style') === 'line' && parsePoints(meta.get('boundary_points')).length >= 2) {
        const pts = parsePoints(meta.get('boundary_points'));
        cells.push({ id, shape: 'trust-boundary-curve', zIndex: (z += 1), connector: 'smooth', source: pts[0], target: pts[pts.length - 1], vertices: pts.slice(1, -1), data: { type: 'tm.Boundary', name, description: meta.get('description') ?? '', isTrustBoundary: true, hasOpenThreats: false } });
      } else {
        const g = geometry(c);
        const shape = c.shape === 'security-boundary' ? 'trust-boundary-box' : c.shape === 'text-box' ? 'td-text-block' : (c.shape as string);
        const type = { actor: 'tm.Actor', process: 'tm.Process', store: 'tm.Store', 'trust-boundary-box': 'tm.BoundaryBox', 'td-text-block': 'tm.Text' }[shape];
        if (!type) {
          omitted.push({ kind: 'other', source: `${d.name}: cell ${id}`, reason: `shape '${String(c.shape)}' has no Threat Dragon counterpart` });
          continue;
        }
        const data: Obj =
          shape === 'trust-boundary-box'
            ? { type, name, description: meta.get('description') ?? '', isTrustBoundary: true, hasOpenThreats: false }
            : shape === 'td-text-block'
              ? { type, name }
              : { type, ...common, outOfScope: false, reasonOutOfScope: '', ...tdProps(meta), isTrustBoundary: false };
        cells.push({ id, shape, zIndex: shape === 'trust-boundary-box' ? -1 : (z += 1), position: { x: g.x, y: g.y }, size: { width: g.width, height: g.height }, attrs: { text: { text: name } }, data });
      }
      const others = [...meta.keys()].filter((k) => !PROPERTY_MAP.some(([, key]) => key === k) && !['boundary_style', 'boundary_points', 'crosses_trust_boundary'].includes(k));
      if (others.length) notes.add(`cell properties without a Threat Dragon field were left out: ${[...new Set(others)].sort().join(', ')}`);
    }
    return { id: di, title: d.name, diagramType: framework, placeholder: '', thumbnail: './public/content/images/thumbnail.jpg', version: '2.2.0', description: d.description ?? '', cells };
  });
  for (const [kind, list] of [['assets', doc.assets], ['notes', doc.notes], ['documents', doc.documents], ['repositories', doc.repositories]] as const) {
    if (list.length) omitted.push({ kind: kind === 'assets' ? 'asset' : 'other', source: `${list.length} ${kind}`, reason: 'Threat Dragon has no place for them' });
  }
  const meta = new Map((doc.metadata ?? []).map((m) => [m.key, m.value]));
  const td = {
    version: '2.2.0',
    summary: { title: doc.name, owner: meta.get('owner') ?? '', description: doc.description ?? '', id: 0 },
    detail: {
      contributors: (meta.get('contributors') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((name) => ({ name })),
      diagrams,
      diagramTop: diagrams.length,
      reviewer: meta.get('reviewer') ?? '',
      threatTop: threatNumber,
    },
  };
  return { text: `${JSON.stringify(td, null, 2)}\n`, notes: [...notes].sort(), omitted };
}
