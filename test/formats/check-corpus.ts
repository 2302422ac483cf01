// Imports every file of the real-model corpus and compares what each importer found with the
// counts in the corpus's expected.json, and checks that every element, flow, boundary and threat
// found was either imported or reported as not mapped. Prints a table; exits 1 on any mismatch.
//
//   npx tsx test/formats/check-corpus.ts /path/to/models [--json]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importModel, type ImportReport } from '../../formats/index.ts';

interface Expected {
  file: string;
  format: string;
  elements: number;
  flows: number;
  boundaries: number;
  threats: number;
}

const KINDS = ['elements', 'flows', 'boundaries', 'threats'] as const;
const UNMAPPED_KIND = { elements: 'element', flows: 'flow', boundaries: 'boundary', threats: 'threat' } as const;

interface Row {
  file: string;
  format: string;
  ms: number;
  expected: Record<(typeof KINDS)[number], number>;
  found?: ImportReport['found'];
  imported?: ImportReport['imported'];
  unmapped?: Record<string, number>;
  problems: string[];
}

function checkFile(root: string, e: Expected): Row {
  const row: Row = { file: e.file, format: e.format, ms: 0, expected: { elements: e.elements, flows: e.flows, boundaries: e.boundaries, threats: e.threats }, problems: [] };
  const t0 = performance.now();
  try {
    const text = readFileSync(path.join(root, e.file), 'utf8');
    const { report } = importModel(text, { fileName: e.file });
    row.ms = Math.round(performance.now() - t0);
    row.found = report.found;
    row.imported = report.imported;
    row.unmapped = {};
    for (const u of report.unmapped) row.unmapped[u.kind] = (row.unmapped[u.kind] ?? 0) + 1;
    const expectedFormat = e.format.startsWith('otm') ? 'otm' : e.format;
    if (report.format !== expectedFormat) row.problems.push(`read as ${report.format}, expected ${expectedFormat}`);
    for (const k of KINDS) {
      if (report.found[k] !== e[k]) row.problems.push(`${k}: found ${report.found[k]}, expected ${e[k]}`);
      const accounted = report.imported[k] + (row.unmapped[UNMAPPED_KIND[k]] ?? 0);
      if (accounted !== report.found[k]) row.problems.push(`${k}: ${report.imported[k]} imported + ${row.unmapped[UNMAPPED_KIND[k]] ?? 0} reported != ${report.found[k]} found`);
    }
  } catch (err) {
    row.ms = Math.round(performance.now() - t0);
    row.problems.push(`import failed: ${(err as Error).message}`);
  }
  return row;
}

function table(rows: Row[]): string {
  const cell = (r: Row, k: (typeof KINDS)[number]) => {
    const imported = r.imported?.[k] ?? '-';
    const skipped = r.unmapped?.[UNMAPPED_KIND[k]] ?? 0;
    return `${r.found?.[k] ?? '-'}/${r.expected[k]} (${imported}${skipped ? `+${skipped}` : ''})`;
  };
  const header = ['file', 'format', 'elements', 'flows', 'boundaries', 'threats', 'ms', 'result'];
  const body = rows.map((r) => [r.file.replace(/^[^/]+\//, '').slice(0, 58), r.format, ...KINDS.map((k) => cell(r, k)), String(r.ms), r.problems.length ? 'MISMATCH' : 'ok']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: string[]) => `| ${cols.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

function main(): number {
  const root = process.argv[2];
  if (!root) {
    process.stderr.write('usage: tsx test/formats/check-corpus.ts <corpus folder with expected.json> [--json]\n');
    return 2;
  }
  const expected = (JSON.parse(readFileSync(path.join(root, 'expected.json'), 'utf8')) as { files: Expected[] }).files;
  const rows = expected.map((e) => checkFile(root, e));
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else {
    process.stdout.write(`${table(rows)}\n\nCells: found/expected (imported+reported as not mapped).\n`);
    for (const r of rows) for (const p of r.problems) process.stdout.write(`MISMATCH ${r.file}: ${p}\n`);
  }
  const bad = rows.filter((r) => r.problems.length).length;
  process.stdout.write(`${rows.length - bad} passed, ${bad} failed\n`);
  return bad ? 1 : 0;
}

process.exitCode = main();
