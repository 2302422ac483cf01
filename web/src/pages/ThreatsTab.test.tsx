// The threats tab's filters compare with the values the server stores.
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { THREAT_SEVERITIES, THREAT_STATUSES } from '../../../contract/limits.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import type { Threat } from '../../../contract/threats.ts';
import { ThreatsTab, matchesFilter, type ThreatFilter } from './ThreatsTab.tsx';

const threat = (t: Partial<Threat>) => ({ id: 'x', name: 'SQL injection', threat_type: [], ...t }) as Threat;
const any: ThreatFilter = { text: '', severity: '', status: '', mitigated: '' };

/** The option values of a select of the rendered tab. */
const optionValues = (html: string, label: string) =>
  [...(new RegExp(`<select aria-label="${label}"[^>]*>(.*?)</select>`).exec(html)?.[1] ?? '').matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);

describe('threat filters', () => {
  it("offer the contract's severities and statuses as their wire values", () => {
    const html = renderToStaticMarkup(<ThreatsTab tm={{ id: 't', threat_model_framework: 'STRIDE' } as ThreatModel} writable />);
    expect(optionValues(html, 'Severity filter')).toEqual(['', ...[...THREAT_SEVERITIES].reverse()]);
    expect(optionValues(html, 'Status filter')).toEqual(['', ...THREAT_STATUSES]);
  });

  it('find a threat by every conventional status and severity, as stored (lower snake case)', () => {
    for (const status of THREAT_STATUSES) expect(matchesFilter(threat({ status }), { ...any, status }), status).toBe(true);
    for (const severity of THREAT_SEVERITIES) expect(matchesFilter(threat({ severity }), { ...any, severity }), severity).toBe(true);
    expect(matchesFilter(threat({ status: 'open' }), { ...any, status: 'mitigation_planned' })).toBe(false);
  });

  it('ignore case (values written by JSON Patch are not normalised)', () => {
    expect(matchesFilter(threat({ severity: 'High' }), { ...any, severity: 'high' })).toBe(true);
  });

  it('match text in the name or description, and the mitigated flag', () => {
    expect(matchesFilter(threat({ description: 'in the checkout' }), { ...any, text: 'CHECKOUT' })).toBe(true);
    expect(matchesFilter(threat({}), { ...any, text: 'xss' })).toBe(false);
    expect(matchesFilter(threat({ mitigated: true }), { ...any, mitigated: 'true' })).toBe(true);
    expect(matchesFilter(threat({}), { ...any, mitigated: 'true' })).toBe(false);
    expect(matchesFilter(threat({}), { ...any, mitigated: 'false' })).toBe(true);
  });
});
