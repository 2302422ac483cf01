// Threagile YAML (anchors and `<<` merge keys resolved, aliases bounded): technical assets become
// elements (external-entity: actor, process, datastore: store), communication links flows, trust
// boundaries nested boxes (laid out automatically: Threagile has no coordinates), data assets TMI
// assets linked to the cells that process, store, send or receive them, and the individual risks
// threats. Threagile computes its rule risks at run time; they are not in the file (our rules
// engine plays that part). Asset and link fields map onto the rules vocabulary.
import type { CellJson } from '../contract/diagrams.ts';
import { toMetadata } from '../rules/vocabulary.ts';
import { fitBox, flowCell, layout, nodeCell, type LayoutItem, type NodeShape } from './cells.ts';
import { emptyDocument, ImportError, Reporter, zeroCounts, type AssetDoc, type ImportResult, type NoteDoc, type ThreatDoc } from './document.ts';
import { IdMap } from './ids.ts';
import { DEFAULT_LIMITS, parseYaml, type Limits } from './limits.ts';
import { lowerSnake } from '../contract/limits.ts';
import { severity, stripTags, TextFitter, threatType } from './text.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: unknown): [string, Obj][] => (isObj(v) ? Object.entries(v).map(([k, x]) => [k, isObj(x) ? x : {}]) : []);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string');
const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v instanceof Date ? v.toISOString().slice(0, 10) : undefined);
const bool = (v: unknown) => (typeof v === 'boolean' ? v : undefined);

const SHAPES: Record<string, 'actor' | 'process' | 'store'> = { 'external-entity': 'actor', process: 'process', datastore: 'store' };

export function isThreagile(v: unknown): v is Obj {
  return isObj(v) && (typeof v.threagile_version === 'string' || isObj(v.technical_assets));
}

