// The web app's serving (server/http/web.ts): `/` by Accept, deep links, assets, CSP. Uses a
// fixture build so the test does not depend on `vite build`.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appContentSecurityPolicy, prefersHtml } from '../server/http/web.ts';
import { call, errorOf, signIn, startTestApp, type TestApp } from './support/app.ts';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';

function fixtureDist(withIndex = true): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tmi-web-'));
  mkdirSync(path.join(dir, 'assets'));
  if (withIndex) writeFileSync(path.join(dir, 'index.html'), INDEX);
  writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log("app")');
  writeFileSync(path.join(dir, 'assets', 'index-abc123.css'), 'body{}');
  writeFileSync(path.join(dir, 'secret.txt'), 'outside assets');
  return dir;
}

describe('web app serving', () => {
  let t: TestApp;
  let bare: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { webDistDir: fixtureDist() });
    bare = await startTestApp({}, { webDistDir: fixtureDist(false) });
  });
  afterAll(async () => {
    await t.close();
    await bare.close();
  });

  it('GET / stays the JSON health document for API clients (no Accept, */*, JSON)', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/plain, */*']) {
      const res = await call(t.app, 'GET', '/', { headers: accept ? { accept } : {} });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body.api.version).toBeTypeOf('string');
      expect(String(res.headers.vary)).toMatch(/Accept/);
    }
  });

  it('GET / from a browser is the app, with the app CSP (scripts from self only) and no caching of the HTML', async () => {
    const res = await call(t.app, 'GET', '/', { headers: { accept: BROWSER, host: 'tmi.example:8443' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toBe(INDEX);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toBe(appContentSecurityPolicy(t.config.server.baseUrl));
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(csp).toContain("connect-src 'self' ws://localhost:8080;");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('builds the CSP from the configured base URL and never echoes the Host header', async () => {
    const hosts = ['evil.example', "evil.example; script-src 'unsafe-inline' *", 'x wss://evil.example'];
    for (const host of hosts) {
      for (const url of ['/', '/tm']) {
        const res = await call(t.app, 'GET', url, { headers: { accept: BROWSER, host } });
        expect(res.status, host).toBe(200);
        const csp = String(res.headers['content-security-policy']);
        expect(csp, host).toBe(appContentSecurityPolicy(t.config.server.baseUrl));
        expect(csp, host).not.toContain('evil');
      }
    }
    expect(appContentSecurityPolicy('https://tmi.example.com')).toContain("connect-src 'self' wss://tmi.example.com;");
    expect(appContentSecurityPolicy('http://localhost:8080')).toContain("connect-src 'self' ws://localhost:8080;");
  });

  it('HEAD / from a browser has the headers and no body', async () => {
    const res = await t.app.inject({ method: 'HEAD', url: '/', headers: { accept: BROWSER } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toBe('');
  });

  it('deep links load the app without a token', async () => {
    for (const url of ['/tm', '/tm/8a3c2b1e-0000-4000-8000-000000000001', '/tm/8a3c2b1e-0000-4000-8000-000000000001/dfd/x', '/login', '/login/callback?code=abc&state=def', '/account', '/account?link_pending=abc']) {
      const res = await call(t.app, 'GET', url, { headers: { accept: BROWSER } });
      expect(res.status, url).toBe(200);
      expect(res.text).toBe(INDEX);
    }
  });

  it('API paths keep their behaviour for browsers: 401 without a token, JSON with one', async () => {
    const anon = await call(t.app, 'GET', '/threat_models', { headers: { accept: BROWSER } });
    expect(anon.status).toBe(401);
    expect(errorOf(anon).error).toBe('unauthorized');
    const u = await signIn(t.app);
    const ok = await call(t.app, 'GET', '/threat_models', { token: u.accessToken, headers: { accept: BROWSER } });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/application\/json/);
  });

  it('serves hashed assets with their content type and a long immutable cache', async () => {
    const js = await call(t.app, 'GET', '/assets/index-abc123.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.text).toBe('console.log("app")');
    const css = await call(t.app, 'GET', '/assets/index-abc123.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers conditional and range requests for assets (a revisit costs a 304, not the bundle)', async () => {
    const first = await call(t.app, 'GET', '/assets/index-abc123.js');
    const etag = String(first.headers['etag']);
    expect(etag).toMatch(/^(W\/)?"/);
    const again = await call(t.app, 'GET', '/assets/index-abc123.js', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    const part = await call(t.app, 'GET', '/assets/index-abc123.js', { headers: { range: 'bytes=0-6' } });
    expect(part.status).toBe(206);
    expect(part.text).toBe('console');
  });

  it('unknown, unsafe or non-asset names under /assets/ are 404 with the error envelope', async () => {
    for (const url of ['/assets/missing-1.js', '/assets/..%2fsecret.txt', '/assets/%2e%2e%2fsecret.txt', '/assets/secret.txt', '/assets/.hidden.js', '/assets/a/b.js']) {
      const res = await call(t.app, 'GET', url);
      expect(res.status, url).toBe(404);
      expect(errorOf(res).error).toBe('not_found');
      expect(res.text).not.toContain('outside assets');
    }
  });

  it('without a build, browsers get a clear 503 and API clients are unaffected', async () => {
    const html = await call(bare.app, 'GET', '/', { headers: { accept: BROWSER } });
    expect(html.status).toBe(503);
    expect(errorOf(html).error).toBe('web_app_not_built');
    const json = await call(bare.app, 'GET', '/', { headers: { accept: 'application/json' } });
    expect(json.status).toBe(200);
  });

  it('app routes answer GET and HEAD only (401 first for an anonymous caller, as on every private path)', async () => {
    const anon = await call(t.app, 'POST', '/tm/x', { body: {} });
    expect(anon.status).toBe(401);
    errorOf(anon);
    const u = await signIn(t.app);
    const res = await call(t.app, 'POST', '/tm/x', { token: u.accessToken, body: {} });
    expect(res.status).toBe(404);
    expect(errorOf(res).error).toBe('not_found');
  });
});

describe('prefersHtml', () => {
  it('ranks text/html against JSON by quality', () => {
    expect(prefersHtml(BROWSER)).toBe(true);
    expect(prefersHtml('text/html')).toBe(true);
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml('application/json')).toBe(false);
    expect(prefersHtml('application/json, text/html;q=0.5')).toBe(false);
    expect(prefersHtml('text/html;q=0, application/json')).toBe(false);
    expect(prefersHtml('text/html;q=bogus')).toBe(false);
  });
});
