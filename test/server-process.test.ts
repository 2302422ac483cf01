// The server as a process (server/main.ts): readable refusal of bad configuration, the data-folder
// lock while it runs, and graceful shutdown — a request in flight at SIGTERM completes, the process
// exits 0 and releases the lock, and a restart on the same folder finds the data.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirLockedError, openDb } from '../server/store/db.ts';
import { seedDataFolder, signInOverHttp, spawnServer, startServerProcess } from './support/process.ts';

/** Runs the server until it exits on its own (a refusal to start). */
async function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  seedDataFolder(env);
  const child = await spawnServer({ PATH: process.env.PATH, ...env });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout!.resume();
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stderr };
}

/** A port something else already listens on. */
async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

async function freePort(): Promise<number> {
  const { port, server } = await occupiedPort();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A self-signed certificate for localhost, for TLS start-ups. */
function selfSignedCertificate(dir: string): { TMI_SERVER_TLS_CERT_FILE: string; TMI_SERVER_TLS_KEY_FILE: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { TMI_SERVER_TLS_CERT_FILE: cert, TMI_SERVER_TLS_KEY_FILE: key };
}

/** Sends a request exactly as written (request target included) and returns the raw response head. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.includes('\r\n\r\n')) socket.end();
    });
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
  });
}

describe('server process', () => {
  it('refuses to start with a readable message when the configuration is invalid', async () => {
    const child = await spawnServer({ PATH: process.env.PATH, TMI_BUILD_MODE: 'production', TMI_CORS_ALLOWED_ORIGINS: '*', TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-proc-')) });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('TMI cannot start: invalid configuration:');
    expect(err).toContain('  - TMI_JWT_SECRET: required in production');
    expect(err).toContain('  - TMI_CORS_ALLOWED_ORIGINS: "*" is not allowed; list the origins of your web clients');
    expect(err).toContain('See docs/configuration.md');
    expect(err).not.toMatch(/\n\s+at /); // no stack trace for a configuration problem
  }, 60_000);

  it('holds the data folder, finishes a request in flight on SIGTERM, exits 0 and releases the lock', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tmi-proc-'));
    const env = { TMI_BUILD_MODE: 'test', TMI_DATA_DIR: dataDir, TMI_JWT_SECRET: randomBytes(32).toString('hex') };
    const server = await startServerProcess(env);
    let createdId = '';
    let token = '';
    try {
      // While it runs, nobody else may open the folder.
      const second = openDb({ dataDir });
      await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(second).rejects.toThrow(`(pid ${server.child.pid})`);

      token = await signInOverHttp(server.port, 'shutdown-user');
      const body = JSON.stringify({ name: 'created while stopping', description: 'x'.repeat(2000) });
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: server.port, method: 'POST', path: '/threat_models', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, body: text }));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, 100));
        // The rest of the body arrives after the signal.
        setTimeout(() => {
          server.child.kill('SIGTERM');
          setTimeout(() => req.end(body.slice(100)), 500);
        }, 300);
      });
      const done = await response;
      const answeredAt = Date.now();
      expect(done.status, done.body).toBe(201);
      createdId = (JSON.parse(done.body) as { id: string }).id;

      const exit = await server.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      // The client keeps its connection alive (Node's default agent): the server closes it once
      // the answer is out rather than waiting out the keep-alive timeout (5 s).
      expect(Date.now() - answeredAt).toBeLessThan(4000);
      expect(server.stdout()).toContain('shutting down: no new connections, finishing requests in flight');
      expect(server.stdout()).toContain('"msg":"stopped"');
      expect(existsSync(path.join(dataDir, 'tmi.lock'))).toBe(false);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }

    // A restart on the same folder takes it over and still has the data and the session.
    const again = await startServerProcess(env);
    try {
      const res = await fetch(`http://127.0.0.1:${again.port}/threat_models/${createdId}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { name: string }).name).toBe('created while stopping');
      again.child.kill('SIGINT');
      expect(await again.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(path.join(dataDir, 'tmi.lock'))).toBe(false);
    } finally {
      if (again.child.exitCode === null) again.child.kill('SIGKILL');
    }
  }, 240_000);

  it('says in one line, without a stack, that a port is already in use, and releases the data folder', async () => {
    const { port, server } = await occupiedPort();
    try {
      // The two refusals side by side, each on a data folder of its own.
      const [apiDir, redirectDir] = [mkdtempSync(path.join(tmpdir(), 'tmi-proc-')), mkdtempSync(path.join(tmpdir(), 'tmi-proc-'))];
      const env = (dataDir: string) => ({ TMI_BUILD_MODE: 'test', TMI_DATA_DIR: dataDir, TMI_JWT_SECRET: randomBytes(32).toString('hex'), TMI_LOG_LEVEL: 'silent' });
      const [api, redirect] = await Promise.all([
        runToExit({ ...env(apiDir), TMI_SERVER_PORT: String(port) }),
        runToExit({
          ...env(redirectDir),
          ...selfSignedCertificate(redirectDir),
          TMI_SERVER_PORT: '0',
          TMI_SERVER_TLS_ENABLED: 'true',
          TMI_SERVER_HTTP_TO_HTTPS_REDIRECT: 'true',
          TMI_SERVER_HTTP_REDIRECT_PORT: String(port),
        }),
      ]);
      expect(api.code).toBe(1);
      expect(api.stderr).toBe(`TMI cannot start: TMI_SERVER_PORT: 127.0.0.1:${port} is already in use (another TMI, or another server, is listening there)\n`);
      expect(existsSync(path.join(apiDir, 'tmi.lock'))).toBe(false);
      expect(redirect.code).toBe(1);
      expect(redirect.stderr).toBe(
        `TMI cannot start: TMI_SERVER_HTTP_REDIRECT_PORT: 127.0.0.1:${port} is already in use (another TMI, or another server, is listening there)\n`,
      );
      expect(existsSync(path.join(redirectDir, 'tmi.lock'))).toBe(false);
    } finally {
      server.close();
    }
  }, 120_000);

  it('redirects plain HTTP to the base URL with only the path and query: no request target chooses the host', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tmi-proc-'));
    const redirectPort = await freePort();
    const server = await startServerProcess({
      TMI_BUILD_MODE: 'test',
      TMI_DATA_DIR: dataDir,
      TMI_JWT_SECRET: randomBytes(32).toString('hex'),
      ...selfSignedCertificate(dataDir),
      TMI_SERVER_TLS_ENABLED: 'true',
      TMI_SERVER_HTTP_TO_HTTPS_REDIRECT: 'true',
      TMI_SERVER_HTTP_REDIRECT_PORT: String(redirectPort),
      TMI_SERVER_BASE_URL: 'https://tmi.example.test:8443',
    });
    try {
      const cases: [string, string][] = [
        ['/threat_models?limit=5', 'https://tmi.example.test:8443/threat_models?limit=5'],
        ['//evil.example/x?y=1', 'https://tmi.example.test:8443/x?y=1'],
        ['http://evil.example/a/b?c=d', 'https://tmi.example.test:8443/a/b?c=d'],
        ['https://evil.example:8443/', 'https://tmi.example.test:8443/'],
        ['/%2F%2Fevil.example/', 'https://tmi.example.test:8443/%2F%2Fevil.example/'],
        ['/./\\evil.example/', 'https://tmi.example.test:8443/evil.example/'],
        ['/.//evil.example/', 'https://tmi.example.test:8443/evil.example/'],
      ];
      for (const [target, location] of cases) {
        const head = await rawRequest(redirectPort, `GET ${target} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
        expect(head, target).toMatch(/^HTTP\/1\.1 308 /);
        expect(/\r\nlocation: ([^\r]*)\r\n/i.exec(head)?.[1], target).toBe(location);
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 120_000);
});
