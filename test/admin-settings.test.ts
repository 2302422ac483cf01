// Runtime settings (issue 14): /admin/settings[/{key}] and POST /admin/settings/reencrypt for
// administrators (step-up for writes, never service accounts); bad input refused with the envelope
// and nothing written; environment > database > default; secrets masked everywhere (the PUT answer
// too) and encrypted at rest (AES-256-GCM), key rotation with the previous key and re-encryption;
// a change takes effect without a restart, on a second instance too; every write audited.
//
// The settings table is server-wide, and on PostgreSQL every test file shares one database: the
// tests write their own random keys, and of the server's own settings only those whose effect no
// other file can notice (the audit retention, the metrics token, which other files set in their
// environment); the reviewer setting is changed on a database of its own (PGlite only).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, PRODUCTION_ENV, signIn, startTestApp, uniqueUser, usingPostgres, type SignedIn, type TestApp } from './support/app.ts';
import { agedToken, serviceAccountToken, startAdminApp, uuidOf } from './support/admin.ts';

const KEY1 = randomBytes(32).toString('hex');
const KEY2 = randomBytes(32).toString('hex');
const rand = () => randomBytes(4).toString('hex');
/** A key of this run only (letters first, as the key pattern asks). */
const ownKey = (name: string) => `test.r${rand()}.${name}`;

let t: TestApp;
let admin: SignedIn;
const adminName = uniqueUser('admin');
const extra: TestApp[] = [];

async function start(env: Record<string, string> = {}, opts: Parameters<typeof startTestApp>[1] = {}): Promise<TestApp> {
  const app = await startTestApp({ TMI_ADMINISTRATORS: `tmi:${adminName}`, ...env }, opts);
  extra.push(app);
  return app;
}

// Other instances of this file write too: a short cache lets this one see their writes soon (no shared bus without Redis).
beforeAll(async () => ({ t, admin } = await startAdminApp({ adminName, env: { TMI_SECRET_SETTINGS_ENCRYPTION_KEY: KEY1 }, settingsCacheMs: 100 })));
afterAll(async () => {
  for (const a of extra) await a.close();
  await t?.close();
});

const put = (app: TestApp, key: string, body: unknown, token = admin.accessToken) => call(app.app, 'PUT', `/admin/settings/${key}`, { token, body });
const get = (app: TestApp, key: string, token = admin.accessToken) => call(app.app, 'GET', `/admin/settings/${key}`, { token });
const rowOf = async (app: TestApp, key: string) => (await app.ctx.db.query<{ value: string }>('SELECT value FROM system_settings WHERE key = $1', [key]))[0];

describe('/admin/settings: who may', () => {
  it('administrators only, a recent sign-in for writes, never service accounts; nothing written', async () => {
    const key = ownKey('who');
    const u = await signIn(t.app);
    const sa = await serviceAccountToken(t, admin);
    const stale = await agedToken(t, admin.accessToken, 3600);
    const body = { value: 'x', type: 'string' };
    const routes = [
      ['GET', '/admin/settings'],
      ['GET', `/admin/settings/${key}`],
      ['PUT', `/admin/settings/${key}`],
      ['DELETE', `/admin/settings/${key}`],
      ['POST', '/admin/settings/reencrypt'],
    ] as const;
    for (const [method, url] of routes) {
      const b = method === 'PUT' ? body : undefined;
      expect((await call(t.app, method, url, { body: b })).status, `${method} ${url}`).toBe(401);
      const plain = await call(t.app, method, url, { token: u.accessToken, body: b });
      expect(plain.status).toBe(403);
      errorOf(plain);
      expect((await call(t.app, method, url, { token: sa, body: b })).status).toBe(403);
      if (method !== 'GET') {
        const res = await call(t.app, method, url, { token: stale, body: b });
        expect(res.status).toBe(401);
        expect(errorOf(res).error).toBe('insufficient_user_authentication');
      }
    }
    expect(await rowOf(t, key)).toBeUndefined();
  });
});

