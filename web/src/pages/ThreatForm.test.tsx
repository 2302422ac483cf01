// The threat form speaks the wire's values: severities, priorities and statuses as the server
// stores them (lower snake case), and CWE / CVSS entries checked by the contract's rules.
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { THREAT_PRIORITIES, THREAT_SEVERITIES, THREAT_STATUSES } from '../../../contract/limits.ts';
import type { Threat } from '../../../contract/threats.ts';
import { PRIORITY_OPTIONS, SEVERITY_OPTIONS, ThreatForm, parseCvss, parseCwe } from './ThreatForm.tsx';

const VECTOR = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

/** The options of one select of the rendered form: [value, label, selected]. */
function optionsOf(html: string, name: string): [string, string, boolean][] {
  const select = new RegExp(`<select name="${name}"[^>]*>(.*?)</select>`).exec(html)?.[1] ?? '';
  return [...select.matchAll(/<option value="([^"]*)"( selected="")?>([^<]*)<\/option>/g)].map((m) => [m[1]!, m[3]!, !!m[2]]);
}

const form = (threat?: Partial<Threat>) =>
  renderToStaticMarkup(<ThreatForm tmId="t" framework="STRIDE" threat={threat as Threat | undefined} writable onSaved={() => {}} />);

describe('the threat form', () => {
  it("offers the contract's severities, priorities and statuses with their wire values, most severe and urgent first", () => {
    const html = form();
    expect(optionsOf(html, 'severity').map(([v]) => v)).toEqual([...THREAT_SEVERITIES].reverse());
    expect(optionsOf(html, 'priority').map(([v]) => v)).toEqual(['', ...[...THREAT_PRIORITIES].reverse()]);
    expect(optionsOf(html, 'threat_status').map(([v]) => v)).toEqual([...THREAT_STATUSES]);
    expect(optionsOf(html, 'severity')).toContainEqual(['high', 'High', false]);
    expect(optionsOf(html, 'threat_status')).toContainEqual(['mitigation_in_progress', 'Mitigation In Progress', false]);
  });

  it('starts a new threat as medium and open', () => {
    const html = form();
    expect(optionsOf(html, 'severity').find(([, , s]) => s)?.[0]).toBe('medium');
    expect(optionsOf(html, 'threat_status').find(([, , s]) => s)?.[0]).toBe('open');
  });

  it('shows a stored threat with its values selected, whatever their case, and keeps an unconventional one', () => {
    const html = form({ id: 'x', name: 'n', threat_type: [], severity: 'High', priority: 'immediate', status: 'in_review' });
    expect(optionsOf(html, 'severity').find(([, , s]) => s)?.[0]).toBe('high');
    expect(optionsOf(html, 'priority').find(([, , s]) => s)?.[0]).toBe('immediate');
    expect(optionsOf(html, 'threat_status')[0]).toEqual(['in_review', 'In Review', true]);
  });

  it('orders severities and priorities from the top of the rank', () => {
    expect(SEVERITY_OPTIONS[0]).toBe('critical');
    expect(PRIORITY_OPTIONS[0]).toBe('immediate');
  });
});

describe('CWE ids', () => {
  it('takes numbers and ids in any case, separated by commas or spaces, once each', () => {
    expect(parseCwe('79, cwe-89 CWE-79\n22')).toEqual(['CWE-79', 'CWE-89', 'CWE-22']);
    expect(parseCwe('  ')).toEqual([]);
  });

  it('names the first entry that is not a CWE id', () => {
    expect(() => parseCwe('CWE-79, XSS')).toThrow('"XSS" is not a CWE id (write it as CWE-79 or 79).');
    expect(() => parseCwe('CWE-123456789012345')).toThrow('is not a CWE id');
  });
});

describe('CVSS entries', () => {
  it('reads one vector and score a line', () => {
    expect(parseCvss(`${VECTOR} 9.8\n\n  ${VECTOR} 0  `)).toEqual([
      { vector: VECTOR, score: 9.8 },
      { vector: VECTOR, score: 0 },
    ]);
  });

  it('refuses what the API would: a short or malformed vector, a missing or out-of-range score', () => {
    for (const line of ['CVSS:3.1/AV:N 5', `${VECTOR}<x> 5`, VECTOR, `${VECTOR} 10.5`, `${VECTOR} -1`, `${VECTOR} high`]) {
      expect(() => parseCvss(line), line).toThrow(`"${line}" is not a CVSS entry: write the vector, a space, and the score 0-10.`);
    }
  });
});
