// Survey templates (/admin/surveys), intake (/intake/surveys, /intake/survey_responses) and triage
// (/triage/survey_responses): authentication on every operation; each party (administrator,
// author, reviewer, confidential reviewer, team mate, outsider) on each verb; the status machine;
// create_threat_model in one transaction with both links; bad input refused with the envelope
// and nothing written; the audit trail.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_GROUPS } from '../server/authz/index.ts';
import { call, errorOf, signIn, startTestApp, type Response, type SignedIn, type TestApp } from './support/app.ts';

let t: TestApp;
let admin: SignedIn;
let author: SignedIn;
let reviewer: SignedIn;
let confReviewer: SignedIn;
let mate: SignedIn;
let outsider: SignedIn;
const uuid: Record<string, string> = {};
const PATCH = 'application/json-patch+json';
const as = (u: SignedIn, method: string, url: string, body?: unknown, contentType?: string) => call(t.app, method, url, { token: u.accessToken, body, contentType });
/**
 * Rows of `table` that this file's people made: on PostgreSQL every file shares one database, and
 * files running beside this one write surveys, responses and models of their own.
 */
const OWNER_COLUMN = { surveys: 'created_by_uuid', survey_responses: 'owner_uuid', threat_models: 'owner_uuid' } as const;
const count = async (table: keyof typeof OWNER_COLUMN) =>
  (await t.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${OWNER_COLUMN[table]} = ANY($1::uuid[])`, [Object.values(uuid)]))[0]!.n;
function expectError(res: Response, status: number, what = '') {
  expect(res.status, `${what} ${res.text}`).toBe(status);
  return errorOf(res);
}

const SURVEY_JSON = {
  pages: [
    {
      name: 'about',
      elements: [
        { type: 'text', name: 'service_name', title: 'Service name', mapsToTmField: 'name' },
        { type: 'comment', name: 'summary', mapsToTmField: 'description' },
        { type: 'dropdown', name: 'data_class', choices: ['public', 'confidential'], mapsToTmField: 'metadata.data_classification' },
        { type: 'panel', name: 'more', elements: [{ type: 'checkbox', name: 'stores', choices: ['pii', 'secrets'] }] },
        { type: 'boolean', name: 'internet_facing' },
      ],
    },
  ],
};

async function survey(status: 'active' | 'inactive' = 'active', json: unknown = SURVEY_JSON) {
  const res = await as(admin, 'POST', '/admin/surveys', { name: `Intake ${randomUUID().slice(0, 8)}`, version: 'v1', status, survey_json: json });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

beforeAll(async () => {
  t = await startTestApp();
  const users = await Promise.all(Array.from({ length: 6 }, () => signIn(t.app)));
  [admin, author, reviewer, confReviewer, mate, outsider] = users;
  for (const [k, u] of Object.entries({ admin, author, reviewer, confReviewer, mate, outsider })) {
    const [row] = await t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider = $1 AND provider_user_id = $2', ['tmi', u.user]);
    uuid[k] = row!.internal_uuid;
  }
  await t.ctx.users.addToGroup(t.ctx.db, BUILT_IN_GROUPS.administrators, uuid.admin!);
  await t.ctx.users.addToGroup(t.ctx.db, BUILT_IN_GROUPS.securityReviewers, uuid.reviewer!);
  await t.ctx.users.addToGroup(t.ctx.db, BUILT_IN_GROUPS.confidentialProjectReviewers, uuid.confReviewer!);
});
afterAll(async () => t?.close());

describe('authentication', () => {
  it('every operation answers 401 with the envelope without a token', async () => {
    const s = randomUUID();
    const r = randomUUID();
    const routes: [string, string][] = [
      ['GET', '/admin/surveys'], ['POST', '/admin/surveys'], ['GET', `/admin/surveys/${s}`], ['PUT', `/admin/surveys/${s}`], ['PATCH', `/admin/surveys/${s}`], ['DELETE', `/admin/surveys/${s}`],
      ['GET', `/admin/surveys/${s}/metadata`], ['POST', `/admin/surveys/${s}/metadata`], ['GET', `/admin/surveys/${s}/metadata/k`], ['PUT', `/admin/surveys/${s}/metadata/k`],
      ['DELETE', `/admin/surveys/${s}/metadata/k`], ['POST', `/admin/surveys/${s}/metadata/bulk`], ['PUT', `/admin/surveys/${s}/metadata/bulk`], ['PATCH', `/admin/surveys/${s}/metadata/bulk`],
      ['GET', '/intake/surveys'], ['GET', `/intake/surveys/${s}`],
      ['GET', '/intake/survey_responses'], ['POST', '/intake/survey_responses'], ['GET', `/intake/survey_responses/${r}`], ['PUT', `/intake/survey_responses/${r}`],
      ['PATCH', `/intake/survey_responses/${r}`], ['DELETE', `/intake/survey_responses/${r}`],
      ['GET', `/intake/survey_responses/${r}/metadata`], ['POST', `/intake/survey_responses/${r}/metadata`], ['GET', `/intake/survey_responses/${r}/metadata/k`],
      ['PUT', `/intake/survey_responses/${r}/metadata/k`], ['DELETE', `/intake/survey_responses/${r}/metadata/k`], ['POST', `/intake/survey_responses/${r}/metadata/bulk`],
      ['PUT', `/intake/survey_responses/${r}/metadata/bulk`], ['PATCH', `/intake/survey_responses/${r}/metadata/bulk`],
      ['GET', `/intake/survey_responses/${r}/triage_notes`], ['GET', `/intake/survey_responses/${r}/triage_notes/1`],
      ['GET', '/triage/survey_responses'], ['GET', `/triage/survey_responses/${r}`], ['PATCH', `/triage/survey_responses/${r}`], ['POST', `/triage/survey_responses/${r}/create_threat_model`],
      ['GET', `/triage/survey_responses/${r}/metadata`], ['GET', `/triage/survey_responses/${r}/metadata/k`],
      ['GET', `/triage/survey_responses/${r}/triage_notes`], ['POST', `/triage/survey_responses/${r}/triage_notes`], ['GET', `/triage/survey_responses/${r}/triage_notes/1`],
    ];
    expect(routes).toHaveLength(41);
    for (const [method, url] of routes) {
      const isPatch = method === 'PATCH' && !url.endsWith('bulk');
      const body = isPatch ? [] : method === 'GET' || method === 'DELETE' ? undefined : {};
      expectError(await call(t.app, method, url, { body, contentType: isPatch ? PATCH : undefined }), 401, `${method} ${url}`);
    }
  });

  it('the OpenAPI document has all 79 operations of the reference under these paths', async () => {
    const doc = (await call(t.app, 'GET', '/openapi.json')).body;
    const ref = new Set<string>();
    let n = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { operationId?: string }>>)) {
      if (!/^\/(teams|projects|admin\/surveys|intake|triage)/.test(path)) continue;
      for (const [verb, op] of Object.entries(item)) {
        if (!['get', 'put', 'post', 'patch', 'delete'].includes(verb)) continue;
        n++;
        ref.add(op.operationId!);
      }
    }
    expect(n).toBe(79);
    for (const id of ['createThreatModelFromSurveyResponse', 'listTriageSurveyResponses', 'bulkUpsertProjectMetadata', 'getIntakeSurveyResponseTriageNote', 'deleteAdminSurveyMetadataByKey']) expect(ref).toContain(id);
  });
});

describe('survey templates (administrators)', () => {
  it('non-administrators are 403 on every template operation and write nothing', async () => {
    const s = await survey();
    const before = await count('surveys');
    for (const u of [author, reviewer]) {
      for (const [method, url, body, ct] of [
        ['GET', '/admin/surveys'],
        ['POST', '/admin/surveys', { name: 'X', version: 'v1', survey_json: { pages: [] } }],
        ['GET', `/admin/surveys/${s.id}`],
        ['PUT', `/admin/surveys/${s.id}`, { name: 'X', version: 'v1', survey_json: { pages: [] } }],
        ['PATCH', `/admin/surveys/${s.id}`, [{ op: 'replace', path: '/name', value: 'X' }], PATCH],
        ['DELETE', `/admin/surveys/${s.id}`],
        ['GET', `/admin/surveys/${s.id}/metadata`],
        ['POST', `/admin/surveys/${s.id}/metadata`, { key: 'k', value: 'v' }],
      ] as [string, string, unknown?, string?][]) {
        expectError(await as(u, method, url, body, ct), 403, `${method} ${url}`);
      }
    }
    expect(await count('surveys')).toBe(before);
  });

  it('create: inactive by default; the JSON is checked and bounded; name+version unique; bad input writes nothing', async () => {
    const name = `T ${randomUUID().slice(0, 8)}`;
    const res = await as(admin, 'POST', '/admin/surveys', { name, version: '2026.1', description: 'Intake', survey_json: SURVEY_JSON });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ name, version: '2026.1', status: 'inactive', settings: { allow_threat_model_linking: true }, metadata: [] });
    expect(res.body.created_by.provider_id).toBe(admin.user);
    const before = await count('surveys');
    const bad: unknown[] = [
      { name, version: '2026.1', survey_json: SURVEY_JSON },
      { name: 'x', version: 'v 1', survey_json: SURVEY_JSON },
      { name: 'x<y', version: 'v1', survey_json: SURVEY_JSON },
      { name: 'x', version: 'v1', survey_json: {} },
      { name: 'x', version: 'v1', survey_json: { pages: {} } },
      { name: 'x', version: 'v1', survey_json: { pages: ['nope'] } },
      { name: 'x', version: 'v1', survey_json: { pages: [{ elements: [{ type: 'text' }] }] } },
      { name: 'x', version: 'v1', survey_json: { pages: [{ elements: [{ type: 'text', name: 'a' }, { type: 'text', name: 'a' }] }] } },
      { name: 'x', version: 'v1', survey_json: { pages: [{ elements: [{ type: 'text', name: 'a', mapsToTmField: 'name' }, { type: 'text', name: 'b', mapsToTmField: 'name' }] }] } },
      { name: 'x', version: 'v1', survey_json: { pages: [{ elements: [{ type: 'text', name: 'a', title: 'x'.repeat(300_000) }] }] } },
      { name: 'x', version: 'v1', status: 'published', survey_json: SURVEY_JSON },
      { name: 'x', version: 'v1', survey_json: SURVEY_JSON, settings: { other: true } },
      { name: 'x', version: 'v1', survey_json: SURVEY_JSON, extra: 1 },
      { name: 'x', version: 'v1', survey_json: 'pages' },
    ];
    for (const body of bad) {
      const r = await as(admin, 'POST', '/admin/surveys', body);
      expect([400, 409], `${JSON.stringify(body).slice(0, 200)} ${r.text}`).toContain(r.status);
      errorOf(r);
    }
    expectError(await call(t.app, 'POST', '/admin/surveys', { token: admin.accessToken, raw: '{"name":"x",', contentType: 'application/json' }), 400);
    expect(await count('surveys')).toBe(before);
  });

  it('a published version is immutable; status moves active/inactive/archived; archived is read-only; audited', async () => {
    const s = await survey('inactive');
    const edited = { ...SURVEY_JSON, title: 'Edited before publishing' };
    expect((await as(admin, 'PUT', `/admin/surveys/${s.id}`, { name: s.name, version: 'v1', survey_json: edited })).status).toBe(200);
    const pub = await as(admin, 'PATCH', `/admin/surveys/${s.id}`, [{ op: 'replace', path: '/status', value: 'active' }], PATCH);
    expect(pub.body.status).toBe('active');
    expectError(await as(admin, 'PUT', `/admin/surveys/${s.id}`, { name: s.name, version: 'v1', survey_json: SURVEY_JSON }), 409);
    expectError(await as(admin, 'PATCH', `/admin/surveys/${s.id}`, [{ op: 'replace', path: '/version', value: 'v2' }], PATCH), 409);
    const keep = await as(admin, 'PUT', `/admin/surveys/${s.id}`, { name: s.name, version: 'v1', description: 'Now described', survey_json: edited });
    expect(keep.body).toMatchObject({ status: 'active', description: 'Now described' }); // status omitted: kept
    const off = await as(admin, 'PATCH', `/admin/surveys/${s.id}`, [{ op: 'replace', path: '/status', value: 'inactive' }], PATCH);
    expect(off.body.status).toBe('inactive');
    expectError(await as(admin, 'PUT', `/admin/surveys/${s.id}`, { name: s.name, version: 'v1', survey_json: SURVEY_JSON }), 409); // still published once
    expectError(await as(admin, 'PATCH', `/admin/surveys/${s.id}`, [{ op: 'replace', path: '/status', value: 'bogus' }], PATCH), 400);
    expectError(await as(admin, 'PATCH', `/admin/surveys/${s.id}`, [{ op: 'replace', path: '/id', value: randomUUID() }], PATCH), 400);
    expect((await as(admin, 'PATCH', `/admin/surveys/${s.id}`, [{ op: 'replace', path: '/status', value: 'archived' }], PATCH)).body.status).toBe('archived');
    expectError(await as(admin, 'PATCH', `/admin/surveys/${s.id}`, [{ op: 'replace', path: '/name', value: 'Y' }], PATCH), 409);
    const list = await as(admin, 'GET', '/admin/surveys?status=archived&limit=100');
    expect(list.body.surveys.map((x: { id: string }) => x.id)).toContain(s.id);
    expectError(await as(admin, 'GET', '/admin/surveys?status=nope'), 400);
    expectError(await as(admin, 'GET', '/admin/surveys?limit=101'), 400);
    const audit = await t.ctx.db.query<{ change_type: string }>('SELECT change_type FROM review_audit WHERE entity_id = $1 ORDER BY created_at', [s.id]);
    expect(audit.map((a) => a.change_type)).toEqual(['created', 'updated', 'patched', 'updated', 'patched', 'patched']);
  });

  it('metadata on templates: administrators only, with bulk; delete refuses while responses exist unless forced', async () => {
    const s = await survey();
    const base = `/admin/surveys/${s.id}/metadata`;
    expect((await as(admin, 'POST', base, { key: 'owner', value: 'appsec' })).status).toBe(201);
    expect((await as(admin, 'GET', `${base}/owner`)).body).toEqual({ key: 'owner', value: 'appsec' });
    expect((await as(admin, 'PATCH', `${base}/bulk`, [{ key: 'tier', value: '1' }])).body).toHaveLength(2);
    expect((await as(admin, 'GET', `/admin/surveys/${s.id}`)).body.metadata).toEqual([{ key: 'owner', value: 'appsec' }, { key: 'tier', value: '1' }]);
    expectError(await as(admin, 'POST', `/admin/surveys/${randomUUID()}/metadata`, { key: 'k', value: 'v' }), 404);
    const resp = await as(author, 'POST', '/intake/survey_responses', { survey_id: s.id });
    expect(resp.status).toBe(201);
    expectError(await as(admin, 'DELETE', `/admin/surveys/${s.id}`), 409);
    expect((await as(admin, 'DELETE', `/admin/surveys/${s.id}?force=true`)).status).toBe(204);
    expectError(await as(author, 'GET', `/intake/survey_responses/${resp.body.id}`), 404);
  });
});

describe('intake', () => {
  it('lists and serves active surveys only', async () => {
    const on = await survey('active');
    const off = await survey('inactive');
    const ids = (await as(outsider, 'GET', '/intake/surveys?limit=100')).body.surveys.map((x: { id: string }) => x.id);
    expect(ids).toContain(on.id);
    expect(ids).not.toContain(off.id);
    expect((await as(outsider, 'GET', `/intake/surveys/${on.id}`)).body.survey_json).toEqual(SURVEY_JSON);
    expectError(await as(outsider, 'GET', `/intake/surveys/${off.id}`), 404);
    expectError(await as(outsider, 'GET', `/intake/surveys/${randomUUID()}`), 404);
    const before = await count('survey_responses');
    expectError(await as(author, 'POST', '/intake/survey_responses', { survey_id: off.id }), 409);
    expectError(await as(author, 'POST', '/intake/survey_responses', { survey_id: randomUUID() }), 400);
    expect(await count('survey_responses')).toBe(before);
  });

  it('drafts: the author edits; the author, reviewers, administrators and the project\'s team read; others get 404', async () => {
    const s = await survey();
    const teamRes = await as(author, 'POST', '/teams', { name: 'Payments', members: [{ user_id: uuid.mate }] });
    const proj = await as(author, 'POST', '/projects', { name: 'Checkout', team_id: teamRes.body.id });
    const created = await as(author, 'POST', '/intake/survey_responses', { survey_id: s.id, answers: { service_name: 'Checkout API' }, project_id: proj.body.id, ui_state: { page: 0 } });
    expect(created.status, created.text).toBe(201);
    const r = created.body;
    expect(r).toMatchObject({ status: 'draft', survey_version: 'v1', survey_json: SURVEY_JSON, project_id: proj.body.id, is_confidential: false });
    expect(r.owner.provider_id).toBe(author.user);
    const url = `/intake/survey_responses/${r.id}`;
    for (const u of [author, reviewer, admin, mate]) expect((await as(u, 'GET', url)).status, u.user).toBe(200);
    for (const u of [outsider, confReviewer]) expectError(await as(u, 'GET', url), 404);
    // Only the author edits.
    for (const u of [reviewer, admin, mate]) expectError(await as(u, 'PUT', url, { survey_id: s.id, answers: {} }), 403);
    expectError(await as(outsider, 'PUT', url, { survey_id: s.id, answers: {} }), 404);
    const put = await call(t.app, 'PUT', url, { token: author.accessToken, body: { survey_id: s.id, answers: { service_name: 'Checkout', summary: 'Takes card payments' } }, headers: { 'if-match': '"1"' } });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ answers: { service_name: 'Checkout', summary: 'Takes card payments' }, project_id: proj.body.id, ui_state: { page: 0 }, version: 2 });
    expectError(await call(t.app, 'PUT', url, { token: author.accessToken, body: { survey_id: s.id }, headers: { 'if-match': '"1"' } }), 409);
    const patched = await as(author, 'PATCH', url, [{ op: 'add', path: '/answers/data_class', value: 'confidential' }, { op: 'replace', path: '/ui_state', value: { page: 1 } }], PATCH);
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.answers.data_class).toBe('confidential');
    const before = JSON.stringify((await as(author, 'GET', url)).body.answers);
    for (const body of [{ answers: {} }, { survey_id: s.id, answers: [] }, { survey_id: s.id, owner: 'me' }, { survey_id: s.id, answers: { big: 'x'.repeat(600_000) } }, { survey_id: s.id, project_id: randomUUID() }]) {
      const res = await as(author, 'PUT', url, body);
      expect(res.status, `${JSON.stringify(body).slice(0, 100)} ${res.text}`).toBe(400);
      errorOf(res);
    }
    for (const ops of [[{ op: 'replace', path: '/survey_json', value: {} }], [{ op: 'replace', path: '/owner', value: {} }], [{ op: 'replace', path: '/answers', value: 'x' }]]) {
      expectError(await as(author, 'PATCH', url, ops, PATCH), 400);
    }
    expect(JSON.stringify((await as(author, 'GET', url)).body.answers)).toBe(before);
    // Own list only.
    const mine = (await as(author, 'GET', '/intake/survey_responses?status=draft')).body.survey_responses.map((x: { id: string }) => x.id);
    expect(mine).toContain(r.id);
    expect((await as(reviewer, 'GET', '/intake/survey_responses')).body.survey_responses.map((x: { id: string }) => x.id)).not.toContain(r.id);
    expectError(await as(author, 'GET', '/intake/survey_responses?status=nope'), 400);
    // Metadata: author writes; the team mate reads but may not write.
    expect((await as(author, 'POST', `${url}/metadata`, { key: 'ticket', value: 'SEC-1' })).status).toBe(201);
    expect((await as(mate, 'GET', `${url}/metadata`)).body).toEqual([{ key: 'ticket', value: 'SEC-1' }]);
    expectError(await as(mate, 'POST', `${url}/metadata`, { key: 'x', value: 'y' }), 403);
    expectError(await as(outsider, 'GET', `${url}/metadata`), 404);
    // Delete: the author (or an administrator); others cannot.
    expectError(await as(reviewer, 'DELETE', url), 403);
    expect((await as(author, 'DELETE', url)).status).toBe(204);
    expectError(await as(author, 'GET', url), 404);
  });

  it('linking a threat model needs read access to it', async () => {
    const s = await survey();
    const foreign = await as(outsider, 'POST', '/threat_models', { name: 'Not yours' });
    expectError(await as(author, 'POST', '/intake/survey_responses', { survey_id: s.id, linked_threat_model_id: foreign.body.id }), 400);
    const own = await as(author, 'POST', '/threat_models', { name: 'Yours' });
    const ok = await as(author, 'POST', '/intake/survey_responses', { survey_id: s.id, linked_threat_model_id: own.body.id });
    expect(ok.body.linked_threat_model_id).toBe(own.body.id);
  });
});

describe('triage and create_threat_model', () => {
  it('the whole review: submit, queue, revision request, resubmit, accept, notes, create the model linked both ways', async () => {
    const s = await survey();
    const teamRes = await as(author, 'POST', '/teams', { name: 'Identity' });
    const proj = await as(author, 'POST', '/projects', { name: 'Login', team_id: teamRes.body.id });
    const r = (await as(author, 'POST', '/intake/survey_responses', { survey_id: s.id, project_id: proj.body.id, answers: { service_name: 'Login service', summary: 'Signs users in', data_class: 'confidential', stores: ['pii', 'secrets'], internet_facing: true } })).body;
    const intakeUrl = `/intake/survey_responses/${r.id}`;
    const triageUrl = `/triage/survey_responses/${r.id}`;
    // Drafts are not in the queue, and the author cannot triage.
    const queue = async (u: SignedIn, qs = '') => (await as(u, 'GET', `/triage/survey_responses?limit=100${qs}`)).body.survey_responses.map((x: { id: string }) => x.id);
    expect(await queue(reviewer)).not.toContain(r.id);
    expectError(await as(author, 'PATCH', intakeUrl, [{ op: 'replace', path: '/status', value: 'ready_for_review' }], PATCH), 409);
    const submitted = await as(author, 'PATCH', intakeUrl, [{ op: 'replace', path: '/status', value: 'submitted' }], PATCH);
    expect(submitted.status, submitted.text).toBe(200);
    expect(submitted.body.status).toBe('submitted');
    expect(submitted.body.submitted_at).not.toBeNull();
    expect(submitted.body.ui_state).toBeNull();
    expectError(await as(author, 'PUT', intakeUrl, { survey_id: s.id, answers: {} }), 409);
    expect(await queue(reviewer)).toContain(r.id);
    expect(await queue(reviewer, '&status=submitted')).toContain(r.id);
    expect(await queue(admin)).toContain(r.id);
    expect(await queue(confReviewer)).not.toContain(r.id);
    expect(await queue(outsider)).toEqual([]);
    expect(await queue(author)).not.toContain(r.id);
    // The author may not triage their own response, nor write triage notes.
    expectError(await as(author, 'PATCH', triageUrl, [{ op: 'replace', path: '/status', value: 'ready_for_review' }], PATCH), 403);
    expectError(await as(author, 'POST', `${triageUrl}/triage_notes`, { name: 'Self', content: 'x' }), 403);
    expectError(await as(author, 'POST', `${triageUrl}/create_threat_model`), 403);
    expectError(await as(outsider, 'PATCH', triageUrl, [{ op: 'replace', path: '/status', value: 'ready_for_review' }], PATCH), 404);
    expectError(await as(reviewer, 'POST', `${triageUrl}/create_threat_model`), 409); // not ready yet
    // Revision request: notes required.
    expectError(await as(reviewer, 'PATCH', triageUrl, [{ op: 'replace', path: '/status', value: 'needs_revision' }], PATCH), 409);
    expectError(await as(reviewer, 'PATCH', triageUrl, [{ op: 'replace', path: '/status', value: 'review_created' }], PATCH), 409);
    expectError(await as(reviewer, 'PATCH', triageUrl, [{ op: 'replace', path: '/answers', value: {} }], PATCH), 400);
    const revise = await as(reviewer, 'PATCH', triageUrl, [{ op: 'replace', path: '/revision_notes', value: 'Which **data stores**?' }, { op: 'replace', path: '/status', value: 'needs_revision' }], PATCH);
    expect(revise.status, revise.text).toBe(200);
    expect(revise.body).toMatchObject({ status: 'needs_revision', revision_notes: 'Which **data stores**?' });
    expect(revise.body.reviewed_by.provider_id).toBe(reviewer.user);
    const seen = (await as(author, 'GET', intakeUrl)).body;
    expect(seen.revision_notes).toBe('Which **data stores**?');
    expect((await as(author, 'PATCH', intakeUrl, [{ op: 'add', path: '/answers/stores', value: ['pii'] }], PATCH)).status).toBe(200);
    expect((await as(author, 'PATCH', intakeUrl, [{ op: 'replace', path: '/status', value: 'submitted' }], PATCH)).body.status).toBe('submitted');
    // Triage notes: reviewers write, the author reads them through intake.
    const note = await as(reviewer, 'POST', `${triageUrl}/triage_notes`, { name: 'Assessment', content: 'Needs threat model <script>x</script>' });
    expect(note.status, note.text).toBe(201);
    expect(note.body).toMatchObject({ id: 1, name: 'Assessment' });
    expect(note.body.content).not.toContain('<script');
    expect((await as(admin, 'POST', `${triageUrl}/triage_notes`, { name: 'Second', content: 'ok' })).body.id).toBe(2);
    expectError(await as(reviewer, 'POST', `${triageUrl}/triage_notes`, { name: 'a&b', content: 'x' }), 400);
    expectError(await as(reviewer, 'POST', `${triageUrl}/triage_notes`, { name: 'ok', content: 'x'.repeat(32_769) }), 400);
    const notes = await as(author, 'GET', `${intakeUrl}/triage_notes`);
    expect(notes.body).toMatchObject({ total: 2, triage_notes: [{ id: 1, name: 'Assessment' }, { id: 2, name: 'Second' }] });
    expect((await as(author, 'GET', `${intakeUrl}/triage_notes/1`)).body.content).toContain('Needs threat model');
    expectError(await as(author, 'GET', `${intakeUrl}/triage_notes/9`), 404);
    expectError(await as(outsider, 'GET', `${triageUrl}/triage_notes`), 404);
    // Assign a reviewer: must be in the reviewer group.
    expectError(await as(reviewer, 'PATCH', triageUrl, [{ op: 'replace', path: '/reviewed_by', value: { provider: 'tmi', provider_id: outsider.user } }], PATCH), 400);
    const assigned = await as(admin, 'PATCH', triageUrl, [{ op: 'replace', path: '/reviewed_by', value: { provider: 'tmi', provider_id: reviewer.user } }], PATCH);
    expect(assigned.body.reviewed_by.provider_id).toBe(reviewer.user);
    // Accept and create the model.
    expect((await as(reviewer, 'PATCH', triageUrl, [{ op: 'replace', path: '/status', value: 'ready_for_review' }], PATCH)).body.status).toBe('ready_for_review');
    const tmBefore = await count('threat_models');
    const made = await as(reviewer, 'POST', `${triageUrl}/create_threat_model`);
    expect(made.status, made.text).toBe(201);
    expect(made.body).toEqual({ threat_model_id: expect.any(String), survey_response_id: r.id });
    expect(made.headers.location).toBe(`/threat_models/${made.body.threat_model_id}`);
    expect(await count('threat_models')).toBe(tmBefore + 1);
    expectError(await as(reviewer, 'POST', `${triageUrl}/create_threat_model`), 409);
    expect(await count('threat_models')).toBe(tmBefore + 1);
    const after = (await as(author, 'GET', intakeUrl)).body;
    expect(after).toMatchObject({ status: 'review_created', created_threat_model_id: made.body.threat_model_id });
    const tm = await as(author, 'GET', `/threat_models/${made.body.threat_model_id}`);
    expect(tm.status, tm.text).toBe(200);
    expect(tm.body).toMatchObject({ name: 'Login service', description: 'Signs users in', project_id: proj.body.id, is_confidential: false });
    expect(tm.body.owner.provider_id).toBe(author.user);
    const meta = Object.fromEntries(tm.body.metadata.map((m: { key: string; value: string }) => [m.key, m.value]));
    expect(meta).toMatchObject({ data_classification: 'confidential', stores: 'pii', internet_facing: 'true', survey_response_id: r.id });
    // The reviewer who created it keeps access (the reference gives them none).
    expect((await as(reviewer, 'GET', `/threat_models/${made.body.threat_model_id}`)).status).toBe(200);
    expect((await as(author, 'GET', `/threat_models?project_id=${proj.body.id}`)).body.threat_models.map((x: { id: string }) => x.id)).toEqual([made.body.threat_model_id]);
    const audit = await t.ctx.db.query<{ change_type: string }>('SELECT change_type FROM review_audit WHERE entity_id = $1 ORDER BY created_at', [r.id]);
    expect(audit.map((a) => a.change_type)).toEqual(['created', 'status_changed', 'status_changed', 'patched', 'status_changed', 'note_added', 'note_added', 'updated', 'status_changed', 'threat_model_created']);
    const tmAudit = await t.ctx.db.query<{ change_type: string }>('SELECT change_type FROM audit_entries WHERE threat_model_id = $1', [made.body.threat_model_id]);
    expect(tmAudit.map((a) => a.change_type)).toEqual(['created']);
  });

  it('confidential responses go to confidential reviewers only; unmapped names get a dated default', async () => {
    const s = await survey('active', { pages: [{ elements: [{ type: 'text', name: 'q1' }] }] });
    const r = (await as(author, 'POST', '/intake/survey_responses', { survey_id: s.id, is_confidential: true, answers: { q1: 'answer' } })).body;
    await as(author, 'PATCH', `/intake/survey_responses/${r.id}`, [{ op: 'replace', path: '/status', value: 'submitted' }], PATCH);
    expectError(await as(reviewer, 'GET', `/triage/survey_responses/${r.id}`), 404);
    expect((await as(confReviewer, 'GET', `/triage/survey_responses?is_confidential=true&limit=100`)).body.survey_responses.map((x: { id: string }) => x.id)).toContain(r.id);
    expect((await as(confReviewer, 'PATCH', `/triage/survey_responses/${r.id}`, [{ op: 'replace', path: '/status', value: 'ready_for_review' }], PATCH)).status).toBe(200);
    const made = await as(confReviewer, 'POST', `/triage/survey_responses/${r.id}/create_threat_model`);
    expect(made.status, made.text).toBe(201);
    const tm = (await as(author, 'GET', `/threat_models/${made.body.threat_model_id}`)).body;
    expect(tm.name).toBe(`${s.name} - ${new Date().toISOString().slice(0, 10)}`);
    expect(tm.is_confidential).toBe(true);
    expectError(await as(reviewer, 'GET', `/threat_models/${made.body.threat_model_id}`), 403);
  });
});

describe('ownership transfer', () => {
  it('POST /me/transfer moves the giver\'s survey responses to the taker', async () => {
    const s = await survey();
    const giver = await signIn(t.app);
    const r = (await as(giver, 'POST', '/intake/survey_responses', { survey_id: s.id, answers: { service_name: 'Handed over' } })).body;
    const res = await as(giver, 'POST', '/me/transfer', { target_user_id: uuid.mate });
    expect(res.status, res.text).toBe(200);
    expect(res.body.survey_responses_transferred).toEqual({ count: 1, survey_response_ids: [r.id] });
    expect((await as(mate, 'GET', '/intake/survey_responses?limit=100')).body.survey_responses.map((x: { id: string }) => x.id)).toContain(r.id);
    expect((await as(mate, 'PATCH', `/intake/survey_responses/${r.id}`, [{ op: 'add', path: '/answers/summary', value: 'mine now' }], PATCH)).status).toBe(200);
    expectError(await as(giver, 'GET', `/intake/survey_responses/${r.id}`), 404);
  });
});
