// The tmi-ts command line: `check` runs the threat rules over a model file (for CI: findings as
// text, JSON or SARIF, and a non-zero exit at or above a severity), `convert` turns one model
// format into another. The libraries (rules/, formats/) do the work; this file does the I/O.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXPORT_FORMATS, exportModel, IMPORT_FORMATS, ImportError, importModel, type ExportFormat, type ImportFormat, type ImportReport } from '../formats/index.ts';
import { BUILTIN_PACK, duplicateRuleIds, evaluate, exceeds, PackError, parsePack, SEVERITIES, severityRank, toSarif, type Finding, type Pack, type Severity } from '../rules/index.ts';

const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const MAX_FILE_BYTES = 32 * 1024 * 1024;

const USAGE = `tmi-ts ${VERSION}

Usage:
  tmi-ts check <model> [--fail-on <severity>] [--format text|json|sarif] [--pack <file>]... [--output <file>]
  tmi-ts convert <input> --to <format> [--from <format>] [--output <file>]

check   Runs the built-in threat rules (and any --pack) over a model and prints the open findings.
        <model>: TMI JSON, Threat Dragon, OTM, Threat Modeling Tool (.tm7) or Threagile (detected).
        --fail-on  exit 1 when an open finding is at or above this severity
                   (${SEVERITIES.join(', ')}, or none; default high)
        --format   text (default), json, or sarif (SARIF 2.1.0 for code-scanning tools)
        --pack     an extra rule pack, JSON or YAML (repeatable); see docs/rules.md
        --output   write the report to a file instead of standard output

convert Imports a model and writes it in another format; the import report goes to standard error.
        --to       ${EXPORT_FORMATS.join(', ')}
        --from     ${IMPORT_FORMATS.join(', ')} (default: detected)

Exit codes: 0 success, 1 findings at or above --fail-on, 2 bad usage or an unreadable model or pack.`;

class UsageError extends Error {}

/** Where the command writes: the process's standard streams, or a test's buffers. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROCESS_IO: Io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

function readBounded(path: string, what: string): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new UsageError(`cannot read the ${what} '${path}'`);
  }
  if (size > MAX_FILE_BYTES) throw new UsageError(`the ${what} '${path}' is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`);
  return readFileSync(path, 'utf8');
}

function write(io: Io, text: string, output: string | undefined): void {
  if (output) writeFileSync(output, text);
  else io.stdout(text);
}

function warnReport(io: Io, report: ImportReport): void {
  for (const u of report.unmapped) io.stderr(`tmi-ts: not imported: ${u.kind} ${u.source}: ${u.reason}\n`);
  for (const n of report.notes) io.stderr(`tmi-ts: note: ${n}\n`);
}

/** The 1-based line of the first mention of an id in the file, for SARIF locations. */
function lineFinder(text: string): (id: string) => number | undefined {
  return (id) => {
    const at = text.indexOf(id);
    if (at < 0) return undefined;
    let line = 1;
    for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
    return line;
  };
}

