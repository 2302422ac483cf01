import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';

let t: TestApp;
let owner: SignedIn;
let writer: SignedIn;
let reader: SignedIn;
let stranger: SignedIn;

beforeAll(async () => {
  t = await startTestApp();
  [owner, writer, reader, stranger] = await Promise.all([signIn(t.app), signIn(t.app), signIn(t.app), signIn(t.app)]);
});
afterAll(async () => t?.close());

const share = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });

async function threatModel() {
  const res = await call(t.app, 'POST', '/threat_models', {
    token: owner.accessToken,
    body: { name: 'Diagrams TM', authorization: [share(writer, 'writer'), share(reader, 'reader')] },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function diagram(tm: string, name = 'Flow') {
  const res = await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: writer.accessToken, body: { name, type: 'DFD-1.0.0' } });
  expect(res.status).toBe(201);
  return res.body as { id: string; version: number };
}

export const node = (id = randomUUID(), extra: Record<string, unknown> = {}) => ({
  id,
  shape: 'process',
  position: { x: 10, y: 20 },
  size: { width: 120, height: 60 },
  attrs: { text: { text: 'Auth' }, body: { fill: '#ffffff' } },
  ports: { groups: { in: { position: 'left' } }, items: [{ id: 'p1', group: 'in' }] },
  data: { _metadata: [{ key: 'k', value: 'v' }] },
  ...extra,
});
export const edge = (source: string, target: string, id = randomUUID()) => ({
  id,
  shape: 'flow',
  source: { cell: source, port: 'p1' },
  target: { cell: target },
  labels: [{ attrs: { text: { text: 'HTTPS' } }, position: 0.5 }],
  vertices: [{ x: 1, y: 2 }],
  router: 'manhattan',
  connector: { name: 'rounded', args: { radius: 4 } },
});

const put = (tm: string, id: string, body: unknown, token = writer.accessToken, headers: Record<string, string> = {}) =>
  call(t.app, 'PUT', `/threat_models/${tm}/diagrams/${id}`, { token, body, headers });
const patch = (tm: string, id: string, body: unknown, token = writer.accessToken, headers: Record<string, string> = {}) =>
  call(t.app, 'PATCH', `/threat_models/${tm}/diagrams/${id}`, { token, body, headers, contentType: 'application/json-patch+json' });
const get = (tm: string, id: string, token = reader.accessToken) => call(t.app, 'GET', `/threat_models/${tm}/diagrams/${id}`, { token });

describe('POST /threat_models/{id}/diagrams', () => {
  it('requires authentication', async () => {
    const tm = await threatModel();
    const res = await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { body: { name: 'x', type: 'DFD-1.0.0' } });
    expect(res.status).toBe(401);
    errorOf(res);
  });

  it('creates with defaults, Location, ETag and alias; reader and stranger are refused', async () => {
    const tm = await threatModel();
    const res = await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: writer.accessToken, body: { name: 'Main', type: 'DFD-1.0.0' } });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/threat_models/${tm}/diagrams/${res.body.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(res.body).toMatchObject({ name: 'Main', type: 'DFD-1.0.0', cells: [], metadata: [], update_vector: 0, image: {}, version: 1, alias: 1, include_in_report: true, timmy_enabled: true, auto_generated: false });
    const second = await diagram(tm);
    expect((second as unknown as { alias: number }).alias).toBe(2);
    expect((await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: reader.accessToken, body: { name: 'x', type: 'DFD-1.0.0' } })).status).toBe(403);
    expect((await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: stranger.accessToken, body: { name: 'x', type: 'DFD-1.0.0' } })).status).toBe(403);
  });

  it('rejects unknown fields, wrong types, bad type, long names, malformed JSON and wrong media type, writing nothing', async () => {
    const tm = await threatModel();
    for (const body of [{ name: 'x', type: 'DFD-1.0.0', description: 'd' }, { name: 1, type: 'DFD-1.0.0' }, { name: 'x', type: 'DFD-2' }, { name: 'x'.repeat(257), type: 'DFD-1.0.0' }, { type: 'DFD-1.0.0' }, { name: 'a\u0001', type: 'DFD-1.0.0' }]) {
      const res = await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: owner.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      errorOf(res);
    }
    const bad = await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: owner.accessToken, raw: '{"name":"x",' });
    expect(bad.status).toBe(400);
    const media = await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: owner.accessToken, raw: 'name=x', contentType: 'text/plain' });
    expect(media.status).toBe(415);
    const list = await call(t.app, 'GET', `/threat_models/${tm}/diagrams`, { token: owner.accessToken });
    expect(list.body.total).toBe(0);
  });

  it('404 for an unknown threat model, 400 for a bad id', async () => {
    expect((await call(t.app, 'POST', `/threat_models/${randomUUID()}/diagrams`, { token: owner.accessToken, body: { name: 'x', type: 'DFD-1.0.0' } })).status).toBe(404);
    expect(errorOf(await call(t.app, 'POST', `/threat_models/nope/diagrams`, { token: owner.accessToken, body: { name: 'x', type: 'DFD-1.0.0' } })).error).toBe('invalid_id');
  });
});

