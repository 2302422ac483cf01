// Crafted input never reaches a 500: NUL characters (PostgreSQL refuses them in text) in query
// strings, path parameters and bodies, and JSON Patch paths that name JavaScript's object model
// (`__proto__`, `constructor`, `toString`, `hasOwnProperty`) are 400 with the error envelope and
// change nothing — no version bump, no audit entry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, type Response } from './support/app.ts';
import { sharedModel, startWorld, type World } from './support/child-family.ts';
import { opRequest, processNode, WsClient } from './collab-support.ts';

let w: World;
let wsBase: string;
beforeAll(async () => {
  w = await startWorld();
  wsBase = (await w.t.app.listen({ port: 0, host: '127.0.0.1' })).replace(/^http/, 'ws');
});
afterAll(async () => w?.t.close());

const PATCH = 'application/json-patch+json';
const OBJECT_MODEL_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

function refused(res: Response, what: string, code = 'invalid_input') {
  expect(res.status, `${what}: ${res.text}`).toBe(400);
  expect(errorOf(res).error, what).toBe(code);
}

async function auditCount(tm: string): Promise<number> {
  const res = await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail?limit=1`, { token: w.owner.accessToken });
  expect(res.status).toBe(200);
  return res.body.total as number;
}

/** A model with one child of each family, one diagram and metadata on the model and on a threat. */
async function populated() {
  const tm = await sharedModel(w);
  const post = async (path: string, body: unknown) => {
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/${path}`, { token: w.owner.accessToken, body });
    expect(res.status, res.text).toBe(201);
    return res.body as { id: string };
  };
  const children = {
    threats: await post('threats', { name: 'Spoofed login', threat_type: ['Spoofing'] }),
    assets: await post('assets', { name: 'Card data', type: 'data' }),
    documents: await post('documents', { name: 'Design', uri: 'https://docs.example/design' }),
    notes: await post('notes', { name: 'Review', content: '# Findings' }),
    repositories: await post('repositories', { name: 'api', uri: 'https://git.example/api' }),
    diagrams: await post('diagrams', { name: 'Flows', type: 'DFD-1.0.0' }),
  };
  await post('metadata', { key: 'team', value: 'red' });
  await post(`threats/${children.threats.id}/metadata`, { key: 'cwe', value: '287' });
  return { tm, children };
}

describe('NUL characters', () => {
  it('in query parameters are 400, on every list that filters in SQL', async () => {
    const { tm } = await populated();
    for (const url of [
      ...['name', 'owner', 'description', 'issue_uri', 'status', 'security_reviewer'].map((q) => `/threat_models?${q}=a%00b`),
      '/threat_models?status=open&status=a%00b',
      `/threat_models/${tm}/threats?name=a%00b`,
      `/threat_models/${tm}/threats?sort=name%00`,
      `/threat_models/${tm}/audit_trail?actor_email=a%00b`,
      `/threat_models/${tm}/audit_trail?cursor=%00`,
      '/oauth2/authorize?idp=tmi&login_hint=a%00b',
    ]) {
      refused(await call(w.t.app, 'GET', url, { token: w.owner.accessToken }), url);
    }
  });

  it('in path parameters are 400 invalid_id, before authentication', async () => {
    const { tm } = await populated();
    for (const [method, body] of [['GET'], ['PUT', { value: 'x' }], ['DELETE']] as [string, unknown?][]) {
      const url = `/threat_models/${tm}/metadata/team%00x`;
      refused(await call(w.t.app, method, url, { token: w.owner.accessToken, body }), `${method} ${url}`, 'invalid_id');
      refused(await call(w.t.app, method, url, { body }), `${method} ${url} without a token`, 'invalid_id');
    }
    const entry = await call(w.t.app, 'GET', `/threat_models/${tm}/metadata/team`, { token: w.owner.accessToken });
    expect(entry.body).toEqual({ key: 'team', value: 'red' });
  });

  it('in bodies are 400 and write nothing (JSON escapes and form fields)', async () => {
    const { tm, children } = await populated();
    const before = await auditCount(tm);
    for (const [url, raw] of [
      ['/threat_models', '{"name":"a\\u0000b"}'],
      [`/threat_models/${tm}/threats`, '{"name":"n","threat_type":["a\\u0000"]}'],
      [`/threat_models/${tm}/notes`, '{"name":"n","content":"a\\u0000b"}'],
      [`/threat_models/${tm}/metadata`, '{"key":"k","value":"a\\u0000b"}'],
      [`/threat_models/${tm}/metadata`, '{"key":"k\\u0000","value":"v"}'],
    ]) {
      const res = await call(w.t.app, 'POST', url!, { token: w.owner.accessToken, raw });
      expect(res.status, `${url} ${raw}`).toBe(400);
      errorOf(res);
    }
    const cell = { id: '0b0e4a52-7d44-4c1b-9a52-3f0c2b1d9e10', shape: 'process', x: 0, y: 0, width: 80, height: 40, attrs: { text: { text: 'a\u0000b' } } };
    const diagram = await call(w.t.app, 'PUT', `/threat_models/${tm}/diagrams/${children.diagrams.id}`, { token: w.owner.accessToken, raw: JSON.stringify({ name: 'Flows', type: 'DFD-1.0.0', cells: [cell] }) });
    expect(diagram.status).toBe(400);
    errorOf(diagram);
    for (const raw of [
      `grant_type=authorization_code&code=a%00b&code_verifier=${'v'.repeat(50)}&redirect_uri=${encodeURIComponent('http://localhost:8079/')}`,
      'grant_type=refresh_token&refresh_token=a%00b',
    ]) {
      const form = await call(w.t.app, 'POST', '/oauth2/token?idp=tmi', { raw, contentType: 'application/x-www-form-urlencoded' });
      refused(form, raw, 'invalid_request');
    }
    expect(await auditCount(tm)).toBe(before);
  });

  it('in collaboration messages are refused as operations, never stored', async () => {
    const { tm, children } = await populated();
    const d = children.diagrams.id;
    const s = await call(w.t.app, 'POST', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: w.owner.accessToken, body: {} });
    const ticket = await call(w.t.app, 'GET', `/ws/ticket?session_id=${s.body.session_id}`, { token: w.owner.accessToken });
    const ws = WsClient.connect(`${wsBase}/threat_models/${tm}/diagrams/${d}/ws?session_id=${s.body.session_id}&ticket=${encodeURIComponent(ticket.body.ticket)}`);
    await ws.opened;
    await ws.type('diagram_state');
    const node = processNode();
    ws.send({ ...opRequest([{ id: node.id, operation: 'add', data: node }]), operation_id: 'a\u0000b' });
    expect(await ws.type('operation_rejected')).toMatchObject({ reason: 'validation_failed', operation_id: '' });
    const nulCell = { ...node, data: { note: 'a\u0000b' } };
    const op = opRequest([{ id: node.id, operation: 'add', data: nulCell }]);
    ws.send(op);
    expect(await ws.type('operation_rejected')).toMatchObject({ reason: 'validation_failed', operation_id: op.operation_id });
    ws.close();
    expect(ws.messages.filter((m) => m.message_type === 'error')).toEqual([]);
    const stored = await call(w.t.app, 'GET', `/threat_models/${tm}/diagrams/${d}`, { token: w.owner.accessToken });
    expect(stored.body.cells).toEqual([]);
  });
});

