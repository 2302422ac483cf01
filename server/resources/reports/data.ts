// The report of a threat model as data: what every writer (PDF, Markdown, HTML) prints, built once
// from the model as GET /threat_models/{id} returns it and the rules engine's open suggestions.
// Deterministic: the same model and date give the same data, in the same order.
import type { CellJson } from '../../../contract/diagrams.ts';
import { THREAT_SEVERITIES, THREAT_STATUSES } from '../../../contract/limits.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import { BUILTIN_PACK, evaluate, type Finding, type Pack } from '../../../rules/index.ts';
import { nodeLabel, flowLabel, sceneOf, type Scene } from './scene.ts';

export type Paper = 'a4' | 'letter';
export const REPORT_FORMATS = ['pdf', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

type Obj = Record<string, unknown>;

export interface ReportThreat {
  name: string;
  severity: string;
  status: string;
  description: string;
  mitigation: string;
  threatType: string[];
  cwe: string[];
  cvss: string[];
  score: number | null;
  priority: string;
  /** The element or flow the threat is about, and its diagram, by name. */
  target: string;
  issueUri: string;
}

export interface ReportSeverityGroup {
  severity: string;
  count: number;
  byStatus: { status: string; threats: ReportThreat[] }[];
}

export interface ReportDiagram {
  name: string;
  description: string;
  scene: Scene;
  elements: { kind: string; name: string }[];
  flows: { name: string; from: string; to: string }[];
  boundaries: string[];
}

export interface ReportData {
  title: string;
  /** The date the report was made (the only part that changes between two runs on one model). */
  generatedAt: string;
  model: {
    id: string;
    name: string;
    description: string;
    framework: string;
    status: string;
    statusUpdated: string;
    owner: string;
    createdAt: string;
    modifiedAt: string;
    version: number;
    issueUri: string;
    metadata: { key: string; value: string }[];
  };
  review: { reviewer: string | null; status: string; statusUpdated: string };
  summary: {
    threats: number;
    bySeverity: { severity: string; count: number }[];
    byStatus: { status: string; count: number }[];
    openWithoutMitigation: number;
    diagrams: number;
    elements: number;
    flows: number;
    assets: number;
    openSuggestions: number;
  };
  diagrams: ReportDiagram[];
  threatGroups: ReportSeverityGroup[];
  assets: { name: string; type: string; description: string; criticality: string; classification: string[]; sensitivity: string }[];
  suggestions: { severity: string; name: string; target: string; rule: string; tags: string[]; cwe: string[]; mitigation: string }[];
  notes: { name: string; description: string; content: string }[];
  documents: { name: string; uri: string; description: string }[];
  repositories: { name: string; uri: string; type: string; description: string }[];
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const included = (x: Obj) => x.include_in_report !== false;
const who = (u: unknown) => {
  const o = (u ?? {}) as Obj;
  const name = str(o.display_name) || str(o.provider_id);
  const email = str(o.email);
  return email && email !== name ? `${name} <${email}>` : name;
};

/** Rank of a conventional value (unknown ones after them, by name). */
const ranker = (order: readonly string[]) => (v: string) => {
  const i = order.indexOf(v);
  return i < 0 ? order.length : i;
};
const severityOrder = [...THREAT_SEVERITIES].reverse(); // critical first
const sevRank = ranker(severityOrder);
const statusRank = ranker(THREAT_STATUSES);
const DONE = new Set(['resolved', 'accepted', 'false_positive', 'closed', 'mitigated']);

export interface BuildOptions {
  generatedAt: Date;
  /** The rule packs the suggestions endpoint runs (built-in, configured, uploaded); the built-in one when absent. */
  packs?: readonly Pack[];
  /** Fingerprints of the suggestions dismissed on this model: not open, so not in the report. */
  dismissed?: readonly string[];
}

/** The report of `tm` (a ThreatModel with its children embedded). */
export function buildReport(tm: ThreatModel, opts: BuildOptions): ReportData {
  const diagramsAll = ((tm.diagrams ?? []) as unknown as Obj[]).slice().sort((a, b) => cmp(str(a.name), str(b.name)) || cmp(str(a.id), str(b.id)));
  const cellIndex = new Map<string, { diagram: string; label: string }>();
  let elements = 0;
  let flows = 0;
  for (const d of diagramsAll) {
    const cells = (d.cells ?? []) as CellJson[];
    const names = new Map(cells.map((c) => [c.id, nodeLabel(c)]));
    for (const c of cells) {
      if (c.shape === 'flow') {
        flows++;
        const s = names.get(str((c.source as Obj | undefined)?.cell)) ?? '?';
        const t = names.get(str((c.target as Obj | undefined)?.cell)) ?? '?';
        cellIndex.set(c.id.toLowerCase(), { diagram: str(d.name), label: `${flowLabel(c) || 'flow'} (${s} → ${t})` });
      } else {
        if (c.shape === 'actor' || c.shape === 'process' || c.shape === 'store') elements++;
        cellIndex.set(c.id.toLowerCase(), { diagram: str(d.name), label: nodeLabel(c) || c.shape });
      }
    }
  }
  const diagramNames = new Map(diagramsAll.map((d) => [str(d.id).toLowerCase(), str(d.name)]));

  const diagrams: ReportDiagram[] = diagramsAll.filter(included).map((d) => {
    const cells = (d.cells ?? []) as CellJson[];
    const names = new Map(cells.map((c) => [c.id, nodeLabel(c)]));
    const byName = <T extends { name: string }>(xs: T[]) => xs.sort((a, b) => cmp(a.name, b.name));
    return {
      name: str(d.name),
      description: str(d.description),
      scene: sceneOf(cells),
      elements: byName(cells.filter((c) => c.shape === 'actor' || c.shape === 'process' || c.shape === 'store').map((c) => ({ kind: c.shape, name: nodeLabel(c) || '(unnamed)' }))),
      flows: byName(
        cells
          .filter((c) => c.shape === 'flow')
          .map((c) => ({ name: flowLabel(c) || '(unnamed)', from: names.get(str((c.source as Obj).cell)) || '?', to: names.get(str((c.target as Obj).cell)) || '?' })),
      ),
      boundaries: cells
        .filter((c) => c.shape === 'security-boundary')
        .map((c) => nodeLabel(c) || '(unnamed)')
        .sort(cmp),
    };
  });

  const assetsAll = (tm.assets ?? []) as unknown as Obj[];
  const assetNames = new Map(assetsAll.map((a) => [str(a.id).toLowerCase(), str(a.name)]));
  const threats = ((tm.threats ?? []) as unknown as Obj[]).filter(included).map((t): ReportThreat => {
    const cell = cellIndex.get(str(t.cell_id).toLowerCase());
    const diagram = diagramNames.get(str(t.diagram_id).toLowerCase());
    const asset = assetNames.get(str(t.asset_id).toLowerCase());
    const target = [cell ? `${cell.label} in ${cell.diagram}` : diagram ? `diagram ${diagram}` : '', asset ? `asset ${asset}` : ''].filter(Boolean).join('; ');
    return {
      name: str(t.name),
      severity: str(t.severity) || 'unknown',
      status: str(t.status) || (t.mitigated === true ? 'mitigated' : 'open'),
      description: str(t.description),
      mitigation: str(t.mitigation),
      threatType: ((t.threat_type as string[] | undefined) ?? []).slice(),
      cwe: ((t.cwe_id as string[] | undefined) ?? []).slice(),
      cvss: ((t.cvss as { vector: string; score: number }[] | undefined) ?? []).map((c) => `${c.score} ${c.vector}`),
      score: typeof t.score === 'number' ? t.score : null,
      priority: str(t.priority),
      target,
      issueUri: str(t.issue_uri),
    };
  });
  const severities = [...new Set(threats.map((t) => t.severity))].sort((a, b) => sevRank(a) - sevRank(b) || cmp(a, b));
  const threatGroups: ReportSeverityGroup[] = severities.map((severity) => {
    const mine = threats.filter((t) => t.severity === severity);
    const statuses = [...new Set(mine.map((t) => t.status))].sort((a, b) => statusRank(a) - statusRank(b) || cmp(a, b));
    return {
      severity,
      count: mine.length,
      byStatus: statuses.map((status) => ({ status, threats: mine.filter((t) => t.status === status).sort((a, b) => cmp(a.name, b.name) || cmp(a.target, b.target) || cmp(a.description, b.description)) })),
    };
  });
  const statusCounts = new Map<string, number>();
  for (const t of threats) statusCounts.set(t.status, (statusCounts.get(t.status) ?? 0) + 1);

  // Suggestions on diagrams left out of the report stay out too.
  const reported = new Set(diagramsAll.filter(included).map((d) => str(d.id).toLowerCase()));
  const findings: Finding[] = evaluate(tm, opts.packs ?? [BUILTIN_PACK], { dismissed: opts.dismissed ?? [] }).filter((f) => f.state === 'open' && reported.has(f.subject.diagramId.toLowerCase()));
  const suggestions = findings.map((f) => ({
    severity: f.severity,
    name: f.threat.name,
    target: `${f.subject.kind} ${f.subject.name || '(unnamed)'} in ${f.subject.diagramName}`,
    rule: f.ruleId,
    tags: f.tags,
    cwe: f.cwe,
    mitigation: f.threat.mitigation,
  }));

  const assets = assetsAll
    .filter(included)
    .map((a) => ({
      name: str(a.name),
      type: str(a.type),
      description: str(a.description),
      criticality: str(a.criticality),
      classification: ((a.classification as string[] | null | undefined) ?? []).slice(),
      sensitivity: str(a.sensitivity),
    }))
    .sort((a, b) => cmp(a.name, b.name));
  const byName = <T extends { name: string }>(xs: T[]) => xs.sort((a, b) => cmp(a.name, b.name));
  const iso = (v: unknown) => (typeof v === 'string' && v ? new Date(v).toISOString() : '');

  return {
    title: `Threat model report: ${tm.name}`,
    generatedAt: opts.generatedAt.toISOString(),
    model: {
      id: tm.id,
      name: tm.name,
      description: str(tm.description),
      framework: tm.threat_model_framework,
      status: tm.status,
      statusUpdated: iso(tm.status_updated),
      owner: who(tm.owner),
      createdAt: iso(tm.created_at),
      modifiedAt: iso(tm.modified_at),
      version: tm.version,
      issueUri: str(tm.issue_uri),
      metadata: (tm.metadata ?? []).map((m) => ({ key: m.key, value: m.value })).sort((a, b) => cmp(a.key, b.key) || cmp(a.value, b.value)),
    },
    review: { reviewer: tm.security_reviewer ? who(tm.security_reviewer) : null, status: tm.status, statusUpdated: iso(tm.status_updated) },
    summary: {
      threats: threats.length,
      bySeverity: threatGroups.map((g) => ({ severity: g.severity, count: g.count })),
      byStatus: [...statusCounts].map(([status, count]) => ({ status, count })).sort((a, b) => statusRank(a.status) - statusRank(b.status) || cmp(a.status, b.status)),
      openWithoutMitigation: threats.filter((t) => !DONE.has(t.status) && !t.mitigation.trim()).length,
      diagrams: diagramsAll.length,
      elements,
      flows,
      assets: assetsAll.length,
      openSuggestions: suggestions.length,
    },
    diagrams,
    threatGroups,
    assets,
    suggestions,
    notes: byName(((tm.notes ?? []) as unknown as Obj[]).filter(included).map((n) => ({ name: str(n.name), description: str(n.description), content: str(n.content) }))),
    documents: byName(((tm.documents ?? []) as unknown as Obj[]).filter(included).map((d) => ({ name: str(d.name), uri: str(d.uri), description: str(d.description) }))),
    repositories: byName(((tm.repositories ?? []) as unknown as Obj[]).filter(included).map((r) => ({ name: str(r.name), uri: str(r.uri), type: str(r.type), description: str(r.description) }))),
  };
}

export const label = (v: string) => (v ? v.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : '');
