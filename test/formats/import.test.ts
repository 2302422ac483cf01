// Each importer on a sample file written from its format's documentation: everything found is
// imported or reported, the result is what the API accepts, and the format's facts land in the
// rules vocabulary (so the threat rules see them).
import { describe, expect, it } from 'vitest';
import { detectFormat, importModel, type ImportResult } from '../../formats/index.ts';
import { BUILTIN_PACK, evaluate } from '../../rules/index.ts';
import { cellNamed, contractProblems, fixture, metaOf } from './support.ts';

/** found = imported + reported as not mapped, for every kind the report counts. */
function expectAccounted({ report }: ImportResult) {
  const kinds = { elements: 'element', flows: 'flow', boundaries: 'boundary', threats: 'threat', assets: 'asset', diagrams: 'diagram' } as const;
  for (const [k, kind] of Object.entries(kinds) as [keyof typeof kinds, string][]) {
    expect(report.imported[k] + report.unmapped.filter((u) => u.kind === kind).length, `${k} accounted for`).toBe(report.found[k]);
  }
}

const ruleIds = (r: ImportResult, label: string) => {
  const c = cellNamed(r.document, label);
  return evaluate(r.document, [BUILTIN_PACK])
    .filter((f) => f.subject.cellId === c.id)
    .map((f) => f.ruleId);
};

describe('format detection', () => {
  it('recognises every sample by its content', () => {
    expect(detectFormat(fixture('threat-dragon-v2.json'))).toBe('threat-dragon');
    expect(detectFormat(fixture('threat-dragon-v1.json'))).toBe('threat-dragon');
    expect(detectFormat(fixture('otm.yaml'))).toBe('otm');
    expect(detectFormat(fixture('model.tm7'))).toBe('tm7');
    expect(detectFormat(fixture('threagile.yaml'))).toBe('threagile');
    expect(detectFormat(fixture('tmi.json'))).toBe('tmi-json');
    expect(() => detectFormat('name: not a model\n')).toThrow(/not in a format TMI imports/);
    expect(() => detectFormat('<svg/>')).toThrow(/XML but not a Threat Modeling Tool model/);
  });
});

describe('Threat Dragon v2 import', () => {
  const r = importModel(fixture('threat-dragon-v2.json'));

  it('accounts for every element, flow, boundary and threat, and yields what the API accepts', () => {
    expect(r.report.format).toBe('threat-dragon-v2');
    expect(r.report.found).toMatchObject({ diagrams: 1, elements: 3, flows: 3, boundaries: 2, threats: 4 });
    expect(r.report.imported).toMatchObject({ diagrams: 1, elements: 3, flows: 2, boundaries: 2, threats: 4 });
    expect(r.report.unmapped).toEqual([{ kind: 'flow', source: "Checkout: flow 'Half-drawn flow'", reason: 'not connected to an element at both ends' }]);
    expectAccounted(r);
    expect(contractProblems(r.document)).toEqual([]);
  });

  it('maps the model, its elements and their properties', () => {
    const d = r.document;
    expect(d).toMatchObject({ name: 'Payments Portal', threat_model_framework: 'STRIDE' });
    expect(d.metadata).toEqual([
      { key: 'owner', value: 'Dana Lee' },
      { key: 'reviewer', value: 'Alex Moe' },
      { key: 'contributors', value: 'Sam Roe, Kim Poe' },
    ]);
    const shop = cellNamed(d, 'Web Shop');
    const box = cellNamed(d, 'Data centre');
    expect(shop).toMatchObject({ shape: 'process', parent: box.id, x: 360, y: 100 });
    expect(box.children).toEqual(expect.arrayContaining([shop.id, cellNamed(d, 'Orders DB').id]));
    expect(metaOf(shop)).toMatchObject({ technology: 'web-application', privilege_level: 'limited', handles_card_payment: 'true' });
    expect(metaOf(cellNamed(d, 'Orders DB'))).toMatchObject({ stores_credentials: 'true', encrypted: 'false', description: 'Orders and card tokens' });
    expect(metaOf(cellNamed(d, 'Browse & order'))).toMatchObject({ protocol: 'http', public_network: 'true', bidirectional: 'true' });
    expect(metaOf(cellNamed(d, 'Store order'))).toMatchObject({ protocol: 'https', encrypted: 'true' });
    expect(cellNamed(d, 'Card data never leaves the PSP').shape).toBe('text-box');
  });

  it('turns a boundary curve into a box around it and marks the flows that cross it', () => {
    const curve = cellNamed(r.document, 'Internet edge');
    expect(curve).toMatchObject({ shape: 'security-boundary', x: 230, y: 20, width: 40, height: 360 });
    expect(metaOf(curve)).toMatchObject({ boundary_style: 'line', boundary_points: '240,20 260,200 250,380' });
    expect(metaOf(cellNamed(r.document, 'Browse & order')).crosses_trust_boundary).toBe('true');
    expect(metaOf(cellNamed(r.document, 'Store order')).crosses_trust_boundary).toBeUndefined();
  });

  it('links each threat to its diagram and cell, with normalised type, severity and status', () => {
    const shop = cellNamed(r.document, 'Web Shop');
    const t = r.document.threats.find((x) => x.name === 'Price tampering')!;
    expect(t).toMatchObject({ id: '9c1d2e3f-0000-4000-8000-0000000000a2', cell_id: shop.id, diagram_id: r.document.diagrams[0]!.id, severity: 'medium', status: 'mitigated', mitigated: true, threat_type: ['Tampering'], score: 6.5 });
    expect(r.document.threats.find((x) => x.name === 'Database credentials in clear')!.threat_type).toEqual(['Information Disclosure']);
  });

  it('feeds the rules: plain HTTP across the boundary line, credentials stored unencrypted', () => {
    expect(ruleIds(r, 'Browse & order')).toEqual(expect.arrayContaining(['plain-http-across-trust-boundary', 'unencrypted-flow-over-public-network']));
    expect(ruleIds(r, 'Orders DB')).toContain('plaintext-credentials-in-data-store');
  });
});

