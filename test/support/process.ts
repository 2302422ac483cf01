// The server as a real child process (server/main.ts), for tests of what only a process shows:
// signals, the data-folder lock, several instances sharing PostgreSQL + Redis. It is the compiled
// server (dist/, test/support/build.ts), started as the container image starts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync } from 'node:fs';
import path from 'node:path';
import { compiledServerArgs, ensureBuilt, NODE_COMPILE_CACHE } from './build.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** Everything the process wrote to stdout so far. */
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `node dist/server/main.js` (not npx: signals must reach the server itself) in the
 * repository root with `env` (and Node's compile cache), once dist/ is current. `tracing`: with
 * the OpenTelemetry preload, as the image's entrypoint runs it.
 */
export async function spawnServer(env: Record<string, string | undefined>, opts: { tracing?: boolean } = {}): Promise<ChildProcess> {
  await ensureBuilt();
  return spawn(process.execPath, compiledServerArgs(opts), { cwd: ROOT, env: { NODE_COMPILE_CACHE, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Starts the server (spawnServer) with only PATH and HOME from this environment plus `env`, and
 * resolves once it has started listening. TMI_SERVER_PORT=0 picks a free port; the port it got is
 * read from the start-up log line.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  seedDataFolder(env);
  const child = await spawnServer({ PATH: process.env.PATH, HOME: process.env.HOME, TMI_SERVER_PORT: '0', TMI_LOG_LEVEL: 'info', ...env });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${err}`)), 90_000);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const started = out.split('\n').find((l) => l.includes('"TMI server started"'));
      if (started) {
        clearTimeout(timer);
        resolve({ child, port: (JSON.parse(started) as { port: number }).port, stdout: () => out, exited });
      }
    });
    void exited.then(({ code }) => reject(new Error(`server exited with ${code} before starting:\n${out}\n${err}`)));
  });
}

/**
 * Signs in over HTTP through the development provider (authorization code + PKCE); returns the
 * access token. `server` is a local port or a base URL (the benchmarks pass theirs).
 */
export async function signInOverHttp(server: number | string, user: string): Promise<string> {
  const base = typeof server === 'number' ? `http://127.0.0.1:${server}` : server;
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({ idp: 'tmi', login_hint: user, client_callback: 'http://localhost:8079/', scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256' });
  const auth = await fetch(`${base}/oauth2/authorize?${q}`, { redirect: 'manual' });
  const code = new URL(auth.headers.get('location')!).searchParams.get('code')!;
  const token = await fetch(`${base}/oauth2/token?idp=tmi`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'http://localhost:8079/' }),
  });
  return ((await token.json()) as { access_token: string }).access_token;
}

/**
 * A server on a new PGlite data folder starts from a copy of the migrated template folder (made by
 * global-setup.ts) instead of initialising one: the same database, without about 10 s of CPU.
 */
export function seedDataFolder(env: Record<string, string>): void {
  const template = process.env.TMI_TEST_PGLITE_FOLDER;
  if (!template || !env.TMI_DATA_DIR || env.TMI_DATABASE_URL) return;
  const target = path.join(env.TMI_DATA_DIR, 'pglite');
  if (!existsSync(target)) cpSync(template, target, { recursive: true });
}