describe('/admin/settings: input', () => {
  it('refuses bad keys and bodies with the envelope, writes nothing, and never repeats the value', async () => {
    const key = ownKey('bad');
    const secretKey = ownKey('smtp_password');
    const bad: [string, unknown][] = [
      [key, { value: 'x' }],
      [key, { type: 'string' }],
      [key, { value: 1, type: 'int' }],
      [key, { value: 'x', type: 'text' }],
      [key, { value: 'x', type: 'string', extra: true }],
      [key, { value: 'x'.repeat(4001), type: 'string' }],
      [key, { value: 'x', type: 'string', description: 'd'.repeat(2049) }],
      [key, { value: '', type: 'string' }],
      [key, { value: 'twelve', type: 'int' }],
      [key, { value: '1.5.2', type: 'float' }],
      [key, { value: 'yes', type: 'bool' }],
      [key, { value: '{not json', type: 'json' }],
      ['Upper.case', { value: 'x', type: 'string' }],
      ['9starts.with.digit', { value: 'x', type: 'string' }],
      ['has-dash', { value: 'x', type: 'string' }],
      [`k${'a'.repeat(256)}`, { value: 'x', type: 'string' }],
      ['reencrypt', { value: 'x', type: 'string' }],
      ['database.url', { value: 'postgres://elsewhere', type: 'string' }],
      ['auth.jwt.secret', { value: 'my-own-jwt-secret-value', type: 'string' }],
      ['audit.system_retention_days', { value: '30', type: 'int' }],
      ['audit.system_retention_days', { value: '365', type: 'string' }],
      ['observability.metrics_token', { value: 'short-leak', type: 'string' }],
      [secretKey, { value: 'SuperSecretLeak{', type: 'json' }],
    ];
    for (const [k, body] of bad) {
      const res = await put(t, k, body);
      expect(res.status, `${k} ${JSON.stringify(body).slice(0, 80)}`).toBe(400);
      const e = errorOf(res);
      const value = (body as { value?: unknown }).value;
      if (typeof value === 'string' && value.length > 3) expect(res.text).not.toContain(value);
      expect(e.error_description.length).toBeGreaterThan(0);
    }
    expect(errorOf(await put(t, 'reencrypt', { value: 'x', type: 'string' })).error).toBe('reserved_key');
    expect(errorOf(await get(t, 'reencrypt')).error).toBe('reserved_key');
    expect((await call(t.app, 'DELETE', '/admin/settings/reencrypt', { token: admin.accessToken })).status).toBe(400);
    const malformed = await call(t.app, 'PUT', `/admin/settings/${key}`, { token: admin.accessToken, raw: '{"value":', contentType: 'application/json' });
    expect(malformed.status).toBe(400);
    errorOf(malformed);
    const wrongType = await call(t.app, 'PUT', `/admin/settings/${key}`, { token: admin.accessToken, raw: 'value=x', contentType: 'text/plain' });
    expect(wrongType.status).toBe(415);
    errorOf(wrongType);
    for (const k of [key, secretKey, 'reencrypt', 'database.url', 'auth.jwt.secret', 'audit.system_retention_days', 'observability.metrics_token']) {
      expect(await rowOf(t, k), k).toBeUndefined();
    }
    expect((await get(t, 'database.url')).status).toBe(404);
    expect((await get(t, key)).status).toBe(404);
    expect((await call(t.app, 'DELETE', `/admin/settings/${key}`, { token: admin.accessToken })).status).toBe(404);
    const audit = await t.ctx.db.query("SELECT 1 FROM system_audit WHERE field_path LIKE 'system_settings.' || $1 || '%'", [key]);
    expect(audit).toEqual([]);
  });

  it('re-encryption takes no body', async () => {
    const res = await call(t.app, 'POST', '/admin/settings/reencrypt', { token: admin.accessToken, body: {} });
    expect(res.status).toBe(400);
    expect(errorOf(res).error).toBe('invalid_request');
  });
});

