// The report as Markdown and as HTML, both from ReportData. Deterministic (no clock, no random ids);
// every model text is escaped for its target, and diagrams are inline SVG drawn from the cells.
import { label, type ReportData, type ReportThreat } from './data.ts';
import { sceneSvg } from './scene.ts';

// ---------------------------------------------------------------- Markdown

/** Text as Markdown prose: markup characters escaped, HTML made inert, one paragraph per line kept. */
function md(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .replace(/[\\`*_{}[\]()#+!|<>~]/g, (c) => `\\${c}`)
    .replace(/^(\s*)([-=]{3,}|\d+\.)/gm, (_m, sp: string, t: string) => `${sp}\\${t}`)
    .replace(/^(\s*)-(\s)/gm, (_m, sp: string, s2: string) => `${sp}\\-${s2}`)
    .trim();
}
/** Inside a table cell: one line. */
const cell = (s: string) => md(s).replace(/\n+/g, ' ');

function mdThreat(t: ReportThreat): string[] {
  const facts = [
    t.target && `**Affects:** ${md(t.target)}`,
    t.threatType.length > 0 && `**Type:** ${md(t.threatType.join(', '))}`,
    t.cwe.length > 0 && `**CWE:** ${md(t.cwe.join(', '))}`,
    t.cvss.length > 0 && `**CVSS:** ${md(t.cvss.join('; '))}`,
    t.score !== null && `**Score:** ${t.score}`,
    t.priority && `**Priority:** ${md(label(t.priority))}`,
    t.issueUri && `**Issue:** ${md(t.issueUri)}`,
  ].filter(Boolean) as string[];
  const out = [`##### ${md(t.name)}`, ''];
  if (facts.length) out.push(facts.join(' · '), '');
  if (t.description) out.push(md(t.description), '');
  out.push(`**Mitigation:** ${t.mitigation ? md(t.mitigation) : '_none recorded_'}`, '');
  return out;
}

export function toMarkdown(r: ReportData): string {
  const m = r.model;
  const out: string[] = [`# ${md(r.title)}`, '', `Generated ${r.generatedAt} by TMI.`, ''];
  out.push('## Summary', '');
  if (m.description) out.push(md(m.description), '');
  out.push(
    '| | |',
    '|---|---|',
    `| Framework | ${cell(m.framework)} |`,
    `| Status | ${cell(label(m.status))} (since ${m.statusUpdated}) |`,
    `| Owner | ${cell(m.owner)} |`,
    `| Security reviewer | ${r.review.reviewer ? cell(r.review.reviewer) : 'none assigned'} |`,
    `| Created | ${m.createdAt} |`,
    `| Last modified | ${m.modifiedAt} (version ${m.version}) |`,
    ...(m.issueUri ? [`| Issue | ${cell(m.issueUri)} |`] : []),
    `| Threats | ${r.summary.threats} (${r.summary.openWithoutMitigation} open without mitigation) |`,
    `| Open suggestions | ${r.summary.openSuggestions} |`,
    `| Diagrams, elements, flows | ${r.summary.diagrams}, ${r.summary.elements}, ${r.summary.flows} |`,
    `| Assets | ${r.summary.assets} |`,
    '',
  );
  if (r.summary.bySeverity.length) {
    out.push('| Severity | Threats |', '|---|---|', ...r.summary.bySeverity.map((s) => `| ${cell(label(s.severity))} | ${s.count} |`), '');
    out.push('| Status | Threats |', '|---|---|', ...r.summary.byStatus.map((s) => `| ${cell(label(s.status))} | ${s.count} |`), '');
  }
  out.push('## Review', '');
  out.push(
    r.review.reviewer
      ? `Reviewed by ${md(r.review.reviewer)}; status ${md(label(r.review.status))} since ${r.review.statusUpdated}.`
      : `No security reviewer is assigned; status ${md(label(r.review.status))} since ${r.review.statusUpdated}.`,
    '',
  );
  if (m.metadata.length) out.push('| Metadata | Value |', '|---|---|', ...m.metadata.map((x) => `| ${cell(x.key)} | ${cell(x.value)} |`), '');

  out.push('## Scope', '');
  if (!r.diagrams.length) out.push('_No diagrams in the report._', '');
  for (const d of r.diagrams) {
    out.push(`### ${md(d.name)}`, '');
    if (d.description) out.push(md(d.description), '');
    const svg = Buffer.from(sceneSvg(d.scene, d.name), 'utf8').toString('base64');
    out.push(`![Diagram ${cell(d.name)}](data:image/svg+xml;base64,${svg})`, '');
    if (d.elements.length) out.push('| Element | Kind |', '|---|---|', ...d.elements.map((e) => `| ${cell(e.name)} | ${e.kind} |`), '');
    if (d.flows.length) out.push('| Flow | From | To |', '|---|---|---|', ...d.flows.map((f) => `| ${cell(f.name)} | ${cell(f.from)} | ${cell(f.to)} |`), '');
    if (d.boundaries.length) out.push(`Trust boundaries: ${d.boundaries.map(md).join(', ')}.`, '');
  }

  out.push('## Threats', '');
  if (!r.threatGroups.length) out.push('_No threats recorded._', '');
  for (const g of r.threatGroups) {
    out.push(`### ${md(label(g.severity))} (${g.count})`, '');
    for (const s of g.byStatus) {
      out.push(`#### ${md(label(s.status))} (${s.threats.length})`, '');
      for (const t of s.threats) out.push(...mdThreat(t));
    }
  }

  out.push('## Assets', '');
  if (!r.assets.length) out.push('_No assets in the report._', '');
  else
    out.push(
      '| Asset | Type | Criticality | Classification | Sensitivity | Description |',
      '|---|---|---|---|---|---|',
      ...r.assets.map((a) => `| ${cell(a.name)} | ${cell(a.type)} | ${cell(a.criticality)} | ${cell(a.classification.join(', '))} | ${cell(a.sensitivity)} | ${cell(a.description)} |`),
      '',
    );

  out.push('## Open suggestions', '');
  if (!r.suggestions.length) out.push('_The rules engine has no open suggestions._', '');
  else
    out.push(
      '| Severity | Suggested threat | Where | Rule | Categories |',
      '|---|---|---|---|---|',
      ...r.suggestions.map((s) => `| ${cell(label(s.severity))} | ${cell(s.name)} | ${cell(s.target)} | ${cell(s.rule)} | ${cell([...s.tags, ...s.cwe].join(' '))} |`),
      '',
    );

  if (r.notes.length) {
    out.push('## Notes', '');
    for (const n of r.notes) {
      out.push(`### ${md(n.name)}`, '');
      if (n.description) out.push(`_${md(n.description)}_`, '');
      // Notes are Markdown already (sanitised by the server on the way in): kept as written.
      out.push(n.content.replace(/\r\n?/g, '\n').replace(/^#/gm, '####').trim(), '');
    }
  }
  if (r.documents.length) out.push('## Documents', '', ...r.documents.map((d) => `- ${md(d.name)}: ${md(d.uri)}${d.description ? ` — ${md(d.description)}` : ''}`), '');
  if (r.repositories.length) out.push('## Repositories', '', ...r.repositories.map((d) => `- ${md(d.name)} (${md(d.type)}): ${md(d.uri)}${d.description ? ` — ${md(d.description)}` : ''}`), '');
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

// ---------------------------------------------------------------- HTML

const h = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
const para = (s: string) => (s ? s.replace(/\r\n?/g, '\n').split(/\n{2,}/).map((p) => `<p>${h(p).replace(/\n/g, '<br>')}</p>`).join('') : '');
const row = (cells: string[], tag = 'td') => `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
const table = (head: string[], rows: string[][]) => `<table><thead>${row(head.map(h), 'th')}</thead><tbody>${rows.map((r) => row(r)).join('')}</tbody></table>`;
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

const STYLE = `body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f3f5}.sev{display:inline-block;padding:0 .4rem;border-radius:.25rem;color:#fff;background:#868e96}
.sev-critical{background:#c92a2a}.sev-high{background:#e8590c}.sev-medium{background:#f08c00}.sev-low{background:#2f9e44}.sev-informational{background:#1c7ed6}
.threat{border-left:4px solid #dee2e6;padding:.25rem .75rem;margin:.5rem 0}.facts{color:#495057;font-size:.9em}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto;border:1px solid #dee2e6}
@media print{body{max-width:none;margin:0}h2{break-before:page}.threat,figure{break-inside:avoid}}`;

export function toHtml(r: ReportData, paper: 'a4' | 'letter'): string {
  const m = r.model;
  const b: string[] = [];
  b.push(`<h1>${h(r.title)}</h1>`, `<p class="facts">Generated ${h(r.generatedAt)} by TMI.</p>`);
  b.push('<h2 id="summary">Summary</h2>', para(m.description));
  b.push(
    table(
      ['', ''],
      [
        ['Framework', h(m.framework)],
        ['Status', `${h(label(m.status))} (since ${h(m.statusUpdated)})`],
        ['Owner', h(m.owner)],
        ['Security reviewer', r.review.reviewer ? h(r.review.reviewer) : 'none assigned'],
        ['Created', h(m.createdAt)],
        ['Last modified', `${h(m.modifiedAt)} (version ${m.version})`],
        ...(m.issueUri ? [['Issue', h(m.issueUri)]] : []),
        ['Threats', `${r.summary.threats} (${r.summary.openWithoutMitigation} open without mitigation)`],
        ['Open suggestions', String(r.summary.openSuggestions)],
        ['Diagrams, elements, flows', `${r.summary.diagrams}, ${r.summary.elements}, ${r.summary.flows}`],
        ['Assets', String(r.summary.assets)],
      ],
    ),
  );
  if (r.summary.bySeverity.length) {
    b.push(table(['Severity', 'Threats'], r.summary.bySeverity.map((s) => [`<span class="sev sev-${slug(s.severity)}">${h(label(s.severity))}</span>`, String(s.count)])));
    b.push(table(['Status', 'Threats'], r.summary.byStatus.map((s) => [h(label(s.status)), String(s.count)])));
  }
  b.push('<h2 id="review">Review</h2>');
  b.push(
    `<p>${r.review.reviewer ? `Reviewed by ${h(r.review.reviewer)}` : 'No security reviewer is assigned'}; status ${h(label(r.review.status))} since ${h(r.review.statusUpdated)}.</p>`,
  );
  if (m.metadata.length) b.push(table(['Metadata', 'Value'], m.metadata.map((x) => [h(x.key), h(x.value)])));
  b.push('<h2 id="scope">Scope</h2>');
  if (!r.diagrams.length) b.push('<p><em>No diagrams in the report.</em></p>');
  for (const d of r.diagrams) {
    b.push(`<h3>${h(d.name)}</h3>`, para(d.description), `<figure>${sceneSvg(d.scene, d.name)}<figcaption>${h(d.name)}</figcaption></figure>`);
    if (d.elements.length) b.push(table(['Element', 'Kind'], d.elements.map((e) => [h(e.name), h(e.kind)])));
    if (d.flows.length) b.push(table(['Flow', 'From', 'To'], d.flows.map((f) => [h(f.name), h(f.from), h(f.to)])));
    if (d.boundaries.length) b.push(`<p>Trust boundaries: ${d.boundaries.map(h).join(', ')}.</p>`);
  }
  b.push('<h2 id="threats">Threats</h2>');
  if (!r.threatGroups.length) b.push('<p><em>No threats recorded.</em></p>');
  for (const g of r.threatGroups) {
    b.push(`<h3><span class="sev sev-${slug(g.severity)}">${h(label(g.severity))}</span> (${g.count})</h3>`);
    for (const s of g.byStatus) {
      b.push(`<h4>${h(label(s.status))} (${s.threats.length})</h4>`);
      for (const t of s.threats) {
        const facts = [
          t.target && `Affects: ${h(t.target)}`,
          t.threatType.length > 0 && `Type: ${h(t.threatType.join(', '))}`,
          t.cwe.length > 0 && `CWE: ${h(t.cwe.join(', '))}`,
          t.cvss.length > 0 && `CVSS: ${h(t.cvss.join('; '))}`,
          t.score !== null && `Score: ${t.score}`,
          t.priority && `Priority: ${h(label(t.priority))}`,
          t.issueUri && `Issue: ${h(t.issueUri)}`,
        ].filter(Boolean);
        b.push(
          `<div class="threat"><h5>${h(t.name)}</h5>${facts.length ? `<p class="facts">${facts.join(' · ')}</p>` : ''}${para(t.description)}<p><strong>Mitigation:</strong> ${t.mitigation ? h(t.mitigation) : '<em>none recorded</em>'}</p></div>`,
        );
      }
    }
  }
  b.push('<h2 id="assets">Assets</h2>');
  b.push(
    r.assets.length
      ? table(
          ['Asset', 'Type', 'Criticality', 'Classification', 'Sensitivity', 'Description'],
          r.assets.map((a) => [h(a.name), h(a.type), h(a.criticality), h(a.classification.join(', ')), h(a.sensitivity), h(a.description)]),
        )
      : '<p><em>No assets in the report.</em></p>',
  );
  b.push('<h2 id="suggestions">Open suggestions</h2>');
  b.push(
    r.suggestions.length
      ? table(
          ['Severity', 'Suggested threat', 'Where', 'Rule', 'Categories'],
          r.suggestions.map((s) => [`<span class="sev sev-${slug(s.severity)}">${h(label(s.severity))}</span>`, h(s.name), h(s.target), h(s.rule), h([...s.tags, ...s.cwe].join(' '))]),
        )
      : '<p><em>The rules engine has no open suggestions.</em></p>',
  );
  if (r.notes.length) {
    b.push('<h2 id="notes">Notes</h2>');
    for (const n of r.notes) b.push(`<h3>${h(n.name)}</h3>`, n.description ? `<p><em>${h(n.description)}</em></p>` : '', `<pre style="white-space:pre-wrap">${h(n.content)}</pre>`);
  }
  if (r.documents.length) b.push('<h2 id="documents">Documents</h2>', table(['Document', 'Location', 'Description'], r.documents.map((d) => [h(d.name), h(d.uri), h(d.description)])));
  if (r.repositories.length)
    b.push('<h2 id="repositories">Repositories</h2>', table(['Repository', 'Type', 'Location', 'Description'], r.repositories.map((d) => [h(d.name), h(d.type), h(d.uri), h(d.description)])));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(r.title)}</title>
<style>@page{size:${paper === 'a4' ? 'A4' : 'letter'};margin:18mm}
${STYLE}</style>
</head>
<body>
${b.filter(Boolean).join('\n')}
</body>
</html>
`;
}
