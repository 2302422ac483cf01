// Per-user quotas (issue 14): /admin/quotas/{users|webhooks|addons}[/{user_id}] for administrators
// (step-up for writes), the reference's bounds (400, nothing written), 201 on create and 200 on
// update, 404 without a row, audited; the API request quota enforced with 429 and Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, type SignedIn, type TestApp } from './support/app.ts';
import { agedToken, serviceAccountToken, startAdminApp, uuidOf } from './support/admin.ts';

let t: TestApp;
let admin: SignedIn;
beforeAll(async () => ({ t, admin } = await startAdminApp()));
afterAll(async () => t?.close());

describe('/admin/quotas', () => {
  it('administrators only, recent sign-in for writes, never service accounts', async () => {
    const u = await signIn(t.app);
    const uuid = await uuidOf(t, u);
    const sa = await serviceAccountToken(t, admin);
    const stale = await agedToken(t, admin.accessToken, 3600);
    const body = { max_requests_per_minute: 5 };
    for (const [method, url] of [['GET', '/admin/quotas/users'], ['GET', `/admin/quotas/users/${uuid}`], ['PUT', `/admin/quotas/users/${uuid}`], ['DELETE', `/admin/quotas/users/${uuid}`]] as const) {
      expect((await call(t.app, method, url, { body: method === 'PUT' ? body : undefined })).status).toBe(401);
      expect((await call(t.app, method, url, { token: u.accessToken, body: method === 'PUT' ? body : undefined })).status).toBe(403);
      expect((await call(t.app, method, url, { token: sa, body: method === 'PUT' ? body : undefined })).status).toBe(403);
      if (method !== 'GET') expect((await call(t.app, method, url, { token: stale, body: method === 'PUT' ? body : undefined })).status).toBe(401);
    }
    expect(await t.ctx.db.query('SELECT 1 FROM user_quotas WHERE user_uuid = $1', [uuid])).toEqual([]);
  });

  it('sets, reads, lists, updates and removes each kind; bounds are refused and nothing is written', async () => {
    const u = await signIn(t.app);
    const uuid = await uuidOf(t, u);
    const cases = {
      users: { ok: { max_requests_per_minute: 100, max_requests_per_hour: 1000 }, bad: [{ max_requests_per_minute: 0 }, { max_requests_per_minute: 10_001 }, { max_requests_per_hour: 5 }, { max_requests_per_minute: 'many' }, { max_requests_per_minute: 5, extra: 1 }], idField: 'user_id' },
      webhooks: { ok: { max_subscriptions: 5, max_events_per_minute: 50, max_subscription_requests_per_minute: 5, max_subscription_requests_per_day: 100 }, bad: [{ max_subscriptions: 101, max_events_per_minute: 1, max_subscription_requests_per_minute: 1, max_subscription_requests_per_day: 1 }, { max_subscriptions: 1 }], idField: 'owner_id' },
      addons: { ok: { max_active_invocations: 2, max_invocations_per_hour: 20 }, bad: [{ max_active_invocations: 11, max_invocations_per_hour: 1 }, { max_active_invocations: 1 }], idField: 'owner_id' },
    } as const;
    for (const [kind, c] of Object.entries(cases)) {
      const url = `/admin/quotas/${kind}/${uuid}`;
      expect((await call(t.app, 'GET', url, { token: admin.accessToken })).status).toBe(404);
      for (const bad of c.bad) {
        const res = await call(t.app, 'PUT', url, { token: admin.accessToken, body: bad });
        expect(res.status, `${kind} ${JSON.stringify(bad)}`).toBe(400);
        errorOf(res);
      }
      const malformed = await call(t.app, 'PUT', url, { token: admin.accessToken, raw: '{"x":', contentType: 'application/json' });
      expect(malformed.status).toBe(400);
      expect(await t.ctx.db.query('SELECT 1 FROM user_quotas WHERE user_uuid = $1 AND kind = $2', [uuid, kind])).toEqual([]);
      const made = await call(t.app, 'PUT', url, { token: admin.accessToken, body: c.ok });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ [c.idField]: uuid, ...c.ok });
      expect((await call(t.app, 'PUT', url, { token: admin.accessToken, body: c.ok })).status).toBe(200);
      expect((await call(t.app, 'GET', url, { token: admin.accessToken })).body).toMatchObject(c.ok);
      const list = await call(t.app, 'GET', `/admin/quotas/${kind}?limit=1000`, { token: admin.accessToken });
      expect(list.body.quotas.some((q: any) => q[c.idField] === uuid)).toBe(true);
      expect(Object.keys(list.body.defaults).length).toBeGreaterThan(0);
      expect((await call(t.app, 'DELETE', url, { token: admin.accessToken })).status).toBe(204);
      expect((await call(t.app, 'DELETE', url, { token: admin.accessToken })).status).toBe(404);
    }
    expect((await call(t.app, 'PUT', '/admin/quotas/users/6f1d2c3b-0000-4000-8000-000000000000', { token: admin.accessToken, body: { max_requests_per_minute: 5 } })).status).toBe(404);
    const audit = await t.ctx.db.query<{ action: string }>("SELECT action FROM system_audit WHERE target_id = $1 AND action LIKE 'quota.%' ORDER BY created_at", [uuid]);
    expect(audit.map((a) => a.action)).toEqual(['quota.updated', 'quota.updated', 'quota.deleted', 'quota.updated', 'quota.updated', 'quota.deleted', 'quota.updated', 'quota.updated', 'quota.deleted']);
  });

  it('enforces a user\'s API request quota with 429 and clear text; removing it restores the default', async () => {
    const u = await signIn(t.app);
    const uuid = await uuidOf(t, u);
    expect((await call(t.app, 'PUT', `/admin/quotas/users/${uuid}`, { token: admin.accessToken, body: { max_requests_per_minute: 3 } })).status).toBe(201);
    const statuses: number[] = [];
    let refused;
    for (let i = 0; i < 4; i++) {
      const res = await call(t.app, 'GET', '/threat_models', { token: u.accessToken });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(errorOf(refused!).error).toBe('rate_limit_exceeded');
    expect(refused!.body.error_description).toContain('3 requests per minute');
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThan(0);
    // Another user is not affected.
    const other = await signIn(t.app);
    expect((await call(t.app, 'GET', '/threat_models', { token: other.accessToken })).status).toBe(200);
    expect((await call(t.app, 'DELETE', `/admin/quotas/users/${uuid}`, { token: admin.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', '/threat_models', { token: u.accessToken })).status).toBe(200);
  });
});
