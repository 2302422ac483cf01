// Child processes of the benchmarks: a TypeScript entry run with tsx (our server or a floor
// server), its start awaited over HTTP, and a clean stop. Start-up chatter of the server is
// dropped from stderr; anything else is passed through.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Child {
  proc: ChildProcess;
  exited: Promise<number | null>;
}

/** The Node flags of TMI's start command (package.json "start", deploy/Dockerfile): the server measured as it ships. */
export const START_NODE_FLAGS = ['--max-semi-space-size=8'];

/** Runs `args` (a script and its arguments) under tsx with only `env` (plus PATH and HOME). */
export function run(args: string[], env: Record<string, string>, nodeArgs: string[] = []): Child {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], {
    cwd: ROOT,
    // BENCH_NODE_OPTIONS: Node flags for the servers under test (say, the production start's).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr!.on('data', (c: Buffer) => {
    // Line by line: a chunk holds several lines, and the banner's lines must not hide the others.
    const kept = c
      .toString()
      .split('\n')
      .filter((line) => line.trim() && !/TMI is running|development identity|Storage:|Do not expose/.test(line));
    if (kept.length) process.stderr.write(`${kept.join('\n')}\n`);
  });
  return { proc, exited: new Promise((resolve) => proc.on('exit', resolve)) };
}

/** Resolves when `url` answers 2xx; fails when the child exits first or after `timeoutMs`. */
export async function waitFor(url: string, child: Child, timeoutMs = 300_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.proc.exitCode !== null) throw new Error(`server exited with ${child.proc.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

export async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode === null) child.proc.kill('SIGTERM');
  await child.exited;
}
