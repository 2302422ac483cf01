// Service accounts: client credentials created by a user (administrators and security reviewers,
// as the reference) or by an administrator for a user, the secret shown once and stored as a slow
// hash, grant_type=client_credentials with JSON, form and HTTP Basic bodies, no refresh token, no
// administrator role, revoked at once on delete, expiry, the lockout, automation accounts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { call, errorOf, signIn, startTestApp, uniqueUser, type TestApp } from './support/app.ts';

let t: TestApp;
let admin: string;

beforeAll(async () => {
  admin = uniqueUser('admin');
  t = await startTestApp({ TMI_ADMINISTRATORS: `tmi:${admin}` });
});
afterAll(async () => {
  await t?.close();
});

const grant = (body: Record<string, string>, form = false, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json', ...headers },
    payload: form ? new URLSearchParams(body).toString() : JSON.stringify(body),
  });

describe('client credentials', () => {
  it('are for administrators and security reviewers; the secret is shown once and stored only as a scrypt hash', async () => {
    const plain = await signIn(t.app);
    const refused = await call(t.app, 'POST', '/me/client_credentials', { token: plain.accessToken, body: { name: 'ci' } });
    expect(refused.status).toBe(403);
    expect((await call(t.app, 'POST', '/me/client_credentials', { body: { name: 'ci' } })).status).toBe(401);

    const a = await signIn(t.app, admin);
    const created = await call(t.app, 'POST', '/me/client_credentials', { token: a.accessToken, body: { name: 'CI pipeline', description: 'builds' } });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), client_id: expect.stringMatching(/^tmi_cc_[0-9a-f]+$/), client_secret: expect.any(String), name: 'CI pipeline' });
    const stored = await t.ctx.db.query<{ secret_hash: string }>('SELECT secret_hash FROM client_credentials WHERE id = $1', [created.body.id]);
    expect(stored[0]!.secret_hash).toMatch(/^scrypt\$/);
    expect(stored[0]!.secret_hash).not.toContain(created.body.client_secret);

    const list = await call(t.app, 'GET', '/me/client_credentials', { token: a.accessToken });
    expect(list.body).toMatchObject({ total: 1, limit: 20, offset: 0 });
    expect(list.body.credentials[0]).toMatchObject({ id: created.body.id, is_active: true, description: 'builds' });
    expect(JSON.stringify(list.body)).not.toContain(created.body.client_secret);

    expect(errorOf(await call(t.app, 'POST', '/me/client_credentials', { token: a.accessToken, body: { name: 'x', expires_at: '2001-01-01T00:00:00Z' } })).error).toBe('invalid_input');
    expect(errorOf(await call(t.app, 'POST', '/me/client_credentials', { token: a.accessToken, body: { name: 'x', extra: 1 } })).error).toBe('invalid_input');
  });

  it('exchange for a token (JSON, form, HTTP Basic) that acts as the owner without the administrator role and gets no refresh token', async () => {
    const a = await signIn(t.app, admin);
    const c = (await call(t.app, 'POST', '/me/client_credentials', { token: a.accessToken, body: { name: 'grants' } })).body;
    const json = await grant({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json()).toMatchObject({ refresh_token: '', token_type: 'Bearer', expires_in: expect.any(Number) });
    expect(json.headers['set-cookie']).toBeUndefined();
    const claims = decodeJwt(json.json().access_token);
    expect(claims).toMatchObject({ sub: `sa:${c.id}:${admin}`, idp: 'tmi', name: '[Service Account] grants', tmi_is_administrator: false });

    const form = await grant({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }, true);
    expect(form.statusCode).toBe(200);
    const basic = await grant({ grant_type: 'client_credentials' }, true, { authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}` });
    expect(basic.statusCode).toBe(200);

    const token = json.json().access_token;
    // It works as its owner on ordinary routes ...
    const tm = await call(t.app, 'POST', '/threat_models', { token, body: { name: `sa ${randomBytes(3).toString('hex')}` } });
    expect(tm.status, tm.text).toBe(201);
    // ... and is refused where an administrator or an interactive sign-in is required.
    const someone = await t.ctx.users.forToken('tmi', admin);
    const adminRoute = await call(t.app, 'GET', `/admin/users/${someone!.user.internal_uuid}/client_credentials`, { token });
    expect(adminRoute.status).toBe(403);
    expect(errorOf(adminRoute).error_description).toContain('interactive');
    expect((await call(t.app, 'POST', '/me/client_credentials', { token, body: { name: 'more' } })).status).toBe(403);
    expect((await call(t.app, 'GET', '/me/identities', { token })).status).toBe(403);
    expect((await call(t.app, 'POST', '/oauth2/token', { body: { grant_type: 'refresh_token', refresh_token: '' } })).status).toBe(400);
  });

  it('are revoked at once on delete, tokens included; a wrong secret is 401 and five failures lock the client id', async () => {
    const a = await signIn(t.app, admin);
    const c = (await call(t.app, 'POST', '/me/client_credentials', { token: a.accessToken, body: { name: 'short-lived' } })).body;
    const token = (await grant({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret })).json().access_token;
    expect((await call(t.app, 'GET', '/threat_models', { token })).status).toBe(200);
    const other = await signIn(t.app);
    expect((await call(t.app, 'DELETE', `/me/client_credentials/${c.id}`, { token: other.accessToken })).status).toBe(404);
    expect((await call(t.app, 'DELETE', `/me/client_credentials/${c.id}`, { token: a.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', '/threat_models', { token })).status).toBe(401);
    const after = await grant({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
    expect(after.statusCode).toBe(401);
    expect(after.json().error).toBe('invalid_client');

    const d = (await call(t.app, 'POST', '/me/client_credentials', { token: a.accessToken, body: { name: 'locked' } })).body;
    for (let i = 0; i < 5; i++) expect((await grant({ grant_type: 'client_credentials', client_id: d.client_id, client_secret: 'wrong' })).statusCode).toBe(401);
    const locked = await grant({ grant_type: 'client_credentials', client_id: d.client_id, client_secret: d.client_secret });
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBeDefined();
    expect((await grant({ grant_type: 'client_credentials', client_id: d.client_id })).statusCode).toBe(400);
  });

  it('expire: a token never outlives its credential, and an expired credential is refused', async () => {
    const a = await signIn(t.app, admin);
    const soon = new Date(Date.now() + 2500).toISOString();
    const c = (await call(t.app, 'POST', '/me/client_credentials', { token: a.accessToken, body: { name: 'expiring', expires_at: soon } })).body;
    const res = await grant({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
    expect(res.json().expires_in).toBeLessThanOrEqual(3);
    // Until just past the expiry, not a fixed while.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(soon) - Date.now()) + 100));
    expect((await grant({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret })).statusCode).toBe(401);
  });

  it('administrators manage other users\' credentials and create automation accounts (with a credential, not interactive)', async () => {
    const a = await signIn(t.app, admin);
    const user = await signIn(t.app);
    const uuid = (await t.ctx.users.forToken('tmi', user.user))!.user.internal_uuid;
    expect((await call(t.app, 'GET', `/admin/users/${uuid}/client_credentials`, { token: user.accessToken })).status).toBe(403);
    const made = await call(t.app, 'POST', `/admin/users/${uuid}/client_credentials`, { token: a.accessToken, body: { name: 'for them' } });
    expect(made.status).toBe(201);
    expect((await call(t.app, 'GET', '/me/client_credentials', { token: user.accessToken })).body.total).toBe(1);
    expect((await call(t.app, 'DELETE', `/admin/users/${uuid}/client_credentials/${made.body.id}`, { token: a.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', `/admin/users/${uuid}/client_credentials`, { token: a.accessToken })).body.total).toBe(0);

    const name = `bot${randomBytes(3).toString('hex')}`;
    const auto = await call(t.app, 'POST', '/admin/users/automation', { token: a.accessToken, body: { name } });
    expect(auto.status, auto.text).toBe(201);
    expect(auto.body.user).toMatchObject({ provider: 'tmi', provider_user_id: `tmi-automation-${name}`, automation: true, groups: ['tmi-automation'] });
    expect((await call(t.app, 'POST', '/admin/users/automation', { token: a.accessToken, body: { name } })).status).toBe(409);
    const botToken = await grant({ grant_type: 'client_credentials', client_id: auto.body.client_credential.client_id, client_secret: auto.body.client_credential.client_secret });
    expect(decodeJwt(botToken.json().access_token).sub).toBe(`sa:${auto.body.client_credential.id}:tmi-automation-${name}`);
  });
});
