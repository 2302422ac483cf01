// The overview's summary, the history's field diff and the diagram thumbnail, without a browser.
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import { summarise } from '../pages/OverviewTab.tsx';
import { changedFields } from './History.tsx';
import { DiagramThumbnail } from './Thumbnail.tsx';

const cells = [
  { id: 'a', shape: 'actor', x: 0, y: 0, width: 100, height: 50, attrs: { text: { text: 'User' } } },
  { id: 'p', shape: 'process', x: 300, y: 0, width: 100, height: 50, attrs: { text: { text: 'API' } } },
  { id: 'f', shape: 'flow', source: { cell: 'a' }, target: { cell: 'p' }, labels: [{ attrs: { text: { text: 'calls' } } }] },
  { id: 'b', shape: 'security-boundary', x: 250, y: -50, width: 300, height: 200 },
];

describe('overview summary', () => {
  it('counts threats by severity and status, finds uncovered elements and unmitigated high threats', () => {
    const tm = {
      diagrams: [{ id: 'd', name: 'Main', cells }],
      threats: [
        { id: '1', name: 'T1', severity: 'High', status: 'open', cell_id: 'p', mitigated: false, mitigation: '' },
        { id: '2', name: 'T2', severity: 'high', status: 'mitigated', mitigated: true },
        { id: '3', name: 'T3', severity: 'critical', status: 'open', mitigation: 'Use TLS' },
        { id: '4', name: 'T4', severity: null, status: null },
      ],
    } as unknown as ThreatModel;
    const s = summarise(tm);
    expect(s.statuses).toEqual(['mitigated', 'open', 'unset']);
    expect(Object.fromEntries([...s.matrix].map(([k, v]) => [k, Object.fromEntries(v)]))).toEqual({ high: { open: 1, mitigated: 1 }, critical: { open: 1 }, unknown: { unset: 1 } });
    expect(s.uncovered.map((e) => `${e.kind}:${e.name}`)).toEqual(['actor:User', 'flow:calls']);
    expect(s.unmitigatedHigh.map((t) => t.name)).toEqual(['T1']);
  });
});

describe('history diff', () => {
  it('lists the fields that changed, leaving out version and timestamps', () => {
    expect(changedFields({ name: 'a', severity: 'low', version: 1, modified_at: 'x' }, { name: 'a', severity: 'high', version: 2, modified_at: 'y', cvss: [] })).toEqual([
      { field: 'cvss', before: undefined, after: [] },
      { field: 'severity', before: 'low', after: 'high' },
    ]);
    expect(changedFields(null, { name: 'n' })).toEqual([{ field: 'name', before: undefined, after: 'n' }]);
    expect(changedFields({ name: 'n' }, null)).toEqual([{ field: 'name', before: 'n', after: undefined }]);
  });
});

describe('diagram thumbnail', () => {
  it('draws nodes, flows and boundaries and highlights one cell', () => {
    const html = renderToStaticMarkup(<DiagramThumbnail cells={cells} highlight="F" />);
    expect(html).toContain('<svg');
    expect(html.match(/data-highlighted="true"/g)).toHaveLength(1);
    expect(html).toMatch(/<line[^>]*data-highlighted="true"/);
    expect(html).toContain('>User<');
    expect(renderToStaticMarkup(<DiagramThumbnail cells={[]} />)).toContain('empty');
  });
});
