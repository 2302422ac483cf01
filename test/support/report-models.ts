// Models for report and import/export tests, made through the API as a client would: a small one
// with every kind of child (some left out of reports) and a large one (50 elements, 200 threats).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

async function req(app: FastifyInstance, method: string, url: string, token: string, body?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.body ? (JSON.parse(res.body) as Record<string, any>) : {};
}

const node = (shape: string, text: string, x: number, y: number, extra: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  shape,
  x,
  y,
  width: shape === 'security-boundary' ? 400 : 120,
  height: shape === 'security-boundary' ? 300 : 60,
  attrs: { text: { text } },
  ...extra,
});
const flow = (from: { id: string }, to: { id: string }, text: string, meta: { key: string; value: string }[] = []) => ({
  id: randomUUID(),
  shape: 'flow',
  source: { cell: from.id },
  target: { cell: to.id },
  labels: [{ attrs: { text: { text } } }],
  ...(meta.length ? { data: { _metadata: meta } } : {}),
});

async function diagram(app: FastifyInstance, token: string, tm: string, name: string, cells: unknown[], extra: Record<string, unknown> = {}) {
  const d = await req(app, 'POST', `/threat_models/${tm}/diagrams`, token, { name, type: 'DFD-1.0.0' });
  await req(app, 'PUT', `/threat_models/${tm}/diagrams/${d.id}`, token, { name, type: 'DFD-1.0.0', cells, ...extra });
  return d.id as string;
}

async function bulk(app: FastifyInstance, token: string, tm: string, kind: string, items: unknown[], size = 20) {
  const out: Record<string, any>[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...((await req(app, 'POST', `/threat_models/${tm}/${kind}/bulk`, token, items.slice(i, i + size))) as unknown as Record<string, any>[]));
  return out;
}

/** "Checkout service": two diagrams (one left out of reports), threats, assets, a note, a document, a repository. */
export async function seedModel(app: FastifyInstance, token: string, opts: { reader?: string }): Promise<string> {
  const tm = await req(app, 'POST', '/threat_models', token, {
    name: 'Checkout service',
    description: 'Takes orders and card payments.',
    metadata: [{ key: 'team', value: 'payments' }],
    authorization: opts.reader ? [{ principal_type: 'user', provider: 'tmi', provider_id: opts.reader, role: 'reader' }] : [],
  });
  const id = tm.id as string;
  const customer = node('actor', 'Customer', 40, 100);
  const web = node('process', 'Web shop', 300, 100);
  const db = node('store', 'Orders DB', 300, 300, { data: { _metadata: [{ key: 'encrypted', value: 'false' }] } });
  const zone = node('security-boundary', 'Data centre', 260, 40, { children: [web.id, db.id] });
  const f1 = flow(customer, web, 'Order', [{ key: 'protocol', value: 'http' }]);
  const f2 = flow(web, db, 'SQL');
  const main = await diagram(app, token, id, 'Main flow', [zone, customer, { ...web, parent: zone.id }, { ...db, parent: zone.id }, f1, f2]);
  await diagram(app, token, id, 'Internal sketch', [node('process', 'Sketch', 0, 0)], { include_in_report: false });
  const [card] = await bulk(app, token, id, 'assets', [
    { name: 'Card data', type: 'data', criticality: 'high', classification: ['confidential'] },
    { name: 'Hidden asset', type: 'data', include_in_report: false },
  ]);
  await bulk(app, token, id, 'threats', [
    { name: 'SQL injection in orders', severity: 'critical', status: 'open', threat_type: ['Tampering'], mitigation: 'Parameterised queries', diagram_id: main, cell_id: f2.id, cwe_id: ['CWE-89'] },
    { name: 'Token replay', severity: 'high', status: 'mitigation_planned', threat_type: ['Spoofing'], description: 'A stolen session token is used again.', diagram_id: main, cell_id: f1.id },
    { name: 'Spoofed customer', severity: 'high', status: 'open', threat_type: ['Spoofing'], diagram_id: main, cell_id: customer.id, asset_id: card!.id },
    { name: 'Hidden threat', severity: 'low', threat_type: [], include_in_report: false },
  ]);
  await req(app, 'POST', `/threat_models/${id}/notes`, token, { name: 'Assumptions', content: 'The card processor is PCI compliant.' });
  await req(app, 'POST', `/threat_models/${id}/documents`, token, { name: 'Architecture', uri: 'https://example.com/arch' });
  await req(app, 'POST', `/threat_models/${id}/repositories`, token, { name: 'shop', uri: 'https://example.com/shop.git', type: 'git' });
  return id;
}

/** 50 elements in 5 boundaries, 49 flows, 200 threats linked to the cells, 10 assets. */
export async function largeModel(app: FastifyInstance, token: string): Promise<{ id: string; threatNames: string[] }> {
  const tm = await req(app, 'POST', '/threat_models', token, { name: 'Large platform', description: 'Fifty elements, two hundred threats.' });
  const id = tm.id as string;
  const cells: Record<string, unknown>[] = [];
  const elements: { id: string }[] = [];
  for (let z = 0; z < 5; z++) {
    const zone = node('security-boundary', `Zone ${z + 1}`, z * 700, 0, { width: 660, height: 1000 });
    const kids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const shape = ['actor', 'process', 'store'][i % 3]!;
      const n = node(shape, `Element ${z * 10 + i + 1}`, z * 700 + 40 + (i % 2) * 300, 40 + Math.floor(i / 2) * 180, { parent: zone.id });
      kids.push(n.id);
      elements.push(n);
      cells.push(n);
    }
    cells.unshift({ ...zone, children: kids });
  }
  const flows = elements.slice(1).map((e, i) => flow(elements[i]!, e, `Flow ${i + 1}`, i % 4 === 0 ? [{ key: 'protocol', value: 'http' }] : []));
  cells.push(...flows);
  const diagramId = await diagram(app, token, id, 'Platform', cells);
  await bulk(app, token, id, 'assets', Array.from({ length: 10 }, (_, i) => ({ name: `Asset ${i + 1}`, type: 'data' })), 50);
  const severities = ['critical', 'high', 'medium', 'low', 'informational'];
  const statuses = ['open', 'mitigation_planned', 'resolved', 'accepted'];
  const threats = Array.from({ length: 200 }, (_, i) => ({
    name: `Threat number ${String(i + 1).padStart(3, '0')} on ${i % 2 ? 'element' : 'flow'}`,
    severity: severities[i % 5],
    status: statuses[i % 4],
    threat_type: ['Tampering'],
    description: `What could go wrong, case ${i + 1}: an attacker changes data in transit or at rest.`,
    mitigation: i % 3 ? `Mitigation for case ${i + 1}: validate and authenticate.` : null,
    diagram_id: diagramId,
    cell_id: i % 2 ? elements[i % 50]!.id : flows[i % 49]!.id,
  }));
  await bulk(app, token, id, 'threats', threats);
  return { id, threatNames: threats.map((t) => t.name) };
}
