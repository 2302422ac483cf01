// TMI-managed groups (issue 14): /admin/groups CRUD and members, /me/groups. A TMI group shares a
// model with its members (and stops when they leave), built-in groups keep their names and cannot
// be deleted, `everyone` has no members to manage, the last administrator stays; bad input is
// refused with the envelope and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, uniqueUser, usingPostgres, type SignedIn, type TestApp } from './support/app.ts';
import { agedToken, serviceAccountToken, startAdminApp, uuidOf } from './support/admin.ts';

let t: TestApp;
let admin: SignedIn;
let adminUuid: string;
const ADMINISTRATORS = '00000000-0000-0000-0000-000000000002';
const EVERYONE = '00000000-0000-0000-0000-000000000000';

// A database of its own: these tests count administrators (the last one is kept) and system audit entries.
beforeAll(async () => ({ t, admin, adminUuid } = await startAdminApp({ freshDatabase: true })));
afterAll(async () => t?.close());

const groupName = () => uniqueUser('grp').replace(/-/g, '_');
const audit = (target: string) =>
  t.ctx.db.query<{ action: string; old_value: any; new_value: any }>('SELECT action, old_value, new_value FROM system_audit WHERE target_id = $1 ORDER BY created_at', [target]);

async function makeGroup(name = groupName()): Promise<string> {
  const res = await call(t.app, 'POST', '/admin/groups', { token: admin.accessToken, body: { group_name: name, name: `Team ${name}`, description: 'a team' } });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  return res.body.internal_uuid as string;
}

describe('who may manage groups', () => {
  it('administrators only, interactive, recent sign-in for writes', async () => {
    const someone = await signIn(t.app);
    const g = await makeGroup();
    const uuid = await uuidOf(t, someone);
    const sa = await serviceAccountToken(t, admin);
    const stale = await agedToken(t, admin.accessToken, 3600);
    const routes: [string, string, unknown?][] = [
      ['GET', '/admin/groups'],
      ['POST', '/admin/groups', { group_name: groupName(), name: 'x' }],
      ['GET', `/admin/groups/${g}`],
      ['PATCH', `/admin/groups/${g}`, { name: 'renamed' }],
      ['DELETE', `/admin/groups/${g}`],
      ['GET', `/admin/groups/${g}/members`],
      ['POST', `/admin/groups/${g}/members`, { user_internal_uuid: uuid }],
      ['DELETE', `/admin/groups/${g}/members/${uuid}`],
    ];
    for (const [method, url, body] of routes) {
      expect((await call(t.app, method, url, { body })).status, `${method} ${url}`).toBe(401);
      expect((await call(t.app, method, url, { token: someone.accessToken, body })).status, `${method} ${url}`).toBe(403);
      expect((await call(t.app, method, url, { token: sa, body })).status, `${method} ${url}`).toBe(403);
      const old = await call(t.app, method, url, { token: stale, body });
      expect(old.status, `${method} ${url} stale`).toBe(method === 'GET' ? 200 : 401);
    }
    const still = await call(t.app, 'GET', `/admin/groups/${g}`, { token: admin.accessToken });
    expect(still.body).toMatchObject({ name: expect.stringMatching(/^Team /), member_count: 0 });
    expect((await audit(g)).map((r) => r.action)).toEqual(['group.created']);
  });
});

