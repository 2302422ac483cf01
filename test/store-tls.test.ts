// TLS to the data stores: Redis over rediss:// with a private CA and an ACL user (a real
// redis-server with TLS on a free port), the settings' checks, and the served certificate's
// expiry as a metric (for the alert rules in deploy/prometheus/alerts.yaml).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.ts';
import { openDb } from '../server/store/db.ts';
import { postgresTls } from '../server/store/tls.ts';
import { RATE_LIMIT_TIERS } from '../server/http/rate-limit.ts';
import { call, signIn, startTestApp } from './support/app.ts';
import { ROOT } from './support/process.ts';
import { freePort } from './support/net.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tmi-tls-'));
const file = (name: string) => path.join(dir, name);

/** A CA and a certificate for 127.0.0.1 / localhost signed by it. */
beforeAll(() => {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=TMI test CA', '-keyout', file('ca.key'), '-out', file('ca.pem'));
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'));
  ssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-copy_extensions', 'copy', '-out', file('server.pem'));
});

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
  afterAll(async () => {
    if (!redis || redis.exitCode !== null) return;
    const exited = new Promise((r) => redis.once('exit', r));
    redis.kill('SIGTERM');
    await exited;
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

// A throwaway PostgreSQL cluster that accepts TLS connections only (needs root, to run it as the
// postgres user, and PostgreSQL's server binaries; CI has both).
const PG_BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((d) => existsSync(path.join(d, 'initdb')));
const canRunPostgres = process.getuid?.() === 0 && PG_BIN !== undefined;

describe.runIf(canRunPostgres)('PostgreSQL over TLS', () => {
  let server: ChildProcess;
  let port: number;
  beforeAll(async () => {
    const pgDir = mkdtempSync(path.join(tmpdir(), 'tmi-pg-tls-'));
    const data = path.join(pgDir, 'data');
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(pgDir, uid, gid);
    execFileSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN!, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync'], { stdio: 'pipe' });
    for (const f of ['server.pem', 'server.key']) {
      copyFileSync(file(f), path.join(data, f));
      chownSync(path.join(data, f), uid, gid);
      chmodSync(path.join(data, f), 0o600);
    }
    // TLS connections only: a plain one is refused by pg_hba.
    execFileSync('runuser', ['-u', 'postgres', '--', 'sh', '-c', `printf 'hostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n' > ${data}/pg_hba.conf`]);
    port = await freePort();
    const sock = path.join(pgDir, 'sock');
    mkdirSync(sock);
    chownSync(sock, uid, gid);
    // setpriv execs postgres itself (runuser would stay the parent and not pass SIGINT on).
    server = spawn('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', path.join(PG_BIN!, 'postgres'), '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${sock}`, '-c', 'ssl=on', '-c', 'ssl_cert_file=server.pem', '-c', 'ssl_key_file=server.key', '-c', 'fsync=off'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    for (let i = 0; i < 300 && !out.includes('ready to accept connections'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('ready to accept connections');
  }, 120_000);
  afterAll(async () => {
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGINT'); // fast shutdown
    await exited;
  });
  const url = (query = '') => `postgres://postgres@127.0.0.1:${port}/postgres${query}`;
  const sslInUse = async (db: Awaited<ReturnType<typeof openDb>>) => (await db.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))[0]?.ssl;

  it('connects with TMI_DATABASE_TLS_CA_FILE, verifying the certificate, and migrates', async () => {
    const db = await openDb({ databaseUrl: url(), poolMax: 1, ssl: postgresTls(file('ca.pem')) });
    try {
      expect(await sslInUse(db)).toBe(true);
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations'))[0]!.n).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('connects with sslmode=verify-full and sslrootcert in the URL', async () => {
    const db = await openDb({ databaseUrl: url(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(file('ca.pem'))}`), poolMax: 1 });
    try {
      expect(await sslInUse(db)).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('refuses a certificate it cannot verify, and the server refuses plain connections', async () => {
    await expect(openDb({ databaseUrl: url('?sslmode=verify-full'), poolMax: 1 })).rejects.toThrow(/self-signed|certificate/i);
    await expect(openDb({ databaseUrl: url('?sslmode=disable'), poolMax: 1 })).rejects.toThrow(/no encryption|pg_hba/i);
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
      // Label values too: an alert on a tier that does not exist would never fire.
      const tiers = rules.groups.flatMap((g) => g.rules.flatMap((r) => [...r.expr.matchAll(/tmi_rate_limit_rejections_total\{[^}]*limit="([^"]+)"/g)].map((m) => m[1]!)));
      expect(tiers.length).toBeGreaterThan(0);
      for (const tier of tiers) expect(RATE_LIMIT_TIERS).toContain(tier);
    } finally {
      await t.close();
    }
  });
});