describe('/admin/settings: values', () => {
  it('stores, reads, lists, updates and removes any key; each write audited', async () => {
    const key = ownKey('feature.limit');
    const made = await put(t, key, { value: '42', type: 'int', description: 'A limit of this test' });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ key, value: '42', type: 'int', description: 'A limit of this test', source: 'database', read_only: false, modified_by: await uuidOf(t, admin) });
    expect(Date.parse(made.body.modified_at)).toBeGreaterThan(Date.now() - 60_000);
    expect((await get(t, key)).body).toEqual(made.body);
    expect((await put(t, key, { value: '43', type: 'int' })).body.value).toBe('43');
    const list = await call(t.app, 'GET', '/admin/settings', { token: admin.accessToken });
    expect(list.status).toBe(200);
    const keys = list.body.map((s: { key: string }) => s.key);
    expect(keys).toEqual([...keys].sort());
    expect(list.body.find((s: { key: string }) => s.key === key)).toMatchObject({ value: '43', source: 'database' });
    expect(keys.some((k: string) => /^(database|redis|auth\.jwt)/.test(k))).toBe(false);
    expect((await call(t.app, 'DELETE', `/admin/settings/${key}`, { token: admin.accessToken })).status).toBe(204);
    expect((await get(t, key)).status).toBe(404);
    const audit = await t.ctx.db.query<{ action: string; http_method: string; http_path: string; old_value: unknown; new_value: unknown; actor_email: string }>(
      'SELECT action, http_method, http_path, old_value, new_value, actor_email FROM system_audit WHERE field_path = $1 ORDER BY created_at, action DESC',
      [`system_settings.${key}`],
    );
    expect(audit.map((a) => a.action)).toEqual(['settings.updated', 'settings.updated', 'settings.deleted']);
    expect(audit[0]).toMatchObject({ http_method: 'PUT', http_path: '/admin/settings/:key', old_value: null, new_value: { value: '42', type: 'int' } });
    expect(audit[1]).toMatchObject({ old_value: { value: '42', type: 'int' }, new_value: { value: '43', type: 'int' } });
    expect(audit[2]).toMatchObject({ http_method: 'DELETE', old_value: { value: '43', type: 'int' } });
  });

  it('masks secrets in the list, the get and the PUT answer; the audit log keeps only a hash', async () => {
    const key = ownKey('smtp_password');
    const secret = `pw-${rand()}-not-for-eyes`;
    const made = await put(t, key, { value: secret, type: 'string' });
    expect(made.status).toBe(200);
    expect(made.body.value).toBe('<configured>');
    expect(made.text).not.toContain(secret);
    expect((await get(t, key)).body.value).toBe('<configured>');
    const list = await call(t.app, 'GET', '/admin/settings', { token: admin.accessToken });
    expect(list.text).not.toContain(secret);
    expect(list.body.find((s: { key: string }) => s.key === key).value).toBe('<configured>');
    // The server's own secret setting, unset here: shown as such.
    expect(list.body.find((s: { key: string }) => s.key === 'observability.metrics_token')).toMatchObject({ value: '<not configured>', source: 'config' });
    const audit = await t.ctx.db.query<{ new_value: unknown }>('SELECT new_value FROM system_audit WHERE field_path = $1', [`system_settings.${key}`]);
    expect(JSON.stringify(audit)).not.toContain(secret);
    expect(audit[0]!.new_value).toMatchObject({ redacted: true, sha256_prefix: expect.stringMatching(/^[0-9a-f]{8}$/) });
    await call(t.app, 'DELETE', `/admin/settings/${key}`, { token: admin.accessToken });
  });

  it('encrypts every stored value at rest (AES-256-GCM, the setting bound to its key)', async () => {
    const key = ownKey('plain_word');
    const other = ownKey('plain_word2');
    const value = `visible-${rand()}`;
    expect((await put(t, key, { value, type: 'string' })).status).toBe(200);
    expect((await put(t, other, { value: 'other', type: 'string' })).status).toBe(200);
    const stored = (await rowOf(t, key))!.value;
    expect(stored).toMatch(/^ENC:v1:[0-9a-f]{8}:\d{10}:[A-Za-z0-9+/=]+$/);
    expect(stored).not.toContain(value);
    expect(Buffer.from(stored.split(':')[4]!, 'base64').toString('latin1')).not.toContain(value);
    expect((await get(t, key)).body.value).toBe(value);
    // A sealed value copied onto another setting does not open there.
    await t.ctx.db.query('UPDATE system_settings SET value = $2 WHERE key = $1', [other, stored]);
    await t.ctx.settings.reencrypt({ actor: { userUuid: null, email: '', provider: 'test', providerId: 'test', name: 'test' }, method: 'POST', path: 'test' }).then((r) => {
      expect(r.errors).toContainEqual({ key: other, error: expect.any(String) });
    });
    expect((await get(t, other)).body.value).toMatch(/^<encrypted/);
    for (const k of [key, other]) await call(t.app, 'DELETE', `/admin/settings/${k}`, { token: admin.accessToken });
  });
});

