// Rate limits on the sign-in endpoints (per login_hint and per client IP, in the shared store, so
// across instances) and on the discovery documents (per client IP), off in test mode unless forced;
// on the whole API per user and per client address; hashed counter keys; trusted proxies.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createContext } from '../server/context.ts';
import { buildApp } from '../server/app.ts';
import { rateLimitKey } from '../server/http/rate-limit.ts';
import { CALLBACK, PRODUCTION_ENV, signIn, startTestApp, uniqueUser, type TestApp } from './support/app.ts';

const SLOW_TEST_TIMEOUT = 120_000;

// Random, so that runs sharing one Redis within a minute do not meet each other's counters, and
// never the same twice in this file: two tests on one address would see each other's requests (a
// run failed so, 1 in 200, with a 429 on the first request of the second).
const octetsUsed = new Set<number>();
const randomOctet = (): number => {
  let octet: number;
  do octet = Math.floor(Math.random() * 200) + 1;
  while (octetsUsed.has(octet));
  octetsUsed.add(octet);
  return octet;
};

function authorize(app: FastifyInstance, hint: string | undefined, remoteAddress = '127.0.0.1') {
  const challenge = createHash('sha256').update(randomBytes(32)).digest('base64url');
  const query: Record<string, string> = { idp: 'tmi', client_callback: CALLBACK, scope: 'openid', state: 's', code_challenge: challenge };
  if (hint) query.login_hint = hint;
  return app.inject({ method: 'GET', url: '/oauth2/authorize', query, remoteAddress });
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    TMI_TEST_FORCE_AUTH_FLOW_RATE_LIMITING: 'true',
    TMI_RATELIMIT_AUTH_USER_PER_MINUTE: '3',
    TMI_RATELIMIT_AUTH_IP_PER_MINUTE: '5',
    TMI_RATELIMIT_PUBLIC_RPM: '2',
  });
});
afterAll(async () => t?.close());