describe('Threat Dragon v1 import', () => {
  const r = importModel(fixture('threat-dragon-v1.json'));
  it('reads the JointJS layout: elements, flows, the boundary line and threats on cells', () => {
    expect(r.report.format).toBe('threat-dragon-v1');
    expect(r.report.found).toMatchObject({ elements: 3, flows: 2, boundaries: 1, threats: 2 });
    expectAccounted(r);
    expect(r.report.unmapped).toEqual([]);
    expect(contractProblems(r.document)).toEqual([]);
    const edit = cellNamed(r.document, 'Edit page');
    expect(metaOf(edit)).toMatchObject({ protocol: 'http', encrypted: 'false', crosses_trust_boundary: 'true' });
    expect(metaOf(cellNamed(r.document, 'Access log'))).toMatchObject({ is_log: 'true' });
    expect(r.document.threats.map((t) => [t.name, t.cell_id])).toEqual([
      ['Weak passwords', cellNamed(r.document, 'Wiki').id],
      ['Cleartext edits', edit.id],
    ]);
    // v1 threats have no ids: they get stable ones, the same on every import.
    expect(importModel(fixture('threat-dragon-v1.json')).document).toEqual(r.document);
  });
});

describe('OTM import', () => {
  const r = importModel(fixture('otm.yaml'));

  it('accounts for components, dataflows, trust zones, threats and representations', () => {
    expect(r.report.format).toBe('otm');
    expect(r.report.found).toEqual({ diagrams: 2, elements: 4, flows: 3, boundaries: 3, threats: 3, assets: 2 });
    expect(r.report.unmapped.map((u) => [u.kind, u.source])).toEqual([
      ['diagram', "representation 'Source'"],
      ['flow', "dataflow 'Report to partner'"],
    ]);
    expectAccounted(r);
    expect(contractProblems(r.document)).toEqual([]);
  });

  it('nests trust zones, places components relative to their zone, guesses their kinds', () => {
    const d = r.document;
    const dmz = cellNamed(d, 'DMZ');
    const priv = cellNamed(d, 'Private network');
    expect(priv).toMatchObject({ parent: dmz.id, x: 680, y: 220 });
    expect(cellNamed(d, 'Points database')).toMatchObject({ shape: 'store', parent: priv.id, x: 780, y: 320 });
    expect(cellNamed(d, 'Mobile app').shape).toBe('actor');
    expect(cellNamed(d, 'Loyalty service')).toMatchObject({ shape: 'process', parent: dmz.id });
    // A component nested in a component lands in the nearest trust zone.
    expect(cellNamed(d, 'Points calculator').parent).toBe(dmz.id);
    expect(metaOf(cellNamed(d, 'Loyalty service'))).toMatchObject({ internet: 'true', out_of_scope: 'false', technology: 'web-service', description: 'REST API' });
    expect(metaOf(cellNamed(d, 'Redeem points'))).toMatchObject({ protocol: 'https', authentication: 'token', bidirectional: 'true' });
  });

  it('maps assets, threats with their references, mitigations and risk', () => {
    const d = r.document;
    const profile = d.assets.find((a) => a.name === 'Customer profile')!;
    expect(profile).toMatchObject({ type: 'data', classification: ['strictly-confidential'], criticality: 'medium' });
    expect((cellNamed(d, 'Points database').data as { data_assets: string[] }).data_assets).toEqual([profile.id]);
    const bola = d.threats.find((t) => t.name === 'Broken object level authorisation')!;
    expect(bola).toMatchObject({ cell_id: cellNamed(d, 'Loyalty service').id, severity: 'high', status: 'open', threat_type: ['Information Disclosure', 'Elevation of Privilege'], cwe_id: ['CWE-639'], mitigation: 'Check on every request that the object belongs to the caller.' });
    expect(d.threats.find((t) => t.name === 'Database dump')).toMatchObject({ status: 'mitigated', mitigated: true, severity: 'medium', threat_type: ['Information Disclosure'] });
    expect(d.threats.find((t) => t.name === 'Points fraud')).toMatchObject({ cell_id: null, severity: 'low' });
    expect(d.notes.map((n) => n.name)).toEqual(['OTM mitigations']);
    expect(d.notes[0]!.content).toContain('Rate limiting');
  });
});

