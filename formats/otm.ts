// Open Threat Model (OTM, IriusRisk's tool-neutral format; JSON or YAML): import and export.
// Trust zones are security-boundary nodes, components are elements, dataflows are flows, and the
// top-level threats become TMI threats linked to the first component or dataflow that references
// them, with the referenced mitigations as their mitigation text. OTM has no DFD kinds, so a
// component's kind comes from the `tmi.shape` attribute we write, else from its type and name.
import type { Metadata } from '../contract/common.ts';
import { toMetadata, PROPERTIES } from '../rules/vocabulary.ts';
import { fitBox, flowCell, layout, nodeCell, type Box, type LayoutItem, type NodeShape } from './cells.ts';
import { emptyDocument, ImportError, Reporter, zeroCounts, type AssetDoc, type DiagramDoc, type ExportResult, type ImportResult, type ModelDocument, type ThreatDoc, type Unmapped } from './document.ts';
import { IdMap } from './ids.ts';
import { DEFAULT_LIMITS, parseJson, parseYaml, type Limits } from './limits.ts';
import { lowerSnake } from '../contract/limits.ts';
import { htmlText, metaKey, TextFitter, threatType } from './text.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const objs = (v: unknown): Obj[] => arr(v).filter(isObj);
const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The attribute that records a component's DFD kind, so an export comes back as it was. */
const SHAPE_ATTRIBUTE = 'tmi.shape';
const STORE_WORDS = /(database|data-?base|\bdb\b|-db-|storage|\bstore\b|datastore|data store|bucket|\bs3\b|sql|redis|mongo|dynamo|cosmos|\bqueue\b|\bcache\b|file ?system|\bblob\b|\blogs?\b)/i;
const ACTOR_WORDS = /(client|browser|\busers?\b|actor|mobile|external|internet|human|partner|customer|device|third[- ]party|attacker)/i;

function kindOf(c: Obj): { shape: 'actor' | 'process' | 'store'; guessed: boolean } {
  const attr = isObj(c.attributes) ? str(c.attributes[SHAPE_ATTRIBUTE]) : undefined;
  if (attr === 'actor' || attr === 'process' || attr === 'store') return { shape: attr, guessed: false };
  const type = str(c.type) ?? '';
  const name = str(c.name) ?? '';
  if (STORE_WORDS.test(type)) return { shape: 'store', guessed: true };
  if (ACTOR_WORDS.test(type)) return { shape: 'actor', guessed: true };
  if (STORE_WORDS.test(name)) return { shape: 'store', guessed: true };
  if (ACTOR_WORDS.test(name)) return { shape: 'actor', guessed: true };
  return { shape: 'process', guessed: true };
}

/** OTM risk numbers (0-100) and our scales; the bucket values map back onto themselves. */
const CLASS_BUCKETS: [number, string][] = [
  [80, 'strictly-confidential'],
  [60, 'confidential'],
  [40, 'restricted'],
  [20, 'internal'],
  [0, 'public'],
];
const CLASS_VALUE: Record<string, number> = { 'strictly-confidential': 100, confidential: 75, restricted: 50, internal: 25, public: 0 };
const SEVERITY_BUCKETS: [number, string][] = [
  [90, 'critical'],
  [70, 'high'],
  [40, 'medium'],
  [10, 'low'],
  [0, 'informational'],
];
const SEVERITY_IMPACT: Record<string, number> = { critical: 95, high: 80, medium: 55, low: 25, informational: 5 };
const bucket = (v: number, table: [number, string][]) => table.find(([min]) => v >= min)![1];

function isOtm(v: unknown): v is Obj {
  return isObj(v) && typeof v.otmVersion === 'string' && isObj(v.project);
}

/** Parses OTM text, JSON or YAML (the two serialisations the specification allows). */
function parseOtm(text: string, limits: Limits, r: Reporter): Obj {
  const raw = text.trimStart().startsWith('{') ? parseJson(text, limits, 'OTM') : parseYaml(text, limits, 'OTM', (n) => r.note(n));
  if (!isOtm(raw)) throw new ImportError('invalid_model', 'The file is not an Open Threat Model: it needs "otmVersion" and "project".');
  return raw;
}