describe('JSON Patch paths that name the object model', () => {
  const paths = (name: string) => [`/${name}`, `/${name}/x`, `/name/${name}`, `/metadata/${name}`, `/metadata/0/${name}`];

  it('are 400 on a threat model, with no version bump and no audit entry', async () => {
    const { tm } = await populated();
    const before = (await call(w.t.app, 'GET', `/threat_models/${tm}`, { token: w.owner.accessToken })).body;
    const audits = await auditCount(tm);
    for (const name of OBJECT_MODEL_NAMES) {
      for (const path of [...paths(name), `/authorization/${name}`]) {
        for (const op of [{ op: 'add', path, value: 'x' }, { op: 'replace', path, value: 'x' }, { op: 'remove', path }, { op: 'move', from: path, path: '/description' }]) {
          const res = await call(w.t.app, 'PATCH', `/threat_models/${tm}`, { token: w.owner.accessToken, contentType: PATCH, body: [op] });
          refused(res, JSON.stringify(op));
        }
      }
    }
    const after = (await call(w.t.app, 'GET', `/threat_models/${tm}`, { token: w.owner.accessToken })).body;
    expect(after.version).toBe(before.version);
    expect(after).toEqual(before);
    expect(await auditCount(tm)).toBe(audits);
  });

  it('are 400 on every child family, on diagrams and in bulk patches, and change nothing', async () => {
    const { tm, children } = await populated();
    const audits = await auditCount(tm);
    for (const [segment, child] of Object.entries(children)) {
      const url = `/threat_models/${tm}/${segment}/${child.id}`;
      const before = (await call(w.t.app, 'GET', url, { token: w.owner.accessToken })).body;
      for (const name of OBJECT_MODEL_NAMES) {
        for (const path of [...paths(name), `/cells/${name}`, `/threat_type/${name}`]) {
          const res = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, contentType: PATCH, body: [{ op: 'add', path, value: 'x' }] });
          refused(res, `${segment} ${path}`);
        }
      }
      expect((await call(w.t.app, 'GET', url, { token: w.owner.accessToken })).body, segment).toEqual(before);
    }
    for (const name of OBJECT_MODEL_NAMES) {
      const res = await call(w.t.app, 'PATCH', `/threat_models/${tm}/threats/bulk`, {
        token: w.writer.accessToken,
        body: { patches: [{ id: children.threats.id, operations: [{ op: 'replace', path: `/${name}`, value: 'x' }] }] },
      });
      refused(res, `bulk ${name}`);
    }
    expect(await auditCount(tm)).toBe(audits);
  });

  it('leave metadata keys of those names alone: they are data, stored and read back as such', async () => {
    const { tm } = await populated();
    for (const key of OBJECT_MODEL_NAMES) {
      const res = await call(w.t.app, 'POST', `/threat_models/${tm}/metadata`, { token: w.owner.accessToken, body: { key, value: `v-${key}` } });
      expect(res.status, key).toBe(201);
      expect((await call(w.t.app, 'GET', `/threat_models/${tm}/metadata/${key}`, { token: w.owner.accessToken })).body).toEqual({ key, value: `v-${key}` });
    }
  });
});

describe('lookups keyed by request text', () => {
  it('a threat sort or a model media type naming the object model is a 4xx, not a 500', async () => {
    const { tm, children } = await populated();
    for (const sort of ['constructor', '__proto__:asc', 'tostring']) {
      refused(await call(w.t.app, 'GET', `/threat_models/${tm}/threats?sort=${sort}`, { token: w.owner.accessToken }), sort);
    }
    const model = await call(w.t.app, 'GET', `/threat_models/${tm}/diagrams/${children.diagrams.id}/model`, { token: w.owner.accessToken, headers: { accept: 'constructor' } });
    expect(model.status).toBe(406);
    errorOf(model);
  });
});
