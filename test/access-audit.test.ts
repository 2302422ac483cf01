// Access-list changes and ownership transfers in the system audit log (issue 14): each write that
// changes who may access a threat model, or who owns it, leaves exactly one entry with actor,
// target (threat_models.<id>.authorization or .owner) and the owner and entries before and
// after, in the write's transaction; a write that changes neither, or fails, leaves none. The
// administrators read them with the field_path and action filters of /admin/audit/system.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestApp, type TestApp } from './support/app.ts';
import { buildThreatModel, buildUser, share, signInAs, type BuiltUser } from './support/factories.ts';

let t: TestApp;
let admin: BuiltUser;

beforeAll(async () => {
  t = await startTestApp();
  admin = await buildUser(t, { administrator: true });
});
afterAll(async () => {
  await t?.close();
});

interface Row {
  action: string;
  actor_email: string;
  http_method: string;
  http_path: string;
  field_path: string;
  old_value: any;
  new_value: any;
  change_summary: string;
}
/** The access entries of the model's system audit log, oldest first. */
const accessRows = (tmId: string) =>
  t.ctx.db.query<Row>(
    "SELECT action, actor_email, http_method, http_path, field_path, old_value, new_value, change_summary FROM system_audit WHERE target_type = 'threat_model' AND target_id = $1 ORDER BY created_at, id",
    [tmId],
  );
const entry = (u: BuiltUser, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, email: u.email, role });
const ids = (list: { provider_id: string }[]) => list.map((e) => e.provider_id);
const jsonPatch = (token: string, id: string, ops: unknown[]) => call(t.app, 'PATCH', `/threat_models/${id}`, { token, contentType: 'application/json-patch+json', body: ops });
const put = (token: string, id: string, authorization: unknown[], name = 'Audited') => call(t.app, 'PUT', `/threat_models/${id}`, { token, body: { name, authorization } });

