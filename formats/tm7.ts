// Microsoft Threat Modeling Tool models (.tm7: WCF data-contract XML). Drawing surfaces become
// diagrams; stencils become elements by their drawn shape (ellipse: process, parallel lines: store,
// rectangle: external interactor; annotations become text boxes), border boundaries boxes, line
// boundaries boxes around the line (flows crossing the line are marked), connectors flows, and the
// threat instances threats linked to their flow. Stencil properties map onto the rules vocabulary
// where recognisable (Encrypted, Stores Credentials, Provides Confidentiality, ...). The XML is read
// with any DTD refused, so entity tricks cannot work (limits.ts).
import type { CellJson } from '../contract/diagrams.ts';
import { toMetadata, type PropertyValue } from '../rules/vocabulary.ts';
import { boxAround, fitBox, flowCell, nodeCell, pointsText, polylinesCross, smallestHolder, type Box, type NodeShape, type Point } from './cells.ts';
import { emptyDocument, ImportError, Reporter, zeroCounts, type DiagramDoc, type ImportResult, type ThreatDoc } from './document.ts';
import { IdMap } from './ids.ts';
import { DEFAULT_LIMITS, parseXml, type Limits } from './limits.ts';
import { htmlText, metaKey, severity, TextFitter, threatType } from './text.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v]);
/** The text of an XML element: a string, or `#text` beside attributes; nothing when i:nil. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (isObj(v)) {
    if (v['@_nil'] === 'true') return undefined;
    const t = v['#text'];
    return typeof t === 'string' || typeof t === 'number' ? String(t) : '';
  }
  return undefined;
}
const numOf = (v: unknown) => {
  const n = Number(text(v));
  return Number.isFinite(n) ? n : undefined;
};

interface Stencil {
  guid: string;
  type: string;
  generic: string;
  typeId: string;
  header: string;
  name: string;
  props: Map<string, string>;
  box?: Box;
  source?: string;
  target?: string;
  path: Point[];
}

/** A stencil's properties: display name -> value (the selected entry of a list). */
function readProperties(v: Obj): { header: string; props: Map<string, string> } {
  const props = new Map<string, string>();
  let header = '';
  for (const a of arr(isObj(v.Properties) ? v.Properties.anyType : undefined).filter(isObj)) {
    const display = text(a.DisplayName) ?? '';
    const kind = String(a['@_type'] ?? '');
    if (kind.endsWith('HeaderDisplayAttribute')) {
      if (!header) header = display;
      continue;
    }
    if (kind.endsWith('ListDisplayAttribute')) {
      const options = arr(isObj(a.Value) ? a.Value.string : undefined).map(text);
      const picked = options[numOf(a.SelectedIndex) ?? 0];
      if (picked !== undefined) props.set(display, picked);
    } else {
      const value = text(a.Value);
      if (value !== undefined) props.set(display, value);
    }
  }
  return { header, props };
}

/** A quadratic curve (TMT draws connectors and line boundaries with one handle) as a polyline. */
function curve(p0: Point, handle: Point | undefined, p2: Point): Point[] {
  if (!handle) return [p0, p2];
  const at = (t: number) => ({ x: (1 - t) ** 2 * p0.x + 2 * (1 - t) * t * handle.x + t ** 2 * p2.x, y: (1 - t) ** 2 * p0.y + 2 * (1 - t) * t * handle.y + t ** 2 * p2.y });
  return [0, 0.25, 0.5, 0.75, 1].map(at);
}

