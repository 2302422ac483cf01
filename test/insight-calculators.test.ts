// The app's calculators: CVSS 3.1 and 4.0 (ae-cvss-calculator) against the specifications' example
// vectors, the SSVC decision helper (CISA tree) and the CWE picker's search.
import { describe, expect, it } from 'vitest';
import { metricsOf, parseVector, score, severityOf } from '../web/src/insight/cvss.ts';
import { cisaOutcome, parseSsvcVector, ssvcScore } from '../web/src/insight/ssvc.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cweNumber, loadCweCatalogue, searchCwe } from '../web/src/insight/cwe.ts';
import { BUILTIN_PACK } from '../rules/index.ts';

const chosen = (vector: string) => parseVector(vector)!.chosen;

describe('CVSS', () => {
  it('3.1: the specification examples score as FIRST publishes them', () => {
    // FIRST CVSS v3.1 Examples (e.g. CVE-2014-0160 Heartbleed 7.5, phpMyAdmin XSS 6.1) and the maximum.
    for (const [vector, expected] of [
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5],
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
      ['CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
      ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
    ] as const) {
      const r = score('3.1', chosen(vector));
      expect(r, vector).toMatchObject({ vector, base: expected, overall: expected, complete: true });
    }
    expect(score('3.1', { AV: 'N', AC: 'L' })).toMatchObject({ vector: 'CVSS:3.1/AV:N/AC:L', complete: false, base: undefined, severity: undefined });
    // Temporal: Roundup(9.8 x E:U 0.91) = Roundup(8.918) = 9.0.
    expect(score('3.1', chosen('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U')).overall).toBe(9);
  });

  it('4.0: the specification examples score as FIRST publishes them', () => {
    for (const [vector, expected] of [
      ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3],
      ['CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.5],
      ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0],
    ] as const) {
      expect(score('4.0', chosen(vector)), vector).toMatchObject({ vector, overall: expected, complete: true });
    }
    // The threat metric (E:U) lowers the score (CVSS-BT), the base stays.
    expect(score('4.0', chosen('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U'))).toMatchObject({ base: 9.3, overall: 8.1 });
  });

  it('offers the base metrics of each version and reads stored vectors', () => {
    expect(metricsOf('3.1').filter((m) => m.category === 'base').map((m) => m.short)).toEqual(['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A']);
    expect(metricsOf('4.0').filter((m) => m.category === 'base').map((m) => m.short)).toEqual(['AV', 'AC', 'AT', 'PR', 'UI', 'VC', 'VI', 'VA', 'SC', 'SI', 'SA']);
    expect(parseVector('CVSS:2.0/AV:N')).toBeUndefined();
    expect(parseVector('CVSS:3.1/AVN')).toBeUndefined();
    expect([0, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(severityOf)).toEqual(['none', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical']);
  });
});

describe('SSVC', () => {
  it('follows the CISA decision tree at its corners and stores the decision of the same rank', () => {
    expect(cisaOutcome({ exploitation: 'none', automatable: 'no', technicalImpact: 'partial', missionWellbeing: 'low' })).toBe('Track');
    expect(cisaOutcome({ exploitation: 'active', automatable: 'yes', technicalImpact: 'total', missionWellbeing: 'high' })).toBe('Act');
    expect(cisaOutcome({ exploitation: 'active', automatable: 'no', technicalImpact: 'total', missionWellbeing: 'medium' })).toBe('Attend');
    expect(cisaOutcome({ exploitation: 'poc', automatable: 'no', technicalImpact: 'partial', missionWellbeing: 'high' })).toBe('Track*');
    const a = { exploitation: 'active', automatable: 'yes', technicalImpact: 'total', missionWellbeing: 'high' } as const;
    const s = ssvcScore(a);
    expect(s).toEqual({ vector: 'SSVCv2/E:A/A:Y/T:T/M:H/D:A/', decision: 'Immediate', methodology: 'CISA SSVC' });
    expect(s.vector).toMatch(/^[A-Za-z0-9/:._-]+$/);
    expect(parseSsvcVector(s.vector)).toEqual(a);
    expect(parseSsvcVector('nonsense')).toBeUndefined();
  });
});

describe('CWE picker', () => {
  it('carries the whole CWE List of the cwe-sdk package, its version and date read from the data', async () => {
    const cat = await loadCweCatalogue();
    // Read apart from the build's reader: the XML's root element names the version and date.
    const xml = readFileSync(createRequire(import.meta.url).resolve('cwe-sdk/raw/cwe-archive.xml'), 'utf8');
    const [, version, date] = /<Weakness_Catalog [^>]*Version="([^"]+)" Date="([^"]+)"/.exec(xml.slice(0, 2000))!;
    expect(cat).toMatchObject({ version, date, label: `MITRE CWE List ${version} (${date})` });
    const ids = cat.entries.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const weaknesses = cat.entries.filter((c) => !['Category', 'View'].includes(c.kind));
    expect(weaknesses.length).toBe(xml.match(/<Weakness ID=/g)?.length);
    expect(weaknesses.length).toBeGreaterThan(900);
    for (const r of BUILTIN_PACK.rules) for (const c of r.threat.cwe) expect(ids, `${r.id} cites ${c}`).toContain(c);
    // Beyond the old curated list of about 70.
    expect(cat.byId.get('CWE-1336')).toMatchObject({ name: 'Improper Neutralization of Special Elements Used in a Template Engine', kind: 'Base', deprecated: false });
    expect(cat.byId.get('CWE-5')?.name).toMatch(/^J2EE Misconfiguration/);
    expect(cat.byId.get('CWE-1187')).toMatchObject({ deprecated: true });
    expect(cat.byId.get('CWE-1008')).toMatchObject({ name: 'Architectural Concepts', kind: 'View' });
  });

  it('searches by number (that id first, then ids starting with it) and by words (name prefix, then contains)', async () => {
    const cat = await loadCweCatalogue();
    const ids = (q: string) => searchCwe(cat, q, 50).map((c) => c.id);
    for (const q of ['79', 'cwe-79', 'CWE-79', 'cwe79', ' CWE 79 ']) expect(ids(q)[0], q).toBe('CWE-79');
    expect(ids('79').slice(1).every((id) => id.startsWith('CWE-79'))).toBe(true);
    expect(ids('79')).toContain('CWE-790');
    expect(ids('1336')).toEqual(['CWE-1336']);
    expect(ids('5')[0]).toBe('CWE-5');
    expect(ids('template engine')).toContain('CWE-1336');
    expect(ids('sql injection')).toContain('CWE-89');
    // A name starting with the phrase ranks above one containing it, which ranks above the words apart.
    const missing = searchCwe(cat, 'missing authorization', 50);
    expect(missing[0]).toMatchObject({ id: 'CWE-862', name: 'Missing Authorization' });
    const cleartext = ids('cleartext transmission');
    expect(cleartext[0]).toBe('CWE-319');
    // Current weaknesses before deprecated entries within a rank.
    const uninit = searchCwe(cat, 'uninitialized resource', 50);
    expect(uninit.findIndex((c) => c.deprecated)).toBeGreaterThan(uninit.findIndex((c) => !c.deprecated));
    expect(ids('zzzz')).toEqual([]);
    expect(ids('   ')).toEqual([]);
    expect(searchCwe(cat, 'injection', 5)).toHaveLength(5);
    expect([cweNumber('CWE-0079'), cweNumber('79a'), cweNumber('CWE-1234567')]).toEqual(['79', undefined, undefined]);
  });
});
