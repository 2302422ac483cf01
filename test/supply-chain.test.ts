// The supply-chain gate (scripts/audit.ts) on recorded `npm audit --json` output, and the SBOM.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, findings } from '../scripts/audit.ts';
import { ROOT } from './support/process.ts';

/** The shape npm 10/11 prints: advisories under `via`, packages that merely depend on one by name. */
const AUDIT = {
  auditReportVersion: 2,
  vulnerabilities: {
    'lib-a': {
      name: 'lib-a',
      severity: 'critical',
      via: [{ source: 1100001, name: 'lib-a', title: 'Prototype pollution', url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc', severity: 'critical', range: '<2.0.0' }],
      fixAvailable: true,
    },
    'lib-b': {
      name: 'lib-b',
      severity: 'moderate',
      via: [{ source: 1100002, name: 'lib-b', title: 'ReDoS', url: 'https://github.com/advisories/GHSA-dddd-eeee-ffff', severity: 'moderate', range: '<1.2.0' }],
      fixAvailable: true,
    },
    'lib-c': { name: 'lib-c', severity: 'critical', via: ['lib-a'], fixAvailable: true },
    'lib-d': {
      name: 'lib-d',
      severity: 'high',
      via: [{ source: 1100003, name: 'lib-d', title: 'Path traversal', url: 'https://github.com/advisories/GHSA-gggg-hhhh-iiii', severity: 'high', range: '<3.0.0' }],
      fixAvailable: false,
    },
  },
};
const TODAY = '2026-06-01';

describe('npm audit gate', () => {
  it('reads each advisory once, with its GHSA id and package', () => {
    expect(findings(AUDIT).map((f) => `${f.id} ${f.package} ${f.severity}`)).toEqual([
      'GHSA-aaaa-bbbb-cccc lib-a critical',
      'GHSA-dddd-eeee-ffff lib-b moderate',
      'GHSA-gggg-hhhh-iiii lib-d high',
    ]);
  });

  it('blocks high and critical advisories, not moderate ones', () => {
    const v = evaluate(AUDIT, [], TODAY);
    expect(v.ok).toBe(false);
    expect(v.blocking.map((f) => f.id)).toEqual(['GHSA-aaaa-bbbb-cccc', 'GHSA-gggg-hhhh-iiii']);
  });

  it('lets through advisories the allow-list names with a reason and a date to come', () => {
    const allow = [
      { id: 'GHSA-aaaa-bbbb-cccc', package: 'lib-a', reason: 'only reachable from a CLI we do not ship', expires: '2026-07-01' },
      { id: 'GHSA-gggg-hhhh-iiii', package: 'lib-d', reason: 'no fix yet; input is never a path', expires: '2026-06-01' },
      { id: 'GHSA-zzzz-zzzz-zzzz', package: 'lib-z', reason: 'fixed since', expires: '2026-12-31' },
    ];
    const v = evaluate(AUDIT, allow, TODAY);
    expect(v.ok).toBe(true);
    expect(v.allowed.map((f) => f.id)).toEqual(['GHSA-aaaa-bbbb-cccc', 'GHSA-gggg-hhhh-iiii']);
    expect(v.unused.map((e) => e.id)).toEqual(['GHSA-zzzz-zzzz-zzzz']);
  });

  it('fails on expired entries and entries without a reason or date, and an allow-list for another package does not count', () => {
    const v = evaluate(
      AUDIT,
      [
        { id: 'GHSA-aaaa-bbbb-cccc', package: 'lib-a', reason: 'was fine', expires: '2026-05-31' },
        { id: 'GHSA-gggg-hhhh-iiii', package: 'lib-other', reason: 'wrong package', expires: '2027-01-01' },
        { id: 'GHSA-dddd-eeee-ffff', package: 'lib-b', expires: '2027-01-01' },
      ],
      TODAY,
    );
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual(['allow-list entry GHSA-aaaa-bbbb-cccc (lib-a) expired on 2026-05-31: review it', 'allow-list entry 3: missing reason']);
    expect(v.blocking.map((f) => f.id)).toEqual(['GHSA-aaaa-bbbb-cccc', 'GHSA-gggg-hhhh-iiii']);
  });

  it('the committed allow-list is valid', () => {
    const allow = JSON.parse(readFileSync(path.join(ROOT, 'security/audit-allowlist.json'), 'utf8'));
    expect(evaluate({ vulnerabilities: {} }, allow).problems).toEqual([]);
  });
});

describe('SBOM', () => {
  it('npm run sbom writes a CycloneDX document of the production dependencies', () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'tmi-sbom-')), 'sbom.json');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/sbom.mjs'), out], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const bom = JSON.parse(readFileSync(out, 'utf8'));
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.metadata.component.purl).toMatch(/^pkg:npm\/tmi-ts@/);
    const names = new Set((bom.components as { name: string; group?: string }[]).map((c) => (c.group ? `${c.group}/${c.name}` : c.name)));
    for (const run of ['fastify', 'pg', 'prom-client']) expect(names.has(run), run).toBe(true);
    for (const dev of ['vitest', 'typescript', 'vite']) expect(names.has(dev), dev).toBe(false);
    // The data the web app bundles: the CWE picker's CWE List, its version read from the data.
    const cwe = bom.components.find((c: { type: string; name: string }) => c.type === 'data' && c.name === 'CWE List');
    const xml = readFileSync(createRequire(import.meta.url).resolve('cwe-sdk/raw/cwe-archive.xml'), 'utf8').slice(0, 2000);
    expect(cwe).toMatchObject({ version: /Version="([^"]+)"/.exec(xml)![1], licenses: [{ license: { name: 'CWE Terms of Use' } }] });
    expect(bom.dependencies.find((d: { ref: string }) => d.ref === bom.metadata.component['bom-ref']).dependsOn).toContain(cwe['bom-ref']);
  }, 60_000);
});
