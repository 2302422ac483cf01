// Findings as SARIF 2.1.0, the format code-scanning tools read. One run, the rules that fired (with
// their help text and security-severity), one result per open finding with a partial fingerprint.
import type { Finding } from './engine.ts';
import type { Pack, Rule, Severity } from './pack.ts';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', informational: 'note' };
/** GitHub code scanning ranks results by this number (CVSS-like, 0-10). */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', informational: '0.0' };

/** Rule texts name the cell with placeholders; described for the rule as a whole, they read generically. */
const generic = (text: string) => text.replace(/\{(element|source|target|kind)\}/g, (_, k: string) => ({ element: 'the element', source: 'the source', target: 'the target', kind: 'element' })[k]!);

export interface SarifOptions {
  /** The model file as the code-scanning tool knows it (relative to the repository root). */
  artifactUri: string;
  toolVersion: string;
  /** The 1-based line of a cell in the model file, when the caller can tell. */
  lineOf?: (cellId: string) => number | undefined;
}

export function toSarif(findings: readonly Finding[], packs: readonly Pack[], options: SarifOptions): object {
  const open = findings.filter((f) => f.state === 'open');
  const rulesById = new Map<string, Rule>();
  for (const p of packs) for (const r of p.rules) rulesById.set(r.id, r);
  const usedIds = [...new Set(open.map((f) => f.ruleId))].sort();
  const ruleIndex = new Map(usedIds.map((id, i) => [id, i]));
  const rules = usedIds.map((id) => {
    const r = rulesById.get(id)!;
    return {
      id,
      name: id.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : '')),
      shortDescription: { text: r.title },
      fullDescription: { text: generic(r.description ?? r.threat.description) },
      help: { text: generic(`${r.threat.description}\n\nMitigation: ${r.threat.mitigation}`), markdown: generic(`${r.threat.description}\n\n**Mitigation:** ${r.threat.mitigation}`) },
      ...(r.references?.[0] ? { helpUri: r.references[0].url } : {}),
      defaultConfiguration: { level: LEVEL[r.threat.severity] },
      properties: { tags: ['security', 'threat-model', ...r.threat.cwe, ...Object.entries(r.categories).flatMap(([f, cs]) => (cs as string[]).map((c) => `${f}:${c}`))], 'security-severity': SECURITY_SEVERITY[r.threat.severity], precision: 'medium' },
    };
  });
  const results = open.map((f) => {
    const line = options.lineOf?.(f.subject.cellId);
    const where = f.subject.kind === 'flow' ? `flow '${f.subject.name || `${f.subject.source} -> ${f.subject.target}`}'` : `${f.subject.kind} '${f.subject.name}'`;
    return {
      ruleId: f.ruleId,
      ruleIndex: ruleIndex.get(f.ruleId),
      level: LEVEL[f.severity],
      message: { text: `${f.threat.name} (${where} in diagram '${f.subject.diagramName}'). ${f.threat.mitigation}` },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: options.artifactUri }, region: { startLine: line ?? 1 } },
          logicalLocations: [{ name: f.subject.name || f.subject.cellId, fullyQualifiedName: `${f.subject.diagramName}/${f.subject.cellId}`, kind: f.subject.kind === 'flow' ? 'flow' : 'element' }],
        },
      ],
      partialFingerprints: { 'tmiSuggestion/v1': f.fingerprint },
      properties: { severity: f.severity, cellId: f.subject.cellId, diagramId: f.subject.diagramId, tags: f.tags },
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'tmi-ts', version: options.toolVersion, rules } },
        results,
        columnKind: 'utf16CodeUnits',
      },
    ],
  };
}
