// Teams and projects (/teams, /projects, their notes and metadata): every operation requires
// authentication; each role (creator, member, outsider, security reviewer, administrator) on each
// verb; bad input is a 4xx with the error envelope and writes nothing; every change is audited;
// a threat model's project is a real project and lists of models filter by team and project.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_GROUPS } from '../server/authz/index.ts';
import { call, errorOf, signIn, startTestApp, type Response, type SignedIn, type TestApp } from './support/app.ts';

let t: TestApp;
let creator: SignedIn;
let member: SignedIn;
let outsider: SignedIn;
let reviewer: SignedIn;
let admin: SignedIn;
const uuid: Record<string, string> = {};

const PATCH = 'application/json-patch+json';
const as = (u: SignedIn, method: string, url: string, body?: unknown, contentType?: string) => call(t.app, method, url, { token: u.accessToken, body, contentType });

async function uuidOf(u: SignedIn): Promise<string> {
  const [row] = await t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider = $1 AND provider_user_id = $2', ['tmi', u.user]);
  return row!.internal_uuid;
}

function expectError(res: Response, status: number, what = '') {
  expect(res.status, `${what} ${res.text}`).toBe(status);
  return errorOf(res);
}

/** Rows this file's people made (on PostgreSQL, files running beside this one share the database). */
const count = async (table: 'teams' | 'projects') =>
  (await t.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE created_by_uuid = ANY($1::uuid[])`, [Object.values(uuid)]))[0]!.n;
const auditOf = async (id: string) =>
  (await t.ctx.db.query<{ change_type: string; actor_email: string }>('SELECT change_type, actor_email FROM review_audit WHERE entity_id = $1 ORDER BY created_at', [id]));

beforeAll(async () => {
  t = await startTestApp();
  [creator, member, outsider, reviewer, admin] = await Promise.all(Array.from({ length: 5 }, () => signIn(t.app)));
  for (const [k, u] of Object.entries({ creator, member, outsider, reviewer, admin })) uuid[k] = await uuidOf(u);
  await t.ctx.users.addToGroup(t.ctx.db, BUILT_IN_GROUPS.securityReviewers, uuid.reviewer!);
  await t.ctx.users.addToGroup(t.ctx.db, BUILT_IN_GROUPS.administrators, uuid.admin!);
});
afterAll(async () => t?.close());

async function team(extra: Record<string, unknown> = {}, by = creator) {
  const res = await as(by, 'POST', '/teams', { name: `Team ${randomUUID().slice(0, 8)}`, members: [{ user_id: uuid.member, role: 'engineer' }], ...extra });
  expect(res.status, res.text).toBe(201);
  return res.body;
}
async function project(teamId: string, extra: Record<string, unknown> = {}, by = creator) {
  const res = await as(by, 'POST', '/projects', { name: `Project ${randomUUID().slice(0, 8)}`, team_id: teamId, ...extra });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe('authentication', () => {
  it('every operation answers 401 with the envelope without a token', async () => {
    const id = randomUUID();
    const routes: [string, string][] = [];
    for (const unit of ['teams', 'projects']) {
      routes.push(['GET', `/${unit}`], ['POST', `/${unit}`], ['GET', `/${unit}/${id}`], ['PUT', `/${unit}/${id}`], ['PATCH', `/${unit}/${id}`], ['DELETE', `/${unit}/${id}`]);
      routes.push(['GET', `/${unit}/${id}/notes`], ['POST', `/${unit}/${id}/notes`], ['GET', `/${unit}/${id}/notes/${id}`], ['PUT', `/${unit}/${id}/notes/${id}`]);
      routes.push(['PATCH', `/${unit}/${id}/notes/${id}`], ['DELETE', `/${unit}/${id}/notes/${id}`]);
      routes.push(['GET', `/${unit}/${id}/metadata`], ['POST', `/${unit}/${id}/metadata`], ['PUT', `/${unit}/${id}/metadata/k`], ['DELETE', `/${unit}/${id}/metadata/k`]);
      routes.push(['POST', `/${unit}/${id}/metadata/bulk`], ['PUT', `/${unit}/${id}/metadata/bulk`], ['PATCH', `/${unit}/${id}/metadata/bulk`]);
    }
    expect(routes).toHaveLength(38);
    for (const [method, url] of routes) {
      const body = method === 'PATCH' ? [] : method === 'GET' || method === 'DELETE' ? undefined : {};
      const res = await call(t.app, method, url, { body, contentType: method === 'PATCH' && !url.includes('bulk') ? PATCH : undefined });
      expectError(res, 401, `${method} ${url}`);
    }
  });
});

describe('teams', () => {
  it('create: the creator becomes a member (engineering lead), users are resolved, defaults applied, audited', async () => {
    const res = await as(creator, 'POST', '/teams', {
      name: 'Platform',
      description: 'Core',
      uri: 'https://wiki.example/platform',
      email_address: 'platform@example.com',
      members: [{ user_id: uuid.member, role: 'security_specialist' }],
      responsible_parties: [{ user_id: uuid.member }],
    });
    expect(res.status, res.text).toBe(201);
    expect(res.headers.etag).toBe('"1"');
    const tm = res.body;
    expect(tm.status).toBe('active');
    expect(tm.version).toBe(1);
    expect(tm.members.map((m: { user_id: string; role: string }) => [m.user_id, m.role])).toEqual([
      [uuid.creator, 'engineering_lead'],
      [uuid.member, 'security_specialist'],
    ]);
    expect(tm.members[1].user.email).toBe(member.email);
    expect(tm.responsible_parties[0].role).toBe('engineer');
    expect(tm.created_by.provider_id).toBe(creator.user);
    expect(tm.metadata).toEqual([]);
    expect(tm.notes).toEqual([]);
    expect(await auditOf(tm.id)).toEqual([{ change_type: 'created', actor_email: creator.email }]);
  });

  it('read: members and administrators; an outsider is 403; an unknown team is 404 for everyone', async () => {
    const tm = await team();
    for (const u of [creator, member, admin]) expect((await as(u, 'GET', `/teams/${tm.id}`)).status).toBe(200);
    expectError(await as(outsider, 'GET', `/teams/${tm.id}`), 403);
    expectError(await as(reviewer, 'GET', `/teams/${tm.id}`), 403);
    for (const u of [outsider, admin]) expectError(await as(u, 'GET', `/teams/${randomUUID()}`), 404);
    expectError(await as(creator, 'GET', '/teams/not-a-uuid'), 400);
  });

  it('list: members see their teams, administrators all; filters and paging', async () => {
    const tag = randomUUID().slice(0, 8);
    const a = await team({ name: `alpha-${tag}` });
    const b = await team({ name: `beta-${tag}`, status: 'on_hold', members: [] });
    const names = async (u: SignedIn, qs = '') => ((await as(u, 'GET', `/teams?name=${tag}${qs}`)).body.teams as { name: string }[]).map((x) => x.name).sort();
    expect(await names(creator)).toEqual([`alpha-${tag}`, `beta-${tag}`]);
    expect(await names(member)).toEqual([`alpha-${tag}`]);
    expect(await names(outsider)).toEqual([]);
    expect(await names(admin)).toEqual([`alpha-${tag}`, `beta-${tag}`]);
    expect(await names(creator, '&status=on_hold,archived')).toEqual([`beta-${tag}`]);
    expect(await names(admin, `&member_user_id=${uuid.member}`)).toEqual([`alpha-${tag}`]);
    const page = await as(creator, 'GET', `/teams?name=${tag}&limit=1&offset=1`);
    expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(page.body.teams).toHaveLength(1);
    expect(page.body.teams[0].name).toBe(`alpha-${tag}`); // newest first
    const item = (await as(creator, 'GET', `/teams?name=alpha-${tag}`)).body.teams[0];
    expect(item).toMatchObject({ id: a.id, member_count: 2, project_count: 0, note_count: 0 });
    expect(b.members).toHaveLength(1);
    for (const bad of ['limit=0', 'limit=1001', 'offset=-1', 'limit=abc', 'member_user_id=nope']) expectError(await as(creator, 'GET', `/teams?${bad}`), 400, bad);
  });

  it('update (PUT): members, not outsiders; If-Match; omitted members are kept; audited', async () => {
    const tm = await team();
    expectError(await as(outsider, 'PUT', `/teams/${tm.id}`, { name: 'X' }), 403);
    const stale = await call(t.app, 'PUT', `/teams/${tm.id}`, { token: member.accessToken, body: { name: 'Renamed' }, headers: { 'if-match': '"7"' } });
    expectError(stale, 409);
    const res = await call(t.app, 'PUT', `/teams/${tm.id}`, { token: member.accessToken, body: { name: 'Renamed', status: 'forming' }, headers: { 'if-match': '"1"' } });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.body).toMatchObject({ name: 'Renamed', status: 'forming', version: 2, description: null });
    expect(res.body.members).toHaveLength(2);
    expect(res.body.modified_by.provider_id).toBe(member.user);
    const reset = await as(admin, 'PUT', `/teams/${tm.id}`, { name: 'Renamed', status: null });
    expect(reset.body.status).toBe('active');
    expect((await auditOf(tm.id)).map((a) => a.change_type)).toEqual(['created', 'updated', 'updated']);
  });

  it('patch: members edit members and fields; read-only paths and invalid results are 400 and write nothing', async () => {
    const tm = await team();
    const res = await as(member, 'PATCH', `/teams/${tm.id}`, [{ op: 'add', path: '/members/-', value: { user_id: uuid.outsider, role: 'other', custom_role: 'Guest' } }, { op: 'replace', path: '/description', value: 'Now described' }], PATCH);
    expect(res.status, res.text).toBe(200);
    expect(res.body.members.map((m: { user_id: string }) => m.user_id)).toContain(uuid.outsider);
    expect(res.body.members.at(-1)).toMatchObject({ role: 'other', custom_role: 'Guest' });
    expect((await as(outsider, 'GET', `/teams/${tm.id}`)).status).toBe(200);
    const review = await as(member, 'PATCH', `/teams/${tm.id}`, [{ op: 'replace', path: '/reviewed_at', value: '2026-01-02T03:04:05Z' }], PATCH);
    expect(review.body.reviewed_at).toBe('2026-01-02T03:04:05.000Z');
    expect(review.body.reviewed_by.provider_id).toBe(member.user);
    const before = (await as(member, 'GET', `/teams/${tm.id}`)).body;
    for (const ops of [
      [{ op: 'replace', path: '/id', value: randomUUID() }],
      [{ op: 'replace', path: '/created_at', value: '2020-01-01T00:00:00Z' }],
      [{ op: 'replace', path: '/name', value: '' }],
      [{ op: 'replace', path: '/status', value: 'bogus' }],
      [{ op: 'add', path: '/members/-', value: { user_id: randomUUID() } }],
      [{ op: 'add', path: '/members/-', value: { user_id: uuid.member } }],
      [],
    ]) {
      const bad = await as(member, 'PATCH', `/teams/${tm.id}`, ops, PATCH);
      expect([400, 409], bad.text).toContain(bad.status);
      errorOf(bad);
    }
    expectError(await as(member, 'PATCH', `/teams/${tm.id}`, [{ op: 'replace', path: '/name', value: 'x' }]), 415);
    const after = (await as(member, 'GET', `/teams/${tm.id}`)).body;
    expect(after).toEqual(before);
  });

  it('delete: the creator or an administrator; a member is 403; a team with projects is 409', async () => {
    const tm = await team();
    const pr = await project(tm.id);
    expectError(await as(member, 'DELETE', `/teams/${tm.id}`), 403);
    expectError(await as(outsider, 'DELETE', `/teams/${tm.id}`), 403);
    expectError(await as(creator, 'DELETE', `/teams/${tm.id}`), 409);
    expect((await as(creator, 'DELETE', `/projects/${pr.id}`)).status).toBe(204);
    expect((await as(creator, 'DELETE', `/teams/${tm.id}`)).status).toBe(204);
    expectError(await as(creator, 'GET', `/teams/${tm.id}`), 404);
    const other = await team();
    expect((await as(admin, 'DELETE', `/teams/${other.id}`)).status).toBe(204);
    expect((await auditOf(tm.id)).at(-1)!.change_type).toBe('deleted');
  });

  it('bad input is refused with the envelope and writes nothing', async () => {
    const before = await count('teams');
    const bodies: unknown[] = [
      {},
      { name: '' },
      { name: 'x'.repeat(257) },
      { name: 'ok', unknown_field: 1 },
      { name: 'ok', status: 'bogus' },
      { name: 'ok', email_address: 'not-an-email' },
      { name: 'ok', members: [{ user_id: randomUUID() }] },
      { name: 'ok', members: [{ user_id: uuid.member }, { user_id: uuid.member }] },
      { name: 'ok', members: [{ user_id: 'x' }] },
      { name: 'ok', related_teams: [{ related_team_id: randomUUID(), relationship: 'parent' }] },
      { name: 123 },
      { name: '<script>alert(1)</script>' },
    ];
    for (const body of bodies) {
      const res = await as(creator, 'POST', '/teams', body);
      expect([400, 409], `${JSON.stringify(body)} ${res.text}`).toContain(res.status);
      errorOf(res);
    }
    expectError(await call(t.app, 'POST', '/teams', { token: creator.accessToken, raw: '{"name":', contentType: 'application/json' }), 400);
    expectError(await call(t.app, 'POST', '/teams', { token: creator.accessToken, raw: 'name=x', contentType: 'text/plain' }), 415);
    expect(await count('teams')).toBe(before);
  });

  it('relationships: validated (self, unknown, cycles) and filterable with related_to', async () => {
    const parent = await team();
    const child = await team({ related_teams: [{ related_team_id: parent.id, relationship: 'child' }] });
    expect(child.related_teams).toEqual([{ related_team_id: parent.id, relationship: 'child' }]);
    expectError(await as(creator, 'PUT', `/teams/${child.id}`, { name: 'c', related_teams: [{ related_team_id: child.id, relationship: 'related' }] }), 400);
    const grand = await team({ related_teams: [{ related_team_id: child.id, relationship: 'child' }] });
    expectError(await as(creator, 'PUT', `/teams/${parent.id}`, { name: 'p', related_teams: [{ related_team_id: grand.id, relationship: 'child' }] }), 400);
    const rel = (await as(creator, 'GET', `/teams?related_to=${parent.id}`)).body.teams.map((x: { id: string }) => x.id);
    expect(rel).toEqual([child.id]);
    const trans = (await as(creator, 'GET', `/teams?related_to=${grand.id}&relationship=child&transitive=true`)).body.teams.map((x: { id: string }) => x.id).sort();
    expect(trans).toEqual([child.id, parent.id].sort());
  });
});

describe('projects', () => {
  it('create: members of the team and administrators; an outsider is 403; an unknown team 400', async () => {
    const tm = await team();
    const pr = await project(tm.id, { responsible_parties: [{ user_id: uuid.member }] }, member);
    expect(pr).toMatchObject({ team_id: tm.id, status: 'active', team: { id: tm.id, name: tm.name } });
    expect(pr.responsible_parties[0]).toMatchObject({ user_id: uuid.member, role: 'engineer' });
    expect((await as(admin, 'POST', '/projects', { name: 'By admin', team_id: tm.id })).status).toBe(201);
    const before = await count('projects');
    expectError(await as(outsider, 'POST', '/projects', { name: 'X', team_id: tm.id }), 403);
    expectError(await as(creator, 'POST', '/projects', { name: 'X', team_id: randomUUID() }), 400);
    expectError(await as(creator, 'POST', '/projects', { name: 'X' }), 400);
    expectError(await as(creator, 'POST', '/projects', { name: 'X', team_id: tm.id, status: 'nope' }), 400);
    expect(await count('projects')).toBe(before);
    expect((await auditOf(pr.id))[0]).toEqual({ change_type: 'created', actor_email: member.email });
  });

  it('read, list and update follow membership of the project\'s team; moving needs membership of the new team', async () => {
    const tm = await team();
    const pr = await project(tm.id);
    for (const u of [creator, member, admin]) expect((await as(u, 'GET', `/projects/${pr.id}`)).status).toBe(200);
    expectError(await as(outsider, 'GET', `/projects/${pr.id}`), 403);
    expectError(await as(outsider, 'GET', `/projects/${randomUUID()}`), 404);
    const listed = async (u: SignedIn) => (await as(u, 'GET', `/projects?team_id=${tm.id}`)).body.projects.map((x: { id: string }) => x.id);
    expect(await listed(member)).toEqual([pr.id]);
    expect(await listed(outsider)).toEqual([]);
    const item = (await as(member, 'GET', `/projects?team_id=${tm.id}`)).body.projects[0];
    expect(item).toMatchObject({ team_name: tm.name, note_count: 0 });
    const foreign = await team({ members: [] }, outsider);
    expectError(await as(member, 'PUT', `/projects/${pr.id}`, { name: 'Moved', team_id: foreign.id }), 403);
    expectError(await as(outsider, 'PATCH', `/projects/${pr.id}`, [{ op: 'replace', path: '/name', value: 'x' }], PATCH), 403);
    const upd = await as(member, 'PATCH', `/projects/${pr.id}`, [{ op: 'replace', path: '/status', value: 'in_review' }], PATCH);
    expect(upd.status, upd.text).toBe(200);
    expect(upd.body).toMatchObject({ status: 'in_review', version: 2 });
    const moved = await as(admin, 'PUT', `/projects/${pr.id}`, { name: 'Moved', team_id: foreign.id });
    expect(moved.body.team_id).toBe(foreign.id);
    expectError(await as(member, 'GET', `/projects/${pr.id}`), 403);
  });

  it('delete: project creator, team creator or administrator; 409 while a live threat model refers to it', async () => {
    const tm = await team();
    const pr = await project(tm.id, {}, member);
    const model = await as(member, 'POST', '/threat_models', { name: 'In project' });
    const linked = await as(member, 'PATCH', `/threat_models/${model.body.id}`, [{ op: 'replace', path: '/project_id', value: pr.id }], PATCH);
    expect(linked.status, linked.text).toBe(200);
    expect(linked.body.project_id).toBe(pr.id);
    expectError(await as(outsider, 'DELETE', `/projects/${pr.id}`), 403);
    expectError(await as(member, 'DELETE', `/projects/${pr.id}`), 409);
    expect((await as(member, 'DELETE', `/threat_models/${model.body.id}`)).status).toBe(204);
    expect((await as(member, 'DELETE', `/projects/${pr.id}`)).status).toBe(204);
    const pr2 = await project(tm.id, {}, member);
    const other = await signIn(t.app);
    await as(creator, 'PATCH', `/teams/${tm.id}`, [{ op: 'add', path: '/members/-', value: { user_id: await uuidOf(other) } }], PATCH);
    expectError(await as(other, 'DELETE', `/projects/${pr2.id}`), 403);
    expect((await as(creator, 'DELETE', `/projects/${pr2.id}`)).status).toBe(204);
  });
});

describe('threat models and projects', () => {
  it('project_id must name a real project; lists filter by project and team', async () => {
    const tm = await team();
    const pr = await project(tm.id);
    const other = await project(tm.id);
    const mk = async (name: string, projectId?: string) => {
      const res = await as(creator, 'POST', '/threat_models', { name });
      if (projectId) expect((await as(creator, 'PATCH', `/threat_models/${res.body.id}`, [{ op: 'add', path: '/project_id', value: projectId }], PATCH)).status).toBe(200);
      return res.body.id as string;
    };
    const a = await mk('A', pr.id);
    const b = await mk('B', other.id);
    await mk('C');
    const bad = await as(creator, 'PATCH', `/threat_models/${a}`, [{ op: 'replace', path: '/project_id', value: randomUUID() }], PATCH);
    expectError(bad, 400);
    expect((await as(creator, 'GET', `/threat_models/${a}`)).body.project_id).toBe(pr.id);
    const ids = async (qs: string) => (await as(creator, 'GET', `/threat_models?${qs}`)).body.threat_models.map((x: { id: string }) => x.id).sort();
    expect(await ids(`project_id=${pr.id}`)).toEqual([a]);
    expect(await ids(`team_id=${tm.id}`)).toEqual([a, b].sort());
    expectError(await as(creator, 'GET', '/threat_models?project_id=nope'), 400);
    expect((await as(creator, 'PATCH', `/threat_models/${a}`, [{ op: 'replace', path: '/project_id', value: null }], PATCH)).body.project_id).toBeNull();
  });
});

describe('notes', () => {
  for (const unit of ['teams', 'projects'] as const) {
    it(`${unit}: members write sharable notes; privileged callers own non-sharable ones; notes are scoped to their parent`, async () => {
      const tm = await team();
      const id = unit === 'teams' ? tm.id : (await project(tm.id)).id;
      const base = `/${unit}/${id}/notes`;
      const note = await as(member, 'POST', base, { name: 'Kick-off', content: '# Hello <script>x()</script>' });
      expect(note.status, note.text).toBe(201);
      expect(note.body).toMatchObject({ name: 'Kick-off', sharable: true, timmy_enabled: true });
      expect(note.body.content).not.toContain('<script');
      expectError(await as(member, 'POST', base, { name: 'S', content: 'c', sharable: false }), 403);
      expectError(await as(outsider, 'POST', base, { name: 'S', content: 'c' }), 403);
      expectError(await as(outsider, 'GET', base), 403);
      // The administrator (privileged) writes a note members do not see.
      const secret = await as(admin, 'POST', base, { name: 'Private', content: 'only reviewers' });
      expect(secret.body.sharable).toBe(false);
      expect((await as(member, 'GET', base)).body.notes.map((n: { name: string }) => n.name)).toEqual(['Kick-off']);
      expect((await as(admin, 'GET', base)).body.total).toBe(2);
      expectError(await as(member, 'GET', `${base}/${secret.body.id}`), 404);
      expectError(await as(member, 'DELETE', `${base}/${secret.body.id}`), 404);
      const embedded = (await as(member, 'GET', `/${unit}/${id}`)).body.notes;
      expect(embedded.map((n: { name: string }) => n.name)).toEqual(['Kick-off']);
      // A note of another unit is not found through this one.
      const elsewhere = await team();
      const otherId = unit === 'teams' ? elsewhere.id : (await project(elsewhere.id)).id;
      expectError(await as(creator, 'GET', `/${unit}/${otherId}/notes/${note.body.id}`), 404);
      expectError(await as(creator, 'DELETE', `/${unit}/${otherId}/notes/${note.body.id}`), 404);
      const put = await as(member, 'PUT', `${base}/${note.body.id}`, { name: 'Renamed', content: 'new' });
      expect(put.body).toMatchObject({ name: 'Renamed', content: 'new', sharable: true });
      const patched = await as(member, 'PATCH', `${base}/${note.body.id}`, [{ op: 'replace', path: '/timmy_enabled', value: false }], PATCH);
      expect(patched.body.timmy_enabled).toBe(false);
      expectError(await as(member, 'PATCH', `${base}/${note.body.id}`, [{ op: 'replace', path: '/sharable', value: false }], PATCH), 403);
      for (const body of [{ name: 'a<b', content: 'c' }, { name: 'n' }, { name: 'n', content: '' }, { name: 'n', content: 'c', extra: 1 }, { name: 'n', content: '<script>x</script>' }]) {
        expectError(await as(member, 'PUT', `${base}/${note.body.id}`, body), 400, JSON.stringify(body));
      }
      expect((await as(member, 'GET', `${base}/${note.body.id}`)).body.name).toBe('Renamed');
      expect((await as(member, 'DELETE', `${base}/${note.body.id}`)).status).toBe(204);
      expectError(await as(member, 'GET', `${base}/${note.body.id}`), 404);
      expectError(await as(member, 'GET', `/${unit}/${randomUUID()}/notes`), 404);
      const audit = await auditOf(note.body.id);
      expect(audit.map((a) => a.change_type)).toEqual(['created', 'updated', 'patched', 'deleted']);
    });
  }
});

describe('metadata', () => {
  for (const unit of ['teams', 'projects'] as const) {
    it(`${unit}: members and administrators read and write (incl. bulk); outsiders are 403; bad input writes nothing`, async () => {
      const tm = await team();
      const id = unit === 'teams' ? tm.id : (await project(tm.id)).id;
      const base = `/${unit}/${id}/metadata`;
      expect((await as(member, 'POST', base, { key: 'cost-centre', value: '42' })).status).toBe(201);
      expectError(await as(member, 'POST', base, { key: 'cost-centre', value: '43' }), 409);
      expect((await as(member, 'PUT', `${base}/cost-centre`, { key: 'cost-centre', value: '44' })).body).toEqual({ key: 'cost-centre', value: '44' });
      expectError(await as(member, 'PUT', `${base}/absent`, { value: 'x' }), 404);
      expect((await as(admin, 'POST', `${base}/bulk`, [{ key: 'a', value: '1' }, { key: 'b', value: '2' }])).status).toBe(201);
      expect((await as(member, 'PATCH', `${base}/bulk`, [{ key: 'a', value: '9' }])).body).toEqual([
        { key: 'a', value: '9' },
        { key: 'b', value: '2' },
        { key: 'cost-centre', value: '44' },
      ]);
      expect((await as(member, 'PUT', `${base}/bulk`, [{ key: 'z', value: '0' }])).body).toEqual([{ key: 'z', value: '0' }]);
      expect((await as(member, 'GET', `/${unit}/${id}`)).body.metadata).toEqual([{ key: 'z', value: '0' }]);
      for (const [method, url, body] of [
        ['GET', base, undefined],
        ['POST', base, { key: 'x', value: 'y' }],
        ['PUT', `${base}/z`, { value: 'y' }],
        ['DELETE', `${base}/z`, undefined],
        ['POST', `${base}/bulk`, [{ key: 'x', value: 'y' }]],
      ] as const) {
        expectError(await as(outsider, method, url, body), 403, `${method} ${url}`);
      }
      for (const body of [{ key: 'x' }, { key: '', value: 'v' }, { key: 'x', value: 'v', extra: true }, { key: 'x', value: 'v'.repeat(1025) }]) {
        expectError(await as(member, 'POST', base, body), 400, JSON.stringify(body));
      }
      expectError(await as(member, 'POST', `${base}/bulk`, [{ key: 'd', value: '1' }, { key: 'd', value: '2' }]), 400);
      expectError(await as(member, 'POST', `${base}/bulk`, Array.from({ length: 101 }, (_v, i) => ({ key: `k${i}`, value: 'v' }))), 400);
      expectError(await as(member, 'POST', `/${unit}/${randomUUID()}/metadata`, { key: 'x', value: 'y' }), 404);
      expect((await as(member, 'GET', base)).body).toEqual([{ key: 'z', value: '0' }]);
      expect((await as(member, 'DELETE', `${base}/z`)).status).toBe(204);
      expectError(await as(member, 'DELETE', `${base}/z`), 404);
      expect((await auditOf(id)).filter((a) => a.change_type === 'metadata_changed')).toHaveLength(6);
    });
  }
});

describe('accounts merged at sign-in', () => {
  it('a placeholder\'s team memberships, responsible parties and authorship move to the account', async () => {
    const { mergePlaceholders } = await import('../server/auth/users.ts');
    const ghost = await t.ctx.db.tx((q) => t.ctx.users.resolvePrincipal(q, 'tmi', `ghost-${randomUUID().slice(0, 6)}@example.com`));
    const account = await signIn(t.app);
    const accountUuid = await uuidOf(account);
    const tm = await team({ members: [{ user_id: ghost, role: 'product_manager' }], responsible_parties: [{ user_id: ghost }] });
    expectError(await as(account, 'GET', `/teams/${tm.id}`), 403);
    await t.ctx.db.tx((q) => mergePlaceholders(q, accountUuid, [ghost]));
    const after = await as(account, 'GET', `/teams/${tm.id}`);
    expect(after.status, after.text).toBe(200);
    expect(after.body.members.find((m: { user_id: string }) => m.user_id === accountUuid)).toMatchObject({ role: 'product_manager' });
    expect(after.body.responsible_parties.map((m: { user_id: string }) => m.user_id)).toEqual([accountUuid]);
    expect(after.body.members.some((m: { user_id: string }) => m.user_id === ghost)).toBe(false);
  });
});