function readStencil(v: Obj): Stencil {
  const { header, props } = readProperties(v);
  const point = (x: unknown, y: unknown) => (numOf(x) !== undefined && numOf(y) !== undefined ? { x: numOf(x)!, y: numOf(y)! } : undefined);
  const left = numOf(v.Left);
  const top = numOf(v.Top);
  const s: Stencil = {
    guid: text(v.Guid) ?? '',
    type: String(v['@_type'] ?? ''),
    generic: text(v.GenericTypeId) ?? '',
    typeId: text(v.TypeId) ?? '',
    header,
    name: props.get('Name') ?? '',
    props,
    path: [],
  };
  if (left !== undefined && top !== undefined) s.box = { x: left, y: top, width: numOf(v.Width) ?? 100, height: numOf(v.Height) ?? 100 };
  const start = point(v.SourceX, v.SourceY);
  const end = point(v.TargetX, v.TargetY);
  if (start && end) s.path = curve(start, point(v.HandleX, v.HandleY), end);
  s.source = text(v.SourceGuid);
  s.target = text(v.TargetGuid);
  return s;
}

const ELEMENT_TYPES: Record<string, 'process' | 'store' | 'actor'> = { StencilEllipse: 'process', StencilParallelLines: 'store', StencilRectangle: 'actor' };
const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

/** TMT stencil names that say what an element is, in the rules vocabulary's words. */
function technologyOf(header: string): string | undefined {
  const h = header.toLowerCase();
  if (!h || h.startsWith('generic ')) return undefined;
  if (/browser/.test(h)) return 'browser';
  if (/web application/.test(h)) return 'web-application';
  if (/web server/.test(h)) return 'web-server';
  if (/web api|web service/.test(h)) return 'web-service';
  if (/database|sql|postgres|mysql|cosmos|nosql/.test(h)) return 'database';
  if (/file system/.test(h)) return 'file-system';
  if (/identity provider|active directory|authorization provider/.test(h)) return 'identity-provider';
  if (/key vault/.test(h)) return 'vault';
  if (/mobile/.test(h)) return 'mobile-app';
  return h.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || undefined;
}
const PROTOCOLS: Record<string, string> = {
  https: 'https',
  http: 'http',
  binary: 'binary',
  ipsec: 'ipsec',
  smb: 'smb',
  udp: 'udp',
  'rpc or dcom': 'rpc',
  'named pipe': 'inter-process-communication',
  alpc: 'inter-process-communication',
  'ioctl interface': 'inter-process-communication',
};
const yesNo = (v: string | undefined): boolean | undefined => (v === 'Yes' ? true : v === 'No' ? false : undefined);
const TMT_STATUS: Record<string, string> = { AutoGenerated: 'open', NotStarted: 'open', NeedsInvestigation: 'investigating', NotApplicable: 'not_applicable', Mitigated: 'mitigated' };

/** XML whose root is ThreatModel (after any prolog, comments or a DTD, which the import then refuses). */
export function isTm7(text: string): boolean {
  const head = text.slice(0, 64 * 1024);
  return head.trimStart().startsWith('<') && /<ThreatModel[\s>]/.test(head);
}