describe('Threat Modeling Tool import', () => {
  const r = importModel(fixture('model.tm7'));

  it('accounts for stencils, connectors, boundaries and threat instances', () => {
    expect(r.report.format).toBe('tm7');
    expect(r.report.found).toMatchObject({ diagrams: 1, elements: 3, flows: 3, boundaries: 2, threats: 2 });
    expect(r.report.unmapped).toEqual([{ kind: 'flow', source: "Remote support: flow 'Dangling export'", reason: 'not connected to an element at both ends' }]);
    expectAccounted(r);
    expect(contractProblems(r.document)).toEqual([]);
  });

  it('classifies stencils by shape and maps their properties', () => {
    const d = r.document;
    expect(d).toMatchObject({ name: 'Remote Support', description: 'Support engineers open tickets in a web portal.' });
    const portal = cellNamed(d, 'Support portal');
    const corp = cellNamed(d, 'Corporate network');
    expect(cellNamed(d, 'Support engineer')).toMatchObject({ shape: 'actor' });
    expect(portal).toMatchObject({ shape: 'process', parent: corp.id, x: 450, y: 150, width: 100, height: 100 });
    expect(metaOf(portal)).toMatchObject({ technology: 'web-application', validates_input: 'false', data_formats: 'xml' });
    expect(metaOf(cellNamed(d, 'Tickets & notes'))).toMatchObject({ technology: 'database', encrypted: 'false', stores_credentials: 'true' });
    expect(metaOf(cellNamed(d, 'Open ticket'))).toMatchObject({ protocol: 'http', encrypted: 'false', crosses_trust_boundary: 'true' });
    expect(cellNamed(d, 'Sessions expire after 15 minutes').shape).toBe('text-box');
    expect(d.notes.map((n) => n.name)).toEqual(['Assumptions', 'Threat Modeling Tool notes']);
  });

  it('maps threat instances: state, priority, justification, links to the flow', () => {
    const d = r.document;
    const [spoof, sqli] = d.threats;
    expect(spoof).toMatchObject({ name: 'Spoofing the Support engineer External Entity', status: 'investigating', severity: 'high', priority: 'high', threat_type: ['Spoofing'], cell_id: cellNamed(d, 'Open ticket').id, mitigation: 'Use multi-factor authentication.' });
    expect(spoof!.description).toBe('Support engineer may be spoofed by an attacker. See KB 1 (https://example.com/kb/1).');
    expect(metaOf({ data: { _metadata: spoof!.metadata } })).toMatchObject({ justification: 'Waiting for the IAM team.', interaction: 'Open ticket' });
    expect(sqli).toMatchObject({ status: 'mitigated', mitigated: true, mitigation: 'All queries go through the ORM with bound parameters.', cell_id: cellNamed(d, 'Save ticket').id });
  });

  it('feeds the rules: XML into the portal, unvalidated input across the boundary', () => {
    expect(ruleIds(r, 'Support portal')).toEqual(expect.arrayContaining(['xml-external-entity', 'missing-input-validation']));
  });
});

