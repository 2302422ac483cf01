// Rate limits on the sign-in endpoints (per login_hint and per client IP, in the shared store, so
// across instances) and on the discovery documents (per client IP); off in test mode unless forced.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createContext } from '../server/context.ts';
import { buildApp } from '../server/app.ts';
import { CALLBACK, PRODUCTION_ENV, startTestApp, uniqueUser, type TestApp } from './support/app.ts';

const SLOW_TEST_TIMEOUT = 120_000;

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
    const ip = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
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