function textReport(findings: Finding[], modelName: string, threshold: Severity | 'none'): string {
  const open = findings.filter((f) => f.state === 'open');
  const lines = [`${modelName}: ${open.length} open suggestion${open.length === 1 ? '' : 's'}`, ''];
  for (const f of open) {
    const where = f.subject.kind === 'flow' ? `flow '${f.subject.name || '(unnamed)'}' (${f.subject.source} -> ${f.subject.target})` : `${f.subject.kind} '${f.subject.name || '(unnamed)'}'`;
    lines.push(`${f.severity.toUpperCase().padEnd(13)} ${f.threat.name}`);
    lines.push(`${''.padEnd(13)} ${where} in '${f.subject.diagramName}' · ${f.ruleId} · ${[...f.tags, ...f.cwe].join(' ')}`);
  }
  const by = SEVERITIES.slice()
    .reverse()
    .map((s) => [s, open.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n)
    .map(([s, n]) => `${n} ${s}`);
  const accepted = findings.filter((f) => f.state === 'accepted').length;
  const dismissed = findings.filter((f) => f.state === 'dismissed').length;
  lines.push('', `Summary: ${by.join(', ') || 'nothing open'}${accepted ? `; ${accepted} accepted as threats` : ''}${dismissed ? `; ${dismissed} dismissed` : ''}.`);
  if (threshold !== 'none') {
    const failing = open.filter((f) => severityRank(f.severity) >= severityRank(threshold)).length;
    lines.push(failing ? `Failing: ${failing} open at or above '${threshold}'.` : `Passing: nothing open at or above '${threshold}'.`);
  }
  return `${lines.join('\n')}\n`;
}

function check(io: Io, args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'fail-on': { type: 'string', default: 'high' }, format: { type: 'string', default: 'text' }, pack: { type: 'string', multiple: true, default: [] }, output: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('check takes exactly one model file');
  const threshold = values['fail-on']!.toLowerCase();
  if (threshold !== 'none' && !SEVERITIES.includes(threshold as Severity)) throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(', ')}, none`);
  if (!['text', 'json', 'sarif'].includes(values.format!)) throw new UsageError('--format must be text, json or sarif');
  const path = positionals[0]!;
  const text = readBounded(path, 'model');
  const packs: Pack[] = [BUILTIN_PACK, ...values.pack!.map((p) => parsePack(readBounded(p, 'rule pack'), p))];
  const dups = duplicateRuleIds(packs);
  if (dups.length) throw new UsageError(`rule ids defined in more than one pack: ${dups.join(', ')}`);
  const { document, report } = importModel(text, { fileName: path });
  warnReport(io, report);
  const findings = evaluate(document, packs);
  let out: string;
  if (values.format === 'sarif') out = `${JSON.stringify(toSarif(findings, packs, { artifactUri: path.replace(/\\/g, '/').replace(/^\.\//, ''), toolVersion: VERSION, lineOf: lineFinder(text) }), null, 2)}\n`;
  else if (values.format === 'json') out = `${JSON.stringify({ model: { name: document.name, format: report.format }, threshold, findings }, null, 2)}\n`;
  else out = textReport(findings, `${document.name} (${path})`, threshold as Severity | 'none');
  write(io, out, values.output);
  return threshold !== 'none' && exceeds(findings, threshold as Severity) ? 1 : 0;
}

function convert(io: Io, args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { to: { type: 'string' }, from: { type: 'string' }, output: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('convert takes exactly one input file');
  if (!values.to || !EXPORT_FORMATS.includes(values.to as ExportFormat)) throw new UsageError(`--to must be one of ${EXPORT_FORMATS.join(', ')}`);
  if (values.from && !IMPORT_FORMATS.includes(values.from as ImportFormat)) throw new UsageError(`--from must be one of ${IMPORT_FORMATS.join(', ')}`);
  const path = positionals[0]!;
  const { document, report } = importModel(readBounded(path, 'input'), { fileName: path, format: values.from as ImportFormat | undefined });
  warnReport(io, report);
  const result = exportModel(document, values.to as ExportFormat);
  for (const o of result.omitted) io.stderr(`tmi-ts: not exported: ${o.kind} ${o.source}: ${o.reason}\n`);
  for (const n of result.notes) io.stderr(`tmi-ts: note: ${n}\n`);
  write(io, result.text, values.output);
  return 0;
}

/** Runs the command line `argv` (without node and the script); returns the exit code. */
export function main(argv: string[], io: Io = PROCESS_IO): number {
  const [command, ...rest] = argv;
  try {
    if (command === 'check') return check(io, rest);
    if (command === 'convert') return convert(io, rest);
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      io.stdout(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version') {
      io.stdout(`${VERSION}\n`);
      return 0;
    }
    throw new UsageError(`unknown command '${command}'`);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ImportError || e instanceof PackError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr(`tmi-ts: ${(e as Error).message}\n`);
      if (e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') io.stderr('Run tmi-ts help for usage.\n');
      return 2;
    }
    throw e;
  }
}

