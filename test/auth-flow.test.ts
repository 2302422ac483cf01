// Sign-in and sessions: the OAuth broker (PKCE S256, state, client_callback allow-list, single-use
// codes), refresh rotation and reuse detection, logout, cookies, bearer-vs-cookie, RFC 7009
// revocation, RFC 7662 introspection, /me and administrators, JWKS for every signing method,
// discovery documents, and an upstream OpenID Connect provider end to end.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, type JWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../server/config.ts';
import { createContext } from '../server/context.ts';
import { buildApp } from '../server/app.ts';
import { call, CALLBACK, errorOf, PRODUCTION_ENV, signInWithPkce as signIn, startTestApp, uniqueUser, usingPostgres, type TestApp } from './support/app.ts';
import { startFakeOidc, type FakeOidc } from './support/fake-oidc.ts';
import { LogCapture } from './support/log-capture.ts';

// Tests that start apps of their own (a database load each) need more time on a busy machine.
const SLOW_TEST_TIMEOUT = 120_000;

const pkce = () => {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

function authorizeQuery(over: Record<string, string | undefined> = {}): Record<string, string> {
  const q: Record<string, string | undefined> = {
    idp: 'tmi',
    login_hint: uniqueUser(),
    client_callback: CALLBACK,
    scope: 'openid profile email',
    state: randomBytes(8).toString('hex'),
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    ...over,
  };
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

const authorize = (app: FastifyInstance, q: Record<string, string>) => app.inject({ method: 'GET', url: '/oauth2/authorize', query: q });

async function codeFor(app: FastifyInstance, user: string, challenge: string): Promise<string> {
  const res = await authorize(app, authorizeQuery({ login_hint: user, code_challenge: challenge }));
  expect(res.statusCode, res.body).toBe(302);
  return new URL(res.headers.location as string).searchParams.get('code')!;
}

const exchange = (app: FastifyInstance, code: string, verifier: string, idp = 'tmi') =>
  call(app, 'POST', `/oauth2/token?idp=${idp}`, { body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK } });

const refresh = (app: FastifyInstance, token: string) => call(app, 'POST', '/oauth2/token', { body: { grant_type: 'refresh_token', refresh_token: token } });

const me = (app: FastifyInstance, token: string) => call(app, 'GET', '/me', { token });

/** Set-Cookie headers by cookie name, as raw strings. */
function setCookies(headers: Record<string, unknown>): Record<string, string> {
  const raw = headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? (raw as string[]) : [raw as string];
  return Object.fromEntries(list.map((c) => [c.slice(0, c.indexOf('=')), c]));
}

const attrs = (cookie: string) =>
  cookie
    .split(';')
    .slice(1)
    .map((a) => a.trim())
    .sort();

/** A database nobody else uses, for behaviour that depends on an empty users table. */
async function freshDatabase(): Promise<{ env: Record<string, string>; options: { freshDatabase?: boolean }; drop(): Promise<void> }> {
  if (!usingPostgres) return { env: {}, options: { freshDatabase: true }, drop: async () => undefined }; // a copy of the PGlite template
  const base = new URL(process.env.TMI_TEST_DATABASE_URL!);
  const name = `tmi_h4_fresh_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.href });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.href);
  url.pathname = `/${name}`;
  return {
    env: { TMI_DATABASE_URL: url.href },
    options: {},
    async drop() {
      const c = new pg.Client({ connectionString: base.href });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: 'https://app.example.test/callback,https://web.example.test/auth/*' });
});
afterAll(async () => t?.close());

describe('authorization code with PKCE (development provider)', () => {
  it('signs in login_hint=alice-style users as the reference does, with its claims', async () => {
    const user = uniqueUser('alice');
    const { verifier, challenge } = pkce();
    const res = await authorize(t.app, authorizeQuery({ login_hint: user.toUpperCase(), code_challenge: challenge, state: 'abc+/=~.-_' }));
    expect(res.statusCode).toBe(302);
    const location = new URL(res.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
    expect(location.searchParams.get('state')).toBe('abc+/=~.-_');
    const code = location.searchParams.get('code')!;
    // 256 random bits, hex: a code or refresh token that began with "-" broke scripts that pass it
    // to command-line tools (the conformance runner hands the code to `node -e` as an argument).
    expect(code).toMatch(/^[0-9a-f]{64}$/);

    const token = await exchange(t.app, code, verifier);
    expect(token.status).toBe(200);
    expect(Object.keys(token.body)).toEqual(['access_token', 'refresh_token', 'expires_in', 'token_type']);
    expect(token.body.refresh_token).toMatch(/^[0-9a-f]{64}$/);
    expect(token.body.expires_in).toBe(3600);
    expect(token.body.token_type.toLowerCase()).toBe('bearer');
    const claims = decodeJwt(token.body.access_token);
    expect(claims).toMatchObject({ sub: user, email: `${user}@tmi.local`, idp: 'tmi', iss: 'http://localhost:8080', aud: ['http://localhost:8080'] });
    const words = user.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1));
    expect(claims.name).toBe(`${words.join(' ')} (TMI User)`);
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(typeof claims.jti).toBe('string');
    expect(claims.email_verified).toBeUndefined();

    const profile = await me(t.app, token.body.access_token);
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ principal_type: 'user', provider: 'tmi', provider_id: user, email: `${user}@tmi.local`, is_admin: false, is_security_reviewer: false, groups: [] });
    const info = await call(t.app, 'GET', '/oauth2/userinfo', { token: token.body.access_token });
    expect(info.status).toBe(200);
    expect(info.body).toEqual({ sub: user, email: `${user}@tmi.local`, name: claims.name, idp: 'tmi' });
  });

  it('requires an S256 code_challenge and a scope with openid', async () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [{ code_challenge: undefined }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: 'short' }, 'invalid_request'],
      [{ code_challenge: `${'a'.repeat(42)}!` }, 'invalid_request'],
      [{ scope: 'profile email' }, 'invalid_scope'],
      [{ scope: undefined }, 'invalid_scope'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ idp: 'nope' }, 'invalid_request'],
    ];
    for (const [over, code] of cases) {
      const res = await authorize(t.app, authorizeQuery(over));
      expect(res.statusCode, JSON.stringify(over)).toBe(400);
      expect(res.json().error, JSON.stringify(over)).toBe(code);
      expect(res.headers.location).toBeUndefined();
    }
  });

  it('returns the client state unchanged, or a fresh random one when the client sent none', async () => {
    const res = await authorize(t.app, authorizeQuery({ state: undefined }));
    expect(res.statusCode).toBe(302);
    const state = new URL(res.headers.location as string).searchParams.get('state')!;
    expect(state).toMatch(/^[0-9a-f]{64}$/);
  });

  it('checks the code_verifier and accepts each code once', async () => {
    const user = uniqueUser();
    const good = pkce();
    const code = await codeFor(t.app, user, good.challenge);
    const wrong = await exchange(t.app, code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(errorOf(wrong)).toMatchObject({ error: 'invalid_grant', error_description: 'PKCE verification failed' });
    // A failed verification spends the code, as in the reference: no second guess.
    expect(errorOf(await exchange(t.app, code, good.verifier)).error).toBe('invalid_grant');

    const code2 = await codeFor(t.app, user, good.challenge);
    expect((await exchange(t.app, code2, good.verifier)).status).toBe(200);
    const again = await exchange(t.app, code2, good.verifier);
    expect(again.status).toBe(400);
    expect(errorOf(again).error).toBe('invalid_grant');

    const code3 = await codeFor(t.app, user, good.challenge);
    const badFormat = await exchange(t.app, code3, 'too-short');
    expect(badFormat.status).toBe(400);
    expect(errorOf(badFormat)).toMatchObject({ error: 'invalid_request', error_description: 'Code verifier format is invalid.' });
    const missing = await call(t.app, 'POST', '/oauth2/token?idp=tmi', { body: { grant_type: 'authorization_code', code: code3 } });
    expect(errorOf(missing).error).toBe('invalid_request');
    expect(errorOf(await call(t.app, 'POST', '/oauth2/token', { body: { grant_type: 'password' } })).error).toBe('unsupported_grant_type');
    expect(errorOf(await exchange(t.app, 'never-issued', good.verifier)).error).toBe('invalid_grant');
  });

  it('binds a code to its client_callback: the token request must name the same redirect_uri', async () => {
    const other = 'https://app.example.test/callback';
    for (const redirectUri of [other, 'http://localhost:8079', 'http://localhost:8079/?x=1', 'HTTP://localhost:8079/']) {
      const { verifier, challenge } = pkce();
      const code = await codeFor(t.app, uniqueUser(), challenge);
      const wrong = await call(t.app, 'POST', '/oauth2/token?idp=tmi', {
        body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri },
      });
      expect(wrong.status, redirectUri).toBe(400);
      expect(errorOf(wrong)).toEqual({ error: 'invalid_grant', error_description: 'redirect_uri does not match the client_callback the authorization code was issued for' });
      // The code is spent: the right redirect_uri afterwards does not help.
      expect(errorOf(await exchange(t.app, code, verifier)).error).toBe('invalid_grant');
    }
    // The allow-listed callback the code went to is the one to name.
    const { verifier, challenge } = pkce();
    const res = await authorize(t.app, authorizeQuery({ client_callback: other, code_challenge: challenge }));
    const code = new URL(res.headers.location as string).searchParams.get('code')!;
    expect(errorOf(await exchange(t.app, code, verifier)).error).toBe('invalid_grant');
    const { verifier: v2, challenge: c2 } = pkce();
    const res2 = await authorize(t.app, authorizeQuery({ client_callback: other, code_challenge: c2 }));
    const code2 = new URL(res2.headers.location as string).searchParams.get('code')!;
    const ok = await call(t.app, 'POST', '/oauth2/token?idp=tmi', { body: { grant_type: 'authorization_code', code: code2, code_verifier: v2, redirect_uri: other } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('accepts a form-encoded token request', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(t.app, uniqueUser(), challenge);
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK }).toString();
    const res = await call(t.app, 'POST', '/oauth2/token?idp=tmi', { raw: form, contentType: 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(200);
    expect(typeof res.body.access_token).toBe('string');
  });

  it('allows loopback client callbacks by default in test mode, and the configured allow-list', async () => {
    for (const cb of ['http://localhost:4200/oauth2/callback', 'http://127.0.0.1:9/x', 'http://[::1]:3000/', 'https://app.example.test/callback', 'https://web.example.test/auth/done?x=1']) {
      const res = await authorize(t.app, authorizeQuery({ client_callback: cb }));
      expect(res.statusCode, cb).toBe(302);
      expect((res.headers.location as string).startsWith(cb.split('?')[0]!), cb).toBe(true);
    }
    for (const cb of ['https://evil.example/cb', 'https://app.example.test/callback2', 'https://web.example.test/other', 'javascript:alert(1)', 'http://user:pw@localhost:8079/', 'https://localhost.evil.example/', 'not a url']) {
      const res = await authorize(t.app, authorizeQuery({ client_callback: cb }));
      expect(res.statusCode, cb).toBe(400);
      expect(res.json(), cb).toMatchObject({ error: 'invalid_request' });
    }
    expect((await authorize(t.app, authorizeQuery({ client_callback: undefined }))).statusCode).toBe(400);
  });

  it('lets a second server instance finish a flow that the first began (state lives in the shared store)', async () => {
    const ctx2 = await createContext(t.config, { db: t.ctx.db, redisKeyPrefix: t.redisKeyPrefix });
    const app2 = await buildApp(ctx2);
    try {
      const { verifier, challenge } = pkce();
      const code = await codeFor(t.app, uniqueUser(), challenge);
      const res = await exchange(app2, code, verifier);
      expect(res.status).toBe(200);
      expect((await me(t.app, res.body.access_token)).status).toBe(200);
      const rotated = await refresh(app2, res.body.refresh_token);
      expect(rotated.status).toBe(200);
      expect((await refresh(t.app, res.body.refresh_token)).status).toBe(400);
    } finally {
      await app2.close();
      await ctx2.close();
    }
  });
});

describe('refresh tokens', () => {
  it('rotates on every use; a spent token is refused', async () => {
    const s = await signIn(t.app);
    const first = await refresh(t.app, s.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(s.refreshToken);
    expect(decodeJwt(first.body.access_token).sub).toBe(s.user);
    expect(decodeJwt(first.body.access_token).auth_time).toBe(decodeJwt(s.accessToken).auth_time);
    const second = await call(t.app, 'POST', '/oauth2/refresh', { body: { refresh_token: first.body.refresh_token } });
    expect(second.status).toBe(200);
    expect((await me(t.app, second.body.access_token)).body.provider_id).toBe(s.user);
    const missing = await call(t.app, 'POST', '/oauth2/refresh', { body: {} });
    expect(errorOf(missing).error).toBe('invalid_request');
    expect(errorOf(await refresh(t.app, 'not-a-token')).error).toBe('invalid_grant');
  });

  it('treats reuse of a rotated token as theft: the whole session ends, access tokens included', async () => {
    const s = await signIn(t.app);
    const other = await refresh(t.app, (await signIn(t.app, s.user)).refreshToken); // a second session of the same user
    const rotated = await refresh(t.app, s.refreshToken);
    expect(rotated.status).toBe(200);
    expect((await me(t.app, rotated.body.access_token)).status).toBe(200);

    const reuse = await refresh(t.app, s.refreshToken);
    expect(reuse.status).toBe(400);
    expect(errorOf(reuse)).toEqual({ error: 'invalid_grant', error_description: 'The refresh token is invalid or expired.' });
    expect((await refresh(t.app, rotated.body.refresh_token)).status).toBe(400);
    expect((await me(t.app, s.accessToken)).status).toBe(401);
    expect((await me(t.app, rotated.body.access_token)).status).toBe(401);
    // Only the stolen session ends.
    expect((await me(t.app, other.body.access_token)).status).toBe(200);
    expect((await refresh(t.app, other.body.refresh_token)).status).toBe(200);
  });

  it('refreshes from the refresh cookie, and clears cookies when refresh fails', async () => {
    const s = await signIn(t.app);
    const ok = await call(t.app, 'POST', '/oauth2/refresh', { body: {}, headers: { cookie: `tmi_refresh_token=${s.refreshToken}` } });
    expect(ok.status).toBe(200);
    expect(Object.keys(setCookies(ok.headers))).toEqual(['tmi_access_token', 'tmi_refresh_token']);
    const failed = await call(t.app, 'POST', '/oauth2/refresh', { body: {}, headers: { cookie: `tmi_refresh_token=${s.refreshToken}` } });
    expect(failed.status).toBe(400);
    const cleared = setCookies(failed.headers);
    expect(cleared.tmi_access_token).toMatch(/^tmi_access_token=;/);
    expect(cleared.tmi_refresh_token).toMatch(/Path=\/oauth2/);
    expect(cleared.tmi_refresh_token).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
  });
});

describe('logout', () => {
  it('revokes the access token and the refresh token and clears both cookies', async () => {
    const s = await signIn(t.app);
    const out = await call(t.app, 'POST', '/me/logout', { token: s.accessToken });
    expect(out.status).toBe(204);
    const cleared = setCookies(out.headers);
    expect(cleared.tmi_access_token).toMatch(/^tmi_access_token=;.*Path=\//);
    expect(cleared.tmi_refresh_token).toMatch(/^tmi_refresh_token=;.*Path=\/oauth2/);
    const after = await me(t.app, s.accessToken);
    expect(after.status).toBe(401);
    expect(errorOf(after).error).toBe('unauthorized');
    expect((await refresh(t.app, s.refreshToken)).status).toBe(400);
    expect((await call(t.app, 'POST', '/me/logout')).status).toBe(401);
    expect((await call(t.app, 'POST', '/me/logout', { token: s.accessToken })).status).toBe(401);
  });

  it('reaches the other server instances: a revoked token is refused there too, within two seconds at most', async () => {
    const ctx2 = await createContext(t.config, { db: t.ctx.db, redisKeyPrefix: t.redisKeyPrefix });
    const app2 = await buildApp(ctx2);
    try {
      const s = await signIn(t.app);
      expect((await me(app2, s.accessToken)).status).toBe(200); // app2 now holds it as valid
      await call(t.app, 'POST', '/me/logout', { token: s.accessToken });
      expect((await me(t.app, s.accessToken)).status).toBe(401);
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 5000) {
        status = (await me(app2, s.accessToken)).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await app2.close();
      await ctx2.close();
    }
  });

  it('leaves nothing of a resource in the answer to a read with a revoked token', async () => {
    const s = await signIn(t.app);
    const tm = await call(t.app, 'POST', '/threat_models', { token: s.accessToken, body: { name: 'secret plans' } });
    expect((await call(t.app, 'GET', `/threat_models/${tm.body.id}`, { token: s.accessToken })).headers.etag).toBe('"1"');
    await call(t.app, 'POST', '/me/logout', { token: s.accessToken });
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await call(t.app, method, `/threat_models/${tm.body.id}`, { token: s.accessToken });
      expect(res.status, method).toBe(401);
      expect(res.headers.etag, method).toBeUndefined();
      expect(res.text, method).not.toContain('secret plans');
      expect(res.headers['www-authenticate'], method).toMatch(/^Bearer realm="tmi"/);
    }
    expect(errorOf(await call(t.app, 'GET', '/threat_models', { token: s.accessToken }))).toEqual({ error: 'unauthorized', error_description: 'Token has been revoked' });
    const upgrade = await call(t.app, 'GET', '/ws/notifications', { token: s.accessToken, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') } });
    expect(upgrade.status).toBe(401);
    // Writes are refused before anything is done.
    expect((await call(t.app, 'POST', '/threat_models', { token: s.accessToken, body: { name: 'after logout' } })).status).toBe(401);
  });
});

describe('cookies', () => {
  it('are set exactly as the reference sets them', async () => {
    const { verifier, challenge } = pkce();
    const res = await exchange(t.app, await codeFor(t.app, uniqueUser(), challenge), verifier);
    const c = setCookies(res.headers);
    expect(Object.keys(c).sort()).toEqual(['tmi_access_token', 'tmi_refresh_token']);
    expect(c.tmi_access_token!.startsWith(`tmi_access_token=${res.body.access_token};`)).toBe(true);
    expect(attrs(c.tmi_access_token!)).toEqual(['HttpOnly', 'Max-Age=3600', 'Path=/', 'SameSite=Lax']);
    expect(c.tmi_refresh_token!.startsWith(`tmi_refresh_token=${res.body.refresh_token};`)).toBe(true);
    expect(attrs(c.tmi_refresh_token!)).toEqual(['HttpOnly', 'Max-Age=604800', 'Path=/oauth2', 'SameSite=Strict']);
  });

  it('carry Secure and Domain when configured, and are not set when disabled', async () => {
    const secure = await startTestApp({ TMI_COOKIE_SECURE: 'true', TMI_COOKIE_DOMAIN: 'tmi.example.test' });
    const off = await startTestApp({ TMI_COOKIE_ENABLED: 'false' });
    try {
      const { verifier, challenge } = pkce();
      const res = await exchange(secure.app, await codeFor(secure.app, uniqueUser(), challenge), verifier);
      const c = setCookies(res.headers);
      expect(attrs(c.tmi_access_token!)).toEqual(['Domain=tmi.example.test', 'HttpOnly', 'Max-Age=3600', 'Path=/', 'SameSite=Lax', 'Secure']);
      expect(attrs(c.tmi_refresh_token!)).toEqual(['Domain=tmi.example.test', 'HttpOnly', 'Max-Age=604800', 'Path=/oauth2', 'SameSite=Strict', 'Secure']);
      const p2 = pkce();
      const none = await exchange(off.app, await codeFor(off.app, uniqueUser(), p2.challenge), p2.verifier);
      expect(none.status).toBe(200);
      expect(none.headers['set-cookie']).toBeUndefined();
    } finally {
      await secure.close();
      await off.close();
    }
  }, SLOW_TEST_TIMEOUT);

  it('authenticate requests; a bearer token wins over the cookie; a malformed bearer is 401 with no fallback', async () => {
    const a = await signIn(t.app);
    const b = await signIn(t.app);
    const byCookie = await call(t.app, 'GET', '/me', { headers: { cookie: `tmi_access_token=${b.accessToken}` } });
    expect(byCookie.status).toBe(200);
    expect(byCookie.body.provider_id).toBe(b.user);
    const both = await call(t.app, 'GET', '/me', { token: a.accessToken, headers: { cookie: `tmi_access_token=${b.accessToken}` } });
    expect(both.body.provider_id).toBe(a.user);
    for (const authorization of [`Basic ${b.accessToken}`, 'Bearer', `Bearer  ${b.accessToken}`, `Bearer ${b.accessToken} extra`, 'Bearer not.a.jwt', `Token ${b.accessToken}`]) {
      const res = await call(t.app, 'GET', '/me', { headers: { authorization, cookie: `tmi_access_token=${b.accessToken}` } });
      expect(res.status, authorization).toBe(401);
      expect(errorOf(res).error).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="tmi"/);
    }
    expect((await call(t.app, 'GET', '/me', { headers: { authorization: `bearer ${a.accessToken}` } })).status).toBe(200);
  });

  it('refuses tokens signed with another key, expired tokens and tokens for another issuer', async () => {
    const s = await signIn(t.app);
    const claims = decodeJwt(s.accessToken);
    const secret = new TextEncoder().encode(t.config.jwt.secret);
    const forge = (over: Record<string, unknown>, key = secret) => new SignJWT({ ...claims, ...over }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
    const now = Math.floor(Date.now() / 1000);
    for (const token of [
      await forge({}, new TextEncoder().encode('x'.repeat(64))),
      await forge({ exp: now - 10 }),
      await forge({ iss: 'http://evil.example' }),
      await forge({ aud: ['http://evil.example'] }),
      `${s.accessToken.split('.').slice(0, 2).join('.')}.`,
      (await forge({})).replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')),
    ]) {
      expect((await me(t.app, token)).status).toBe(401);
    }
    expect((await me(t.app, await forge({}))).status).toBe(200);
  });
});

describe('POST /oauth2/revoke (RFC 7009)', () => {
  it('needs an authenticated caller', async () => {
    const s = await signIn(t.app);
    const res = await call(t.app, 'POST', '/oauth2/revoke', { body: { token: s.accessToken } });
    expect(res.status).toBe(401);
    expect(errorOf(res).error).toBe('invalid_client');
    expect((await me(t.app, s.accessToken)).status).toBe(200);
  });

  it('revokes an access token (form body) and a refresh token (JSON, with its session)', async () => {
    const caller = await signIn(t.app);
    const s = await signIn(t.app);
    const form = new URLSearchParams({ token: s.accessToken, token_type_hint: 'access_token' }).toString();
    const res = await call(t.app, 'POST', '/oauth2/revoke', { token: caller.accessToken, raw: form, contentType: 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(200);
    expect((await me(t.app, s.accessToken)).status).toBe(401);

    const s2 = await signIn(t.app);
    const r2 = await call(t.app, 'POST', '/oauth2/revoke', { token: caller.accessToken, body: { token: s2.refreshToken, token_type_hint: 'refresh_token' } });
    expect(r2.status).toBe(200);
    expect((await refresh(t.app, s2.refreshToken)).status).toBe(400);
    expect((await me(t.app, s2.accessToken)).status).toBe(401);

    // Unknown tokens are answered 200 as well (RFC 7009 §2.2); a missing token is a bad request.
    expect((await call(t.app, 'POST', '/oauth2/revoke', { token: caller.accessToken, body: { token: 'whatever' } })).status).toBe(200);
    const missing = await call(t.app, 'POST', '/oauth2/revoke', { token: caller.accessToken, body: {} });
    expect(missing.status).toBe(400);
    expect(errorOf(missing).error).toBe('invalid_request');
    const unknownField = await call(t.app, 'POST', '/oauth2/revoke', { token: caller.accessToken, body: { token: 'x', extra: 1 } });
    expect(unknownField.status).toBe(400);
    expect((await me(t.app, caller.accessToken)).status).toBe(200);
  });
});

describe('POST /oauth2/introspect (RFC 7662)', () => {
  it('describes an active token and says active:false for anything else', async () => {
    const s = await signIn(t.app);
    const form = (token: string) => call(t.app, 'POST', '/oauth2/introspect', { raw: new URLSearchParams({ token }).toString(), contentType: 'application/x-www-form-urlencoded' });
    const active = await form(s.accessToken);
    expect(active.status).toBe(200);
    const claims = decodeJwt(s.accessToken);
    expect(active.body).toMatchObject({ active: true, sub: s.user, email: s.email, idp: 'tmi', iat: claims.iat, exp: claims.exp, token_type: 'Bearer', scope: 'openid profile email' });
    expect((await form('junk')).body).toEqual({ active: false });
    expect((await form(s.refreshToken)).body).toEqual({ active: false });
    await call(t.app, 'POST', '/me/logout', { token: s.accessToken });
    expect((await form(s.accessToken)).body).toEqual({ active: false });
    const missing = await call(t.app, 'POST', '/oauth2/introspect', { raw: '', contentType: 'application/x-www-form-urlencoded' });
    expect(missing.status).toBe(400);
    expect(errorOf(missing).error).toBe('invalid_request');
  });
});

describe('administrators', () => {
  it('dev mode promotes the first user to administrator and security reviewer, and nobody after', async () => {
    const fresh = await freshDatabase();
    const logs = new LogCapture();
    const dev = await startTestApp({ TMI_BUILD_MODE: 'dev', TMI_AUTH_AUTO_PROMOTE_FIRST_USER: '', ...fresh.env }, { logger: logs.logger('info'), ...fresh.options });
    try {
      const first = await signIn(dev.app);
      const second = await signIn(dev.app);
      const a = await me(dev.app, first.accessToken);
      expect(a.body).toMatchObject({ is_admin: true, is_security_reviewer: true });
      expect(a.body.groups.map((g: { group_name: string }) => g.group_name).sort()).toEqual(['administrators', 'security-reviewers']);
      expect(decodeJwt(first.accessToken)).toMatchObject({ tmi_is_administrator: true, tmi_is_security_reviewer: true });
      // The token's `groups` are the identity provider's only (none for the development provider);
      // TMI's own memberships are read from the database, never from a group name in a token.
      expect(decodeJwt(first.accessToken).groups).toBeUndefined();
      const b = await me(dev.app, second.accessToken);
      expect(b.body).toMatchObject({ is_admin: false, is_security_reviewer: false, groups: [] });
      // The promotion is a security event (docs/security.md), written once.
      expect(logs.lines.filter((l) => l.event === 'admin.granted')).toEqual([
        expect.objectContaining({ provider: 'tmi', provider_id: first.user, groups: ['administrators', 'security-reviewers'], via: 'first_user' }),
      ]);
    } finally {
      await dev.close();
      await fresh.drop();
    }
  }, SLOW_TEST_TIMEOUT);

  it('test mode promotes nobody by default', async () => {
    const fresh = await freshDatabase();
    const plain = await startTestApp({ TMI_AUTH_AUTO_PROMOTE_FIRST_USER: '', ...fresh.env }, fresh.options);
    try {
      const first = await signIn(plain.app);
      expect((await me(plain.app, first.accessToken)).body.is_admin).toBe(false);
    } finally {
      await plain.close();
      await fresh.drop();
    }
  }, SLOW_TEST_TIMEOUT);

  it('honours configured administrators by provider id and by email', async () => {
    const byId = uniqueUser('admin');
    const byEmail = uniqueUser('boss');
    const app = await startTestApp({ TMI_ADMINISTRATORS: `tmi:${byId}`, TMI_ADMIN_PROVIDER: 'tmi', TMI_ADMIN_EMAIL: `${byEmail}@tmi.local` });
    try {
      for (const u of [byId, byEmail]) {
        const s = await signIn(app.app, u);
        expect((await me(app.app, s.accessToken)).body.is_admin, u).toBe(true);
        expect(decodeJwt(s.accessToken).tmi_is_administrator, u).toBe(true);
      }
      const nobody = await signIn(app.app);
      expect((await me(app.app, nobody.accessToken)).body.is_admin).toBe(false);
    } finally {
      await app.close();
    }
  }, SLOW_TEST_TIMEOUT);
});

describe('signing methods and JWKS', () => {
  it('HS256 publishes an empty key set and tokens carry no kid', async () => {
    const jwks = await call(t.app, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body).toEqual({ keys: [] });
    expect(jwks.headers['cache-control']).toBe('public, max-age=3600');
    const s = await signIn(t.app);
    expect(decodeProtectedHeader(s.accessToken)).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  for (const method of ['RS256', 'ES256'] as const) {
    it(`${method} publishes its public key with a kid, and tokens verify with it`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'tmi-keys-'));
      const { privateKey } =
        method === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const file = path.join(dir, 'private.pem');
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const app = await startTestApp({ TMI_JWT_SIGNING_METHOD: method, TMI_JWT_PRIVATE_KEY_FILE: file, TMI_JWT_SECRET: '' });
      try {
        const jwks = (await call(app.app, 'GET', '/.well-known/jwks.json')).body as { keys: JWK[] };
        expect(jwks.keys).toHaveLength(1);
        const key = jwks.keys[0]!;
        expect(key).toMatchObject({ kty: method === 'RS256' ? 'RSA' : 'EC', alg: method, use: 'sig', key_ops: ['verify'] });
        expect(key.kid).toMatch(/^[A-Za-z0-9_-]{20,}$/);
        expect(key.d).toBeUndefined();
        const s = await signIn(app.app);
        expect(decodeProtectedHeader(s.accessToken)).toEqual({ alg: method, typ: 'JWT', kid: key.kid });
        const { payload } = await jwtVerify(s.accessToken, createLocalJWKSet(jwks), { issuer: 'http://localhost:8080', audience: 'http://localhost:8080' });
        expect(payload.sub).toBe(s.user);
        expect((await me(app.app, s.accessToken)).status).toBe(200);
        // An HS256 token made with the (empty) secret must not pass for an asymmetric server.
        const forged = await new SignJWT({ ...payload }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('k'));
        expect((await me(app.app, forged)).status).toBe(401);
        const oidcDoc = await call(app.app, 'GET', '/.well-known/openid-configuration');
        expect(oidcDoc.body.id_token_signing_alg_values_supported).toEqual([method]);
      } finally {
        await app.close();
      }
    }, SLOW_TEST_TIMEOUT);
  }
});

describe('discovery documents', () => {
  it('publish the endpoints, methods and PKCE support, cacheable', async () => {
    const host = { host: 'tmi.example.test' };
    const oidcDoc = await call(t.app, 'GET', '/.well-known/openid-configuration', { headers: host });
    expect(oidcDoc.status).toBe(200);
    expect(oidcDoc.headers['cache-control']).toBe('public, max-age=3600');
    const base = 'http://tmi.example.test';
    expect(oidcDoc.body).toMatchObject({
      authorization_endpoint: `${base}/oauth2/authorize`,
      token_endpoint: `${base}/oauth2/token`,
      userinfo_endpoint: `${base}/oauth2/userinfo`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      revocation_endpoint: `${base}/oauth2/revoke`,
      introspection_endpoint: `${base}/oauth2/introspect`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['HS256'],
    });
    expect(oidcDoc.body.scopes_supported).toEqual(['openid', 'profile', 'email']);
    expect(oidcDoc.body.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    const as = await call(t.app, 'GET', '/.well-known/oauth-authorization-server', { headers: host });
    expect(as.body).toMatchObject({ token_endpoint: `${base}/oauth2/token`, code_challenge_methods_supported: ['S256'] });
    expect(as.body.userinfo_endpoint).toBeUndefined();
    const pr = await call(t.app, 'GET', '/.well-known/oauth-protected-resource', { headers: host });
    expect(pr.body).toMatchObject({
      resource: base,
      authorization_servers: [base],
      jwks_uri: `${base}/.well-known/jwks.json`,
      bearer_methods_supported: ['header'],
      resource_name: 'TMI (Threat Modeling Improved) API',
      tls_client_certificate_bound_access_tokens: false,
    });
    const providers = await call(t.app, 'GET', '/oauth2/providers', { headers: host });
    expect(providers.status).toBe(200);
    expect(providers.body.providers).toContainEqual(
      expect.objectContaining({ id: 'tmi', auth_url: `${base}/oauth2/authorize?idp=tmi`, token_url: `${base}/oauth2/token?idp=tmi`, redirect_uri: 'http://localhost:8080/oauth2/callback', client_id: '' }),
    );
  });
});

describe('production mode', () => {
  it('disables the development provider and accepts only allow-listed client callbacks', async () => {
    const prod = await startTestApp({
      ...PRODUCTION_ENV,
      TMI_JWT_SECRET: randomBytes(32).toString('hex'),
      OAUTH_PROVIDERS_TMI_ENABLED: 'true',
      TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: 'https://app.example.test/callback',
      TMI_OAUTH_CALLBACK_URL: 'https://tmi.example.test/oauth2/callback',
    });
    try {
      const providers = await call(prod.app, 'GET', '/oauth2/providers');
      expect(providers.body.providers.map((p: { id: string }) => p.id)).toEqual(['corp']);
      expect((await authorize(prod.app, authorizeQuery())).statusCode).toBe(400);
      expect((await authorize(prod.app, authorizeQuery({ idp: undefined }))).statusCode).toBe(400);
      for (const cb of ['http://localhost:4200/callback', 'http://127.0.0.1:8079/']) {
        const res = await authorize(prod.app, authorizeQuery({ idp: 'corp', client_callback: cb }));
        expect(res.statusCode, cb).toBe(400);
        expect(res.json().error_description).toBe('client_callback is not in the allowlist');
      }
      const ok = await authorize(prod.app, authorizeQuery({ idp: 'corp', client_callback: 'https://app.example.test/callback' }));
      expect(ok.statusCode).toBe(302);
      const upstream = new URL(ok.headers.location as string);
      expect(`${upstream.origin}${upstream.pathname}`).toBe('https://idp.example.test/authorize');
      expect(upstream.searchParams.get('redirect_uri')).toBe('https://tmi.example.test/oauth2/callback');
      const { verifier } = pkce();
      const devToken = await exchange(prod.app, 'anything', verifier, 'tmi');
      expect(devToken.status).toBe(400);
    } finally {
      await prod.close();
    }
  }, SLOW_TEST_TIMEOUT);
});

describe('upstream OpenID Connect provider', () => {
  let fake: FakeOidc;
  let up: TestApp;
  beforeAll(async () => {
    fake = await startFakeOidc();
    up = await startTestApp({
      OAUTH_PROVIDERS_ACME_ENABLED: 'true',
      OAUTH_PROVIDERS_ACME_NAME: 'Acme SSO',
      OAUTH_PROVIDERS_ACME_CLIENT_ID: fake.clientId,
      OAUTH_PROVIDERS_ACME_CLIENT_SECRET: fake.clientSecret,
      OAUTH_PROVIDERS_ACME_ISSUER: fake.issuer,
      TMI_ADMIN_PROVIDER: 'acme',
      TMI_ADMIN_SUBJECT_TYPE: 'group',
      TMI_ADMIN_GROUP_NAME: 'secops',
    });
  });
  afterAll(async () => {
    await up?.close();
    await fake?.close();
  });

  /** Browser -> TMI authorize -> provider authorize -> TMI callback -> client callback. */
  async function browserFlow(app: FastifyInstance, challenge: string, state = randomBytes(8).toString('hex')) {
    const start = await authorize(app, authorizeQuery({ idp: 'acme', login_hint: undefined, code_challenge: challenge, state }));
    expect(start.statusCode, start.body).toBe(302);
    const upstreamUrl = new URL(start.headers.location as string);
    const atProvider = await fetch(upstreamUrl, { redirect: 'manual' });
    expect(atProvider.status).toBe(302);
    const callbackUrl = new URL(atProvider.headers.get('location')!);
    const back = await app.inject({ method: 'GET', url: `${callbackUrl.pathname}${callbackUrl.search}` });
    return { upstreamUrl, callbackUrl, back };
  }

  it('signs a user in end to end: discovery, PKCE and nonce upstream, code exchange, verified ID token, userinfo', async () => {
    fake.user = { sub: `acme-${randomBytes(4).toString('hex')}`, email: `${randomBytes(4).toString('hex')}@acme.test`, name: 'Ada Acme', email_verified: true, groups: ['secops', 'eng'] };
    const providers = await call(up.app, 'GET', '/oauth2/providers');
    expect(providers.body.providers).toContainEqual(expect.objectContaining({ id: 'acme', name: 'Acme SSO', client_id: fake.clientId }));

    const client = pkce();
    const state = randomBytes(8).toString('hex');
    const { upstreamUrl, callbackUrl, back } = await browserFlow(up.app, client.challenge, state);
    expect(`${upstreamUrl.origin}${upstreamUrl.pathname}`).toBe(`${fake.issuer}/authorize`);
    const q = upstreamUrl.searchParams;
    expect(q.get('client_id')).toBe(fake.clientId);
    expect(q.get('redirect_uri')).toBe('http://localhost:8080/oauth2/callback');
    expect(q.get('response_type')).toBe('code');
    expect(q.get('scope')).toBe('openid profile email');
    expect(q.get('state')).toBe(state);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('code_challenge')).not.toBe(client.challenge); // TMI's own verifier upstream, never the browser's
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get('client_secret')).toBeNull();
    expect(callbackUrl.pathname).toBe('/oauth2/callback');

    expect(back.statusCode).toBe(302);
    const toClient = new URL(back.headers.location as string);
    expect(`${toClient.origin}${toClient.pathname}`).toBe(CALLBACK);
    expect(toClient.searchParams.get('state')).toBe(state);
    const code = toClient.searchParams.get('code')!;
    expect(code).toBe(callbackUrl.searchParams.get('code'));
    // The state is spent: the provider cannot call back twice.
    expect((await up.app.inject({ method: 'GET', url: `${callbackUrl.pathname}${callbackUrl.search}` })).statusCode).toBe(400);

    const token = await exchange(up.app, code, client.verifier, 'acme');
    expect(token.status, token.text).toBe(200);
    const tokenCall = fake.requests.filter((r) => r.path === '/token').at(-1)!;
    expect(tokenCall.body).toMatchObject({ grant_type: 'authorization_code', code, client_id: fake.clientId, client_secret: fake.clientSecret, redirect_uri: 'http://localhost:8080/oauth2/callback' });
    expect(createHash('sha256').update(tokenCall.body.code_verifier!).digest('base64url')).toBe(q.get('code_challenge'));
    expect(fake.requests.some((r) => r.path === '/jwks')).toBe(true);
    expect(fake.requests.some((r) => r.path === '/userinfo')).toBe(true);

    const claims = decodeJwt(token.body.access_token);
    expect(claims).toMatchObject({ sub: fake.user.sub, idp: 'acme', email: fake.user.email, name: 'Ada Acme', email_verified: true });
    expect(claims.groups).toEqual(expect.arrayContaining(['secops', 'eng']));
    const profile = await me(up.app, token.body.access_token);
    expect(profile.body).toMatchObject({ provider: 'acme', provider_id: fake.user.sub, email: fake.user.email, display_name: 'Ada Acme', is_admin: true });
    const info = await call(up.app, 'GET', '/oauth2/userinfo', { token: token.body.access_token });
    expect(info.body).toMatchObject({ sub: fake.user.sub, idp: 'acme', email_verified: true });
    expect(info.body.groups).toEqual(expect.arrayContaining(['secops', 'eng']));
  });

  it('refuses an ID token that is not signed by a published key', async () => {
    fake.user = { sub: `forged-${randomBytes(4).toString('hex')}`, email: `${randomBytes(4).toString('hex')}@acme.test`, name: 'Mallory', groups: ['secops'] };
    const client = pkce();
    const { back } = await browserFlow(up.app, client.challenge);
    const code = new URL(back.headers.location as string).searchParams.get('code')!;
    fake.forgeNextIdToken = true;
    const token = await exchange(up.app, code, client.verifier, 'acme');
    expect(token.status).toBe(502);
    expect(errorOf(token).error).toBe('provider_unreachable');
    expect(token.text).not.toContain('signature');
  });

  it('checks the browser verifier before calling the provider', async () => {
    const client = pkce();
    const { back } = await browserFlow(up.app, client.challenge);
    const code = new URL(back.headers.location as string).searchParams.get('code')!;
    const calls = fake.requests.filter((r) => r.path === '/token').length;
    const res = await exchange(up.app, code, pkce().verifier, 'acme');
    expect(errorOf(res).error).toBe('invalid_grant');
    expect(fake.requests.filter((r) => r.path === '/token').length).toBe(calls);
    expect(errorOf(await exchange(up.app, code, client.verifier, 'acme')).error).toBe('invalid_grant');
  });

  it('refuses a token request whose redirect_uri is not the client_callback the code went to', async () => {
    const client = pkce();
    const { back } = await browserFlow(up.app, client.challenge);
    const code = new URL(back.headers.location as string).searchParams.get('code')!;
    const calls = fake.requests.filter((r) => r.path === '/token').length;
    const res = await call(up.app, 'POST', '/oauth2/token?idp=acme', {
      body: { grant_type: 'authorization_code', code, code_verifier: client.verifier, redirect_uri: 'https://attacker.example/cb' },
    });
    expect(errorOf(res).error).toBe('invalid_grant');
    expect(fake.requests.filter((r) => r.path === '/token').length).toBe(calls);
  });

  it('refuses unknown or reused state and passes provider errors to the client callback', async () => {
    expect((await up.app.inject({ method: 'GET', url: '/oauth2/callback?code=x&state=never-issued' })).statusCode).toBe(400);
    expect((await up.app.inject({ method: 'GET', url: '/oauth2/callback?code=x' })).statusCode).toBe(400);
    const state = randomBytes(8).toString('hex');
    const start = await authorize(up.app, authorizeQuery({ idp: 'acme', state }));
    expect(start.statusCode).toBe(302);
    const denied = await up.app.inject({ method: 'GET', url: `/oauth2/callback?error=access_denied&state=${state}` });
    expect(denied.statusCode).toBe(302);
    const loc = new URL(denied.headers.location as string);
    expect(loc.searchParams.get('error')).toBe('access_denied');
    expect(loc.searchParams.get('state')).toBe(state);
    expect(loc.searchParams.get('code')).toBeNull();
    // A second sign-in may not reuse a state that is still pending.
    const s2 = randomBytes(8).toString('hex');
    expect((await authorize(up.app, authorizeQuery({ idp: 'acme', state: s2 }))).statusCode).toBe(302);
    expect((await authorize(up.app, authorizeQuery({ idp: 'acme', state: s2 }))).statusCode).toBe(400);
  });
});

describe('discovery a client calls at start, with features off', () => {
  it('GET /saml/providers answers an empty list while SAML is not configured, as the reference', async () => {
    const res = await call(t.app, 'GET', '/saml/providers');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ providers: [] });
    expect(res.headers['cache-control']).toBe('public, max-age=3600');
    // Other SAML endpoints stay unknown.
    expect((await call(t.app, 'GET', '/saml/okta/login')).status).toBe(404);
  });

  it('every endpoint the reference client reads before sign-in answers 200 without a token', async () => {
    for (const url of ['/', '/config', '/oauth2/providers', '/saml/providers', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/.well-known/oauth-protected-resource', '/.well-known/jwks.json']) {
      expect((await call(t.app, 'GET', url)).status, url).toBe(200);
    }
    expect((await call(t.app, 'GET', '/config')).body.features).toMatchObject({ saml_enabled: false });
  });
});

describe('several instances', () => {
  it('share the generated development secret through the store: a token from one verifies on another', async () => {
    // Two instances with their own data folders and no TMI_JWT_SECRET, on one store.
    const first = await startTestApp({ TMI_JWT_SECRET: '' });
    const otherConfig = loadConfig({ ...first.env, TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-second-')) });
    const ctx2 = await createContext(otherConfig, { db: first.ctx.db, redisKeyPrefix: first.redisKeyPrefix });
    const second = await buildApp(ctx2);
    try {
      const s = await signIn(first.app);
      const onSecond = await me(second, s.accessToken);
      expect(onSecond.status, onSecond.text).toBe(200);
      expect(onSecond.body.provider_id).toBe(s.user);
      const back = await signIn(second);
      expect((await me(first.app, back.accessToken)).status).toBe(200);
      expect(otherConfig.jwt.generatedSecret).toBe(true);
    } finally {
      await second.close();
      await ctx2.close();
      await first.close();
    }
  }, SLOW_TEST_TIMEOUT);
});