export function importTm7(xml: string, limits: Limits = DEFAULT_LIMITS): ImportResult {
  // The template's stencil and threat type definitions are most of the file and are not needed.
  const parsed = parseXml(xml, limits, 'Threat Modeling Tool', ['ThreatModel.KnowledgeBase.GenericElements', 'ThreatModel.KnowledgeBase.StandardElements', 'ThreatModel.KnowledgeBase.ThreatTypes']);
  const root = parsed.ThreatModel;
  if (!isObj(root) || !isObj(root.DrawingSurfaceList)) throw new ImportError('invalid_model', 'The file is not a Threat Modeling Tool model: it has no ThreatModel/DrawingSurfaceList.');
  const r = new Reporter();
  const fit = new TextFitter(r);
  const ids = new IdMap('tm7');
  const meta = isObj(root.MetaInformation) ? root.MetaInformation : {};
  const doc = emptyDocument(fit.label(text(meta.ThreatModelName)) || 'Imported Threat Modeling Tool model');
  doc.description = fit.text(text(meta.HighLevelSystemDescription), 2048, 'descriptions', true);
  doc.metadata = toMetadata({ owner: fit.meta(text(meta.Owner)), reviewer: fit.meta(text(meta.Reviewer)), contributors: fit.meta(text(meta.Contributors)), tmt_version: fit.meta(text(root.Version)) });

  const found = zeroCounts();
  const surfaces = arr(root.DrawingSurfaceList.DrawingSurfaceModel).filter(isObj);
  found.diagrams = surfaces.length;
  const diagramOf = new Map<string, string>();
  const cellOf = new Map<string, CellJson>();
  const flowTarget = new Map<string, string>();

  surfaces.forEach((surface, si) => {
    const guid = text(surface.Guid) ?? `surface-${si}`;
    const diagramId = ids.of('surface', guid);
    diagramOf.set(guid.toLowerCase(), diagramId);
    const { props: sprops } = readProperties(surface);
    const diagram: DiagramDoc = { id: diagramId, name: fit.name(text(surface.Header) || sprops.get('Name'), `Diagram ${si + 1}`, 'diagram names'), type: 'DFD-1.0.0', cells: [] };
    const stencils = [isObj(surface.Borders) ? surface.Borders : {}, isObj(surface.Lines) ? surface.Lines : {}].flatMap((sec) => arr((sec as Obj).KeyValueOfguidanyType).filter(isObj).map((kv) => (isObj(kv.Value) ? readStencil(kv.Value) : undefined)).filter((s): s is Stencil => !!s));

    const boxes: { id: string; box: Box }[] = [];
    const lines: Point[][] = [];
    const nodes: { cell: CellJson; box: Box }[] = [];
    for (const s of stencils) {
      const where = `${diagram.name}: ${s.header || s.type} '${s.name}'`;
      const base: Record<string, PropertyValue | undefined> = {
        out_of_scope: s.props.get('Out Of Scope') === 'true' ? true : undefined,
        out_of_scope_reason: fit.meta(s.props.get('Reason For Out Of Scope')),
        tm7_type: fit.meta(s.typeId),
      };
      if (s.type === 'BorderBoundary') {
        found.boundaries += 1;
        const box = fitBox(s.box ?? {}, 'security-boundary');
        const cell = nodeCell(ids.of('stencil', s.guid), 'security-boundary', box, fit.label(s.name), toMetadata({ tm7_type: fit.meta(s.typeId) }));
        diagram.cells.push(cell);
        boxes.push({ id: cell.id, box });
        nodes.push({ cell, box });
      } else if (s.type === 'LineBoundary') {
        found.boundaries += 1;
        if (s.path.length < 2) {
          r.skip('boundary', where, 'a boundary line without end points');
          continue;
        }
        lines.push(s.path);
        diagram.cells.push(nodeCell(ids.of('stencil', s.guid), 'security-boundary', boxAround(s.path), fit.label(s.name), toMetadata({ boundary_style: 'line', boundary_points: pointsText(s.path), tm7_type: fit.meta(s.typeId) })));
        r.note('trust boundary lines became security-boundary boxes around the line (TMI draws boundaries as boxes)');
      } else if (s.type === 'StencilRectangle' && s.generic === 'GE.A') {
        const box = fitBox(s.box ?? {}, 'text-box');
        const cell = nodeCell(ids.of('stencil', s.guid), 'text-box', box, fit.label(s.name), []);
        diagram.cells.push(cell);
        nodes.push({ cell, box });
      } else if (ELEMENT_TYPES[s.type]) {
        found.elements += 1;
        const shape: NodeShape = ELEMENT_TYPES[s.type]!;
        const box = fitBox(s.box ?? {}, shape);
        const human = s.props.get('Type') === 'Human' || /human user/i.test(s.header);
        const md = toMetadata({
          ...base,
          technology: fit.meta(technologyOf(s.header)),
          encrypted: yesNo(s.props.get('Encrypted')),
          signed: yesNo(s.props.get('Signed')),
          stores_credentials: yesNo(s.props.get('Stores Credentials')),
          is_log: yesNo(s.props.get('Stores Log Data')),
          validates_input: yesNo(s.props.get('Sanitizes Input')),
          human_use: human || undefined,
          privilege_level: fit.meta(s.props.get('Running As') === 'Not Selected' ? undefined : s.props.get('Running As')),
        });
        const cell = nodeCell(ids.of('stencil', s.guid), shape, box, fit.label(s.name) || s.header, md);
        diagram.cells.push(cell);
        nodes.push({ cell, box });
        cellOf.set(s.guid.toLowerCase(), cell);
      } else if (s.type !== 'Connector') {
        r.skip('other', where, `stencil type '${s.type}' is not mapped`);
      }
    }
    for (const n of nodes) {
      const holder = smallestHolder(n.box, boxes, n.cell.id);
      if (!holder) continue;
      n.cell.parent = holder.id;
      const h = diagram.cells.find((c) => c.id === holder.id)!;
      h.children = [...((h.children as string[] | undefined) ?? []), n.cell.id];
    }
    for (const s of stencils) {
      if (s.type !== 'Connector') continue;
      found.flows += 1;
      const src = s.source && s.source !== EMPTY_GUID ? cellOf.get(s.source.toLowerCase()) : undefined;
      const dst = s.target && s.target !== EMPTY_GUID ? cellOf.get(s.target.toLowerCase()) : undefined;
      if (!src || !dst) {
        r.skip('flow', `${diagram.name}: flow '${s.name}'`, 'not connected to an element at both ends');
        continue;
      }
      const protocol = PROTOCOLS[s.header.toLowerCase()];
      const crossing = lines.some((l) => polylinesCross(s.path, l));
      const md = toMetadata({
        out_of_scope: s.props.get('Out Of Scope') === 'true' ? true : undefined,
        protocol,
        encrypted: yesNo(s.props.get('Provides Confidentiality')),
        integrity_protected: yesNo(s.props.get('Provides Integrity')),
        authentication: s.props.get('Source Authenticated') === 'No' ? 'none' : undefined,
        crosses_trust_boundary: crossing || undefined,
        tm7_type: fit.meta(s.typeId),
      });
      if (s.props.get('Transmits XML') === 'Yes') {
        // XML on the wire means the receiving element parses XML (the XXE rule looks there).
        const tmd = (dst.data as { _metadata: { key: string; value: string }[] })._metadata;
        const formats = new Set((tmd.find((m) => m.key === 'data_formats')?.value ?? '').split(',').filter(Boolean));
        formats.add('xml');
        const next = tmd.filter((m) => m.key !== 'data_formats');
        next.push({ key: 'data_formats', value: [...formats].sort().join(',') });
        next.sort((a, b) => (a.key < b.key ? -1 : 1));
        (dst.data as { _metadata: unknown })._metadata = next;
      }
      const id = ids.of('stencil', s.guid);
      diagram.cells.push(flowCell(id, src.id, dst.id, fit.label(s.name) || s.header, md, s.path.slice(1, -1)));
      flowTarget.set(s.guid.toLowerCase(), id);
    }
    doc.diagrams.push(diagram);
  });

  // Labels of template-defined threat properties (custom templates key them by GUID).
  const labels = new Map<string, string>();
  const kb = isObj(root.KnowledgeBase) ? root.KnowledgeBase : {};
  const tmd = isObj(kb.ThreatMetaData) && isObj(kb.ThreatMetaData.PropertiesMetaData) ? kb.ThreatMetaData.PropertiesMetaData : {};
  for (const d of arr(tmd.ThreatMetaDatum).filter(isObj)) if (text(d.Name) && text(d.Label)) labels.set(text(d.Name)!, text(d.Label)!);
  const KNOWN = new Set(['Title', 'UserThreatCategory', 'UserThreatShortDescription', 'UserThreatDescription', 'Priority', 'PossibleMitigations', 'StateInformation', 'InteractionString', 'SDLPhase']);

  const instances = arr(isObj(root.ThreatInstances) ? root.ThreatInstances.KeyValueOfstringThreatpc_P0_PhOB : undefined).filter(isObj);
  found.threats = instances.length;
  for (const kv of instances) {
    const v = isObj(kv.Value) ? kv.Value : {};
    const props = new Map<string, string>();
    for (const p of arr(isObj(v.Properties) ? v.Properties.KeyValueOfstringstring : undefined).filter(isObj)) {
      const k = text(p.Key);
      const val = text(p.Value);
      if (k && val !== undefined) props.set(k, val);
    }
    const state = text(v.State) ?? 'AutoGenerated';
    const status = TMT_STATUS[state] ?? state.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    const stateInfo = props.get('StateInformation') ?? text(v.StateInformation);
    const possible = props.get('PossibleMitigations');
    const flowId = flowTarget.get((text(v.FlowGuid) ?? '').toLowerCase());
    const cellId = flowId ?? cellOf.get((text(v.TargetGuid) ?? '').toLowerCase())?.id;
    if (!cellId) r.note('threats whose flow was not imported are kept without a cell link');
    const priority = props.get('Priority') ?? text(v.Priority);
    const custom: Record<string, string | undefined> = {};
    for (const [k, val] of props) if (!KNOWN.has(k) && val.trim()) custom[metaKey(labels.get(k) ?? k)] = fit.meta(htmlText(val));
    const mitigated = status === 'mitigated';
    const threat: ThreatDoc = {
      id: ids.of('threat', `${text(kv.Key) ?? ''}#${text(v.Id) ?? ''}`),
      name: fit.name(htmlText(props.get('Title') ?? text(v.Title) ?? ''), 'Untitled threat', 'threat names'),
      description: fit.text(htmlText(props.get('UserThreatDescription') ?? text(v.UserThreatDescription) ?? ''), 2048),
      mitigation: fit.text(htmlText((mitigated && stateInfo?.trim() ? stateInfo : possible) ?? ''), 1024, 'mitigations'),
      severity: severity(priority) ?? null,
      priority: priority ? priority.toLowerCase() : null,
      status,
      mitigated,
      threat_type: props.get('UserThreatCategory') ? [threatType(props.get('UserThreatCategory')!)] : [],
      diagram_id: diagramOf.get((text(v.DrawingSurfaceGuid) ?? '').toLowerCase()) ?? doc.diagrams[0]?.id ?? null,
      cell_id: cellId ?? null,
      metadata: toMetadata({
        ...custom,
        tm7_threat_type: fit.meta(text(v.TypeId)),
        interaction: fit.meta(props.get('InteractionString')),
        sdl_phase: fit.meta(props.get('SDLPhase')),
        justification: !mitigated ? fit.meta(stateInfo && htmlText(stateInfo)) : undefined,
        possible_mitigations: mitigated && stateInfo?.trim() ? fit.meta(possible && htmlText(possible)) : undefined,
      }).slice(0, 100),
    };
    doc.threats.push(threat);
  }

  // Assumptions, external dependencies and the notes list become notes.
  const noteText = [
    ['Assumptions', text(meta.Assumptions)],
    ['External dependencies', text(meta.ExternalDependencies)],
  ] as const;
  for (const [name, body] of noteText) if (body?.trim()) doc.notes.push({ id: ids.of('note', name, false), name, content: body.slice(0, 262_144) });
  const tmtNotes = arr(isObj(root.Notes) ? root.Notes.Note : undefined).filter(isObj);
  const lines = tmtNotes.map((n) => `- ${text(n.Date) ?? ''} ${text(n.AddedBy) ?? ''}: ${(text(n.Message) ?? '').replace(/\n/g, ' ')}`.trim()).filter((l) => !/:\s*$/.test(l));
  if (lines.length) doc.notes.push({ id: ids.of('note', 'tmt-notes', false), name: 'Threat Modeling Tool notes', content: lines.join('\n').slice(0, 262_144) });
  return { document: doc, report: r.report('tm7', found, doc) };
}