describe('PUT and PATCH of a threat model', () => {
  it('PUT that shares with someone: one entry with the entries before and after', async () => {
    const [owner, friend] = [await signInAs(t), await signInAs(t)];
    const tm = await buildThreatModel(t, owner);
    expect(await accessRows(tm.id)).toEqual([]); // creation is in the model's own audit trail
    const res = await put(owner.accessToken, tm.id, [share(friend, 'writer')]);
    expect(res.status).toBe(200);
    const rows = await accessRows(tm.id);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ action: 'threat_model.access_changed', actor_email: owner.email, http_method: 'PUT', http_path: '/threat_models/:threat_model_id', field_path: `threat_models.${tm.id}.authorization` });
    expect(row!.old_value.owner).toEqual({ provider: 'tmi', provider_id: owner.user, email: owner.email });
    expect(row!.old_value.authorization).not.toContainEqual(entry(friend, 'writer'));
    expect(row!.new_value.authorization).toContainEqual(entry(friend, 'writer'));
    expect(row!.new_value.authorization).toContainEqual(entry(owner, 'owner'));
    expect(row!.change_summary).toContain(`added tmi:${friend.user} (writer)`);
    expect(JSON.stringify(row)).not.toContain(owner.uuid);
  });

  it('PUT that keeps the access list (another name, the same entries in another order) records nothing', async () => {
    const [owner, a, b] = [await signInAs(t), await signInAs(t), await signInAs(t)];
    const tm = await buildThreatModel(t, owner, { shares: [[a, 'reader'], [b, 'writer']] });
    const current = (await call(t.app, 'GET', `/threat_models/${tm.id}`, { token: owner.accessToken })).body.authorization.map(
      ({ principal_type, provider, provider_id, role }: Record<string, string>) => ({ principal_type, provider, provider_id, role }),
    );
    expect(current.length).toBeGreaterThan(3); // the owner, a, b and the automatic groups
    expect((await put(owner.accessToken, tm.id, current, 'Renamed')).status).toBe(200);
    expect((await put(owner.accessToken, tm.id, [...current].reverse(), 'Renamed again')).status).toBe(200);
    expect(await accessRows(tm.id)).toEqual([]);
    // Leaving out the automatic groups is a change like any other.
    expect((await put(owner.accessToken, tm.id, [share(a, 'reader'), share(b, 'writer')])).status).toBe(200);
    const rows = await accessRows(tm.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.change_summary).toMatch(/^Access to threat model "Audited": removed (tmi:security-reviewers, tmi:tmi-automation|tmi:tmi-automation, tmi:security-reviewers)$/);
  });

  it('JSON Patch of /authorization: one entry per change (add, role change, remove); other fields none', async () => {
    const [owner, friend] = [await signInAs(t), await signInAs(t)];
    const tm = await buildThreatModel(t, owner);
    expect((await jsonPatch(owner.accessToken, tm.id, [{ op: 'add', path: '/authorization/-', value: share(friend, 'reader') }])).status).toBe(200);
    const model = (await call(t.app, 'GET', `/threat_models/${tm.id}`, { token: owner.accessToken })).body;
    const at = model.authorization.findIndex((e: any) => e.provider_id === friend.user);
    expect((await jsonPatch(owner.accessToken, tm.id, [{ op: 'replace', path: `/authorization/${at}/role`, value: 'owner' }])).status).toBe(200);
    expect((await jsonPatch(owner.accessToken, tm.id, [{ op: 'replace', path: '/description', value: 'only the description' }])).status).toBe(200);
    expect((await jsonPatch(owner.accessToken, tm.id, [{ op: 'remove', path: `/authorization/${at}` }])).status).toBe(200);
    const rows = await accessRows(tm.id);
    expect(rows.map((r) => [r.action, r.http_method])).toEqual([
      ['threat_model.access_changed', 'PATCH'],
      ['threat_model.access_changed', 'PATCH'],
      ['threat_model.access_changed', 'PATCH'],
    ]);
    expect(rows[1]!.old_value.authorization).toContainEqual(entry(friend, 'reader'));
    expect(rows[1]!.new_value.authorization).toContainEqual(entry(friend, 'owner'));
    expect(rows[1]!.change_summary).toContain(`tmi:${friend.user} reader → owner`);
    expect(ids(rows[2]!.new_value.authorization)).not.toContain(friend.user);
  });

  it('JSON Patch of /owner: one owner entry with the owner and entries before and after', async () => {
    const [owner, heir] = [await signInAs(t), await signInAs(t)];
    const tm = await buildThreatModel(t, owner);
    const res = await jsonPatch(owner.accessToken, tm.id, [{ op: 'replace', path: '/owner', value: { principal_type: 'user', provider: 'tmi', provider_id: heir.user } }]);
    expect(res.status).toBe(200);
    const rows = await accessRows(tm.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'threat_model.owner_changed', field_path: `threat_models.${tm.id}.owner`, http_method: 'PATCH' });
    expect(rows[0]!.old_value.owner.provider_id).toBe(owner.user);
    expect(rows[0]!.new_value.owner.provider_id).toBe(heir.user);
    expect(rows[0]!.new_value.authorization).toContainEqual(entry(heir, 'owner'));
    expect(ids(rows[0]!.old_value.authorization)).not.toContain(heir.user);
  });

  it('a refused or failed write records nothing', async () => {
    const [owner, writer, stranger] = [await signInAs(t), await signInAs(t), await signInAs(t)];
    const tm = await buildThreatModel(t, owner, { shares: [[writer, 'writer']] });
    expect((await put(writer.accessToken, tm.id, [share(writer, 'writer'), share(stranger, 'reader')])).status).toBe(403);
    const stale = await call(t.app, 'PUT', `/threat_models/${tm.id}`, { token: owner.accessToken, headers: { 'if-match': '"999"' }, body: { name: 'x', authorization: [share(stranger, 'reader')] } });
    expect(stale.status).toBe(409);
    expect(await accessRows(tm.id)).toEqual([]);
  });
});