export function importOtm(text: string, limits: Limits = DEFAULT_LIMITS): ImportResult {
  const r = new Reporter();
  const m = parseOtm(text, limits, r);
  const fit = new TextFitter(r);
  const ids = new IdMap('otm');
  const project = m.project as Obj;
  const doc = emptyDocument(fit.label(project.name) || 'Imported OTM model');
  doc.description = fit.text(project.description, 2048, 'descriptions', true);
  const projectAttributes = isObj(project.attributes) ? project.attributes : {};
  doc.metadata = toMetadata({
    ...Object.fromEntries(Object.entries(projectAttributes).filter(([k, v]) => k !== 'framework' && v !== null && typeof v !== 'object').map(([k, v]) => [metaKey(k), fit.meta(v)])),
    owner: fit.meta(project.owner),
    owner_contact: fit.meta(project.ownerContact),
    otm_project_id: fit.meta(project.id),
  });
  if (typeof projectAttributes.framework === 'string' && projectAttributes.framework) doc.threat_model_framework = projectAttributes.framework.slice(0, 30);

  const reps = objs(m.representations);
  const diagramReps = reps.filter((x) => x.type === 'diagram');
  for (const rep of reps) if (rep.type !== 'diagram') r.skip('diagram', `representation '${str(rep.name) ?? str(rep.id)}'`, `a '${str(rep.type)}' representation is not a diagram`);
  const diagramKeys = diagramReps.length ? diagramReps.map((x) => str(x.id) ?? '') : [''];
  const diagrams: DiagramDoc[] = diagramKeys.map((key, i) => ({
    id: ids.of('diagram', key || 'main'),
    name: fit.name(diagramReps[i]?.name, diagramReps.length ? `Diagram ${i + 1}` : 'Main', 'diagram names'),
    type: 'DFD-1.0.0',
    cells: [],
  }));
  const diagramOf = (x: Obj) => {
    const rep = objs(x.representations).find((rr) => diagramKeys.includes(str(rr.representation) ?? '\0'));
    return { index: rep ? diagramKeys.indexOf(str(rep.representation)!) : 0, rep };
  };

  // Assets first: elements and flows point at them.
  const assetIds = new Map<string, string>();
  for (const a of objs(m.assets)) {
    const sid = str(a.id) ?? '';
    const id = ids.of('asset', sid);
    assetIds.set(sid, id);
    const risk = isObj(a.risk) ? a.risk : {};
    const attrs = isObj(a.attributes) ? a.attributes : {};
    const conf = num(risk.confidentiality);
    const crit = Math.max(num(risk.integrity) ?? -1, num(risk.availability) ?? -1);
    const classification = str(attrs.classification)?.split(',').map((s) => s.trim()).filter(Boolean) ?? (conf !== undefined ? [bucket(conf, CLASS_BUCKETS)] : []);
    const type = str(attrs.type);
    const asset: AssetDoc = { id, name: fit.name(a.name, sid || 'Asset', 'asset names'), type: (['data', 'hardware', 'software', 'infrastructure', 'service', 'personnel'].includes(type ?? '') ? type : 'data') as AssetDoc['type'] };
    const desc = fit.text(a.description, 2048);
    if (desc) asset.description = desc;
    if (classification.length) asset.classification = classification.slice(0, 50).map((c) => c.slice(0, 128));
    const criticality = str(attrs.criticality) ?? (crit >= 0 ? (crit >= 80 ? 'high' : crit >= 40 ? 'medium' : 'low') : undefined);
    if (criticality) asset.criticality = criticality.slice(0, 128);
    if (str(attrs.sensitivity)) asset.sensitivity = str(attrs.sensitivity)!.slice(0, 128);
    doc.assets.push(asset);
  }
  const assetRefs = (list: unknown[]) => [...new Set(list.map((x) => assetIds.get(str(x) ?? '')).filter((x): x is string => !!x))];

  /**
   * Cell metadata from an OTM object: a file we wrote carries it verbatim in `attributes` (marked
   * with tmi.shape); any other file gives its scalar attributes (vocabulary keys as they are, other
   * keys made safe), tags, description and the derived `extra` values.
   */
  const attributesOf = (x: Obj, extra: Record<string, string | undefined> = {}): Metadata[] => {
    const attrs = isObj(x.attributes) ? x.attributes : isObj(x.properties) ? x.properties : {};
    if (typeof attrs[SHAPE_ATTRIBUTE] === 'string') {
      return toMetadata(Object.fromEntries(Object.entries(attrs).filter(([k, v]) => k !== SHAPE_ATTRIBUTE && typeof v === 'string').map(([k, v]) => [metaKey(k), fit.meta(v)]))).slice(0, 100);
    }
    const out: Record<string, string | undefined> = { ...extra };
    for (const [k, v] of Object.entries(attrs)) {
      if (k === SHAPE_ATTRIBUTE || k === 'Name' || v === null || typeof v === 'object') continue;
      const key = k === 'Out Of Scope' ? 'out_of_scope' : PROPERTIES[k] ? k : metaKey(k);
      out[key] = fit.meta(v);
    }
    if (arr(x.tags).length) out.tags = fit.meta(arr(x.tags).filter((t) => typeof t === 'string').join(','));
    const desc = fit.meta(x.description);
    if (desc) out.description = desc;
    const md = toMetadata(out);
    if (md.length > 100) r.note('cells with more than 100 properties kept the first 100');
    return md.slice(0, 100);
  };

  // Trust zones and components, with their parents; positions when the file has usable ones.
  const allZones = objs(m.trustZones);
  // The zone our export adds for components outside every boundary is not a boundary of the model.
  const zones = allZones.filter((z) => !(isObj(z.attributes) && z.attributes[SHAPE_ATTRIBUTE] === 'none'));
  for (const z of allZones) if (!zones.includes(z)) r.skip('boundary', `trust zone '${str(z.name)}'`, 'added by a TMI export for components outside every trust boundary');
  const comps = objs(m.components);
  const zoneIds = new Set(zones.map((z) => str(z.id) ?? ''));
  const compById = new Map(comps.map((c) => [str(c.id) ?? '', c]));
  const parentZone = (x: Obj, depth = 0): string | undefined => {
    const p = isObj(x.parent) ? x.parent : undefined;
    if (!p || depth > 50) return undefined;
    if (str(p.trustZone) && zoneIds.has(str(p.trustZone)!)) return str(p.trustZone);
    const pc = str(p.component) ? compById.get(str(p.component)!) : undefined;
    return pc ? parentZone(pc, depth + 1) : undefined;
  };
  const nested = comps.filter((c) => isObj(c.parent) && str((c.parent as Obj).component)).length;
  if (nested) r.note(`components nested in components were placed in the nearest trust zone (${nested})`);

  interface Placed {
    sid: string;
    id: string;
    shape: NodeShape;
    src: Obj;
    parent?: string;
    diagram: number;
    rep?: Obj;
  }
  const placed: Placed[] = [];
  for (const z of zones) {
    const sid = str(z.id) ?? '';
    const { index, rep } = diagramOf(z);
    const p = isObj(z.parent) ? str((z.parent as Obj).trustZone) : undefined;
    placed.push({ sid, id: ids.of('zone', sid), shape: 'security-boundary', src: z, parent: p && zoneIds.has(p) && p !== sid ? p : undefined, diagram: index, rep });
  }
  let guessed = 0;
  for (const c of comps) {
    const sid = str(c.id) ?? '';
    const { index, rep } = diagramOf(c);
    const k = kindOf(c);
    if (k.guessed) guessed += 1;
    placed.push({ sid, id: ids.of('component', sid), shape: k.shape, src: c, parent: parentZone(c), diagram: index, rep });
  }
  if (guessed) r.note(`component kinds (actor, process, store) guessed from their type and name (${guessed})`);
  const zoneCellId = (sid: string) => ids.get('zone', sid);

  diagrams.forEach((diagram, di) => {
    const mine = placed.filter((p) => p.diagram === di);
    const inDiagram = new Set(mine.filter((p) => p.shape === 'security-boundary').map((p) => p.sid));
    for (const p of mine) {
      if (p.parent && !inDiagram.has(p.parent)) {
        r.note('elements whose trust zone is drawn in another diagram are not nested in it');
        p.parent = undefined;
      }
    }
    const boxes = positions(mine, inDiagram);
    if (!boxes) r.note(mine.some((p) => p.rep) ? 'positions that do not fit their trust zones were replaced by an automatic layout' : 'laid out automatically (the file has no positions)');
    else if (mine.some((p) => !p.rep || !isObj(p.rep.position))) r.note('components without a position in the diagram were placed at the bottom of their trust zone');
    const auto = boxes ?? autoLayout(mine);
    for (const p of mine) {
      const box = fitBox(auto.get(p.sid) ?? {}, p.shape);
      const label = fit.label(p.src.name) || p.sid;
      const md =
        p.shape === 'security-boundary'
          ? attributesOf(p.src, { trust_rating: isObj(p.src.risk) ? str(p.src.risk.trustRating) : undefined, zone_type: fit.meta(p.src.type) })
          : attributesOf(p.src, { technology: fit.meta(str(p.src.type)?.toLowerCase()) });
      const cellAssets = isObj(p.src.assets) ? assetRefs([...arr(p.src.assets.processed), ...arr(p.src.assets.stored)]) : [];
      diagram.cells.push(nodeCell(p.id, p.shape, box, label, md, p.parent ? zoneCellId(p.parent) : null, cellAssets.length ? { data_assets: cellAssets } : undefined));
    }
    for (const cell of diagram.cells) {
      if (typeof cell.parent !== 'string') continue;
      const holder = diagram.cells.find((c) => c.id === cell.parent)!;
      holder.children = [...((holder.children as string[] | undefined) ?? []), cell.id];
    }
  });

  // Dataflows between components, in the diagram of their source.
  const cellOf = new Map(placed.filter((p) => p.shape !== 'security-boundary').map((p) => [p.sid, p]));
  for (const f of objs(m.dataflows)) {
    const sid = str(f.id) ?? '';
    const s = cellOf.get(str(f.source) ?? '');
    const t = cellOf.get(str(f.destination) ?? '');
    if (!s || !t) {
      r.skip('flow', `dataflow '${str(f.name) ?? sid}'`, 'its source or destination is not a component');
      continue;
    }
    if (s.diagram !== t.diagram) {
      r.skip('flow', `dataflow '${str(f.name) ?? sid}'`, 'its ends are drawn in different diagrams');
      continue;
    }
    const md = attributesOf(f, { bidirectional: typeof f.bidirectional === 'boolean' ? String(f.bidirectional) : undefined });
    const fa = assetRefs(arr(f.assets));
    diagrams[s.diagram]!.cells.push(flowCell(ids.of('dataflow', sid), s.id, t.id, fit.label(f.name), md, [], fa.length ? { data_assets: fa } : undefined));
  }

  // Threats: one TMI threat per OTM threat, linked to the first cell that references it.
  const mitigations = new Map(objs(m.mitigations).map((x) => [str(x.id) ?? '', x]));
  const refs = new Map<string, { cell: string; diagram: number; state?: string; mitigations: Obj[] }[]>();
  const cellIds = new Set(diagrams.flatMap((d) => d.cells.map((c) => c.id)));
  for (const [x, cellId, diagram] of [
    ...comps.map((c) => [c, ids.get('component', str(c.id) ?? ''), cellOf.get(str(c.id) ?? '')?.diagram ?? 0] as const),
    ...objs(m.dataflows).map((f) => [f, ids.get('dataflow', str(f.id) ?? ''), cellOf.get(str(f.source) ?? '')?.diagram ?? 0] as const),
  ]) {
    for (const ref of objs(x.threats)) {
      const tid = str(ref.threat) ?? '';
      const list = refs.get(tid) ?? [];
      if (cellId && cellIds.has(cellId)) list.push({ cell: cellId, diagram, state: str(ref.state), mitigations: objs(ref.mitigations) });
      refs.set(tid, list);
    }
  }
  for (const t of objs(m.threats)) {
    const tid = str(t.id) ?? '';
    const where = refs.get(tid) ?? [];
    const first = where[0];
    if (where.length > 1) r.note('threats referenced by several components or dataflows are linked to the first one');
    const risk = isObj(t.risk) ? t.risk : {};
    const impact = num(risk.impact);
    const likelihood = num(risk.likelihood) ?? 100;
    const attrs = isObj(t.attributes) ? t.attributes : {};
    const mitigationText = first?.mitigations
      .map((ref) => mitigations.get(str(ref.mitigation) ?? ''))
      .filter((x): x is Obj => !!x)
      .map((x) => htmlText(str(x.description) || str(x.name) || ''))
      .filter(Boolean)
      .join('\n\n');
    const state = first?.state ? lowerSnake(first.state) : str(attrs.status) ? lowerSnake(str(attrs.status)!) : undefined;
    const status = !state || state === 'exposed' || state === 'auto_generated' ? 'open' : state;
    const threat: ThreatDoc = {
      id: ids.of('threat', tid),
      name: fit.name(t.name, tid || 'Threat', 'threat names'),
      description: fit.text(htmlText(str(t.description) ?? ''), 2048),
      mitigation: fit.text(mitigationText || str(attrs.mitigation), 1024, 'mitigations'),
      severity: attrs.severity !== undefined ? str(attrs.severity) || null : impact !== undefined ? bucket((impact * likelihood) / 100, SEVERITY_BUCKETS) : null,
      status,
      mitigated: status === 'mitigated',
      threat_type: [...new Set(arr(t.categories).filter((c): c is string => typeof c === 'string' && !!c.trim()).map(threatType))].slice(0, 20),
      cwe_id: [...new Set(arr(t.cwes).filter((c): c is string => typeof c === 'string' && /^CWE-[0-9]{1,10}$/.test(c)))].slice(0, 50),
      diagram_id: first ? diagrams[first.diagram]!.id : null,
      cell_id: first?.cell ?? null,
    };
    if (str(attrs.priority)) threat.priority = str(attrs.priority)!.slice(0, 256);
    for (const flag of ['include_in_report', 'timmy_enabled'] as const) if (attrs[flag] === 'true' || attrs[flag] === 'false') threat[flag] = attrs[flag] === 'true';
    const score = Number(str(attrs.score));
    if (str(attrs.score) && Number.isFinite(score) && score >= 0 && score <= 10) threat.score = Math.round(score * 10) / 10;
    doc.threats.push(threat);
  }
  const found = zeroCounts();
  Object.assign(found, { diagrams: reps.length || 1, elements: comps.length, flows: objs(m.dataflows).length, boundaries: zones.length, threats: objs(m.threats).length, assets: objs(m.assets).length });
  if (!reps.length) found.diagrams = 1;
  doc.diagrams = diagrams;
  const unusedMitigations = [...mitigations.keys()].filter((id) => ![...refs.values()].some((list) => list[0]?.mitigations.some((x) => str(x.mitigation) === id)));
  if (unusedMitigations.length) {
    doc.notes.push({
      id: ids.of('note', 'mitigations', false),
      name: 'OTM mitigations',
      content: `Mitigations from the OTM file that no imported threat uses:\n\n${unusedMitigations.map((id) => `- **${(str(mitigations.get(id)!.name) ?? id).replace(/\n/g, ' ')}**: ${(str(mitigations.get(id)!.description) ?? '').replace(/\n/g, ' ')}`).join('\n')}\n`.slice(0, 262_144),
    });
  }
  return { document: doc, report: r.report('otm', found, doc) };
}

