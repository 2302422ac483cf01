// HTTP behaviour on every response: security headers, HSTS with TLS only, CORS per build mode,
// the order of 400/401/404/405, body limits and strict JSON, generic 500s, request ids, and the
// structured request log (which must never contain a credential).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { CONTENT_SECURITY_POLICY } from '../server/http/security.ts';
import { call, CALLBACK, errorOf, PRODUCTION_ENV, signIn, startTestApp, type Response, type SignedIn, type TestApp } from './support/app.ts';
import { LogCapture } from './support/log-capture.ts';

// Tests that start apps of their own (a database load each) need more time on a busy machine.
const SLOW_TEST_TIMEOUT = 120_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING_TM = '00000000-0000-4000-8000-000000000000';

function expectSecurityHeaders(res: Response, label: string) {
  const h = res.headers;
  expect(h['x-content-type-options'], label).toBe('nosniff');
  expect(h['x-frame-options'], label).toBe('DENY');
  expect(h['x-xss-protection'], label).toBe('0');
  expect(h['content-security-policy'], label).toBe(CONTENT_SECURITY_POLICY);
  expect(h['referrer-policy'], label).toBe('strict-origin-when-cross-origin');
  expect(h['permissions-policy'], label).toBe('geolocation=(), microphone=(), camera=()');
  expect(h['x-request-id'], label).toMatch(UUID);
}

const logs = new LogCapture();
let t: TestApp;
let user: SignedIn;

beforeAll(async () => {
  const logger = logs.logger();
  t = await startTestApp(
    { TMI_SERVER_MAX_BODY_BYTES: '4096' },
    {
      logger,
      plugins: [
        (app: FastifyInstance) => {
          // A handler that fails the way a broken dependency would, with details in the message.
          app.get('/test/boom', { config: { public: true } }, async () => {
            throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
          });
        },
      ],
    },
  );
  user = await signIn(t.app);
});
afterAll(async () => t?.close());

// The caller's own models: others' shared with `everyone` by files running beside this one must not count.
const countModels = async () => (await call(t.app, 'GET', `/threat_models?limit=1&owner=${encodeURIComponent(user.email)}`, { token: user.accessToken })).body.total as number;