describe('precedence: environment > database > default', () => {
  it('a database value wins over the default, the environment over both (read-only, 409 on writes)', async () => {
    const key = 'audit.system_retention_days';
    const before = await get(t, key);
    expect(before.body).toMatchObject({ key, value: '365', type: 'int', source: 'config', read_only: false });
    expect(await t.ctx.settings.int(key)).toBe(365);
    expect((await put(t, key, { value: '400', type: 'int' })).body).toMatchObject({ value: '400', source: 'database' });
    expect(await t.ctx.settings.int(key)).toBe(400);

    const envApp = await start({ TMI_SYSTEM_AUDIT_RETENTION_DAYS: '500' });
    const envAdmin = await signIn(envApp.app, adminName);
    const shown = await get(envApp, key, envAdmin.accessToken);
    expect(shown.body).toMatchObject({ value: '500', source: 'environment', read_only: true });
    expect(await envApp.ctx.settings.int(key)).toBe(500);
    for (const method of ['PUT', 'DELETE'] as const) {
      const res = await call(envApp.app, method, `/admin/settings/${key}`, { token: envAdmin.accessToken, body: method === 'PUT' ? { value: '600', type: 'int' } : undefined });
      expect(res.status).toBe(409);
      expect(errorOf(res)).toEqual({ error: 'conflict', error_description: `Setting '${key}' is controlled by environment and cannot be modified via the API` });
    }
    expect((await rowOf(t, key))).toBeDefined();
    expect(await t.ctx.settings.int(key)).toBe(400);

    expect((await call(t.app, 'DELETE', `/admin/settings/${key}`, { token: admin.accessToken })).status).toBe(204);
    expect(await t.ctx.settings.int(key)).toBe(365);
    expect((await get(t, key)).body.source).toBe('config');
  });
});

describe('taking effect without a restart', () => {
  it('the metrics token opens /metrics at once, on a second instance too, and closes it when removed', async () => {
    const key = 'observability.metrics_token';
    const token = `metrics-${randomBytes(12).toString('hex')}`;
    const second = await start({ TMI_SECRET_SETTINGS_ENCRYPTION_KEY: KEY1 }, { settingsCacheMs: 200 });
    const someone = await signIn(t.app);
    expect((await call(t.app, 'GET', '/metrics', { token: someone.accessToken })).status).toBe(404);
    expect((await second.ctx.settings.value(key))).toBe('');
    const made = await put(t, key, { value: token, type: 'string' });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ value: '<configured>', source: 'database' });
    expect((await rowOf(t, key))!.value).not.toContain(token);
    const scrape = (app: TestApp) => call(app.app, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect((await scrape(t)).status).toBe(200);
    expect((await scrape(t)).text).toContain('# TYPE');
    await expect.poll(async () => (await scrape(second)).status, { timeout: 5000, interval: 100 }).toBe(200);
    expect((await call(t.app, 'DELETE', `/admin/settings/${key}`, { token: admin.accessToken })).status).toBe(204);
    expect((await scrape(t)).status).toBe(401);
    await expect.poll(async () => (await scrape(second)).status, { timeout: 5000, interval: 100 }).toBe(401);
  });

  it.skipIf(usingPostgres)('everyone becomes a security reviewer at once, and stops being one (own database)', async () => {
    const own = await start({ TMI_SECRET_SETTINGS_ENCRYPTION_KEY: KEY1 }, { freshDatabase: true });
    const ownAdmin = await signIn(own.app, adminName);
    const someone = await signIn(own.app);
    const me = async () => (await call(own.app, 'GET', '/me', { token: someone.accessToken })).body.is_security_reviewer;
    expect(await me()).toBe(false);
    expect((await put(own, 'auth.everyone_is_a_reviewer', { value: 'true', type: 'bool' }, ownAdmin.accessToken)).status).toBe(200);
    expect(await me()).toBe(true);
    expect((await call(own.app, 'DELETE', '/admin/settings/auth.everyone_is_a_reviewer', { token: ownAdmin.accessToken })).status).toBe(204);
    expect(await me()).toBe(false);
  });
});