describe('Threagile import', () => {
  const r = importModel(fixture('threagile.yaml'));

  it('accounts for technical assets, links, boundaries and individual risks', () => {
    expect(r.report.format).toBe('threagile');
    expect(r.report.found).toMatchObject({ elements: 3, flows: 3, boundaries: 2, threats: 1, assets: 2 });
    expectAccounted(r);
    expect(r.report.unmapped.map((u) => u.source)).toEqual(["shared runtime 'Kubernetes cluster'", "communication link 'Notify partner' of 'Booking API'", "risk_tracking 'unencrypted-asset@booking-db'"]);
    expect(contractProblems(r.document)).toEqual([]);
  });

  it('resolves anchors and merge keys, and maps asset and link fields to the vocabulary', () => {
    const d = r.document;
    const api = cellNamed(d, 'Booking API');
    // From the anchor: encryption, custom_developed; overridden: data formats, technology.
    expect(metaOf(api)).toMatchObject({ encryption: 'none', custom_developed: 'true', owner: 'Clinic IT', data_formats: 'json,xml', technology: 'web-service-rest', availability: 'critical', data_classification: 'confidential', shared_runtime: 'Kubernetes cluster' });
    expect(metaOf(cellNamed(d, 'Patient browser'))).toMatchObject({ human_use: 'true', internet: 'true', custom_developed: 'false' });
    expect(metaOf(cellNamed(d, 'Book appointment'))).toMatchObject({ protocol: 'http', authentication: 'credentials', authorization: 'end-user-identity-propagation' });
    const cloud = cellNamed(d, 'Cloud account');
    const subnet = cellNamed(d, 'Database subnet');
    expect(subnet.parent).toBe(cloud.id);
    expect(cellNamed(d, 'Booking database').parent).toBe(subnet.id);
    expect(api.parent).toBe(cloud.id);
    expect(d.assets.find((a) => a.name === 'Patient records')).toMatchObject({ classification: ['strictly-confidential'], criticality: 'critical' });
    expect(d.notes.map((n) => n.name)).toEqual(['Technical overview', 'Questions', 'Abuse cases', 'Security requirements']);
    expect(d.notes[1]!.content).toContain('_unanswered_');
  });

  it('turns individual risks into threats, with their tracking status', () => {
    const [t] = r.document.threats;
    expect(t).toMatchObject({ name: 'Appointment enumeration at Booking API', severity: 'high', status: 'in_progress', threat_type: ['Information Disclosure'], cwe_id: ['CWE-639'], cell_id: cellNamed(r.document, 'Booking API').id });
    expect(metaOf({ data: { _metadata: t!.metadata } })).toMatchObject({ ticket: 'CLINIC-12', justification: 'Random ids are being rolled out.' });
  });

  it('feeds the rules: sensitive data over plain HTTP, XML parsing', () => {
    expect(ruleIds(r, 'Book appointment')).toEqual(expect.arrayContaining(['unencrypted-communication', 'plain-http-across-trust-boundary']));
    expect(ruleIds(r, 'Booking API')).toContain('xml-external-entity');
  });
});

describe('TMI JSON import', () => {
  const r = importModel(fixture('tmi.json'));
  it('keeps the writable fields of every object, drops server-owned ones, refuses what the API would', () => {
    expect(r.report.format).toBe('tmi-json');
    expectAccounted(r);
    expect(r.report.unmapped).toEqual([{ kind: 'threat', source: "threats[1] 'Bad weakness id'", reason: '/cwe_id/0 must match pattern "^CWE-[0-9]+$"' }]);
    expect(contractProblems(r.document)).toEqual([]);
    const d = r.document as Record<string, unknown>;
    for (const k of ['owner', 'authorization', 'alias', 'version', 'status', 'created_at']) expect(d[k]).toBeUndefined();
    expect(r.document).toMatchObject({ name: 'Invoice Service', issue_uri: 'https://issues.example.com/TM-7', metadata: [{ key: 'team', value: 'billing' }] });
    expect(r.document.threats[0]).toMatchObject({ id: '7a1e0000-0000-4000-8000-0000000000e1', cvss: [{ score: 6.5 }], cell_id: '7a1e0000-0000-4000-8000-0000000000c4' });
    expect(Object.keys(r.document.threats[0]!)).not.toContain('alias');
    expect(r.document.notes[0]).toMatchObject({ name: 'Review notes', content: expect.stringContaining('# Review') });
    expect(r.document.repositories[0]).toMatchObject({ parameters: { refType: 'branch', refValue: 'main' } });
    expect(r.document.diagrams[0]!.cells).toHaveLength(7);
  });

  it('lets the rules see an accepted suggestion as accepted', () => {
    const f = evaluate(r.document, [BUILTIN_PACK]).find((x) => x.fingerprint === 'unencrypted-sensitive-data-store/7a1e0000-0000-4000-8000-0000000000c4');
    expect(f?.state).toBe('accepted');
  });
});