/** Boxes from the file's representations, relative to the parent zone or absolute, whichever fits. */
function positions(all: { sid: string; shape: NodeShape; parent?: string; rep?: Obj }[], zones: Set<string>): Map<string, Box> | undefined {
  const mine = all.filter((p) => p.rep && isObj(p.rep.position));
  if (!mine.length || all.some((p) => p.shape === 'security-boundary' && !mine.includes(p))) return undefined;
  const own = new Map<string, Box>();
  for (const p of mine) {
    const pos = p.rep!.position as Obj;
    const size = isObj(p.rep!.size) ? p.rep!.size : {};
    own.set(p.sid, fitBox({ x: num(pos.x), y: num(pos.y), width: num(size.width), height: num(size.height) }, p.shape));
  }
  const byId = new Map(mine.map((p) => [p.sid, p]));
  const fits = (boxes: Map<string, Box>) =>
    mine.every((p) => {
      if (!p.parent || !zones.has(p.parent)) return true;
      const b = boxes.get(p.sid)!;
      const z = boxes.get(p.parent)!;
      return b.x >= z.x && b.y >= z.y && b.x + b.width <= z.x + z.width && b.y + b.height <= z.y + z.height;
    });
  const relative = new Map<string, Box>();
  const abs = (sid: string, depth = 0): Box => {
    const known = relative.get(sid);
    if (known) return known;
    const b = own.get(sid)!;
    const parent = byId.get(sid)?.parent;
    const base = parent && own.has(parent) && depth < 50 ? abs(parent, depth + 1) : { x: 0, y: 0 };
    const out = { ...b, x: b.x + base.x, y: b.y + base.y };
    relative.set(sid, out);
    return out;
  };
  for (const p of mine) abs(p.sid);
  const chosen = fits(relative) ? relative : fits(own) ? own : undefined;
  if (!chosen) return undefined;
  // Elements the file gives no position in this diagram go inside the bottom of their zone, or
  // in a row below the diagram when they have none.
  let x = 40;
  const y = Math.max(0, ...[...chosen.values()].map((b) => b.y + b.height)) + 60;
  for (const p of all) {
    if (chosen.has(p.sid)) continue;
    const zone = p.parent ? chosen.get(p.parent) : undefined;
    const size = fitBox({}, p.shape);
    if (zone) chosen.set(p.sid, { ...size, x: zone.x + Math.max(0, Math.min(10, zone.width - size.width)), y: zone.y + Math.max(0, zone.height - size.height - 10) });
    else {
      chosen.set(p.sid, { ...size, x, y });
      x += size.width + 40;
    }
  }
  return chosen;
}

