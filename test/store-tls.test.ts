// TLS to the data stores: Redis over rediss:// with a private CA and an ACL user (a real
// redis-server with TLS on a free port), the settings' checks, and the served certificate's
// expiry as a metric (for the alert rules in deploy/prometheus/alerts.yaml).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.ts';
import { call, signIn, startTestApp } from './support/app.ts';
import { ROOT } from './support/process.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tmi-tls-'));
const file = (name: string) => path.join(dir, name);

/** A CA and a certificate for 127.0.0.1 / localhost signed by it. */
beforeAll(() => {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=TMI test CA', '-keyout', file('ca.key'), '-out', file('ca.pem'));
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'));
  ssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-copy_extensions', 'copy', '-out', file('server.pem'));
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('Redis over TLS with an ACL user', () => {
  let redis: ChildProcess;
  let port: number;
  const password = randomBytes(12).toString('hex');
  beforeAll(async () => {
    port = await freePort();
    redis = spawn('redis-server', ['-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    redis.stdin!.end(
      [
        'port 0',
        `tls-port ${port}`,
        'bind 127.0.0.1',
        `tls-cert-file ${file('server.pem')}`,
        `tls-key-file ${file('server.key')}`,
        `tls-ca-cert-file ${file('ca.pem')}`,
        'tls-auth-clients no',
        'save ""',
        'appendonly no',
        'user default off',
        `user tmi on >${password} ~* &* +@all`,
        '',
      ].join('\n'),
    );
    let out = '';
    redis.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    for (let i = 0; i < 100 && !out.includes('Ready to accept connections'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('Ready to accept connections');
  }, 60_000);
  afterAll(() => {
    redis?.kill('SIGTERM');
  });
  const url = (pw = password) => `rediss://tmi:${pw}@127.0.0.1:${port}/0`;

  it('serves sign-in and readiness through the TLS connection, verified against the configured CA', async () => {
    const t = await startTestApp({ TMI_REDIS_URL: url(), TMI_REDIS_TLS_CA_FILE: file('ca.pem') });
    try {
      expect(t.ctx.shared.kind).toBe('redis');
      const user = await signIn(t.app);
      expect((await call(t.app, 'GET', '/threat_models', { token: user.accessToken })).status).toBe(200);
      expect((await call(t.app, 'GET', '/readyz')).body.redis).toBe('ok');
    } finally {
      await t.close();
    }
  });

  it('refuses a server whose certificate it cannot verify, and a wrong password', async () => {
    await expect(startTestApp({ TMI_REDIS_URL: url() })).rejects.toThrow(/self-signed|certificate/i);
    await expect(startTestApp({ TMI_REDIS_URL: url('wrong'), TMI_REDIS_TLS_CA_FILE: file('ca.pem') })).rejects.toThrow(/WRONGPASS|invalid username-password/i);
  });
});

describe('data-store TLS settings', () => {
  it('a CA file needs rediss://, and TMI_DATABASE_TLS_CA_FILE does not mix with sslmode in the URL', () => {
    let err: unknown;
    try {
      loadConfig({
        TMI_REDIS_URL: 'redis://127.0.0.1:6379',
        TMI_REDIS_TLS_CA_FILE: __filename,
        TMI_DATABASE_URL: 'postgres://u@db/tmi?sslmode=verify-full',
        TMI_DATABASE_TLS_CA_FILE: __filename,
        TMI_DATA_DIR: dir,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'TMI_DATABASE_TLS_CA_FILE: TMI_DATABASE_URL sets sslmode itself; use one or the other',
      'TMI_REDIS_TLS_CA_FILE: needs a rediss:// TMI_REDIS_URL',
    ]);
  });
});

describe('certificate expiry metric', () => {
  it('reports when the served certificate expires', async () => {
    const token = randomBytes(16).toString('hex');
    const t = await startTestApp({
      TMI_SERVER_TLS_ENABLED: 'true',
      TMI_SERVER_TLS_CERT_FILE: file('server.pem'),
      TMI_SERVER_TLS_KEY_FILE: file('server.key'),
      TMI_METRICS_TOKEN: token,
    });
    try {
      const text = (await call(t.app, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } })).text;
      const line = text.split('\n').find((l) => l.startsWith('tmi_tls_certificate_expiry_timestamp_seconds'))!;
      const expected = Date.parse(new X509Certificate(readFileSync(file('server.pem'))).validTo) / 1000;
      expect(Number(line.split(' ').at(-1))).toBe(expected);
    } finally {
      await t.close();
    }
  });

  it('the example alert rules use only metrics the server exports', async () => {
    const token = randomBytes(16).toString('hex');
    const t = await startTestApp({ TMI_METRICS_TOKEN: token });
    try {
      const text = (await call(t.app, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } })).text;
      const exported = new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
      const rules = parse(readFileSync(path.join(ROOT, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
      const used = rules.groups.flatMap((g) => g.rules.flatMap((r) => [...r.expr.matchAll(/\b((?:tmi|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!)));
      expect(used.length).toBeGreaterThan(5);
      for (const name of used) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        expect(exported.has(name) || exported.has(base), name).toBe(true);
      }
    } finally {
      await t.close();
    }
  });
});
