// The app's calculators: CVSS 3.1 and 4.0 (ae-cvss-calculator) against the specifications' example
// vectors, the SSVC decision helper (CISA tree) and the CWE picker's search.
import { describe, expect, it } from 'vitest';
import { metricsOf, parseVector, score, severityOf } from '../web/src/insight/cvss.ts';
import { cisaOutcome, parseSsvcVector, ssvcScore } from '../web/src/insight/ssvc.ts';
import { CWE_LIST, searchCwe } from '../web/src/insight/cwe.ts';
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
  it('ships every CWE the built-in rules cite, unique ids, and searches by number or words', () => {
    const ids = CWE_LIST.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of BUILTIN_PACK.rules) for (const c of r.threat.cwe) expect(ids, `${r.id} cites ${c}`).toContain(c);
    expect(searchCwe('79')[0]).toMatchObject({ id: 'CWE-79' });
    expect(searchCwe('cwe-89')[0]).toMatchObject({ id: 'CWE-89' });
    expect(searchCwe('sql injection').map((c) => c.id)).toContain('CWE-89');
    expect(searchCwe('cleartext transmission').map((c) => c.id)).toEqual(['CWE-319']);
    expect(searchCwe('zzzz')).toEqual([]);
  });
});