function autoLayout(mine: { sid: string; shape: NodeShape; parent?: string }[]): Map<string, Box> {
  const items = new Map<string, LayoutItem>(mine.map((p) => [p.sid, p.shape === 'security-boundary' ? { id: p.sid, shape: p.shape, children: [] } : { id: p.sid, shape: p.shape }]));
  const roots: LayoutItem[] = [];
  for (const p of mine) {
    const parent = p.parent ? items.get(p.parent) : undefined;
    if (parent?.children && !isAncestor(p.sid, p.parent!, mine)) parent.children.push(items.get(p.sid)!);
    else roots.push(items.get(p.sid)!);
  }
  return layout(roots);
}

function isAncestor(sid: string, of: string, mine: { sid: string; parent?: string }[]): boolean {
  const byId = new Map(mine.map((p) => [p.sid, p.parent]));
  for (let p: string | undefined = of, n = 0; p && n < 100; p = byId.get(p), n++) if (p === sid) return true;
  return false;
}

// ---- export ------------------------------------------------------------------------------

type Cell = Record<string, unknown>;
const metaOf = (c: Cell): Map<string, string> => {
  const out = new Map<string, string>();
  for (const m of arr(isObj(c.data) ? c.data._metadata : [])) if (isObj(m) && typeof m.key === 'string' && typeof m.value === 'string') out.set(m.key, m.value);
  return out;
};
const labelOf = (c: Cell): string => {
  if (c.shape === 'flow') {
    const l = arr(c.labels)[0];
    return (isObj(l) && isObj(l.attrs) && isObj(l.attrs.text) ? str(l.attrs.text.text) : undefined) ?? '';
  }
  return (isObj(c.attrs) && isObj(c.attrs.text) ? str(c.attrs.text.text) : undefined) ?? '';
};
const geometry = (c: Cell): Box => {
  const pos = isObj(c.position) ? c.position : c;
  const size = isObj(c.size) ? c.size : c;
  return { x: num(pos.x) ?? 0, y: num(pos.y) ?? 0, width: num(size.width) ?? 0, height: num(size.height) ?? 0 };
};