describe('group CRUD', () => {
  it('creates, reads, lists with filters, renames and deletes a TMI group, each audited', async () => {
    const name = groupName();
    const created = await call(t.app, 'POST', '/admin/groups', { token: admin.accessToken, body: { group_name: name, name: 'Red team', description: 'attackers' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ provider: 'tmi', group_name: name, name: 'Red team', description: 'attackers', is_builtin: false, member_count: 0, usage_count: 0, used_in_authorizations: false });
    const id = created.body.internal_uuid;
    const dup = await call(t.app, 'POST', '/admin/groups', { token: admin.accessToken, body: { group_name: name, name: 'again' } });
    expect(dup.status).toBe(409);
    expect(errorOf(dup).error).toBe('duplicate_group');
    const list = await call(t.app, 'GET', `/admin/groups?group_name=${name}`, { token: admin.accessToken });
    expect(list.body).toMatchObject({ total: 1, limit: 50, offset: 0 });
    expect(list.body.groups[0].internal_uuid).toBe(id);
    const builtIns = await call(t.app, 'GET', '/admin/groups?built_in=true&limit=100', { token: admin.accessToken });
    expect(builtIns.body.groups.map((g: any) => g.group_name).sort()).toEqual(['administrators', 'confidential-project-reviewers', 'embedding-automation', 'everyone', 'security-reviewers', 'tmi-automation']);
    expect(builtIns.body.groups.find((g: any) => g.group_name === 'administrators')).toMatchObject({ is_builtin: true, used_in_admin_grants: true });
    const renamed = await call(t.app, 'PATCH', `/admin/groups/${id}`, { token: admin.accessToken, body: { name: 'Blue team' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Blue team');
    expect((await call(t.app, 'DELETE', `/admin/groups/${id}`, { token: admin.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', `/admin/groups/${id}`, { token: admin.accessToken })).status).toBe(404);
    const rows = await audit(id);
    expect(rows.map((r) => r.action)).toEqual(['group.created', 'group.updated', 'group.deleted']);
    expect(rows[1]).toMatchObject({ old_value: { name: 'Red team' }, new_value: { name: 'Blue team' } });
  });

  it('protects built-in groups from deletion and renaming', async () => {
    for (const id of [ADMINISTRATORS, EVERYONE]) {
      const del = await call(t.app, 'DELETE', `/admin/groups/${id}`, { token: admin.accessToken });
      expect(del.status).toBe(403);
      expect(errorOf(del).error).toBe('protected_group');
      const ren = await call(t.app, 'PATCH', `/admin/groups/${id}`, { token: admin.accessToken, body: { name: 'Overlords' } });
      expect(ren.status).toBe(403);
      expect(errorOf(ren).error).toBe('protected_group');
    }
    expect((await call(t.app, 'GET', `/admin/groups/${ADMINISTRATORS}`, { token: admin.accessToken })).body.name).toBe('Administrators');
    // (On the shared PostgreSQL database other files add members, so only renames and deletions count.)
    expect((await audit(ADMINISTRATORS)).filter((r) => r.action === 'group.updated' || r.action === 'group.deleted')).toEqual([]);
  });

  it('refuses bad input with the envelope and writes nothing', async () => {
    const g = await makeGroup();
    const before = await call(t.app, 'GET', `/admin/groups/${g}`, { token: admin.accessToken });
    const bad: [string, string, unknown, string?, string?][] = [
      ['POST', '/admin/groups', { group_name: 'has space', name: 'x' }],
      ['POST', '/admin/groups', { group_name: 'ok', name: 12 }],
      ['POST', '/admin/groups', { group_name: 'x'.repeat(129), name: 'x' }],
      ['POST', '/admin/groups', { name: 'no group name' }],
      ['POST', '/admin/groups', { group_name: 'ok2', name: 'x', extra: true }],
      ['POST', '/admin/groups', undefined, '{"group_name":', 'application/json'],
      ['POST', '/admin/groups', undefined, 'group_name=x', 'text/plain'],
      ['PATCH', `/admin/groups/${g}`, { name: '' }],
      ['PATCH', `/admin/groups/${g}`, { description: 'x'.repeat(2049) }],
      ['PATCH', `/admin/groups/${g}`, { group_name: 'other' }],
      ['GET', '/admin/groups?limit=-1', undefined],
      ['GET', '/admin/groups?built_in=perhaps', undefined],
      ['GET', '/admin/groups/not-a-uuid', undefined],
      ['POST', `/admin/groups/${g}/members`, {}],
      ['POST', `/admin/groups/${g}/members`, { user_internal_uuid: 'nope' }],
      ['POST', `/admin/groups/${g}/members`, { subject_type: 'group', member_group_internal_uuid: ADMINISTRATORS }],
      ['POST', `/admin/groups/${g}/members`, { user_internal_uuid: adminUuid, notes: 'x'.repeat(2049) }],
    ];
    for (const [method, url, body, raw, contentType] of bad) {
      const res = await call(t.app, method, url, { token: admin.accessToken, body, raw, contentType });
      expect([400, 415], `${method} ${url} ${JSON.stringify(body ?? raw)}`).toContain(res.status);
      errorOf(res);
    }
    expect((await call(t.app, 'GET', `/admin/groups/${g}`, { token: admin.accessToken })).body).toEqual(before.body);
    expect((await audit(g)).map((r) => r.action)).toEqual(['group.created']);
    expect((await call(t.app, 'GET', '/admin/groups/6f1d2c3b-0000-4000-8000-000000000000', { token: admin.accessToken })).status).toBe(404);
  });
});

describe('members', () => {
  it('a member of a TMI group gets the access the group has on a model, and loses it when removed', async () => {
    const owner = await signIn(t.app);
    const member = await signIn(t.app);
    const memberUuid = await uuidOf(t, member);
    const name = groupName();
    const g = await makeGroup(name);
    const tm = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'shared with a group', authorization: [{ principal_type: 'group', provider: 'tmi', provider_id: name, role: 'writer' }] } });
    expect(tm.status).toBe(201);
    const id = tm.body.id;
    expect((await call(t.app, 'GET', `/threat_models/${id}`, { token: member.accessToken })).status).toBe(403);
    const added = await call(t.app, 'POST', `/admin/groups/${g}/members`, { token: admin.accessToken, body: { user_internal_uuid: memberUuid, notes: 'joined' } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ group_internal_uuid: g, subject_type: 'user', user_internal_uuid: memberUuid, user_email: member.email, added_by_internal_uuid: adminUuid, notes: 'joined' });
    const dup = await call(t.app, 'POST', `/admin/groups/${g}/members`, { token: admin.accessToken, body: { user_internal_uuid: memberUuid } });
    expect(errorOf(dup).error).toBe('duplicate_membership');
    expect((await call(t.app, 'GET', `/threat_models/${id}`, { token: member.accessToken })).status).toBe(200);
    expect((await call(t.app, 'PATCH', `/threat_models/${id}`, { token: member.accessToken, raw: JSON.stringify([{ op: 'replace', path: '/description', value: 'edited by the group' }]), contentType: 'application/json-patch+json' })).status).toBe(200);
    const members = await call(t.app, 'GET', `/admin/groups/${g}/members`, { token: admin.accessToken });
    expect(members.body).toMatchObject({ total: 1, limit: 50, offset: 0 });
    const group = await call(t.app, 'GET', `/admin/groups/${g}`, { token: admin.accessToken });
    expect(group.body).toMatchObject({ member_count: 1, usage_count: 1, used_in_authorizations: true });
    // The member sees their group, and its members without the administrators' notes.
    const mine = await call(t.app, 'GET', '/me/groups', { token: member.accessToken });
    expect(mine.body.groups).toEqual([{ internal_uuid: g, group_name: name, name: `Team ${name}` }]);
    expect(mine.body.total).toBe(1);
    const theirs = await call(t.app, 'GET', `/me/groups/${g}/members`, { token: member.accessToken });
    expect(theirs.status).toBe(200);
    expect(theirs.body.members[0].notes).toBeUndefined();
    expect(theirs.body.members[0].added_by_internal_uuid).toBeUndefined();
    expect((await call(t.app, 'GET', `/me/groups/${g}/members`, { token: owner.accessToken })).status).toBe(403);
    expect((await call(t.app, 'GET', `/me/groups/${EVERYONE}/members`, { token: owner.accessToken })).status).toBe(200);
    expect((await call(t.app, 'GET', '/me/groups')).status).toBe(401);
    expect((await call(t.app, 'DELETE', `/admin/groups/${g}/members/${memberUuid}`, { token: admin.accessToken })).status).toBe(204);
    expect((await call(t.app, 'DELETE', `/admin/groups/${g}/members/${memberUuid}`, { token: admin.accessToken })).status).toBe(404);
    expect((await call(t.app, 'GET', `/threat_models/${id}`, { token: member.accessToken })).status).toBe(403);
    expect((await audit(g)).map((r) => r.action)).toEqual(['group.created', 'group.member_added', 'group.member_removed']);
  });

  it('deleting a group removes its access entries and memberships', async () => {
    const owner = await signIn(t.app);
    const member = await signIn(t.app);
    const name = groupName();
    const g = await makeGroup(name);
    await call(t.app, 'POST', `/admin/groups/${g}/members`, { token: admin.accessToken, body: { user_internal_uuid: await uuidOf(t, member) } });
    const tm = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'group gone', authorization: [{ principal_type: 'group', provider: 'tmi', provider_id: name, role: 'reader' }] } });
    expect((await call(t.app, 'GET', `/threat_models/${tm.body.id}`, { token: member.accessToken })).status).toBe(200);
    expect((await call(t.app, 'DELETE', `/admin/groups/${g}`, { token: admin.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', `/threat_models/${tm.body.id}`, { token: member.accessToken })).status).toBe(403);
    const after = await call(t.app, 'GET', `/threat_models/${tm.body.id}`, { token: owner.accessToken });
    expect(after.body.authorization.some((a: any) => a.provider_id === name)).toBe(false);
    expect((await call(t.app, 'GET', '/me/groups', { token: member.accessToken })).body.total).toBe(0);
  });

  it('everyone has no members to manage; unknown users and groups are 404; the last administrator stays', async () => {
    const u = await signIn(t.app);
    const uuid = await uuidOf(t, u);
    expect((await call(t.app, 'POST', `/admin/groups/${EVERYONE}/members`, { token: admin.accessToken, body: { user_internal_uuid: uuid } })).status).toBe(403);
    expect((await call(t.app, 'DELETE', `/admin/groups/${EVERYONE}/members/${uuid}`, { token: admin.accessToken })).status).toBe(403);
    expect((await call(t.app, 'POST', '/admin/groups/6f1d2c3b-0000-4000-8000-000000000000/members', { token: admin.accessToken, body: { user_internal_uuid: uuid } })).status).toBe(404);
    const g = await makeGroup();
    expect((await call(t.app, 'POST', `/admin/groups/${g}/members`, { token: admin.accessToken, body: { user_internal_uuid: '6f1d2c3b-0000-4000-8000-000000000000' } })).status).toBe(404);
    if (!usingPostgres) {
      // Where this file's administrator is the only one (PGlite; PostgreSQL is shared by every file).
      const last = await call(t.app, 'DELETE', `/admin/groups/${ADMINISTRATORS}/members/${adminUuid}`, { token: admin.accessToken });
      expect(last.status).toBe(409);
      expect(errorOf(last).error).toBe('last_administrator');
    }
    // Through the administrators group: a second administrator, then the first may leave.
    expect((await call(t.app, 'POST', `/admin/groups/${ADMINISTRATORS}/members`, { token: admin.accessToken, body: { user_internal_uuid: uuid } })).status).toBe(201);
    expect((await call(t.app, 'GET', '/admin/users', { token: u.accessToken })).status).toBe(200);
    expect((await call(t.app, 'DELETE', `/admin/groups/${ADMINISTRATORS}/members/${uuid}`, { token: admin.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', '/admin/users', { token: u.accessToken })).status).toBe(403);
  });
});
