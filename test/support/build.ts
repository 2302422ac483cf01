// The compiled server (dist/, made by scripts/build.mjs --if-stale as `npm start` makes it) for the
// tests that start the server or its command line as a child process. Each start of the compiled
// server costs about 2.5 s of CPU, through tsx about 4 s; the build runs at most once per test run,
// and not at all while dist/ is newer than its sources. Parallel test workers (and the deployment
// test, which also needs the web app) build under one lock, so no two builds write dist/ at once.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { pidAlive } from '../../server/store/db.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const LOCK = path.join(DIST, '.build-lock');
/** A lock older than this was left by a build that died without removing it. */
const STALE_LOCK_MS = 10 * 60_000;

/** `node <these> ...env` runs the compiled server as the image's entrypoint does (Dockerfile). */
export function compiledServerArgs(opts: { tracing?: boolean } = {}): string[] {
  return ['--enable-source-maps', ...(opts.tracing ? ['--import', './dist/server/observability/preload.js'] : []), 'dist/server/main.js'];
}

/** The compiled administration command line (`npm run tmi`), relative to the repository root. */
export const COMPILED_CLI = 'dist/server/tools/cli.js';

/**
 * Node's compile cache for the compiled server's children (NODE_COMPILE_CACHE): each start then
 * skips compiling the modules it loaded before, about 0.3 s of CPU. A build cache like any other.
 */
export const NODE_COMPILE_CACHE = path.join(ROOT, 'node_modules/.cache/tmi-node-compile-cache');

/** Sources whose change makes a build due (a superset of build.mjs's inputs, for a cheap check here). */
const SOURCES = ['server', 'contract', 'web/src', 'web/index.html', 'package.json', 'package-lock.json', 'formats', 'rules', 'tsconfig.json', 'vite.config.ts'];

function newest(p: string): number {
  let s;
  try {
    s = statSync(p);
  } catch {
    return 0;
  }
  return s.isDirectory() ? readdirSync(p).reduce((m, name) => Math.max(m, newest(path.join(p, name))), s.mtimeMs) : s.mtimeMs;
}

/** Per kind: the build (or check) made in this process, and the sources' newest change it saw. */
const builds = new Map<string, { build: Promise<void>; sources: number }>();

/**
 * Brings dist/ up to date: the server, and with 'server and web' the web app too. Once per process
 * and kind while no source changes (a watch session reruns the files after an edit).
 */
export function ensureBuilt(what: 'server' | 'server and web' = 'server'): Promise<void> {
  const sources = Math.max(...SOURCES.map((p) => newest(path.join(ROOT, p))));
  const made = builds.get(what);
  if (made && made.sources === sources) return made.build;
  const build = underLock(() => runBuild(what === 'server' ? ['--server-only'] : []));
  builds.set(what, { build, sources });
  // A failed build is tried again by the next test that needs it (and fails it with the output).
  build.catch(() => builds.delete(what));
  return build;
}

/**
 * What the test files of this run need built (global-setup.ts builds it before the files start, so
 * no test's timeout includes a build): files that call ensureBuilt, spawnServer or startServerProcess
 * need the server, a file that asks for 'server and web' needs the web app too. Read from the
 * files' text; filters on the command line (`vitest run test/x.test.ts`) narrow the files.
 */
export async function buildsNeeded(project: TestProject): Promise<'server' | 'server and web' | undefined> {
  // Internal to Vitest; without it every file counts, which builds at worst more than needed.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  const specs = await project.vitest.globTestSpecifications(filters);
  let needed: 'server' | 'server and web' | undefined;
  for (const spec of specs) {
    const text = readFileSync(spec.moduleId, 'utf8');
    if (text.includes("ensureBuilt('server and web')")) return 'server and web';
    if (/\b(startServerProcess|spawnServer|ensureBuilt)\(/.test(text)) needed = 'server';
  }
  return needed;
}

async function underLock(fn: () => Promise<void>): Promise<void> {
  mkdirSync(DIST, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    } catch {
      /* being written */
    }
    let age = 0;
    try {
      age = Date.now() - statSync(LOCK).mtimeMs;
    } catch {
      continue; // released just now
    }
    if ((holder && !pidAlive(holder)) || age > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
    else await new Promise((r) => setTimeout(r, 200));
  }
  try {
    writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
    await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function runBuild(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--if-stale', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/build.mjs ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}