export function importThreagile(text: string, limits: Limits = DEFAULT_LIMITS): ImportResult {
  const r = new Reporter();
  const m = parseYaml(text, limits, 'Threagile', (n) => r.note(n));
  if (!isThreagile(m)) throw new ImportError('invalid_model', 'The file is not a Threagile model: it needs "threagile_version" or "technical_assets".');
  const fit = new TextFitter(r);
  const ids = new IdMap('threagile');
  const doc = emptyDocument(fit.label(m.title) || 'Imported Threagile model');
  const overview = isObj(m.business_overview) ? stripTags(str(m.business_overview.description) ?? '') : '';
  doc.description = fit.text(overview || stripTags(str(m.management_summary_comment) ?? ''), 2048, 'descriptions', true);
  const author = isObj(m.author) ? m.author : {};
  doc.metadata = toMetadata({
    author: fit.meta(author.name),
    author_homepage: fit.meta(author.homepage),
    date: fit.meta(str(m.date)),
    business_criticality: fit.meta(m.business_criticality),
    threagile_version: fit.meta(m.threagile_version),
  });

  // Data assets -> TMI assets (classification = confidentiality; criticality = the higher need).
  const assetIds = new Map<string, string>();
  for (const [title, a] of entries(m.data_assets)) {
    const sid = str(a.id) ?? title;
    const id = ids.of('asset', sid);
    assetIds.set(sid, id);
    const asset: AssetDoc = { id, name: fit.name(title, sid, 'asset names'), type: 'data' };
    const desc = fit.text(stripTags(str(a.description) ?? ''), 2048);
    if (desc) asset.description = desc;
    if (str(a.confidentiality)) asset.classification = [str(a.confidentiality)!.slice(0, 128)];
    const needs = [str(a.integrity), str(a.availability)].filter((x): x is string => !!x);
    const order = ['archive', 'operational', 'important', 'critical', 'mission-critical'];
    const top = needs.sort((x, y) => order.indexOf(y) - order.indexOf(x))[0];
    if (top) asset.criticality = top;
    const md = toMetadata({ usage: fit.meta(a.usage), origin: fit.meta(a.origin), owner: fit.meta(a.owner), quantity: fit.meta(a.quantity), integrity: fit.meta(a.integrity), availability: fit.meta(a.availability), tags: fit.meta(strs(a.tags).join(',')) });
    if (md.length) asset.metadata = md;
    doc.assets.push(asset);
  }
  const assetRefs = (...lists: unknown[]) => {
    const out = new Set<string>();
    for (const l of lists)
      for (const s of strs(l)) {
        const id = assetIds.get(s);
        if (id) out.add(id);
        else r.note(`references to unknown data assets were dropped`);
      }
    return [...out];
  };

  // Shared runtimes have no TMI counterpart: their members carry the runtime's name.
  const runtimeOf = new Map<string, string>();
  for (const [title, rt] of entries(m.shared_runtimes)) {
    for (const a of strs(rt.technical_assets_running)) runtimeOf.set(a, title);
    r.skip('other', `shared runtime '${title}'`, "TMI has no shared runtimes; its assets carry it in the metadata key 'shared_runtime'");
  }

  // Technical assets -> elements.
  const assets = entries(m.technical_assets);
  const elementIds = new Map<string, { id: string; shape: NodeShape; title: string }>();
  const cells = new Map<string, CellJson>();
  for (const [title, a] of assets) {
    const sid = str(a.id) ?? title;
    const shape = SHAPES[str(a.type) ?? ''];
    if (!shape) {
      r.skip('element', `technical asset '${title}'`, `unknown type '${str(a.type)}'`);
      continue;
    }
    const id = ids.of('asset-node', sid);
    elementIds.set(sid, { id, shape, title });
    const encryption = str(a.encryption);
    const md = toMetadata({
      description: fit.meta(stripTags(str(a.description) ?? '')),
      technology: fit.meta(a.technology),
      encryption: fit.meta(encryption),
      internet: bool(a.internet),
      multi_tenant: bool(a.multi_tenant),
      redundant: bool(a.redundant),
      custom_developed: bool(a.custom_developed_parts),
      human_use: bool(a.used_as_client_by_human),
      out_of_scope: bool(a.out_of_scope),
      out_of_scope_reason: fit.meta(a.justification_out_of_scope),
      data_classification: fit.meta(a.confidentiality),
      integrity: fit.meta(a.integrity),
      availability: fit.meta(a.availability),
      data_formats: strs(a.data_formats_accepted),
      usage: fit.meta(a.usage),
      size: fit.meta(a.size),
      machine: fit.meta(a.machine),
      owner: fit.meta(a.owner),
      tags: fit.meta(strs(a.tags).join(',')),
      shared_runtime: fit.meta(runtimeOf.get(sid)),
    });
    const da = assetRefs(a.data_assets_processed, a.data_assets_stored);
    cells.set(sid, nodeCell(id, shape, fitBox({}, shape), fit.label(title), md, null, da.length ? { data_assets: da } : undefined));
  }

  // Trust boundaries -> boxes; nesting from trust_boundaries_nested, members from technical_assets_inside.
  const boundaries = entries(m.trust_boundaries);
  const boundaryIds = new Map<string, string>();
  for (const [title, b] of boundaries) {
    const sid = str(b.id) ?? title;
    const id = ids.of('boundary', sid);
    boundaryIds.set(sid, id);
    cells.set(`boundary:${sid}`, nodeCell(id, 'security-boundary', fitBox({}, 'security-boundary'), fit.label(title), toMetadata({ boundary_type: fit.meta(b.type), description: fit.meta(stripTags(str(b.description) ?? '')), tags: fit.meta(strs(b.tags).join(',')) })));
  }
  const parentOf = new Map<string, string>();
  for (const [title, b] of boundaries) {
    const sid = str(b.id) ?? title;
    for (const inner of strs(b.trust_boundaries_nested)) {
      if (!boundaryIds.has(inner) || inner === sid) continue;
      if (parentOf.has(`boundary:${inner}`)) r.note('trust boundaries nested in several others keep the first');
      else parentOf.set(`boundary:${inner}`, `boundary:${sid}`);
    }
    for (const a of strs(b.technical_assets_inside)) {
      if (!elementIds.has(a)) continue;
      if (parentOf.has(a)) r.note('technical assets inside several trust boundaries keep the first');
      else parentOf.set(a, `boundary:${sid}`);
    }
  }
  // Break any nesting cycle a hand-written file might have.
  for (const key of [...parentOf.keys()]) {
    const seen = new Set<string>([key]);
    for (let p = parentOf.get(key); p; p = parentOf.get(p)) {
      if (seen.has(p)) {
        parentOf.delete(key);
        r.note('a cycle in trust boundary nesting was broken');
        break;
      }
      seen.add(p);
    }
  }
  const items = new Map<string, LayoutItem>();
  for (const [key, cell] of cells) items.set(key, cell.shape === 'security-boundary' ? { id: key, shape: 'security-boundary', children: [] } : { id: key, shape: cell.shape as NodeShape });
  const roots: LayoutItem[] = [];
  for (const [key, item] of items) {
    const p = parentOf.get(key);
    if (p && items.get(p)?.children) items.get(p)!.children!.push(item);
    else roots.push(item);
  }
  const boxes = layout(roots);
  for (const [key, cell] of cells) {
    const b = boxes.get(key)!;
    Object.assign(cell, { x: b.x, y: b.y, width: b.width, height: b.height });
    const p = parentOf.get(key);
    if (p) {
      cell.parent = cells.get(p)!.id;
      const holder = cells.get(p)!;
      holder.children = [...((holder.children as string[] | undefined) ?? []), cell.id];
    }
  }
  r.note('laid out automatically (Threagile has no diagram coordinates)');

  // Communication links -> flows.
  const flows: CellJson[] = [];
  const linkIds = new Map<string, string>();
  for (const [title, a] of assets) {
    const sid = str(a.id) ?? title;
    const source = elementIds.get(sid);
    for (const [linkTitle, l] of entries(a.communication_links)) {
      const target = elementIds.get(str(l.target) ?? '');
      if (!source || !target) {
        r.skip('flow', `communication link '${linkTitle}' of '${title}'`, source ? `unknown target '${str(l.target)}'` : 'its technical asset was not imported');
        continue;
      }
      const id = ids.of('link', `${sid}>${linkTitle}`);
      linkIds.set(`${sid}>${linkTitle}`.toLowerCase(), id);
      linkIds.set(`${sid}>${linkTitle.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, id);
      const authorization = str(l.authorization)?.replace(/^enduser-/, 'end-user-');
      const md = toMetadata({
        description: fit.meta(stripTags(str(l.description) ?? '')),
        protocol: fit.meta(l.protocol),
        authentication: fit.meta(l.authentication),
        authorization: fit.meta(authorization),
        vpn: bool(l.vpn),
        ip_filtered: bool(l.ip_filtered),
        readonly: bool(l.readonly),
        usage: fit.meta(l.usage),
        tags: fit.meta(strs(l.tags).join(',')),
      });
      const da = assetRefs(l.data_assets_sent, l.data_assets_received);
      flows.push(flowCell(id, source.id, target.id, fit.label(linkTitle), md, [], da.length ? { data_assets: da } : undefined));
    }
  }

  const diagramId = ids.of('diagram', 'main', false);
  doc.diagrams.push({ id: diagramId, name: fit.name(m.title, 'Main', 'diagram names'), type: 'DFD-1.0.0', cells: [...cells.values(), ...flows] });

  // Individual risks -> threats; risk tracking gives their status where it names them.
  const tracking = entries(m.risk_tracking);
  const usedTracking = new Set<string>();
  let found = 0;
  for (const [catTitle, cat] of entries(m.individual_risk_categories)) {
    const catId = str(cat.id) ?? catTitle;
    for (const [riskTitle, risk] of entries(cat.risks_identified)) {
      found += 1;
      const asset = str(risk.most_relevant_technical_asset);
      const link = str(risk.most_relevant_communication_link);
      const cellId = (link && linkIds.get(link.toLowerCase())) || (asset && elementIds.get(asset)?.id) || undefined;
      const parts = [risk.most_relevant_data_asset, risk.most_relevant_technical_asset, risk.most_relevant_communication_link, risk.most_relevant_trust_boundary, risk.most_relevant_shared_runtime].map(str).filter((x): x is string => !!x);
      const syntheticId = [catId, ...parts].join('@');
      const track = tracking.find(([key]) => key === syntheticId) ?? tracking.find(([key]) => key.startsWith(`${catId}@`) && parts.every((p) => key.includes(p)));
      if (track) usedTracking.add(track[0]);
      const status = track && str(track[1].status) ? lowerSnake(str(track[1].status)!) : 'open';
      const cwe = typeof cat.cwe === 'number' && cat.cwe > 0 ? [`CWE-${cat.cwe}`] : [];
      const threat: ThreatDoc = {
        id: ids.of('risk', syntheticId),
        name: fit.name(stripTags(riskTitle), catTitle, 'threat names'),
        description: fit.text([stripTags(str(cat.description) ?? ''), str(cat.impact) ? `Impact: ${stripTags(str(cat.impact)!)}` : ''].filter(Boolean).join('\n\n'), 2048),
        mitigation: fit.text(stripTags(str(cat.mitigation) ?? ''), 1024, 'mitigations'),
        severity: severity(risk.severity) ?? null,
        status,
        mitigated: status === 'mitigated',
        threat_type: str(cat.stride) ? [threatType(str(cat.stride)!)] : [],
        cwe_id: cwe,
        diagram_id: diagramId,
        cell_id: cellId ?? null,
        metadata: toMetadata({
          threagile_id: fit.meta(syntheticId),
          exploitation_likelihood: fit.meta(risk.exploitation_likelihood),
          exploitation_impact: fit.meta(risk.exploitation_impact),
          justification: track ? fit.meta(track[1].justification) : undefined,
          ticket: track ? fit.meta(track[1].ticket) : undefined,
        }),
      };
      if (str(risk.severity) === 'elevated') r.note("Threagile severity 'elevated' became 'high'");
      if (!cellId) r.note('risks without a technical asset or link in the diagram are kept without a cell link');
      doc.threats.push(threat);
    }
  }
  for (const [key] of tracking) if (!usedTracking.has(key)) r.skip('other', `risk_tracking '${key}'`, 'tracks a risk Threagile computes at run time, which is not in the file');

  // Questions, abuse cases and security requirements -> notes.
  const notes: NoteDoc[] = [];
  const note = (name: string, key: string, body: string) => {
    if (body.trim()) notes.push({ id: ids.of('note', key, false), name, content: body.slice(0, 262_144) });
  };
  const technical = isObj(m.technical_overview) ? stripTags(str(m.technical_overview.description) ?? '') : '';
  note('Technical overview', 'technical', technical);
  note('Questions', 'questions', Object.entries(isObj(m.questions) ? m.questions : {}).map(([q, a]) => `**${q}**\n\n${str(a)?.trim() || '_unanswered_'}\n`).join('\n'));
  note('Abuse cases', 'abuse', Object.entries(isObj(m.abuse_cases) ? m.abuse_cases : {}).map(([k, v]) => `- **${k}**: ${(str(v) ?? '').trim()}`).join('\n'));
  note('Security requirements', 'requirements', Object.entries(isObj(m.security_requirements) ? m.security_requirements : {}).map(([k, v]) => `- **${k}**: ${(str(v) ?? '').trim()}`).join('\n'));
  doc.notes = notes;

  const counts = zeroCounts();
  Object.assign(counts, {
    diagrams: 1,
    elements: assets.length,
    flows: assets.reduce((n, [, a]) => n + entries(a.communication_links).length, 0),
    boundaries: boundaries.length,
    threats: found,
    assets: entries(m.data_assets).length,
  });
  return { document: doc, report: r.report('threagile', counts, doc) };
}
