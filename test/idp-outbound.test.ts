// The one HTTP client for identity providers, against real local servers: the address policy
// (loopback refused in production mode unless internal, private and link-local ranges refused),
// https only in production, no redirects followed, response size cap, total timeout; and the
// GitHub preset against a stand-in of its documented endpoints (a private e-mail from /user/emails).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { addressRefusal, outboundFetch, type OutboundPolicy } from '../server/auth/outbound.ts';
import { call, CALLBACK, startTestApp, type TestApp } from './support/app.ts';
import { createHash, randomBytes } from 'node:crypto';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (req.url === '/big') return void res.writeHead(200).end(Buffer.alloc(4096, 'x'));
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 1500);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const policy = (over: Partial<OutboundPolicy> = {}): OutboundPolicy => ({
  httpsOnly: false,
  allowPrivateAddresses: false,
  allowLoopback: true,
  connectTimeoutMs: 1000,
  totalTimeoutMs: 1000,
  maxResponseBytes: 1024,
  ...over,
});

describe('outbound client for identity providers', () => {
  it('refuses private, link-local, loopback and reserved addresses unless the provider is internal', async () => {
    for (const a of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', 'fd00::1', 'fe80::1', '::ffff:169.254.169.254']) {
      expect(addressRefusal(a, { allowPrivateAddresses: false, allowLoopback: false }), a).not.toBeNull();
      expect(addressRefusal(a, { allowPrivateAddresses: true, allowLoopback: false }), a).toBeNull();
    }
    expect(addressRefusal('140.82.112.3', { allowPrivateAddresses: false, allowLoopback: false })).toBeNull();
    await expect(outboundFetch(policy({ allowLoopback: false }))(`${base}/`)).rejects.toThrow(/private, loopback/);
    // A name that resolves to loopback is judged by the address it resolves to.
    await expect(outboundFetch(policy({ allowLoopback: false }))(base.replace('127.0.0.1', 'localhost'))).rejects.toThrow(/private, loopback/);
    expect((await (await outboundFetch(policy({ allowLoopback: false, allowPrivateAddresses: true }))(`${base}/`)).json())).toEqual({ ok: true });
  });

  it('speaks https only in production, follows no redirect, caps the size and the time', async () => {
    await expect(outboundFetch(policy({ httpsOnly: true }))(`${base}/`)).rejects.toThrow(/https only/);
    const redirect = await outboundFetch(policy())(`${base}/redirect`);
    expect(redirect.status).toBe(302);
    await expect(outboundFetch(policy())(`${base}/big`)).rejects.toThrow(/more than 1024 bytes/);
    await expect(outboundFetch(policy())(`${base}/slow`)).rejects.toThrow(/longer than 1000 ms/);
  });

  it('refuses a provider at a loopback address in production mode unless it is marked internal', async () => {
    // Production needs https endpoints (config) and refuses loopback (policy): a provider cannot be
    // pointed at the instance metadata service or the admin port of a neighbour by configuration.
    expect(addressRefusal('127.0.0.1', { allowPrivateAddresses: false, allowLoopback: false })).toMatch(/_INTERNAL=true/);
  });
});

describe('GitHub preset against a stand-in of its endpoints', () => {
  let gh: Server;
  let t: TestApp;
  let ghBase: string;
  const seen: { path: string; auth?: string; accept?: string }[] = [];
  beforeAll(async () => {
    const codes = new Map<string, string>();
    gh = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({ path: url.pathname, auth: req.headers.authorization, accept: req.headers.accept });
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (url.pathname === '/login/oauth/authorize') {
        const code = randomBytes(8).toString('hex');
        codes.set(code, url.searchParams.get('code_challenge') ?? '');
        return void res.writeHead(302, { location: `${url.searchParams.get('redirect_uri')}?code=${code}&state=${url.searchParams.get('state')}` }).end();
      }
      if (url.pathname === '/login/oauth/access_token') return json(200, { access_token: 'gho_test', token_type: 'bearer', scope: 'read:user,user:email' });
      if (req.headers.authorization !== 'Bearer gho_test') return json(401, { message: 'Bad credentials' });
      // A private e-mail: /user shows none; /user/emails lists it as primary and verified.
      if (url.pathname === '/user') return json(200, { id: 583231, login: 'octocat', name: null, email: null });
      if (url.pathname === '/user/emails') {
        return json(200, [
          { email: 'old@example.com', primary: false, verified: true },
          { email: '583231+octocat@users.noreply.github.com', primary: true, verified: true },
        ]);
      }
      return json(404, {});
    });
    await new Promise<void>((r) => gh.listen(0, '127.0.0.1', r));
    ghBase = `http://127.0.0.1:${(gh.address() as AddressInfo).port}`;
    t = await startTestApp({
      OAUTH_PROVIDERS_GITHUB_ENABLED: 'true',
      OAUTH_PROVIDERS_GITHUB_CLIENT_ID: 'Iv1.test',
      OAUTH_PROVIDERS_GITHUB_CLIENT_SECRET: 'gh-secret',
      OAUTH_PROVIDERS_GITHUB_AUTHORIZATION_URL: `${ghBase}/login/oauth/authorize`,
      OAUTH_PROVIDERS_GITHUB_TOKEN_URL: `${ghBase}/login/oauth/access_token`,
      OAUTH_PROVIDERS_GITHUB_USERINFO_URL: `${ghBase}/user`,
      OAUTH_PROVIDERS_GITHUB_USERINFO_SECONDARY_URL: `${ghBase}/user/emails`,
    });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((r) => gh.close(() => r()));
  });

  it('uses the built-in scopes, takes the numeric id as subject and the primary verified e-mail from /user/emails', async () => {
    const verifier = randomBytes(48).toString('base64url');
    const start = await t.app.inject({
      method: 'GET',
      url: '/oauth2/authorize',
      query: { idp: 'github', client_callback: CALLBACK, scope: 'openid', state: 'gh1', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' },
    });
    const upstream = new URL(start.headers.location as string);
    expect(upstream.searchParams.get('scope')).toBe('read:user user:email');
    expect(upstream.searchParams.get('nonce')).toBeNull();
    const atGh = await fetch(upstream, { redirect: 'manual' });
    const cb = new URL(atGh.headers.get('location')!);
    const back = await t.app.inject({ method: 'GET', url: `${cb.pathname}${cb.search}` });
    const code = new URL(back.headers.location as string).searchParams.get('code');
    const token = await call(t.app, 'POST', '/oauth2/token?idp=github', { body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK } });
    expect(token.status, token.text).toBe(200);
    expect(decodeJwt(token.body.access_token)).toMatchObject({ idp: 'github', sub: '583231', email: '583231+octocat@users.noreply.github.com', email_verified: true, name: 'octocat' });
    expect(seen.find((s) => s.path === '/user')?.accept).toBe('application/vnd.github+json');
  });
});
