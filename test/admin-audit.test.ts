// The administrators' audit views (issue 14): /admin/audit/system (administrative writes and
// administrators' sign-ins, with actor, time, target, before and after; filters; keyset pages) and
// /admin/audit/threat_models (every model's trail); the retention pruner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, uniqueUser, type SignedIn, type TestApp } from './support/app.ts';
import { modelOf, serviceAccountToken, startAdminApp, uuidOf } from './support/admin.ts';
import { pruneSystemAudit } from '../server/admin/audit-routes.ts';
import { recordSystemAudit } from '../server/admin/system-audit.ts';

let t: TestApp;
let admin: SignedIn;
// A database of its own: these tests count administrators (the last one is kept) and system audit entries.
beforeAll(async () => ({ t, admin } = await startAdminApp({ freshDatabase: true })));
afterAll(async () => t?.close());

describe('/admin/audit/system', () => {
  it('administrators only; not service accounts', async () => {
    const someone = await signIn(t.app);
    const sa = await serviceAccountToken(t, admin);
    for (const url of ['/admin/audit/system', '/admin/audit/threat_models', '/admin/audit/system/6f1d2c3b-0000-4000-8000-000000000000']) {
      expect((await call(t.app, 'GET', url)).status).toBe(401);
      expect((await call(t.app, 'GET', url, { token: someone.accessToken })).status).toBe(403);
      expect((await call(t.app, 'GET', url, { token: sa })).status).toBe(403);
    }
  });

  it('records an administrator\'s sign-in and changes with actor, target, before and after', async () => {
    const second = await signIn(t.app, admin.user);
    const signIns = await call(t.app, 'GET', `/admin/audit/system?action=admin.signed_in&actor_email=${encodeURIComponent(admin.email)}`, { token: second.accessToken });
    expect(signIns.status).toBe(200);
    expect(signIns.body.total).toBeGreaterThanOrEqual(2);
    expect(signIns.body.entries[0]).toMatchObject({ actor: { email: admin.email, provider: 'tmi', provider_id: admin.user }, action: 'admin.signed_in' });
    const u = await signIn(t.app);
    const uuid = await uuidOf(t, u);
    await call(t.app, 'PATCH', `/admin/users/${uuid}`, { token: admin.accessToken, body: { name: 'Audited Name' } });
    const list = await call(t.app, 'GET', `/admin/audit/system?target_id=${uuid}`, { token: admin.accessToken });
    expect(list.body.total).toBe(1);
    const entry = list.body.entries[0];
    expect(entry).toMatchObject({ http_method: 'PATCH', http_path: '/admin/users/:user_id', field_path: `users.${uuid}`, action: 'user.updated', target_type: 'user', target_id: uuid });
    expect(JSON.parse(entry.new_value_redacted)).toEqual({ name: 'Audited Name' });
    expect(JSON.parse(entry.old_value_redacted)).toEqual({ name: expect.any(String) });
    const one = await call(t.app, 'GET', `/admin/audit/system/${entry.id}`, { token: admin.accessToken });
    expect(one.body).toEqual(entry);
    expect((await call(t.app, 'GET', `/admin/audit/system?http_method=PATCH&path_prefix=/admin/users&target_id=${uuid}`, { token: admin.accessToken })).body.total).toBe(1);
    expect((await call(t.app, 'GET', `/admin/audit/system?http_method=DELETE&target_id=${uuid}`, { token: admin.accessToken })).body.total).toBe(0);
    expect((await call(t.app, 'GET', '/admin/audit/system/6f1d2c3b-0000-4000-8000-000000000000', { token: admin.accessToken })).status).toBe(404);
  });

  it('redacts secret-looking fields before they are stored', async () => {
    const id = await recordSystemAudit(t.ctx.db, {
      actor: { userUuid: null, email: 'ops@example.com', provider: 'tmi', providerId: 'ops', name: 'Ops' },
      action: 'settings.updated',
      method: 'PUT',
      path: '/admin/settings/:key',
      targetType: 'setting',
      targetId: 'auth.oauth.providers.corp.client_secret',
      fieldPath: 'system_settings.auth.oauth.providers.corp.client_secret',
      before: 'old-secret',
      after: { nested: { password: 'hunter2', visible: 'yes' } },
      summary: 'secret changed',
    });
    const stored = await t.ctx.db.query<{ old_value: any; new_value: any }>('SELECT old_value, new_value FROM system_audit WHERE id = $1', [id]);
    expect(stored[0]!.old_value).toEqual({ redacted: true, sha256_prefix: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(JSON.stringify(stored[0])).not.toContain('hunter2');
    expect(JSON.stringify(stored[0])).not.toContain('old-secret');
  });

  it('pages newest first with an opaque cursor; a forged cursor is 400', async () => {
    const tag = `page-${uniqueUser('p')}`;
    for (let i = 0; i < 5; i++) {
      await recordSystemAudit(t.ctx.db, {
        actor: { userUuid: null, email: 'ops@example.com', provider: 'tmi', providerId: 'ops', name: 'Ops' },
        action: 'test.page',
        method: 'POST',
        path: '/admin/test',
        targetType: 'test',
        targetId: tag,
        fieldPath: `test.${i}`,
        summary: `entry ${i}`,
      });
      // Entries of the same instant come in id order; PGlite's clock has millisecond resolution.
      await new Promise((r) => setTimeout(r, 3));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: any = await call(t.app, 'GET', `/admin/audit/system?target_id=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(5);
      seen.push(...res.body.entries.map((e: any) => e.field_path));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(['test.4', 'test.3', 'test.2', 'test.1', 'test.0']);
    for (const q of ['cursor=bm9wZQ', 'limit=0', 'limit=101', 'http_method=GET', 'created_after=soon']) {
      const res = await call(t.app, 'GET', `/admin/audit/system?${q}`, { token: admin.accessToken });
      expect(res.status, q).toBe(400);
      errorOf(res);
    }
  });

  it('the pruner deletes entries older than the retention, and only those', async () => {
    const tag = `prune-${uniqueUser('p')}`;
    const oldId = await recordSystemAudit(t.ctx.db, { actor: { userUuid: null, email: 'a@b.co', provider: 'tmi', providerId: 'a', name: 'A' }, action: 'test.prune', method: 'POST', path: '/x', targetType: 'test', targetId: tag, fieldPath: 'old', summary: 'old' });
    const newId = await recordSystemAudit(t.ctx.db, { actor: { userUuid: null, email: 'a@b.co', provider: 'tmi', providerId: 'a', name: 'A' }, action: 'test.prune', method: 'POST', path: '/x', targetType: 'test', targetId: tag, fieldPath: 'new', summary: 'new' });
    await t.ctx.db.query("UPDATE system_audit SET created_at = now() - interval '400 days' WHERE id = $1", [oldId]);
    expect(await pruneSystemAudit(t.ctx.db, t.config.auth.systemAuditRetentionDays)).toBeGreaterThanOrEqual(1);
    const left = await t.ctx.db.query<{ id: string }>('SELECT id FROM system_audit WHERE target_id = $1', [tag]);
    expect(left.map((r) => r.id)).toEqual([newId]);
    expect(t.config.auth.systemAuditRetentionDays).toBe(365);
  });
});

describe('/admin/audit/threat_models', () => {
  it('lists every model\'s trail with filters, and reads one entry', async () => {
    const owner = await signIn(t.app);
    const tm = await modelOf(t, owner, 'audited model');
    await call(t.app, 'PATCH', `/threat_models/${tm}`, { token: owner.accessToken, raw: JSON.stringify([{ op: 'replace', path: '/description', value: 'x' }]), contentType: 'application/json-patch+json' });
    const list = await call(t.app, 'GET', `/admin/audit/threat_models?threat_model_id=${tm}`, { token: admin.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(2);
    expect(list.body.entries.map((e: any) => e.change_type)).toEqual(['patched', 'created']);
    expect(list.body.entries[0].actor).toMatchObject({ email: owner.email });
    expect((await call(t.app, 'GET', `/admin/audit/threat_models?threat_model_id=${tm}&change_type=created`, { token: admin.accessToken })).body.total).toBe(1);
    expect((await call(t.app, 'GET', `/admin/audit/threat_models?actor_email=${encodeURIComponent(owner.email)}`, { token: admin.accessToken })).body.total).toBe(2);
    const one = await call(t.app, 'GET', `/admin/audit/threat_models/${list.body.entries[1].id}`, { token: admin.accessToken });
    expect(one.body).toMatchObject({ id: list.body.entries[1].id, threat_model_id: tm, change_type: 'created' });
    expect((await call(t.app, 'GET', '/admin/audit/threat_models?object_type=cake', { token: admin.accessToken })).status).toBe(400);
  });
});
