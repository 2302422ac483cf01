// GET /threat_models/{id}/export and POST /threat_models/import (our extensions): roles, bad and
// hostile input (400 with the envelope, nothing written), every sample format imported through
// the API with everything accounted for, and the round trip export -> import -> same model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDocument, importTmiJson } from '../formats/index.ts';
import { call, errorOf, signIn, startTestApp, type Response, type SignedIn, type TestApp } from './support/app.ts';
import { fixture } from './formats/support.ts';
import { LogCapture } from './support/log-capture.ts';
import { seedModel } from './support/report-models.ts';

const logs = new LogCapture();
/** A model as the portable document, as the export reads it. */
const documentOf = (tm: unknown) => importTmiJson(JSON.stringify(tm)).document;

let t: TestApp;
let owner: SignedIn;
let reader: SignedIn;
let stranger: SignedIn;

beforeAll(async () => {
  t = await startTestApp({}, { logger: logs.logger('info') });
  [owner, reader, stranger] = await Promise.all([signIn(t.app), signIn(t.app), signIn(t.app)]);
});
afterAll(async () => t?.close());

async function upload(text: string, o: { token?: string; query?: string; type?: string } = {}): Promise<Response> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/threat_models/import${o.query ? `?${o.query}` : ''}`,
    headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), 'content-type': o.type ?? 'application/octet-stream' },
    payload: text,
  });
  let body: any;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = undefined;
  }
  return { status: res.statusCode, body, headers: res.headers, text: res.body };
}

// The caller's own models: others' models shared with `everyone` by files running beside this one
// (PostgreSQL: one database) must not count.
const modelCount = async (u: SignedIn) => (await call(t.app, 'GET', `/threat_models?limit=1&owner=${encodeURIComponent(u.email)}`, { token: u.accessToken })).body.total as number;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A document with its collections in a stable order (by content, ids blanked: the server lists
 * children made in one bulk request in id order) and its UUIDs replaced by their order of first
 * appearance: equal models compare equal whatever their ids.
 */
function canonical(doc: Record<string, unknown>): string {
  const blank = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'string' && UUID.test(v) ? '' : v));
  const sorted: Record<string, unknown> = { ...doc };
  for (const k of ['diagrams', 'threats', 'assets', 'notes', 'documents', 'repositories']) {
    sorted[k] = [...((doc[k] as unknown[]) ?? [])].sort((a, b) => (blank(a) < blank(b) ? -1 : blank(a) > blank(b) ? 1 : 0));
  }
  const ids = new Map<string, string>();
  return JSON.stringify(sorted, (_k, v) =>
    typeof v === 'string' && UUID.test(v)
      ? (ids.get(v.toLowerCase()) ?? (ids.set(v.toLowerCase(), `id-${ids.size}`), ids.get(v.toLowerCase())))
      : v,
  );
}

describe('GET /threat_models/{id}/export', () => {
  let tm: string;
  beforeAll(async () => {
    tm = await seedModel(t.app, owner.accessToken, { reader: reader.user });
  });

  it('requires authentication, a role on the model and a known format', async () => {
    expect((await call(t.app, 'GET', `/threat_models/${tm}/export`)).status).toBe(401);
    const no = await call(t.app, 'GET', `/threat_models/${tm}/export`, { token: stranger.accessToken });
    expect(no.status).toBe(403);
    errorOf(no);
    expect((await call(t.app, 'GET', '/threat_models/00000000-0000-4000-8000-000000000000/export', { token: owner.accessToken })).status).toBe(404);
    for (const q of ['format=tm7', 'format=xml', 'x=1']) {
      const res = await call(t.app, 'GET', `/threat_models/${tm}/export?${q}`, { token: owner.accessToken });
      expect(res.status, q).toBe(400);
      errorOf(res);
    }
  });

  it('lets a reader export TMI JSON (default), Threat Dragon v2 and OTM as attachments', async () => {
    const json = await call(t.app, 'GET', `/threat_models/${tm}/export`, { token: reader.accessToken });
    expect(json.status).toBe(200);
    expect(json.headers['content-disposition']).toBe('attachment; filename="checkout-service.tmi.json"');
    expect(json.body.name).toBe('Checkout service');
    expect(json.body.threats).toHaveLength(4);
    expect(json.body.authorization).toBeUndefined();
    expect(json.body.owner).toBeUndefined();
    const td = await call(t.app, 'GET', `/threat_models/${tm}/export?format=threat-dragon`, { token: reader.accessToken });
    expect(td.status).toBe(200);
    expect(td.headers['content-disposition']).toBe('attachment; filename="checkout-service.threat-dragon.json"');
    expect(td.body.summary.title).toBe('Checkout service');
    expect(Number(td.headers['x-tmi-export-omitted'])).toBeGreaterThan(0); // assets, notes, documents... have no place there
    const otm = await call(t.app, 'GET', `/threat_models/${tm}/export?format=otm`, { token: reader.accessToken });
    expect(otm.status).toBe(200);
    expect(otm.body.otmVersion).toBe('0.2.0');
  });

  it('round trip: export, import, export again gives the same model (fresh ids)', async () => {
    const first = await call(t.app, 'GET', `/threat_models/${tm}/export`, { token: owner.accessToken });
    const imported = await upload(first.text, { token: owner.accessToken, type: 'application/json' });
    expect(imported.status, imported.text).toBe(201);
    const copy = imported.body.threat_model.id as string;
    expect(copy).not.toBe(tm);
    const second = await call(t.app, 'GET', `/threat_models/${copy}/export`, { token: owner.accessToken });
    expect(canonical(second.body)).toBe(canonical(first.body));
    expect(second.text).not.toBe(first.text); // the ids are new
    expect(imported.body.report).toMatchObject({ format: 'tmi-json', unmapped: [] });
    expect(imported.body.report.imported).toEqual(imported.body.report.found);
  });

  it('round trip through Threat Dragon and OTM keeps every element, flow, boundary and threat on a cell', async () => {
    const original = countDocument(documentOf((await call(t.app, 'GET', `/threat_models/${tm}`, { token: owner.accessToken })).body));
    for (const format of ['threat-dragon', 'otm']) {
      const file = await call(t.app, 'GET', `/threat_models/${tm}/export?format=${format}`, { token: owner.accessToken });
      const res = await upload(file.text, { token: owner.accessToken });
      expect(res.status, `${format}: ${res.text}`).toBe(201);
      const back = countDocument(documentOf(res.body.threat_model));
      expect(back.elements, format).toBe(original.elements);
      expect(back.flows, format).toBe(original.flows);
      expect(back.boundaries, format).toBe(original.boundaries);
      // Threats on a cell go there and back; the one on no cell (and left out of reports) too in OTM? Only cell-linked ones are promised.
      expect(back.threats, format).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('POST /threat_models/import', () => {
  it('requires authentication (before the body is read)', async () => {
    const res = await upload(fixture('threat-dragon-v2.json'));
    expect(res.status).toBe(401);
    errorOf(res);
  });

  const samples: [string, string, string][] = [
    ['threat-dragon-v2.json', 'threat-dragon-v2', 'application/json'],
    ['threat-dragon-v1.json', 'threat-dragon-v1', 'application/json'],
    ['otm.yaml', 'otm', 'application/yaml'],
    ['model.tm7', 'tm7', 'application/xml'],
    ['threagile.yaml', 'threagile', 'text/yaml'],
    ['tmi.json', 'tmi-json', 'application/json'],
  ];
  for (const [file, format, type] of samples) {
    it(`imports ${file} (${format}) as a new model owned by the caller, everything accounted for`, async () => {
      const res = await upload(fixture(file), { token: owner.accessToken, type, query: `file_name=${file}` });
      expect(res.status, res.text).toBe(201);
      const { threat_model: tm, report } = res.body;
      expect(res.headers.location).toBe(`/threat_models/${tm.id}`);
      expect(tm.owner.provider_id).toBe(owner.user);
      expect(report.format).toBe(format);
      for (const k of ['diagrams', 'elements', 'flows', 'boundaries', 'threats', 'assets'] as const) {
        const kind = { diagrams: 'diagram', elements: 'element', flows: 'flow', boundaries: 'boundary', threats: 'threat', assets: 'asset' }[k];
        expect(report.imported[k] + report.unmapped.filter((u: { kind: string }) => u.kind === kind).length, `${k} accounted for`).toBe(report.found[k]);
      }
      // What the report says was imported is what the server holds.
      expect(countDocument(documentOf(tm))).toEqual(report.imported);
      const got = await call(t.app, 'GET', `/threat_models/${tm.id}`, { token: owner.accessToken });
      expect(got.status).toBe(200);
      expect(got.body.threats.length).toBe(report.imported.threats);
    });
  }

  it('reports what could not be mapped (a Threat Dragon flow with a loose end)', async () => {
    const res = await upload(fixture('threat-dragon-v2.json'), { token: owner.accessToken });
    expect(res.status).toBe(201);
    expect(res.body.report.unmapped).toEqual([{ kind: 'flow', source: "Checkout: flow 'Half-drawn flow'", reason: 'not connected to an element at both ends' }]);
    expect(res.body.report.format_name).toBe('OWASP Threat Dragon v2 JSON');
  });

  it('writes through the services: audit trail, versions, threats linked to the new diagram', async () => {
    const res = await upload(fixture('threat-dragon-v2.json'), { token: owner.accessToken });
    const tm = res.body.threat_model;
    const audit = await call(t.app, 'GET', `/threat_models/${tm.id}/audit_trail?limit=100`, { token: owner.accessToken });
    expect(audit.status).toBe(200);
    const types = new Set(audit.body.audit_entries.map((e: { object_type: string }) => e.object_type));
    expect([...types].sort()).toEqual(expect.arrayContaining(['diagram', 'threat', 'threat_model']));
    const diagramIds = new Set(tm.diagrams.map((d: { id: string }) => d.id));
    const cellIds = new Set(tm.diagrams.flatMap((d: { cells: { id: string }[] }) => d.cells.map((c) => c.id)));
    for (const th of tm.threats) {
      expect(diagramIds.has(th.diagram_id)).toBe(true);
      expect(cellIds.has(th.cell_id)).toBe(true);
    }
  });

  it('takes the format when given, and refuses one that does not fit with 400', async () => {
    const ok = await upload(fixture('otm.yaml'), { token: owner.accessToken, query: 'format=otm' });
    expect(ok.status).toBe(201);
    const wrong = await upload(fixture('otm.yaml'), { token: owner.accessToken, query: 'format=tm7' });
    expect(wrong.status).toBe(400);
    errorOf(wrong);
    const bad = await upload(fixture('otm.yaml'), { token: owner.accessToken, query: 'format=visio' });
    expect(bad.status).toBe(400);
    errorOf(bad);
  });

  it('refuses bad and hostile files with 400 and the envelope, creating nothing', async () => {
    const before = await modelCount(owner);
    const billion = `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nthreagile_version: 1.0.0\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n`;
    const cases: [string, string, string][] = [
      ['<?xml version="1.0"?><!DOCTYPE ThreatModel [<!ENTITY x "y">]><ThreatModel>&x;</ThreatModel>', 'unsafe_content', 'application/xml'],
      ['<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ThreatModel>&xxe;</ThreatModel>', 'unsafe_content', 'text/xml'],
      [`{"name":"x","a":${'['.repeat(5000)}${']'.repeat(5000)}}`, 'too_deep', 'application/json'],
      [`{"name":"x","a":${'{"b":'.repeat(100)}1${'}'.repeat(100)}}`, 'too_deep', 'application/json'],
      [billion, 'unsafe_content', 'text/yaml'],
      ['{"name": "x", ', 'invalid_syntax', 'application/json'],
      ['just some text', 'unrecognised_format', 'text/plain'],
      ['<html><body>hi</body></html>', 'unrecognised_format', 'text/plain'],
      ['{"summary": {}, "detail": 42}', 'invalid_model', 'application/json'],
      ['   ', 'invalid_input', 'text/plain'],
    ];
    for (const [text, code, type] of cases) {
      const res = await upload(text, { token: owner.accessToken, type });
      expect(res.status, `${code}: ${res.text}`).toBe(400);
      expect(errorOf(res).error, text.slice(0, 60)).toBe(code);
    }
    const wrongType = await upload('{}', { token: owner.accessToken, type: 'image/png' });
    expect(wrongType.status).toBe(415);
    errorOf(wrongType);
    expect(await modelCount(owner)).toBe(before);
  });

  it('logs hostile refusals as the security event model.import.refused (not merely malformed files)', async () => {
    const mark = logs.lines.length;
    await upload('<?xml version="1.0"?><!DOCTYPE ThreatModel [<!ENTITY x "y">]><ThreatModel>&x;</ThreatModel>', { token: reader.accessToken, type: 'application/xml' });
    await upload('{"name": "x", ', { token: reader.accessToken, type: 'application/json' });
    const events = logs.lines.slice(mark).filter((l) => l.event === 'model.import.refused');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ level: 40, provider: 'tmi', provider_id: reader.user, reason: 'unsafe_content' });
    expect(typeof events[0]!.bytes).toBe('number');
  });

  it('creates everything or nothing: a refusal by a service halfway rolls the whole import back', async () => {
    const before = await modelCount(owner);
    const listed = async () => (await call(t.app, 'GET', `/threat_models?limit=100&owner=${encodeURIComponent(owner.email)}`, { token: owner.accessToken })).body.threat_models.length;
    const auditBefore = await listed();
    const file = JSON.parse(fixture('tmi.json'));
    // The contract's pattern lets a template marker through; the threats service's markup filter does not.
    file.threats[0].mitigation = 'Render with {{user.name}}';
    const res = await upload(JSON.stringify(file), { token: owner.accessToken, type: 'application/json' });
    expect(res.status, res.text).toBe(400);
    expect(errorOf(res).error_description).toContain('potentially unsafe content');
    expect(await modelCount(owner)).toBe(before);
    expect(await listed()).toBe(auditBefore);
  });

  it('refuses a body over the server limit with 413', async () => {
    const small = await startTestApp({ TMI_SERVER_MAX_BODY_BYTES: '65536' });
    try {
      const u = await signIn(small.app);
      const res = await small.app.inject({
        method: 'POST',
        url: '/threat_models/import',
        headers: { authorization: `Bearer ${u.accessToken}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'big', description: 'x'.repeat(70_000) }),
      });
      expect(res.statusCode).toBe(413);
      expect(JSON.parse(res.body).error).toBe('payload_too_large');
    } finally {
      await small.close();
    }
  });

  it('is in the OpenAPI document', async () => {
    const paths = (await call(t.app, 'GET', '/openapi.json')).body.paths;
    expect(paths['/threat_models/import'].post.operationId).toBe('importThreatModel');
    expect(Object.keys(paths['/threat_models/import'].post.requestBody.content)).toContain('application/xml');
    expect(paths['/threat_models/{threat_model_id}/export'].get.operationId).toBe('exportThreatModel');
  });
});
