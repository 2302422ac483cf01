// The server as a process (server/main.ts): readable refusal of bad configuration, the data-folder
// lock while it runs, and graceful shutdown — a request in flight at SIGTERM completes, the process
// exits 0 and releases the lock, and a restart on the same folder finds the data.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirLockedError, openDb } from '../server/store/db.ts';
import { ROOT, signInOverHttp, startServerProcess } from './support/process.ts';

describe('server process', () => {
  it('refuses to start with a readable message when the configuration is invalid', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, TMI_BUILD_MODE: 'production', TMI_CORS_ALLOWED_ORIGINS: '*', TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-proc-')) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
      expect(done.status, done.body).toBe(201);
      createdId = (JSON.parse(done.body) as { id: string }).id;

      const exit = await server.exited;
      expect(exit).toEqual({ code: 0, signal: null });
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
});