/** The model as OTM 0.2.0 JSON; positions are relative to the parent trust zone, as StartLeft writes them. */
export function exportOtm(doc: ModelDocument): ExportResult {
  const notes = new Set<string>();
  const omitted: Unmapped[] = [];
  const attributes = (meta: Map<string, string>) => Object.fromEntries(meta);
  const trustZones: Obj[] = [];
  const components: Obj[] = [];
  const dataflows: Obj[] = [];
  const representations: Obj[] = [];
  const threatRefs = new Map<string, Obj[]>();
  const otmMitigations: Obj[] = [];
  const cellIds = new Set(doc.diagrams.flatMap((d) => d.cells.map((c) => c.id)));
  for (const t of doc.threats) {
    if (!t.cell_id || !cellIds.has(t.cell_id)) continue;
    const ref: Obj = { threat: t.id, state: t.status || 'open' };
    if (t.mitigation) {
      const mid = `${t.id}-mitigation`;
      otmMitigations.push({ id: mid, name: t.mitigation.split('\n')[0]!.slice(0, 120), description: t.mitigation, riskReduction: t.mitigated ? 100 : 50 });
      ref.mitigations = [{ mitigation: mid, state: t.mitigated ? 'implemented' : 'recommended' }];
    }
    threatRefs.set(t.cell_id, [...(threatRefs.get(t.cell_id) ?? []), ref]);
  }
  for (const d of doc.diagrams) {
    const byId = new Map(d.cells.map((c) => [c.id, c as Cell]));
    let maxX = 0;
    let maxY = 0;
    for (const c of d.cells as Cell[]) {
      const id = c.id as string;
      const meta = metaOf(c);
      const name = labelOf(c) || id;
      if (c.shape === 'flow') {
        const df: Obj = { id, name, source: (c.source as Obj).cell, destination: (c.target as Obj).cell, bidirectional: meta.get('bidirectional') === 'true', attributes: { [SHAPE_ATTRIBUTE]: 'flow', ...attributes(meta) } };
        if (meta.has('description')) df.description = meta.get('description');
        if (meta.has('tags')) df.tags = meta.get('tags')!.split(',');
        const da = isObj(c.data) ? arr(c.data.data_assets) : [];
        if (da.length) df.assets = da;
        if (threatRefs.has(id)) df.threats = threatRefs.get(id);
        if (arr(c.vertices).length) notes.add('flow vertices (bends) have no place in OTM');
        dataflows.push(df);
        continue;
      }
      const g = geometry(c);
      maxX = Math.max(maxX, g.x + g.width);
      maxY = Math.max(maxY, g.y + g.height);
      const parent = typeof c.parent === 'string' ? byId.get(c.parent) : undefined;
      const pg = parent ? geometry(parent) : { x: 0, y: 0 };
      const rep = { representation: d.id, id: `${id}-representation`, name: `${name} Representation`, position: { x: g.x - pg.x, y: g.y - pg.y }, size: { width: g.width, height: g.height } };
      const parentRef = parent?.shape === 'security-boundary' ? { trustZone: parent.id } : undefined;
      if (c.shape === 'security-boundary') {
        const rating = Number(meta.get('trust_rating'));
        const tz: Obj = { id, name, type: meta.get('zone_type') ?? 'trust-zone', risk: { trustRating: Number.isFinite(rating) ? rating : 50 }, representations: [rep], attributes: { [SHAPE_ATTRIBUTE]: 'security-boundary', ...attributes(meta) } };
        if (meta.has('description')) tz.description = meta.get('description');
        if (parentRef) tz.parent = parentRef;
        trustZones.push(tz);
      } else if (c.shape === 'actor' || c.shape === 'process' || c.shape === 'store') {
        const comp: Obj = {
          id,
          name,
          type: meta.get('technology') ?? { actor: 'generic-client', process: 'generic-service', store: 'generic-data-store' }[c.shape],
          parent: parentRef,
          representations: [rep],
          attributes: { [SHAPE_ATTRIBUTE]: c.shape, ...attributes(meta) },
        };
        if (meta.has('description')) comp.description = meta.get('description');
        if (meta.has('tags')) comp.tags = meta.get('tags')!.split(',');
        const da = isObj(c.data) ? arr(c.data.data_assets) : [];
        if (da.length) comp.assets = c.shape === 'store' ? { stored: da } : { processed: da };
        if (threatRefs.has(id)) comp.threats = threatRefs.get(id);
        components.push(comp);
      } else {
        omitted.push({ kind: 'other', source: `${d.name}: ${String(c.shape)} '${name}'`, reason: 'OTM has no free text shapes' });
      }
    }
    representations.push({ id: d.id, name: d.name, type: 'diagram', size: { width: Math.max(1000, maxX + 40), height: Math.max(800, maxY + 40) } });
  }
  // OTM requires every component to have a parent; those outside any boundary share one zone.
  const orphans = components.filter((c) => !c.parent);
  if (orphans.length) {
    const id = 'tmi-outside-boundaries';
    trustZones.push({ id, name: 'Outside trust boundaries', type: 'tmi-outside', risk: { trustRating: 0 }, attributes: { [SHAPE_ATTRIBUTE]: 'none' } });
    for (const c of orphans) c.parent = { trustZone: id };
    notes.add('components outside every trust boundary were put in a trust zone "Outside trust boundaries" (OTM requires a parent)');
  }
  const threats = doc.threats.map((t) => {
    const o: Obj = {
      id: t.id,
      name: t.name,
      categories: t.threat_type,
      cwes: t.cwe_id ?? [],
      risk: { likelihood: 100, impact: SEVERITY_IMPACT[(t.severity ?? '').toLowerCase()] ?? 50 },
      attributes: { severity: t.severity ?? '' },
    };
    if (t.description) o.description = t.description;
    const attrs = o.attributes as Obj;
    const linked = !!(t.cell_id && cellIds.has(t.cell_id));
    if (!linked && t.status) attrs.status = t.status;
    if (t.priority) attrs.priority = t.priority;
    for (const flag of ['include_in_report', 'timmy_enabled'] as const) if (t[flag] !== undefined) attrs[flag] = String(t[flag]);
    if (t.score !== undefined) attrs.score = String(t.score);
    if (t.mitigation && !linked) attrs.mitigation = t.mitigation;
    if ((t.cvss ?? []).length || t.ssvc) notes.add('CVSS and SSVC scores have no place in OTM');
    return o;
  });
  const assets = doc.assets.map((a) => {
    const cls = (a.classification ?? []).map((c) => c.toLowerCase()).find((c) => c in CLASS_VALUE);
    const o: Obj = {
      id: a.id,
      name: a.name,
      risk: { confidentiality: cls ? CLASS_VALUE[cls] : 50, integrity: 50, availability: 50 },
      attributes: { type: a.type, ...(a.classification?.length ? { classification: a.classification.join(',') } : {}), ...(a.criticality ? { criticality: a.criticality } : {}), ...(a.sensitivity ? { sensitivity: a.sensitivity } : {}) },
    };
    if (a.description) o.description = a.description;
    return o;
  });
  for (const [kind, list] of [['notes', doc.notes], ['documents', doc.documents], ['repositories', doc.repositories]] as const) {
    if (list.length) omitted.push({ kind: 'other', source: `${list.length} ${kind}`, reason: 'OTM has no place for them' });
  }
  const meta = new Map((doc.metadata ?? []).map((m) => [m.key, m.value]));
  const otm = {
    otmVersion: '0.2.0',
    project: {
      name: doc.name,
      id: meta.get('otm_project_id') ?? (doc.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'threat-model'),
      ...(doc.description ? { description: doc.description } : {}),
      ...(meta.get('owner') ? { owner: meta.get('owner') } : {}),
      ...(meta.get('owner_contact') ? { ownerContact: meta.get('owner_contact') } : {}),
      attributes: { ...Object.fromEntries([...meta].filter(([k]) => !['owner', 'owner_contact', 'otm_project_id'].includes(k))), framework: doc.threat_model_framework ?? 'STRIDE' },
    },
    representations,
    assets,
    trustZones,
    components,
    dataflows,
    threats,
    mitigations: otmMitigations,
  };
  return { text: `${JSON.stringify(otm, null, 2)}\n`, notes: [...notes].sort(), omitted };
}

export { isOtm };