describe('encryption keys', () => {
  it('rotation: the previous key still opens old rows, re-encryption moves them to the new key', async () => {
    const key = ownKey('rotated');
    expect((await put(t, key, { value: 'before-rotation', type: 'string' })).status).toBe(200);
    const sealedBy1 = (await rowOf(t, key))!.value;

    const rotating = await start({ TMI_SECRET_SETTINGS_ENCRYPTION_KEY: KEY2, TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY: KEY1 });
    const a2 = await signIn(rotating.app, adminName);
    expect((await get(rotating, key, a2.accessToken)).body.value).toBe('before-rotation');
    const res = await call(rotating.app, 'POST', '/admin/settings/reencrypt', { token: a2.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ reencrypted: expect.any(Number), errors: expect.any(Array), total: expect.any(Number) });
    expect(res.body.reencrypted + res.body.errors.length).toBe(res.body.total);
    expect(res.body.errors.map((e: { key: string }) => e.key)).not.toContain(key);
    const sealedBy2 = (await rowOf(t, key))!.value;
    expect(sealedBy2.split(':')[2]).not.toBe(sealedBy1.split(':')[2]);

    const rotated = await start({ TMI_SECRET_SETTINGS_ENCRYPTION_KEY: KEY2 });
    const a3 = await signIn(rotated.app, adminName);
    expect((await get(rotated, key, a3.accessToken)).body.value).toBe('before-rotation');
    // The old key alone no longer opens it.
    await expect.poll(async () => (await get(t, key)).body.value, { timeout: 3000, interval: 50 }).toMatch(/^<encrypted/);
    const audit = await t.ctx.db.query<{ change_summary: string }>("SELECT change_summary FROM system_audit WHERE action = 'settings.reencrypted' AND actor_provider_id = $1", [adminName]);
    expect(audit.length).toBeGreaterThan(0);
    await call(rotated.app, 'DELETE', `/admin/settings/${key}`, { token: a3.accessToken });
  });

  it('without a key: values stored as they are, re-encryption 409; production refuses plaintext secrets', async () => {
    const plainApp = await start();
    const a = await signIn(plainApp.app, adminName);
    const key = ownKey('no_encryption');
    expect((await put(plainApp, key, { value: 'in-the-clear', type: 'string' }, a.accessToken)).status).toBe(200);
    expect((await rowOf(plainApp, key))!.value).toBe('in-the-clear');
    const res = await call(plainApp.app, 'POST', '/admin/settings/reencrypt', { token: a.accessToken });
    expect(res.status).toBe(409);
    expect(errorOf(res)).toEqual({ error: 'encryption_not_enabled', error_description: 'Encryption is not enabled' });
    // A plaintext row is read as it is by a server with a key.
    await expect.poll(async () => (await get(t, key)).body.value, { timeout: 3000, interval: 50 }).toBe('in-the-clear');
    await call(t.app, 'DELETE', `/admin/settings/${key}`, { token: admin.accessToken });

    const prod = await start({ ...PRODUCTION_ENV });
    const p = await signIn(prod.app, adminName);
    const secretKey = ownKey('client_secret');
    const refused = await put(prod, secretKey, { value: 'would-be-plaintext', type: 'string' }, p.accessToken);
    expect(refused.status).toBe(400);
    expect(errorOf(refused).error_description).toMatch(/plaintext/);
    expect(refused.text).not.toContain('would-be-plaintext');
    expect(await rowOf(prod, secretKey)).toBeUndefined();
    const plainKey = ownKey('banner');
    expect((await put(prod, plainKey, { value: 'hello', type: 'string' }, p.accessToken)).status).toBe(200);
    await call(prod.app, 'DELETE', `/admin/settings/${plainKey}`, { token: p.accessToken });
  });
});