describe('security headers', () => {
  it('are on every response, success or error, and HSTS is absent without TLS', async () => {
    const responses: [string, Response][] = [
      ['GET /', await call(t.app, 'GET', '/')],
      ['GET /threat_models', await call(t.app, 'GET', '/threat_models', { token: user.accessToken })],
      ['401', await call(t.app, 'GET', '/threat_models')],
      ['404', await call(t.app, 'GET', '/.well-known/none')],
      ['400 invalid id', await call(t.app, 'GET', '/threat_models/nope')],
      ['415', await call(t.app, 'POST', '/threat_models', { token: user.accessToken, raw: 'x', contentType: 'text/plain' })],
      ['500', await call(t.app, 'GET', '/test/boom')],
      ['OPTIONS', await call(t.app, 'OPTIONS', '/threat_models')],
    ];
    for (const [label, res] of responses) {
      expectSecurityHeaders(res, label);
      expect(res.headers['strict-transport-security'], label).toBeUndefined();
    }
    // API responses are never cached; discovery documents are public and cacheable.
    expect(responses[1]![1].headers['cache-control']).toBe('no-store, no-cache, must-revalidate');
    expect(responses[2]![1].headers['cache-control']).toBe('no-store, no-cache, must-revalidate');
    expect((await call(t.app, 'GET', '/.well-known/openid-configuration')).headers['cache-control']).toBe('public, max-age=3600');
  });

  it('adds HSTS, Secure cookies and serves HTTPS when TLS is enabled', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tmi-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const tls = await startTestApp({ TMI_SERVER_TLS_ENABLED: 'true', TMI_SERVER_TLS_CERT_FILE: cert, TMI_SERVER_TLS_KEY_FILE: key });
    try {
      expect(tls.config.cookie.secure).toBe(true);
      const res = await call(tls.app, 'GET', '/');
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      const s = await signIn(tls.app);
      expect(s.accessToken).toBeTruthy();
      await tls.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (tls.app.server.address() as { port: number }).port;
      const over = await new Promise<{ status: number; protocol: string; body: string }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, maxVersion: 'TLSv1.2', agent: false }, (r) => {
          const protocol = (r.socket as import('node:tls').TLSSocket).getProtocol() ?? '';
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode!, protocol, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(over.status).toBe(200);
      expect(over.protocol).toBe('TLSv1.2');
      expect(JSON.parse(over.body).status.code).toBe('ok');
      const old = await new Promise<string>((resolve) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', agent: false }, () => resolve('connected'));
        req.on('error', (err) => resolve(`refused: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
        req.end();
      });
      expect(old).toMatch(/^refused/);
    } finally {
      await tls.close();
    }
  }, SLOW_TEST_TIMEOUT);
});

describe('CORS', () => {
  it('reflects any origin with credentials in dev mode', async () => {
    const dev = await startTestApp({ TMI_BUILD_MODE: 'dev' });
    try {
      const res = await call(dev.app, 'GET', '/', { headers: { origin: 'https://anywhere.example' } });
      expect(res.headers['access-control-allow-origin']).toBe('https://anywhere.example');
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers.vary).toMatch(/Origin/);
      // Content negotiation on GET / sets its own Vary; Origin must survive it.
      const html = await call(dev.app, 'GET', '/', { headers: { origin: 'https://anywhere.example', accept: 'text/html' } });
      expect(html.headers.vary).toMatch(/Origin/);
      expect(res.headers['access-control-expose-headers']).toMatch(/WWW-Authenticate/);
    } finally {
      await dev.close();
    }
  }, SLOW_TEST_TIMEOUT);

  it('allows only the configured origins in production, and answers every preflight with 204 before authentication', async () => {
    const prod = await startTestApp({ ...PRODUCTION_ENV, TMI_CORS_ALLOWED_ORIGINS: 'https://app.example.test/, https://other.example.test' });
    try {
      const ok = await call(prod.app, 'GET', '/', { headers: { origin: 'https://app.example.test' } });
      expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.test');
      expect(ok.headers['access-control-allow-credentials']).toBe('true');
      const no = await call(prod.app, 'GET', '/', { headers: { origin: 'https://evil.example' } });
      expect(no.headers['access-control-allow-origin']).toBeUndefined();
      expect(no.headers['access-control-allow-credentials']).toBeUndefined();

      const preflight = await call(prod.app, 'OPTIONS', '/threat_models', {
        headers: { origin: 'https://other.example.test', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.text).toBe('');
      expect(preflight.headers['access-control-allow-origin']).toBe('https://other.example.test');
      expect(preflight.headers['access-control-allow-methods']).toBe('POST, OPTIONS, GET, PUT, DELETE, PATCH');
      expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/);
      const denied = await call(prod.app, 'OPTIONS', `/threat_models/${MISSING_TM}`, { headers: { origin: 'https://evil.example' } });
      expect(denied.status).toBe(204);
      expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await prod.close();
    }
  }, SLOW_TEST_TIMEOUT);

  it('does not reflect unknown origins in test mode', async () => {
    const res = await call(t.app, 'GET', '/', { headers: { origin: 'https://anywhere.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('status precedence for unknown paths and methods', () => {
  it('answers 401 before 404 on private paths, and 404 on public ones', async () => {
    for (const url of ['/nothing-here', `/threat_models/${MISSING_TM}/nothing`, '/me/nothing']) {
      const anon = await call(t.app, 'GET', url);
      expect(anon.status, url).toBe(401);
      expect(errorOf(anon).error).toBe('unauthorized');
      const authed = await call(t.app, 'GET', url, { token: user.accessToken });
      expect(authed.status, url).toBe(404);
      expect(errorOf(authed).error).toBe('not_found');
    }
    for (const url of ['/.well-known/nothing', '/oauth2/nothing']) {
      const res = await call(t.app, 'GET', url);
      expect(res.status, url).toBe(404);
      expect(errorOf(res).error).toBe('not_found');
    }
  });

  it('answers 405 with Allow for a known path and another method', async () => {
    expect((await call(t.app, 'DELETE', '/threat_models')).status).toBe(401);
    const res = await call(t.app, 'DELETE', '/threat_models', { token: user.accessToken });
    expect(res.status).toBe(405);
    expect(errorOf(res).error).toBe('method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS, POST');
    const put = await call(t.app, 'POST', `/threat_models/${MISSING_TM}`, { token: user.accessToken, body: {} });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('DELETE, GET, HEAD, OPTIONS, PATCH, PUT');
  });

  it('checks path ids before authentication', async () => {
    for (const url of ['/threat_models/not-a-uuid', `/threat_models/${'a'.repeat(250)}`, '/threat_models/00000000-0000-0000-0000-00000000000g']) {
      const res = await call(t.app, 'GET', url);
      expect(res.status, url).toBe(400);
      expect(errorOf(res).error).toBe('invalid_id');
    }
  });
});

describe('request bodies', () => {
  it('refuses oversize bodies with 413 and writes nothing', async () => {
    const before = await countModels();
    const res = await call(t.app, 'POST', '/threat_models', { token: user.accessToken, body: { name: 'big', description: 'x'.repeat(5000) } });
    expect(res.status).toBe(413);
    expect(errorOf(res).error).toBe('payload_too_large');
    expect(await countModels()).toBe(before);
  });

  it('refuses other media types with 415 (before authentication) and a body without a type with 400', async () => {
    for (const token of [user.accessToken, undefined]) {
      const res = await call(t.app, 'POST', '/threat_models', { token, raw: '{"name":"x"}', contentType: 'text/plain' });
      expect(res.status).toBe(415);
      expect(errorOf(res).error).toBe('unsupported_media_type');
      expect(res.headers.accept).toBe('application/json');
    }
    const form = await call(t.app, 'POST', '/threat_models', { token: user.accessToken, raw: 'name=x', contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const none = await t.app.inject({ method: 'POST', url: '/threat_models', headers: { authorization: `Bearer ${user.accessToken}` }, payload: Buffer.from('{"name":"x"}') });
    expect(none.statusCode).toBe(400);
    expect(none.json().error).toBe('invalid_request');
  });

  it('refuses malformed JSON, trailing data, duplicate keys and dangerous Unicode with 400, writing nothing', async () => {
    const before = await countModels();
    const cases: [string, string, RegExp][] = [
      ['{"name": "x"', 'invalid_input', /not valid JSON/],
      ['{"name":"x"} {"name":"y"}', 'invalid_input', /not valid JSON/],
      ['{"name":"x"}garbage', 'invalid_input', /not valid JSON/],
      ['{"name":"a","name":"b"}', 'invalid_input', /Duplicate key 'name'/],
      ['{"name":"a","metadata":[{"key":"k","value":"1","key":"k2"}]}', 'invalid_input', /Duplicate key 'key'/],
      ['{"name":"a\\u0041","n\\u0061me":"b"}', 'invalid_input', /Duplicate key 'name'/],
      ['{"name":"evil\u202Egnp.exe"}', 'invalid_request', /Unicode/],
      ['{"name":"zero\u200Bwidth"}', 'invalid_request', /Unicode/],
      ['{"name":"escaped\\u200b"}', 'invalid_request', /Unicode/],
      ['{"name":"bell\\u0007"}', 'invalid_request', /Unicode/],
      ['\uFEFF{"name":"bom"}', 'invalid_input', /JSON|Unicode/],
    ];
    for (const [raw, code, description] of cases) {
      const res = await call(t.app, 'POST', '/threat_models', { token: user.accessToken, raw });
      expect(res.status, raw).toBe(400);
      expect(errorOf(res).error_description, raw).toMatch(description);
      if (!raw.startsWith('\uFEFF')) expect(errorOf(res).error, raw).toBe(code);
    }
    const fine = await call(t.app, 'POST', '/threat_models', { token: user.accessToken, raw: '{"name":"emoji 👩‍💻 ok","description":"tab\\tand\\nnewline"}' });
    expect(fine.status).toBe(201);
    expect(await countModels()).toBe(before + 1);
  });

  it('answers malformed JSON before authentication on private routes', async () => {
    const res = await call(t.app, 'POST', '/threat_models', { raw: '{"name":' });
    expect(res.status).toBe(400);
  });
});

describe('errors and request ids', () => {
  it('turns unknown errors into a generic 500 that leaks nothing; the log keeps the detail', async () => {
    const res = await call(t.app, 'GET', '/test/boom', { headers: { 'x-request-id': 'boom-1' } });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error', error_description: 'An internal error occurred; the request id identifies it in the server log' });
    expect(res.text).not.toMatch(/hunter2|ECONNREFUSED|10\.1\.2\.3|at .*\.ts/);
    const line = logs.lines.find((l) => l.reqId === 'boom-1' && l.level === 50);
    expect(line).toBeDefined();
    expect(JSON.stringify(line)).toContain('ECONNREFUSED');
  });

  it('echoes a well-formed X-Request-ID and replaces anything else with a UUID', async () => {
    expect((await call(t.app, 'GET', '/', { headers: { 'x-request-id': 'trace-abc.123:4_5' } })).headers['x-request-id']).toBe('trace-abc.123:4_5');
    for (const bad of ['has spaces', 'x'.repeat(200), 'tab\there', '<script>', '']) {
      const res = await t.app.inject({ method: 'GET', url: '/', headers: { 'x-request-id': bad } });
      expect(res.headers['x-request-id'], bad).toMatch(UUID);
    }
    expect((await call(t.app, 'GET', '/')).headers['x-request-id']).toMatch(UUID);
  });

  it('answers GET / with health and version, GET /config and its own OpenAPI document', async () => {
    const root = await call(t.app, 'GET', '/');
    expect(root.status).toBe(200);
    expect(root.body.status.code).toBe('ok');
    expect(root.body.api.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(root.body.service.build).toBe(t.config.version);
    const cfg = await call(t.app, 'GET', '/config');
    expect(cfg.status).toBe(200);
    expect(cfg.body.features.websocket_enabled).toBe(true);
    const doc = await call(t.app, 'GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/threat_models', '/threat_models/{threat_model_id}', '/oauth2/token', '/me']));
  });
});

describe('request log', () => {
  it('writes one line per request with id, user, method, route, status and latency', async () => {
    const tm = await call(t.app, 'POST', '/threat_models', { token: user.accessToken, body: { name: 'logged' } });
    await call(t.app, 'GET', `/threat_models/${tm.body.id}`, { token: user.accessToken, headers: { 'x-request-id': 'log-line-1' } });
    const line = logs.lines.find((l) => l.msg === 'request' && l.reqId === 'log-line-1');
    expect(line).toMatchObject({
      level: 30,
      reqId: 'log-line-1',
      user: `tmi:${user.user}`,
      method: 'GET',
      route: '/threat_models/:threat_model_id',
      path: `/threat_models/${tm.body.id}`,
      status: 200,
    });
    expect(typeof line!.latency_ms).toBe('number');
    expect(typeof line!.time).toBe('string');
    const anon = logs.lines.find((l) => l.msg === 'request' && l.status === 401);
    expect(anon?.user).toBeUndefined();
  });

  it('never contains tokens, codes, verifiers, cookies or secrets, whatever the request carried', async () => {
    // A complete sign-in, cookie and bearer use, refresh, revoke, introspect and failures.
    const { createHash, randomBytes } = await import('node:crypto');
    const verifier = randomBytes(48).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const auth = await t.app.inject({
      method: 'GET',
      url: '/oauth2/authorize',
      query: { idp: 'tmi', login_hint: 'logcheck', client_callback: CALLBACK, scope: 'openid', state: 'state-secret-123', code_challenge: challenge },
    });
    const code = new URL(auth.headers.location as string).searchParams.get('code')!;
    const tok = await call(t.app, 'POST', '/oauth2/token?idp=tmi', { body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK } });
    const { access_token: access, refresh_token: refreshToken } = tok.body as { access_token: string; refresh_token: string };
    await call(t.app, 'GET', '/me', { headers: { cookie: `tmi_access_token=${access}; other=cookie-secret-456` } });
    await call(t.app, 'GET', '/me', { headers: { authorization: `Basic ${access}` } });
    await call(t.app, 'GET', '/me', { token: `${access}x` });
    await call(t.app, 'POST', '/oauth2/introspect', { raw: `token=${access}`, contentType: 'application/x-www-form-urlencoded' });
    const rotated = await call(t.app, 'POST', '/oauth2/refresh', { body: {}, headers: { cookie: `tmi_refresh_token=${refreshToken}` } });
    await call(t.app, 'POST', '/oauth2/token', { body: { grant_type: 'refresh_token', refresh_token: refreshToken } });
    await call(t.app, 'POST', '/oauth2/revoke', { token: rotated.body.access_token, body: { token: rotated.body.refresh_token } });
    await call(t.app, 'POST', '/threat_models', { token: access, raw: `{"name":"${access}"` });
    await call(t.app, 'GET', `/threat_models?name=${access}`, { token: access });

    const secrets = [access, refreshToken, rotated.body.access_token, rotated.body.refresh_token, code, verifier, 'cookie-secret-456', t.config.jwt.secret];
    for (const s of secrets) {
      expect(s.length).toBeGreaterThan(8);
      expect(logs.text.includes(s), `log contains ${s.slice(0, 12)}...`).toBe(false);
      // Any sizeable piece of a JWT (its signature or payload) is as bad as the whole.
      for (const part of s.split('.').filter((p: string) => p.length >= 16)) expect(logs.text.includes(part)).toBe(false);
    }
    expect(logs.lines.filter((l) => l.msg === 'request').length).toBeGreaterThan(10);
  });
});
