// What the bundled web app's sign-in needs from the server: its own callback accepted in
// production without being listed (and nothing else on that origin), for OpenID, step-up and
// identity-link flows alike.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRODUCTION_ENV, startTestApp, type TestApp } from './support/app.ts';

const BASE = 'https://tmi.example.test';
let prod: TestApp;

beforeAll(async () => {
  prod = await startTestApp({
    ...PRODUCTION_ENV,
    TMI_JWT_SECRET: randomBytes(32).toString('hex'),
    TMI_SERVER_BASE_URL: BASE,
    TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: 'https://cli.example.test/callback',
  });
});
afterAll(async () => {
  await prod?.close();
});

const authorize = (clientCallback: string) =>
  prod.app.inject({
    method: 'GET',
    url: '/oauth2/authorize',
    query: {
      idp: 'corp',
      client_callback: clientCallback,
      scope: 'openid profile email',
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(randomBytes(48).toString('base64url')).digest('base64url'),
      code_challenge_method: 'S256',
    },
  });

describe('the web app\'s callback in production', () => {
  it('is accepted without being listed, beside the listed ones', async () => {
    for (const cb of [`${BASE}/login/callback`, 'https://cli.example.test/callback']) {
      const res = await authorize(cb);
      expect(res.statusCode, `${cb}: ${res.body}`).toBe(302);
      expect(new URL(res.headers.location as string).origin).toBe('https://idp.example.test');
    }
  });

  it('is the only unlisted address: other paths of this origin, other schemes and look-alikes are refused', async () => {
    for (const cb of [`${BASE}/login/callback/x`, `${BASE}/login/callbac`, `${BASE}/`, 'http://tmi.example.test/login/callback', `${BASE}.evil.example/login/callback`, `${BASE}/login/callback?x=1`]) {
      const res = await authorize(cb);
      expect(res.statusCode, cb).toBe(400);
      expect(res.json()).toEqual({ error: 'invalid_request', error_description: 'client_callback is not in the allowlist' });
    }
  });
});
