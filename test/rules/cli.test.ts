// The tmi-ts command as CI runs it: its output and exit codes (0 pass, 1 findings at or above
// --fail-on, 2 bad usage or input). The command's logic runs in this process (main() with captured
// output); the real executable in a child process checks the wiring: arguments, streams, exit code.
// Each child starts Node and tsx, a second or more on a busy machine, hence the longer timeout.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/tmi-ts.ts';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'cli/tmi-ts.mjs');
const fixtures = path.join(root, 'test/fixtures/formats');
const dir = mkdtempSync(path.join(tmpdir(), 'tmi-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

function runExecutable(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the tmi-ts executable', { timeout: 120_000 }, () => {
  it('takes its arguments, writes the report and the import notes to stdout and stderr, and exits with the code', () => {
    const r = runExecutable('check', path.join(fixtures, 'tmi.json'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/HIGH +Injection from Invoice API into the queries of Invoices/);
    expect(r.stderr).toContain("not imported: threat threats[1] 'Bad weakness id'");
    expect(runExecutable('frobnicate')).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
  });
});

describe('tmi-ts check', () => {
  it('prints the open findings and fails at the default threshold (high)', () => {
    const r = run('check', path.join(fixtures, 'tmi.json'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Invoice Service');
    expect(r.stdout).toMatch(/HIGH +Injection from Invoice API into the queries of Invoices/);
    expect(r.stdout).toMatch(/Summary: .*high.*; 1 accepted as threats\./);
    expect(r.stdout).toMatch(/Failing: \d+ open at or above 'high'\./);
    expect(r.stderr).toContain("not imported: threat threats[1] 'Bad weakness id'");
  });

  it('passes when nothing open reaches --fail-on', () => {
    const r = run('check', path.join(fixtures, 'tmi.json'), '--fail-on', 'critical');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Passing: nothing open at or above 'critical'.");
    expect(run('check', path.join(fixtures, 'threat-dragon-v2.json'), '--fail-on', 'critical').code).toBe(1);
    expect(run('check', path.join(fixtures, 'threat-dragon-v2.json'), '--fail-on', 'none').code).toBe(0);
  });

  it('writes SARIF 2.1.0 with locations in the model file', () => {
    const out = path.join(dir, 'out.sarif');
    const r = run('check', path.join(fixtures, 'tmi.json'), '--format', 'sarif', '--output', out);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const sarif = JSON.parse(readFileSync(out, 'utf8')) as { version: string; runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
    expect(sarif.version).toBe('2.1.0');
    const sql = sarif.runs[0]!.results.find((x) => x.ruleId === 'sql-nosql-injection')!;
    const line = readFileSync(path.join(fixtures, 'tmi.json'), 'utf8').split('\n').findIndex((l) => l.includes('"id": "7a1e0000-0000-4000-8000-0000000000c6"')) + 1;
    expect(sql.locations[0]!.physicalLocation.region.startLine).toBe(line);
  });

  it('writes JSON findings and takes extra packs', () => {
    const pack = path.join(dir, 'pack.yaml');
    writeFileSync(
      pack,
      [
        'id: acme',
        'name: ACME',
        'version: "1"',
        'rules:',
        '  - id: acme-jdbc',
        '    title: JDBC in use',
        '    appliesTo: flow',
        '    match: { property: protocol, equals: jdbc }',
        '    categories: { STRIDE: [I] }',
        '    threat:',
        '      name: JDBC from {source}',
        '      description: Use the data API.',
        '      severity: critical',
        '      cwe: []',
        '      mitigation: Migrate.',
        '',
      ].join('\n'),
    );
    const r = run('check', path.join(fixtures, 'tmi.json'), '--format', 'json', '--pack', pack, '--fail-on', 'none');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { findings: { ruleId: string; severity: string; threat: { name: string } }[] };
    expect(out.findings[0]).toMatchObject({ ruleId: 'acme-jdbc', severity: 'critical', threat: { name: 'JDBC from Invoice API' } });
  });

  it('checks any importable format', () => {
    const r = run('check', path.join(fixtures, 'model.tm7'), '--fail-on', 'none');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('XML external entity attack on Support portal');
    expect(r.stderr).toContain("not imported: flow Remote support: flow 'Dangling export'");
  });

  it('exits 2 with a clear message on bad usage, a bad pack or a hostile file', () => {
    expect(run('check').code).toBe(2);
    const bad = run('check', path.join(fixtures, 'tmi.json'), '--fail-on', 'urgent');
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('--fail-on must be one of') });
    const pack = path.join(dir, 'bad-pack.json');
    writeFileSync(pack, JSON.stringify({ id: 'x', name: 'x', version: '1', rules: [{ id: 'r' }] }));
    expect(run('check', path.join(fixtures, 'tmi.json'), '--pack', pack)).toMatchObject({ code: 2, stderr: expect.stringContaining('invalid rule pack') });
    const bomb = path.join(dir, 'bomb.tm7');
    writeFileSync(bomb, '<?xml version="1.0"?><!DOCTYPE ThreatModel [<!ENTITY x SYSTEM "file:///etc/passwd">]><ThreatModel>&x;</ThreatModel>');
    expect(run('check', bomb)).toMatchObject({ code: 2, stderr: expect.stringContaining('DTD or XML entities, which are refused') });
    expect(run('frobnicate')).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
  });
});

describe('tmi-ts convert', () => {
  it('converts between formats and reports what did not fit', () => {
    const out = path.join(dir, 'model.otm.json');
    const r = run('convert', path.join(fixtures, 'threat-dragon-v2.json'), '--to', 'otm', '--output', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("not imported: flow Checkout: flow 'Half-drawn flow'");
    expect(r.stderr).toContain('not exported: other Checkout: text-box');
    const otm = JSON.parse(readFileSync(out, 'utf8')) as { otmVersion: string; components: unknown[] };
    expect(otm.otmVersion).toBe('0.2.0');
    expect(otm.components).toHaveLength(3);
    const back = run('convert', out, '--to', 'threat-dragon');
    expect(back.code).toBe(0);
    expect((JSON.parse(back.stdout) as { summary: { title: string } }).summary.title).toBe('Payments Portal');
  });
});