describe('ownership transfers', () => {
  it('POST /me/transfer: the account entry and one owner entry per model moved', async () => {
    const [from, to] = [await signInAs(t), await signInAs(t)];
    const one = await buildThreatModel(t, from);
    const two = await buildThreatModel(t, from);
    const res = await call(t.app, 'POST', '/me/transfer', { token: from.accessToken, body: { target_user_id: to.uuid } });
    expect(res.status).toBe(200);
    for (const tm of [one, two]) {
      const rows = await accessRows(tm.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'threat_model.owner_changed', actor_email: from.email, http_method: 'POST', http_path: '/me/transfer', field_path: `threat_models.${tm.id}.owner` });
      expect(rows[0]!.old_value.owner.provider_id).toBe(from.user);
      expect(rows[0]!.new_value.owner.provider_id).toBe(to.user);
      expect(rows[0]!.new_value.authorization).toContainEqual(entry(from, 'writer'));
    }
    const account = await t.ctx.db.query<{ action: string }>('SELECT action FROM system_audit WHERE target_type = $1 AND target_id = $2', ['user', from.uuid]);
    expect(account.map((r) => r.action)).toEqual(['user.ownership_transferred']);
  });

  it('POST /admin/users/{id}/transfer: the same, with the administrator as actor', async () => {
    const [from, to] = [await signInAs(t), await signInAs(t)];
    const tm = await buildThreatModel(t, from);
    const res = await call(t.app, 'POST', `/admin/users/${from.uuid}/transfer`, { token: admin.accessToken, body: { target_user_id: to.uuid } });
    expect(res.status).toBe(200);
    const rows = await accessRows(tm.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'threat_model.owner_changed', actor_email: admin.email, http_path: '/admin/users/:user_id/transfer' });
  });
  it('DELETE /admin/users/{id}?transfer_to=: each model given away has its owner entry', async () => {
    const [leaving, heir] = [await signInAs(t), await signInAs(t)];
    const tm = await buildThreatModel(t, leaving);
    const res = await call(t.app, 'DELETE', `/admin/users/${leaving.uuid}?transfer_to=${heir.uuid}`, { token: admin.accessToken });
    expect(res.status).toBe(204);
    const rows = await accessRows(tm.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'threat_model.owner_changed', actor_email: admin.email, http_method: 'DELETE', http_path: '/admin/users/:user_id' });
    expect(rows[0]!.old_value.owner.provider_id).toBe(leaving.user);
    expect(rows[0]!.new_value.owner.provider_id).toBe(heir.user);
    expect(ids(rows[0]!.new_value.authorization)).not.toContain(leaving.user);
  });
});

describe('reading them', () => {
  it('GET /admin/audit/system filters them by field_path prefix and action', async () => {
    const [owner, friend, heir] = [await signInAs(t), await signInAs(t), await signInAs(t)];
    const tm = await buildThreatModel(t, owner);
    await put(owner.accessToken, tm.id, [share(friend, 'reader')]);
    await jsonPatch(owner.accessToken, tm.id, [{ op: 'replace', path: '/owner', value: { principal_type: 'user', provider: 'tmi', provider_id: heir.user } }]);
    const get = (q: string) => call(t.app, 'GET', `/admin/audit/system?${q}`, { token: admin.accessToken });
    const all = await get(`field_path=threat_models.${tm.id}`);
    expect(all.status).toBe(200);
    expect(all.body.entries.map((e: any) => e.action)).toEqual(['threat_model.owner_changed', 'threat_model.access_changed']);
    expect(JSON.parse(all.body.entries[1].new_value_redacted).authorization).toContainEqual(entry(friend, 'reader'));
    expect((await get(`field_path=threat_models.${tm.id}.authorization`)).body.total).toBe(1);
    expect((await get(`action=threat_model.owner_changed&target_id=${tm.id}`)).body.total).toBe(1);
    const refused = await call(t.app, 'GET', `/admin/audit/system?field_path=threat_models.${tm.id}`, { token: owner.accessToken });
    expect(refused.status).toBe(403);
  });
});
