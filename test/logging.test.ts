// Log output: JSON lines on stdout by default (also on a terminal outside dev mode), and rotating
// files in TMI_LOG_DIR bounded by size and count.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_ENV } from './support/app.ts';
import { ROOT } from './support/process.ts';

/**
 * Runs a few lines of code against server/log.ts in a child process (tsx runs the TypeScript) and
 * returns its stdout: the logger writes to the process's own stdout and files.
 */
async function withLogger(env: Record<string, string>, body: string): Promise<string> {
  const script = path.join(mkdtempSync(path.join(tmpdir(), 'tmi-log-script-')), 'run.mjs');
  writeFileSync(
    script,
    `import { loadConfig } from ${JSON.stringify(path.join(ROOT, 'server/config.ts'))};
     import { createLogger } from ${JSON.stringify(path.join(ROOT, 'server/log.ts'))};
     const config = loadConfig(process.env);
     const log = createLogger(config);
     ${body}`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-log-data-')), ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('logs', () => {
  it('are JSON lines on stdout, with secrets redacted', async () => {
    const out = await withLogger({ ...PRODUCTION_ENV, TMI_JWT_SECRET: randomBytes(48).toString('base64url') }, `log.info({ user: { password: 'hunter2' } }, 'hello'); log.flush();`);
    const line = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(line).toMatchObject({ level: 30, msg: 'hello', service: 'tmi', user: { password: '[redacted]' } });
    expect(typeof line.time).toBe('string');
  });

  it('rotate in TMI_LOG_DIR at TMI_LOG_MAX_SIZE_MB, keeping TMI_LOG_MAX_BACKUPS old files', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tmi-logs-'));
    // About 4.2 MiB in six bursts of 0.7 MiB through 1 MiB files, at most 2 kept besides the
    // current one. pino-roll rotates once a write has taken the file past the size, so a file can
    // exceed it by what was buffered at that moment (more on a busy machine).
    await withLogger(
      { TMI_LOG_DIR: dir, TMI_LOG_MAX_SIZE_MB: '1', TMI_LOG_MAX_BACKUPS: '2', TMI_LOG_LEVEL: 'info' },
      `const pad = 'x'.repeat(1000);
       for (let burst = 0; burst < 6; burst++) {
         for (let i = burst * 700; i < (burst + 1) * 700; i++) log.info({ i, pad }, 'line');
         await new Promise((r) => setTimeout(r, 400));
       }
       log.flush();
       await new Promise((r) => setTimeout(r, 500));`,
    );
    const numbers = readdirSync(dir)
      .map((f) => /^tmi\.(\d+)\.log$/.exec(f)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    // Rotated at least once, and never more than the current file plus two kept.
    expect(numbers.length).toBeGreaterThanOrEqual(2);
    expect(numbers.length).toBeLessThanOrEqual(3);
    // Files are numbered in order; once a fourth was started, the oldest ones were deleted.
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, k) => numbers.at(-1)! - numbers.length + 1 + k));
    // The newest line is in the file current.log points to.
    const current = readFileSync(path.join(dir, 'current.log'), 'utf8').trim().split('\n');
    expect(JSON.parse(current.at(-1)!).i).toBe(4199);
  }, 60_000);
});
