// Browser-test harness: a real server on its own port and data folder, Debian's Chromium driven
// by playwright-core, and the UI steps shared by the tests (sign in, create a threat model...).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const PORT = Number(process.env.TMI_E2E_PORT ?? 18083);
export const BASE = `http://localhost:${PORT}`;
const ROOT = path.resolve(import.meta.dirname, '../..');
export const SHOTS = process.env.TMI_E2E_SCREENSHOTS ?? path.join(ROOT, 'test-results/e2e');

export interface Harness {
  browser: Browser;
  /** Stops the server (graceful), waits, and starts it again on the same port and data. */
  restartServer(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function waitForServer(proc: ChildProcess, log: () => string): Promise<void> {
  // A loaded machine (CI beside other jobs) can take minutes to compile and start the server.
  const deadline = Date.now() + Number(process.env.TMI_E2E_START_TIMEOUT_MS ?? 240_000);
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${log()}`);
    try {
      const res = await fetch(`${BASE}/`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`server did not start in time:\n${log()}`);
}

function startServer(dataDir: string, extraEnv: Record<string, string> = {}): { proc: ChildProcess; log: () => string } {
  let out = '';
  const proc = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'server/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, TMI_BUILD_MODE: 'dev', TMI_SERVER_PORT: String(PORT), TMI_SERVER_INTERFACE: '127.0.0.1', TMI_DATA_DIR: dataDir, TMI_LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, log: () => out };
}

async function stopServer(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve();
    }, 8000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** `env`: more settings for the server (identity providers, step-up window...). */
export async function startHarness(opts: { env?: Record<string, string> } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tmi-e2e-data-'));
  let { proc: server, log } = startServer(dataDir, opts.env);
  try {
    await waitForServer(server, log);
  } catch (err) {
    // SIGTERM first: tsx passes it on to the server it started (a SIGKILL would orphan that).
    await stopServer(server);
    throw err;
  }
  const browser = await chromium.launch({
    executablePath: process.env.TMI_E2E_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  }).catch(async (err: unknown) => {
    await stopServer(server);
    throw err;
  });
  return {
    browser,
    async restartServer(downMs = 1000) {
      await stopServer(server);
      await new Promise((r) => setTimeout(r, downMs));
      ({ proc: server, log } = startServer(dataDir, opts.env));
      await waitForServer(server, log);
    },
    async stop() {
      await browser.close().catch(() => {});
      await stopServer(server);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh browser context (its own cookies) on a laptop-sized screen. */
export async function newUserPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  // Ask the editor to expose its X6 graph (window.__tmiGraph), which the tests read.
  await context.addInitScript(() => {
    try {
      localStorage.setItem('tmi.testHooks', '1');
    } catch {
      // about:blank and other opaque origins have no storage
    }
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => process.stderr.write(`[browser error] ${err.message}\n`));
  return { context, page };
}

export const uniqueName = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

/** Signs in through the sign-in page with the development provider. */
export async function signIn(page: Page, user: string): Promise<void> {
  await page.goto(`${BASE}/`);
  await page.locator('input[name="login_hint"]').fill(user);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('who').waitFor();
}

export async function createThreatModel(page: Page, name: string): Promise<string> {
  await page.getByRole('button', { name: 'New threat model' }).click();
  await page.locator('input[name="name"]').fill(name);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.waitForURL(/\/tm\/[0-9a-f-]{36}$/);
  await page.getByRole('tablist').waitFor();
  return new URL(page.url()).pathname.split('/')[2]!;
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}
