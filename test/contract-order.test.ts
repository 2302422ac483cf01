// The order in which a write is refused — 400 invalid_id, 401, 404 (model, then child), 403, and
// only then 400 for the body — and the contract on lists, PATCH and bulk documents.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, type Response } from './support/app.ts';
import { sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

const PATCH = 'application/json-patch+json';
/** A body every write route refuses by schema. */
const INVALID = { nonsense: [1, 2, 3] };
const INVALID_PATCH = [{ op: 'frobnicate', path: '/name' }];

function expectError(res: Response, status: number, what: string) {
  expect(res.status, `${what}: ${res.text}`).toBe(status);
  return errorOf(res);
}

async function populated() {
  const tm = await sharedModel(w);
  const ids: Record<string, string> = {};
  for (const [segment, body] of [
    ['threats', { name: 'T', threat_type: [] }],
    ['assets', { name: 'A', type: 'data' }],
    ['documents', { name: 'D', uri: 'https://docs.example/d' }],
    ['notes', { name: 'N', content: 'c' }],
    ['repositories', { name: 'R', uri: 'https://git.example/r' }],
    ['diagrams', { name: 'G', type: 'DFD-1.0.0' }],
  ] as const) {
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/${segment}`, { token: w.owner.accessToken, body });
    expect(res.status, res.text).toBe(201);
    ids[segment] = res.body.id;
  }
  await call(w.t.app, 'POST', `/threat_models/${tm}/metadata`, { token: w.owner.accessToken, body: { key: 'k', value: 'v' } });
  return { tm, ids };
}

/** Every write with a body under one model: [method, url, content type]. `child` names the missing child's id. */
function writes(tm: string, ids: Record<string, string>, child?: string): [string, string, string?][] {
  const item = (segment: string) => `/threat_models/${tm}/${segment}/${child ?? ids[segment]}`;
  return [
    ['PUT', `/threat_models/${tm}`],
    ['PATCH', `/threat_models/${tm}`, PATCH],
    ['POST', `/threat_models/${tm}/metadata`],
    ['POST', `/threat_models/${tm}/metadata/bulk`],
    ['PUT', `/threat_models/${tm}/metadata/bulk`],
    ['PATCH', `/threat_models/${tm}/metadata/bulk`],
    ['PUT', `/threat_models/${tm}/metadata/${child ? 'missing-key' : 'k'}`],
    ['POST', `/threat_models/${tm}/diagrams`],
    ['PUT', item('diagrams')],
    ['PATCH', item('diagrams'), PATCH],
    ['POST', `${item('diagrams')}/metadata`],
    ['PATCH', `/threat_models/${tm}/threats/bulk`],
    ...['threats', 'assets', 'documents', 'notes', 'repositories'].flatMap((s): [string, string, string?][] => [
      ['POST', `/threat_models/${tm}/${s}`],
      ['PUT', item(s)],
      ['PATCH', item(s), PATCH],
      ['POST', `${item(s)}/metadata`],
      ['PUT', `${item(s)}/metadata/bulk`],
      ...(s !== 'notes' ? ([['POST', `/threat_models/${tm}/${s}/bulk`], ['PUT', `/threat_models/${tm}/${s}/bulk`]] as [string, string][]) : []),
    ]),
  ];
}

const bodyFor = (contentType?: string) => (contentType === PATCH ? INVALID_PATCH : INVALID);

describe('existence and role before the body', () => {
  it('a write with an invalid body to a threat model that does not exist is 404', async () => {
    const { ids } = await populated();
    const missing = randomUUID();
    // Children named under the missing model are real ones of another model: the model's 404 comes first.
    for (const [method, url, contentType] of writes(missing, ids)) {
      const res = await call(w.t.app, method, url, { token: w.owner.accessToken, body: bodyFor(contentType), contentType });
      expect(expectError(res, 404, `${method} ${url}`).error_description).toBe('Threat model not found');
    }
  });

  it('a write with an invalid body to a child, diagram or metadata key that does not exist is 404', async () => {
    const { tm, ids } = await populated();
    const missing = randomUUID();
    const labels: Record<string, string> = { threats: 'Threat', assets: 'Asset', documents: 'Document', notes: 'Note', repositories: 'Repository', diagrams: 'Diagram' };
    for (const [method, url, contentType] of writes(tm, ids, missing).filter(([, u]) => u.includes(missing) || u.endsWith('/missing-key'))) {
      const res = await call(w.t.app, method, url, { token: w.writer.accessToken, body: bodyFor(contentType), contentType });
      const segment = url.split('/')[3]!;
      const expected = url.endsWith('/missing-key') ? 'Metadata entry not found' : `${labels[segment]} not found`;
      expect(expectError(res, 404, `${method} ${url}`).error_description, `${method} ${url}`).toBe(expected);
    }
  });

  it('a caller without the writer role gets 403 whatever the body; a writer gets the 400', async () => {
    const { tm, ids } = await populated();
    for (const [method, url, contentType] of writes(tm, ids)) {
      for (const who of [w.stranger, w.reader]) {
        const res = await call(w.t.app, method, url, { token: who.accessToken, body: bodyFor(contentType), contentType });
        expect(expectError(res, 403, `${method} ${url}`).error).toBe('forbidden');
      }
      const res = await call(w.t.app, method, url, { token: w.writer.accessToken, body: bodyFor(contentType), contentType });
      expectError(res, 400, `${method} ${url} as writer`);
    }
  });

  it('keeps 400 invalid_id and 401 ahead of everything', async () => {
    const res = await call(w.t.app, 'POST', '/threat_models/not-a-uuid/threats', { token: w.owner.accessToken, body: INVALID });
    expect(expectError(res, 400, 'bad id').error).toBe('invalid_id');
    const anonymous = await call(w.t.app, 'POST', `/threat_models/${randomUUID()}/threats`, { body: INVALID });
    expect(expectError(anonymous, 401, 'anonymous').error).toBe('unauthorized');
  });

  it('checks server-set fields, bulk limits and metadata values only after the target', async () => {
    const missing = randomUUID();
    const tmUrl = `/threat_models/${missing}`;
    for (const [method, url, body] of [
      ['POST', `${tmUrl}/threats`, { name: 'T', threat_type: [], id: randomUUID() }],
      ['POST', `${tmUrl}/assets/bulk`, []],
      ['POST', `${tmUrl}/metadata`, { key: 'k', value: 'javascript:alert(1)' }],
      ['PUT', `${tmUrl}/diagrams/${randomUUID()}`, { name: 'G', type: 'DFD-1.0.0', cells: [{ id: randomUUID(), shape: 'cloud' }] }],
    ] as [string, string, unknown][]) {
      expectError(await call(w.t.app, method, url, { token: w.owner.accessToken, body }), 404, `${method} ${url}`);
    }
  });
});

describe('the contract on lists, PATCH and bulk documents', () => {
  it('GET /threat_models items carry the reference TMListItem properties and nothing else', async () => {
    const tm = await sharedModel(w);
    const confidential = await call(w.t.app, 'POST', '/threat_models', { token: w.owner.accessToken, body: { name: 'Secret', is_confidential: true } });
    expect(confidential.status).toBe(201);
    const res = await call(w.t.app, 'GET', '/threat_models?limit=100', { token: w.owner.accessToken });
    expect(res.status).toBe(200);
    const allowed = new Set([
      'id', 'name', 'description', 'created_at', 'modified_at', 'owner', 'created_by', 'threat_model_framework', 'document_count', 'repo_count',
      'diagram_count', 'threat_count', 'issue_uri', 'asset_count', 'note_count', 'status', 'status_updated', 'security_reviewer', 'deleted_at', 'alias',
    ]);
    const items = res.body.threat_models as Record<string, unknown>[];
    expect(items.map((i) => i.id)).toEqual(expect.arrayContaining([tm, confidential.body.id]));
    for (const item of items) {
      expect(Object.keys(item).filter((k) => !allowed.has(k)), String(item.id)).toEqual([]);
      expect(item).not.toHaveProperty('is_confidential');
      expect(item).not.toHaveProperty('version');
    }
  });

  it('a PATCH that removes a repository name (or sets it to null) is 400 and changes nothing', async () => {
    const tm = await sharedModel(w);
    const repo = await call(w.t.app, 'POST', `/threat_models/${tm}/repositories`, { token: w.owner.accessToken, body: { name: 'api', uri: 'https://git.example/api' } });
    const url = `/threat_models/${tm}/repositories/${repo.body.id}`;
    for (const op of [{ op: 'remove', path: '/name' }, { op: 'replace', path: '/name', value: null }, { op: 'move', from: '/name', path: '/description' }]) {
      const res = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, contentType: PATCH, body: [op] });
      expectError(res, 400, JSON.stringify(op));
    }
    expect((await call(w.t.app, 'GET', url, { token: w.owner.accessToken })).body).toEqual(repo.body);
    const renamed = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, contentType: PATCH, body: [{ op: 'replace', path: '/name', value: 'gateway' }] });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('gateway');
  });

  it('bulk documents validate picker_registration as single ones do: the wrong type is 400, a valid one is accepted and not stored', async () => {
    const tm = await sharedModel(w);
    const base = `/threat_models/${tm}/documents`;
    const doc = (extra: Record<string, unknown>) => ({ name: 'Spec', uri: 'https://docs.example/spec', ...extra });
    for (const picker of ['google', 42, { provider_id: 'dropbox', file_id: 'f', mime_type: 'text/plain' }, { provider_id: 'microsoft', file_id: '' , mime_type: 'text/plain' }]) {
      expectError(await call(w.t.app, 'POST', `${base}/bulk`, { token: w.writer.accessToken, body: [doc({ picker_registration: picker })] }), 400, `POST bulk ${JSON.stringify(picker)}`);
      expectError(await call(w.t.app, 'PUT', `${base}/bulk`, { token: w.writer.accessToken, body: [doc({ id: randomUUID(), picker_registration: picker })] }), 400, `PUT bulk ${JSON.stringify(picker)}`);
      expectError(await call(w.t.app, 'POST', base, { token: w.writer.accessToken, body: doc({ picker_registration: picker }) }), 400, `POST ${JSON.stringify(picker)}`);
    }
    expect((await call(w.t.app, 'GET', base, { token: w.owner.accessToken })).body.total).toBe(0);
    const valid = { provider_id: 'google_workspace', file_id: 'abc', mime_type: 'application/pdf' };
    const created = await call(w.t.app, 'POST', `${base}/bulk`, { token: w.writer.accessToken, body: [doc({ picker_registration: valid })] });
    expect(created.status, created.text).toBe(201);
    expect(created.body[0]).not.toHaveProperty('picker_registration');
  });
});
