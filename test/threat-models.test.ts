import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, startTestApp, type SignedIn, type TestApp } from './support/app.ts';
import { buildUsers } from './support/factories.ts';

let t: TestApp;
let owner: SignedIn;
let writer: SignedIn;
let reader: SignedIn;
let stranger: SignedIn;

beforeAll(async () => {
  t = await startTestApp();
  [owner, writer, reader, stranger] = await buildUsers(t, 4);
});
afterAll(async () => t?.close());

const share = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });

async function createShared(name = 'Payments') {
  const res = await call(t.app, 'POST', '/threat_models', {
    token: owner.accessToken,
    body: { name, description: 'd', authorization: [share(writer, 'writer'), share(reader, 'reader')] },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; version: number };
}

describe('POST /threat_models', () => {
  it('requires authentication', async () => {
    const res = await call(t.app, 'POST', '/threat_models', { body: { name: 'x' } });
    expect(res.status).toBe(401);
    expect(errorOf(res).error).toBe('unauthorized');
  });

  it('creates with the reference defaults, owner entry first and automatic groups', async () => {
    const res = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'Checkout' } });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/threat_models/${res.body.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(res.body).toMatchObject({
      name: 'Checkout',
      threat_model_framework: 'STRIDE',
      status: 'not_started',
      is_confidential: false,
      version: 1,
      owner: { principal_type: 'user', provider: 'tmi', provider_id: owner.user, email: owner.email },
      metadata: [],
      threats: [],
    });
    expect(res.body.authorization[0]).toMatchObject({ principal_type: 'user', provider_id: owner.user, role: 'owner' });
    const groups = res.body.authorization.filter((a: { principal_type: string }) => a.principal_type === 'group');
    expect(groups.map((g: { provider_id: string; role: string }) => `${g.provider_id}:${g.role}`).sort()).toEqual([
      'security-reviewers:owner',
      'tmi-automation:writer',
    ]);
  });

  it('rejects unknown fields, bad types, over-long names and malformed JSON, writing nothing', async () => {
    // The owner's own models: others' shared with `everyone` by files running beside this one must not count.
    const mine = `/threat_models?limit=100&owner=${encodeURIComponent(owner.email)}`;
    const before = await call(t.app, 'GET', mine, { token: owner.accessToken });
    for (const body of [{ name: 'x', owner: 'me' }, { name: 42 }, { name: 'x'.repeat(257) }, {}, { name: 'x', id: '00000000-0000-0000-0000-000000000000' }]) {
      const res = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      errorOf(res);
    }
    for (const raw of ['{"name": "x"', '{"name":"x"} trailing', '{"name":"a","name":"b"}']) {
      const res = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, raw });
      expect(res.status, raw).toBe(400);
      errorOf(res);
    }
    const wrongType = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, raw: 'name=x', contentType: 'text/plain' });
    expect(wrongType.status).toBe(415);
    const after = await call(t.app, 'GET', mine, { token: owner.accessToken });
    expect(after.body.total).toBe(before.body.total);
  });
});

describe('GET /threat_models/{id} by role', () => {
  it('lets owner, writer and reader read; a stranger gets 403; unknown ids 404; bad ids 400', async () => {
    const tm = await createShared();
    for (const u of [owner, writer, reader]) {
      const res = await call(t.app, 'GET', `/threat_models/${tm.id}`, { token: u.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(tm.id);
    }
    expect((await call(t.app, 'GET', `/threat_models/${tm.id}`, { token: stranger.accessToken })).status).toBe(403);
    const missing = await call(t.app, 'GET', '/threat_models/00000000-0000-4000-8000-000000000000', { token: owner.accessToken });
    expect(missing.status).toBe(404);
    expect(errorOf(missing).error).toBe('not_found');
    const bad = await call(t.app, 'GET', '/threat_models/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(errorOf(bad).error).toBe('invalid_id');
  });
});

describe('PUT, PATCH and DELETE by role', () => {
  it('writer may update, reader may not; only the owner changes authorization or deletes', async () => {
    const tm = await createShared();
    const put = (u: SignedIn, body: unknown) => call(t.app, 'PUT', `/threat_models/${tm.id}`, { token: u.accessToken, body });
    expect((await put(reader, { name: 'R' })).status).toBe(403);
    const w = await put(writer, { name: 'W', description: 'by writer' });
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ name: 'W', description: 'by writer', version: 2 });
    expect(w.body.authorization.map((a: { provider_id: string }) => a.provider_id)).toContain(reader.user);
    expect((await put(writer, { name: 'W', authorization: [share(stranger, 'owner')] })).status).toBe(403);

    const patch = (u: SignedIn, ops: unknown) =>
      call(t.app, 'PATCH', `/threat_models/${tm.id}`, { token: u.accessToken, body: ops, contentType: 'application/json-patch+json' });
    const p = await patch(writer, [{ op: 'replace', path: '/threat_model_framework', value: 'LINDDUN' }]);
    expect(p.status).toBe(200);
    expect(p.body.threat_model_framework).toBe('LINDDUN');
    expect((await patch(reader, [{ op: 'replace', path: '/name', value: 'x' }])).status).toBe(403);
    expect((await patch(writer, [{ op: 'add', path: '/authorization/-', value: share(stranger, 'reader') }])).status).toBe(403);
    expect((await patch(owner, [{ op: 'replace', path: '/id', value: 'x' }])).status).toBe(400);
    const json = await call(t.app, 'PATCH', `/threat_models/${tm.id}`, { token: owner.accessToken, body: [{ op: 'replace', path: '/name', value: 'x' }] });
    expect(json.status).toBe(415);

    expect((await call(t.app, 'DELETE', `/threat_models/${tm.id}`, { token: writer.accessToken })).status).toBe(403);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm.id}`, { token: owner.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', `/threat_models/${tm.id}`, { token: owner.accessToken })).status).toBe(404);
  });

  it('answers 409 for a stale If-Match and returns the new version in ETag', async () => {
    const tm = await createShared();
    const stale = await call(t.app, 'PUT', `/threat_models/${tm.id}`, { token: owner.accessToken, body: { name: 'x' }, headers: { 'if-match': '"7"' } });
    expect(stale.status).toBe(409);
    expect(errorOf(stale).error).toBe('version_mismatch');
    const ok = await call(t.app, 'PUT', `/threat_models/${tm.id}`, { token: owner.accessToken, body: { name: 'x' }, headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.etag).toBe('"2"');
  });
});

describe('GET /threat_models', () => {
  it('lists only readable models with counts and paging', async () => {
    const tm = await createShared('Listed');
    const mine = await call(t.app, 'GET', '/threat_models?limit=1', { token: reader.accessToken });
    expect(mine.status).toBe(200);
    expect(mine.body.limit).toBe(1);
    expect(mine.body.threat_models.length).toBe(1);
    const all = await call(t.app, 'GET', '/threat_models?limit=100', { token: reader.accessToken });
    const item = all.body.threat_models.find((m: { id: string }) => m.id === tm.id);
    expect(item).toMatchObject({ name: 'Listed', threat_count: 0, repo_count: 0, diagram_count: 0, document_count: 0, asset_count: 0, note_count: 0 });
    const theirs = await call(t.app, 'GET', '/threat_models?limit=100', { token: stranger.accessToken });
    expect(theirs.body.threat_models.some((m: { id: string }) => m.id === tm.id)).toBe(false);
  });
});