describe('GET list and one', () => {
  it('lists DiagramListItem in creation order with paging; get returns the diagram by role', async () => {
    const tm = await threatModel();
    const a = await diagram(tm, 'A');
    const b = await diagram(tm, 'B');
    const list = await call(t.app, 'GET', `/threat_models/${tm}/diagrams?limit=1&offset=1`, { token: reader.accessToken });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(list.body.diagrams.map((d: { name: string }) => d.name)).toEqual(['B']);
    expect(Object.keys(list.body.diagrams[0]).sort()).toEqual(['alias', 'created_at', 'description', 'id', 'image', 'include_in_report', 'modified_at', 'name', 'timmy_enabled', 'type']);
    for (const u of [owner, writer, reader]) expect((await get(tm, a.id, u.accessToken)).status).toBe(200);
    const one = await get(tm, b.id);
    expect(one.headers.etag).toBe('"1"');
    expect(one.body.id).toBe(b.id);
    expect((await get(tm, a.id, stranger.accessToken)).status).toBe(403);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams`, { token: stranger.accessToken })).status).toBe(403);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams`)).status).toBe(401);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${a.id}`)).status).toBe(401);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams?limit=0`, { token: owner.accessToken })).status).toBe(400);
  });

  it('a diagram of another threat model is 404', async () => {
    const tm1 = await threatModel();
    const tm2 = await threatModel();
    const d = await diagram(tm1);
    expect((await get(tm2, d.id)).status).toBe(404);
    expect((await put(tm2, d.id, { name: 'x', type: 'DFD-1.0.0', cells: [] })).status).toBe(404);
    expect((await patch(tm2, d.id, [{ op: 'replace', path: '/name', value: 'x' }])).status).toBe(404);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm2}/diagrams/${d.id}`, { token: owner.accessToken })).status).toBe(404);
    expect((await call(t.app, 'GET', `/threat_models/${tm2}/diagrams/${d.id}/model`, { token: owner.accessToken })).status).toBe(404);
  });

  it('is embedded in the threat model', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const res = await call(t.app, 'GET', `/threat_models/${tm}`, { token: reader.accessToken });
    expect(res.body.diagrams.map((x: { id: string }) => x.id)).toEqual([d.id]);
  });
});

describe('PUT', () => {
  it('stores cells in flat form with parent null, advances update_vector only when cells change, honours If-Match', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const n1 = node();
    const n2 = node(undefined, { position: undefined, size: undefined, x: 300, y: 40, width: 80, height: 40, shape: 'store', parent: n1.id });
    delete (n2 as Record<string, unknown>).position;
    delete (n2 as Record<string, unknown>).size;
    const e = edge(n1.id, n2.id);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64');
    const res = await put(tm, d.id, { name: 'New', type: 'DFD-1.0.0', description: 'about', cells: [n1, n2, { ...e, zIndex: 3 }], image: { svg }, color_palette: [{ position: 2, color: '#ABC' }, { position: 1, color: '#112233' }], metadata: [{ key: 'a', value: 'b' }] }, writer.accessToken, { 'if-match': '"1"' });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.body).toMatchObject({ name: 'New', description: 'about', update_vector: 1, version: 2, image: { svg, update_vector: 1 }, metadata: [{ key: 'a', value: 'b' }] });
    expect(res.body.color_palette).toEqual([{ position: 1, color: '#112233' }, { position: 2, color: '#aabbcc' }]);
    expect(res.body.cells[0]).toEqual({ id: n1.id, shape: 'process', x: 10, y: 20, width: 120, height: 60, attrs: n1.attrs, ports: n1.ports, data: n1.data, parent: null });
    expect(res.body.cells[1]).toMatchObject({ x: 300, y: 40, width: 80, height: 40, parent: n1.id });
    expect(res.body.cells[2]).toEqual(e);
    const again = await put(tm, d.id, { name: 'Renamed', type: 'DFD-1.0.0', cells: [n1, n2, e] });
    expect(again.body).toMatchObject({ update_vector: 1, version: 3, name: 'Renamed', description: null, image: {} });
    const stale = await put(tm, d.id, { name: 'x', type: 'DFD-1.0.0', cells: [] }, writer.accessToken, { 'if-match': '"2"' });
    expect(stale.status).toBe(409);
    expect(errorOf(stale).error).toBe('version_mismatch');
    const read = await get(tm, d.id);
    expect(read.body.cells).toHaveLength(3);
    expect(read.body.version).toBe(3);
  });

  it('a PUT that reorders, changes, removes and adds cells stores exactly the new list, in its order', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const [a, b, c] = [node(), node(), node()];
    await put(tm, d.id, { name: 'x', type: 'DFD-1.0.0', cells: [a, b, c] });
    const fresh = node();
    const moved = { ...b, position: { x: 999, y: 1 } };
    const res = await put(tm, d.id, { name: 'x', type: 'DFD-1.0.0', cells: [c, moved, fresh] });
    expect(res.body.update_vector).toBe(2);
    const read = await get(tm, d.id);
    expect(read.body.cells.map((x: { id: string }) => x.id)).toEqual([c.id, b.id, fresh.id]);
    expect(read.body.cells[1].x).toBe(999);
    const same = await put(tm, d.id, { name: 'x', type: 'DFD-1.0.0', cells: [c, moved, fresh] });
    expect(same.body.update_vector).toBe(2);
  });

  it('by role: reader and stranger 403; unauthenticated 401', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const body = { name: 'x', type: 'DFD-1.0.0', cells: [] };
    expect((await put(tm, d.id, body, owner.accessToken)).status).toBe(200);
    expect((await put(tm, d.id, body, reader.accessToken)).status).toBe(403);
    expect((await put(tm, d.id, body, stranger.accessToken)).status).toBe(403);
    expect((await call(t.app, 'PUT', `/threat_models/${tm}/diagrams/${d.id}`, { body })).status).toBe(401);
  });

  it('rejects invalid cells and bodies and writes nothing', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const n = node();
    const bad: unknown[] = [
      { name: 'x', type: 'DFD-1.0.0' },
      { name: 'x<script>', type: 'DFD-1.0.0', cells: [] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...n, shape: 'cloud' }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...n, id: 'not-a-uuid' }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...n, size: { width: 10, height: 60 } }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ id: randomUUID(), shape: 'actor' }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...n, attrs: { text: { text: 'x', fontSize: 0 } } }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...n, attrs: { body: { fill: 'url(javascript:alert(1))' } } }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [n, n] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...edge(n.id, n.id), router: 'teleport' }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...edge(n.id, n.id), source: { cell: 'not-a-uuid' } }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...edge(n.id, n.id), target: undefined }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [{ ...n, data: { _metadata: [{ key: 'k' }] } }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [], image: { svg: 'not base64!' } },
      { name: 'x', type: 'DFD-1.0.0', cells: [], color_palette: [{ position: 9, color: '#fff' }] },
      { name: 'x', type: 'DFD-1.0.0', cells: [], description: 'x'.repeat(2049) },
      { name: 'x', type: 'DFD-1.0.0', cells: 'nope' },
    ];
    for (const body of bad) {
      const res = await put(tm, d.id, body);
      expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      errorOf(res);
    }
    const read = await get(tm, d.id);
    expect(read.body).toMatchObject({ name: 'Flow', version: 1, update_vector: 0, cells: [] });
  });

  it('handles 10,000 cells', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const cells = Array.from({ length: 10_000 }, (_, i) => node(undefined, { position: { x: i, y: i }, ports: undefined, data: undefined }));
    const started = Date.now();
    const res = await put(tm, d.id, { name: 'Big', type: 'DFD-1.0.0', cells });
    expect(res.status).toBe(200);
    expect(res.body.cells).toHaveLength(10_000);
    const read = await get(tm, d.id);
    expect(read.body.cells[9_999].x).toBe(9_999);
    expect(Date.now() - started).toBeLessThan(20_000);
    const tooMany = await put(tm, d.id, { name: 'Big', type: 'DFD-1.0.0', cells: [...cells, node()] });
    expect(tooMany.status).toBe(400);
  }, 60_000);
});

describe('PATCH', () => {
  it('applies RFC 6902 operations over the diagram, including cells and image', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const n = node();
    const res = await patch(tm, d.id, [
      { op: 'replace', path: '/name', value: 'Patched' },
      { op: 'add', path: '/cells/-', value: n },
      { op: 'add', path: '/description', value: 'desc' },
    ]);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ name: 'Patched', description: 'desc', update_vector: 1, version: 2 });
    expect(res.body.cells[0]).toMatchObject({ id: n.id, x: 10, width: 120, parent: null });
    const text = await patch(tm, d.id, [{ op: 'replace', path: '/cells/0/attrs/text/text', value: 'Login' }, { op: 'test', path: '/name', value: 'Patched' }]);
    expect(text.body.cells[0].attrs.text.text).toBe('Login');
    expect(text.body.update_vector).toBe(2);
    const svg = Buffer.from('<svg/>').toString('base64');
    const img = await patch(tm, d.id, [{ op: 'add', path: '/image', value: { svg } }]);
    expect(img.body.image).toEqual({ svg, update_vector: 2 });
    expect(img.body.update_vector).toBe(2);
  });

  it('rejects read-only paths, invalid results, failed tests and stale versions, writing nothing', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    for (const ops of [
      [{ op: 'replace', path: '/id', value: randomUUID() }],
      [{ op: 'replace', path: '/alias', value: 9 }],
      [{ op: 'replace', path: '/created_at', value: '2020-01-01T00:00:00Z' }],
      [{ op: 'replace', path: '/modified_at', value: '2020-01-01T00:00:00Z' }],
      [{ op: 'replace', path: '/update_vector', value: 9 }],
      [{ op: 'add', path: '/cells/-', value: { id: randomUUID(), shape: 'process' } }],
      [{ op: 'replace', path: '/name', value: 42 }],
      [{ op: 'remove', path: '/cells/5' }],
      [{ op: 'bogus', path: '/name' }],
      [],
    ]) {
      const res = await patch(tm, d.id, ops);
      expect(res.status, JSON.stringify(ops)).toBe(400);
      errorOf(res);
    }
    expect((await patch(tm, d.id, [{ op: 'test', path: '/name', value: 'nope' }])).status).toBe(409);
    expect((await patch(tm, d.id, [{ op: 'replace', path: '/name', value: 'x' }], writer.accessToken, { 'if-match': '7' })).status).toBe(409);
    expect((await patch(tm, d.id, [{ op: 'replace', path: '/name', value: 'x' }], reader.accessToken)).status).toBe(403);
    expect((await patch(tm, d.id, [{ op: 'replace', path: '/name', value: 'x' }], stranger.accessToken)).status).toBe(403);
    const wrongType = await call(t.app, 'PATCH', `/threat_models/${tm}/diagrams/${d.id}`, { token: writer.accessToken, body: [{ op: 'replace', path: '/name', value: 'x' }] });
    expect(wrongType.status).toBe(415);
    expect((await get(tm, d.id)).body).toMatchObject({ name: 'Flow', version: 1, cells: [] });
  });
});

describe('DELETE and restore', () => {
  it('owner only; soft delete hides the diagram; restore brings it back; audit records changes', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d.id}`, { token: writer.accessToken })).status).toBe(403);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d.id}`, { token: reader.accessToken })).status).toBe(403);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d.id}`)).status).toBe(401);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d.id}`, { token: owner.accessToken })).status).toBe(204);
    expect((await get(tm, d.id)).status).toBe(404);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d.id}`, { token: owner.accessToken })).status).toBe(404);
    const listed = await call(t.app, 'GET', `/threat_models/${tm}/diagrams?include_deleted=true`, { token: owner.accessToken });
    expect(listed.body.diagrams[0].deleted_at).toBeTruthy();
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams?include_deleted=true`, { token: writer.accessToken })).status).toBe(403);
    expect((await call(t.app, 'GET', `/threat_models/${tm}`, { token: owner.accessToken })).body.diagrams).toEqual([]);
    expect((await call(t.app, 'POST', `/threat_models/${tm}/diagrams/${d.id}/restore`, { token: writer.accessToken })).status).toBe(403);
    const restored = await call(t.app, 'POST', `/threat_models/${tm}/diagrams/${d.id}/restore`, { token: owner.accessToken });
    expect(restored.status).toBe(200);
    expect(restored.body.deleted_at).toBeUndefined();
    expect((await call(t.app, 'POST', `/threat_models/${tm}/diagrams/${d.id}/restore`, { token: owner.accessToken })).status).toBe(409);
    const audit = await t.ctx.db.query<{ change_type: string }>('SELECT change_type FROM audit_entries WHERE object_id = $1 ORDER BY created_at', [d.id]);
    expect(audit.map((a) => a.change_type)).toEqual(['created', 'deleted', 'restored']);
  });
});

describe('GET .../model', () => {
  it('returns the minimal model as JSON, YAML or GraphML, and 406 otherwise', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const boundary = node(undefined, { shape: 'security-boundary' });
    const inner = node(undefined, { parent: boundary.id });
    const label = node(undefined, { shape: 'text-box', parent: inner.id, attrs: { text: { text: 'note' } } });
    const e = edge(inner.id, boundary.id);
    await put(tm, d.id, { name: 'M', type: 'DFD-1.0.0', cells: [boundary, inner, label, e] });
    const json = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d.id}/model`, { token: reader.accessToken });
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ id: tm, name: 'Diagrams TM', description: '', metadata: {}, assets: [] });
    const byId = Object.fromEntries(json.body.cells.map((c: { id: string }) => [c.id, c]));
    expect(byId[boundary.id]).toMatchObject({ security_boundary: true, children: [inner.id], parent: null });
    expect(byId[inner.id]).toMatchObject({ labels: ['Auth', 'note'], parent: boundary.id, metadata: { k: 'v' } });
    expect(byId[e.id]).toMatchObject({ shape: 'flow', labels: ['HTTPS'], source: { cell: inner.id } });
    const yaml = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d.id}/model`, { token: reader.accessToken, headers: { accept: 'application/yaml' } });
    expect(yaml.headers['content-type']).toContain('application/yaml');
    expect(yaml.text).toMatch(new RegExp(`^id: "?${tm}"?$`, 'm'));
    expect(yaml.text).toMatch(/^assets: \[\]$/m);
    const graphml = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d.id}/model`, { token: reader.accessToken, headers: { accept: 'application/graphml+xml' } });
    expect(graphml.text).toContain(`<edge id="${e.id}" source="${inner.id}" target="${boundary.id}">`);
    const other = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d.id}/model`, { token: reader.accessToken, headers: { accept: 'text/csv' } });
    expect(other.status).toBe(406);
    expect(errorOf(other).error).toBe('not_acceptable');
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d.id}/model`, { token: stranger.accessToken })).status).toBe(403);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d.id}/model`)).status).toBe(401);
  });
});

describe('collaboration session blocks REST writes', () => {
  it('PUT, PATCH, DELETE of the diagram and DELETE of the threat model are 409 while a session is active; GET works', async () => {
    const tm = await threatModel();
    const d = await diagram(tm);
    const now = new Date();
    const host = await t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider_user_id = $1', [owner.user]);
    await t.ctx.db.query(
      `INSERT INTO collab_sessions (id, diagram_id, threat_model_id, host_uuid, created_at, last_activity) VALUES ($1, $2, $3, $4, $5, $5)`,
      [randomUUID(), d.id, tm, host[0]!.internal_uuid, now],
    );
    expect((await put(tm, d.id, { name: 'x', type: 'DFD-1.0.0', cells: [] })).status).toBe(409);
    expect((await patch(tm, d.id, [{ op: 'replace', path: '/name', value: 'x' }])).status).toBe(409);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d.id}`, { token: owner.accessToken })).status).toBe(409);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}`, { token: owner.accessToken })).status).toBe(409);
    expect((await get(tm, d.id)).status).toBe(200);
    await t.ctx.db.query(`UPDATE collab_sessions SET state = 'ended' WHERE diagram_id = $1`, [d.id]);
    expect((await put(tm, d.id, { name: 'x', type: 'DFD-1.0.0', cells: [] })).status).toBe(200);
  });
});