describe('sign-in rate limits', () => {
  it('limit one login_hint, answering 429 with Retry-After and the error envelope', async () => {
    const hint = uniqueUser();
    for (let i = 0; i < 3; i++) {
      const ok = await authorize(t.app, hint);
      expect(ok.statusCode).toBe(302);
      expect(ok.headers['x-ratelimit-limit']).toBe('3');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const over = await authorize(t.app, hint.toUpperCase());
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ error: 'rate_limit_exceeded' });
    expect(over.json().error_description).toMatch(/user scope/);
    const retry = Number(over.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(over.headers['x-ratelimit-scope']).toBe('user');
    expect(over.headers['x-content-type-options']).toBe('nosniff');
    expect(over.headers.location).toBeUndefined();
    // Another user is not affected.
    expect((await authorize(t.app, uniqueUser())).statusCode).toBe(302);
  });

  it('limit one client IP across login hints; loopback clients are exempt', async () => {
    const ip = `203.0.113.${randomOctet()}`;
    for (let i = 0; i < 5; i++) expect((await authorize(t.app, uniqueUser(), ip)).statusCode).toBe(302);
    const over = await authorize(t.app, uniqueUser(), ip);
    expect(over.statusCode).toBe(429);
    expect(over.headers['x-ratelimit-scope']).toBe('ip');
    const token = await t.app.inject({ method: 'POST', url: '/oauth2/token', payload: { grant_type: 'refresh_token', refresh_token: 'x' }, remoteAddress: ip });
    expect(token.statusCode).toBe(429);
    for (let i = 0; i < 8; i++) expect((await authorize(t.app, uniqueUser())).statusCode).toBe(302);
  });

  it('count across server instances (the counters live in the shared store)', async () => {
    const ctx2 = await createContext(t.config, { db: t.ctx.db, redisKeyPrefix: t.redisKeyPrefix });
    const app2 = await buildApp(ctx2);
    try {
      const hint = uniqueUser();
      expect((await authorize(t.app, hint)).statusCode).toBe(302);
      expect((await authorize(app2, hint)).statusCode).toBe(302);
      expect((await authorize(t.app, hint)).statusCode).toBe(302);
      expect((await authorize(app2, hint)).statusCode).toBe(429);
    } finally {
      await app2.close();
      await ctx2.close();
    }
  });

  it('limit discovery documents per client IP', async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 1}`;
    const get = () => t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration', remoteAddress: ip });
    expect((await get()).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(200);
    const over = await get();
    expect(over.statusCode).toBe(429);
    expect(over.headers['retry-after']).toBeDefined();
    // Not the API itself, and not loopback.
    expect((await t.app.inject({ method: 'GET', url: '/', remoteAddress: ip })).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).statusCode).toBe(200);
  });

  it('are off in test mode unless forced, and off everywhere with TMI_DISABLE_RATE_LIMITING', async () => {
    const plain = await startTestApp({ TMI_RATELIMIT_AUTH_USER_PER_MINUTE: '1' });
    const disabled = await startTestApp({ ...PRODUCTION_ENV, TMI_DISABLE_RATE_LIMITING: 'true', TMI_RATELIMIT_PUBLIC_RPM: '1' });
    try {
      const hint = uniqueUser();
      for (let i = 0; i < 3; i++) expect((await authorize(plain.app, hint, '203.0.113.250')).statusCode).toBe(302);
      for (let i = 0; i < 3; i++) {
        expect((await disabled.app.inject({ method: 'GET', url: '/.well-known/jwks.json', remoteAddress: '203.0.113.251' })).statusCode).toBe(200);
      }
    } finally {
      await plain.close();
      await disabled.close();
    }
  }, SLOW_TEST_TIMEOUT);
});

describe('counter keys', () => {
  it('a login_hint the store cannot take as it is (NUL bytes, a huge string) is still counted, and never disables the other limits', async () => {
    // Rejected by validation (400) after being counted; what matters is that it is counted.
    const ip = `203.0.113.${randomOctet()}`;
    for (let i = 0; i < 5; i++) {
      const hint = i % 2 ? `${uniqueUser()}\u0000x` : `${uniqueUser()}${'\u0000'.repeat(3)}${'a'.repeat(100_000)}`;
      expect((await authorize(t.app, hint, ip)).statusCode, `request ${i}`).toBe(400);
    }
    const over = await authorize(t.app, `${uniqueUser()}\u0000`, ip);
    expect(over.statusCode).toBe(429);
    expect(over.headers['x-ratelimit-scope']).toBe('ip');

    const odd = `${uniqueUser()}\u0000${'z'.repeat(5000)}`;
    for (let i = 0; i < 3; i++) expect((await authorize(t.app, odd)).statusCode).toBe(400);
    const user = await authorize(t.app, odd.toUpperCase());
    expect(user.statusCode).toBe(429);
    expect(user.headers['x-ratelimit-scope']).toBe('user');
  });

  it('are hashes of what they count, of one length whatever the request sent', () => {
    const key = rateLimitKey({ tier: 'auth', scope: 'user', window: 'minute', id: `a\u0000${'b'.repeat(10_000)}` });
    expect(key).toMatch(/^ratelimit:auth:user:minute:[A-Za-z0-9_-]{43}$/);
    expect(rateLimitKey({ tier: 'auth', scope: 'user', window: 'minute', id: 'alice' })).not.toBe(rateLimitKey({ tier: 'auth', scope: 'user', window: 'minute', id: 'bob' }));
  });

  it('a counter the store fails on lets only its own check pass; the other checks still apply', async () => {
    const hint = uniqueUser();
    // A value the store cannot add one to: the user check fails on every request of this hint.
    await t.ctx.shared.kv.set(rateLimitKey({ tier: 'auth', scope: 'user', window: 'minute', id: hint }), 'not a number', 60);
    const ip = `203.0.113.${randomOctet()}`;
    for (let i = 0; i < 5; i++) expect((await authorize(t.app, hint, ip)).statusCode, `request ${i}`).toBe(302);
    const over = await authorize(t.app, hint, ip);
    expect(over.statusCode).toBe(429);
    expect(over.headers['x-ratelimit-scope']).toBe('ip');
  });
});

describe('API-wide limits', () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp({ TMI_RATELIMIT_API_USER_PER_MINUTE: '4', TMI_RATELIMIT_API_IP_PER_MINUTE: '6' });
  });
  afterAll(async () => api?.close());

  const get = (app: FastifyInstance, url: string, o: { token?: string; remoteAddress?: string; headers?: Record<string, string> } = {}) =>
    app.inject({ method: 'GET', url, remoteAddress: o.remoteAddress, headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.headers ?? {}) } });

  it('limit each signed-in user, with the reference headers and the IETF RateLimit ones, and 429 with Retry-After', async () => {
    const alice = await signIn(api.app);
    for (let i = 0; i < 4; i++) {
      const ok = await get(api.app, '/threat_models', { token: alice.accessToken });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('4');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(3 - i));
      expect(Number(ok.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
      expect(ok.headers['ratelimit-limit']).toBe('4');
      expect(ok.headers['ratelimit-remaining']).toBe(String(3 - i));
      expect(Number(ok.headers['ratelimit-reset'])).toBeLessThanOrEqual(60);
    }
    const over = await get(api.app, '/me', { token: alice.accessToken });
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ error: 'rate_limit_exceeded' });
    expect(over.json().error_description).toMatch(/^API rate limit exceeded \(user scope\): 4 requests per minute; retry after \d+ seconds$/);
    const retry = Number(over.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(over.headers['x-ratelimit-remaining']).toBe('0');
    expect(over.headers['ratelimit-remaining']).toBe('0');
    expect(over.headers['x-ratelimit-scope']).toBe('user');
    // A write is refused before it is made.
    const write = await api.app.inject({ method: 'POST', url: '/threat_models', headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json' }, payload: { name: 'over the limit' } });
    expect(write.statusCode).toBe(429);
    // Someone else is not affected; public routes do not count against the user.
    const bob = await signIn(api.app);
    expect((await get(api.app, '/threat_models', { token: bob.accessToken })).statusCode).toBe(200);
    expect((await get(api.app, '/oauth2/providers', { token: alice.accessToken })).statusCode).toBe(200);
  });

  it('limit each client address, signed in or not; loopback clients are exempt', async () => {
    const ip = `198.51.100.${randomOctet()}`;
    const statuses: number[] = [];
    for (const url of ['/', '/threat_models', '/config', '/oauth2/providers', '/threat_models', '/']) statuses.push((await get(api.app, url, { remoteAddress: ip })).statusCode);
    expect(statuses).toEqual([200, 401, 200, 200, 401, 200]);
    const over = await get(api.app, '/', { remoteAddress: ip });
    expect(over.statusCode).toBe(429);
    expect(over.headers['x-ratelimit-scope']).toBe('ip');
    expect(over.json().error_description).toMatch(/^API rate limit exceeded \(ip scope\): 6 requests per minute/);
    expect((await get(api.app, '/', { remoteAddress: `198.51.100.${(randomOctet() % 50) + 201}` })).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) expect((await get(api.app, '/')).statusCode).toBe(200);
  });

  it('count across server instances', async () => {
    const ctx2 = await createContext(api.config, { db: api.ctx.db, redisKeyPrefix: api.redisKeyPrefix });
    const app2 = await buildApp(ctx2);
    try {
      const u = await signIn(api.app);
      expect((await get(api.app, '/me', { token: u.accessToken })).statusCode).toBe(200);
      expect((await get(app2, '/me', { token: u.accessToken })).statusCode).toBe(200);
      expect((await get(api.app, '/me', { token: u.accessToken })).statusCode).toBe(200);
      expect((await get(app2, '/me', { token: u.accessToken })).statusCode).toBe(200);
      expect((await get(app2, '/me', { token: u.accessToken })).statusCode).toBe(429);
      expect((await get(api.app, '/me', { token: u.accessToken })).statusCode).toBe(429);
    } finally {
      await app2.close();
      await ctx2.close();
    }
  });

  it('have an hourly user limit as well', async () => {
    const hourly = await startTestApp({ TMI_RATELIMIT_API_USER_PER_HOUR: '2' });
    try {
      const u = await signIn(hourly.app);
      for (let i = 0; i < 2; i++) expect((await get(hourly.app, '/me', { token: u.accessToken })).statusCode).toBe(200);
      const over = await get(hourly.app, '/me', { token: u.accessToken });
      expect(over.statusCode).toBe(429);
      expect(over.json().error_description).toMatch(/2 requests per hour/);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(60);
    } finally {
      await hourly.close();
    }
  }, SLOW_TEST_TIMEOUT);
});

describe('client addresses behind proxies', () => {
  const wellKnown = (app: FastifyInstance, remoteAddress: string, forwardedFor?: string) =>
    app.inject({ method: 'GET', url: '/.well-known/jwks.json', remoteAddress, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
  const spoof = () => `192.0.2.${randomOctet()}`;

  it('trust the configured number of hops: a client cannot escape its limit by writing its own X-Forwarded-For', async () => {
    const behind = await startTestApp({ TMI_TRUST_PROXY: '1', TMI_RATELIMIT_PUBLIC_RPM: '2' });
    try {
      const client = `198.51.100.${randomOctet()}`;
      // The proxy (10.0.0.5) appends the address it saw; whatever stands left of it is the client's.
      expect((await wellKnown(behind.app, '10.0.0.5', `${spoof()}, ${client}`)).statusCode).toBe(200);
      expect((await wellKnown(behind.app, '10.0.0.5', `${spoof()}, ${spoof()}, ${client}`)).statusCode).toBe(200);
      expect((await wellKnown(behind.app, '10.0.0.5', `${spoof()}, ${client}`)).statusCode).toBe(429);
      // Another client behind the same proxy has its own counter.
      expect((await wellKnown(behind.app, '10.0.0.5', `${spoof()}, 198.51.100.250`)).statusCode).toBe(200);
    } finally {
      await behind.close();
    }
  }, SLOW_TEST_TIMEOUT);

  it('trust a list of proxy addresses, and nothing a client sends directly', async () => {
    const behind = await startTestApp({ TMI_TRUSTED_PROXIES: '10.1.0.0/16', TMI_RATELIMIT_PUBLIC_RPM: '2' });
    try {
      const a = `198.51.100.${randomOctet()}`;
      const b = `203.0.113.${randomOctet()}`;
      // Two proxies of ours (10.1.x.x) in a row; the first address before them is the client.
      for (const client of [a, b, a, b]) expect((await wellKnown(behind.app, '10.1.2.3', `${spoof()}, ${client}, 10.1.9.9`)).statusCode).toBe(200);
      expect((await wellKnown(behind.app, '10.1.2.3', `${spoof()}, ${a}, 10.1.9.9`)).statusCode).toBe(429);
      // A client that is not a proxy of ours is itself, whatever it writes.
      const direct = `203.0.113.${randomOctet()}`;
      expect((await wellKnown(behind.app, direct, spoof())).statusCode).toBe(200);
      expect((await wellKnown(behind.app, direct, spoof())).statusCode).toBe(200);
      expect((await wellKnown(behind.app, direct, spoof())).statusCode).toBe(429);
    } finally {
      await behind.close();
    }
  }, SLOW_TEST_TIMEOUT);
});
