// CI's supply-chain gate: `npm audit` of the production dependencies fails the build on any high
// or critical advisory that security/audit-allowlist.json does not list with a reason and an
// unexpired date. Entries past their date fail too, so every exception is reviewed again.
//   npm run audit:prod [-- --require-advisories]
// When npm cannot reach the registry's advisory service, nothing was checked: the script says so
// in a banner and exits 0, or 1 with --require-advisories (docs/operations.md explains the choice).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface AllowEntry {
  id: string;
  package: string;
  reason: string;
  expires: string;
}

export interface Finding {
  id: string;
  package: string;
  severity: string;
  title: string;
}

export interface Verdict {
  ok: boolean;
  blocking: Finding[];
  allowed: Finding[];
  problems: string[];
  unused: AllowEntry[];
}

const GATE = new Set(['high', 'critical']);

/** Advisories from `npm audit --json` (lockfile v2+ format), one per advisory and package. */
export function findings(audit: unknown): Finding[] {
  const vulns = (audit as { vulnerabilities?: Record<string, { via?: unknown[] }> }).vulnerabilities ?? {};
  const out = new Map<string, Finding>();
  for (const [name, v] of Object.entries(vulns)) {
    for (const via of v.via ?? []) {
      if (typeof via !== 'object' || via === null) continue; // a name: the advisory is listed under that package
      const a = via as { url?: string; source?: number; severity?: string; title?: string; name?: string };
      const id = /GHSA-[\w-]+/.exec(a.url ?? '')?.[0] ?? String(a.source ?? a.url ?? 'unknown');
      const key = `${id}|${a.name ?? name}`;
      out.set(key, { id, package: a.name ?? name, severity: a.severity ?? 'unknown', title: a.title ?? '' });
    }
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export function evaluate(audit: unknown, allowlist: unknown, today = new Date().toISOString().slice(0, 10)): Verdict {
  const problems: string[] = [];
  const entries: AllowEntry[] = [];
  if (!Array.isArray(allowlist)) problems.push('the allow-list must be a JSON array of entries');
  for (const [i, e] of (Array.isArray(allowlist) ? allowlist : []).entries()) {
    const entry = e as Partial<AllowEntry>;
    const missing = (['id', 'package', 'reason', 'expires'] as const).filter((k) => typeof entry[k] !== 'string' || !entry[k]!.trim());
    if (missing.length) {
      problems.push(`allow-list entry ${i + 1}: missing ${missing.join(', ')}`);
      continue;
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(entry.expires!)) problems.push(`allow-list entry ${entry.id}: expires must be YYYY-MM-DD`);
    else if (entry.expires! < today) problems.push(`allow-list entry ${entry.id} (${entry.package}) expired on ${entry.expires}: review it`);
    else entries.push(entry as AllowEntry);
  }
  const gated = findings(audit).filter((f) => GATE.has(f.severity));
  const listed = (f: Finding) => entries.find((e) => e.id === f.id && e.package === f.package);
  const blocking = gated.filter((f) => !listed(f));
  const allowed = gated.filter((f) => listed(f));
  const unused = entries.filter((e) => !gated.some((f) => f.id === e.id && f.package === e.package));
  return { ok: blocking.length === 0 && problems.length === 0, blocking, allowed, problems, unused };
}

function banner(lines: string[]): void {
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '!'.repeat(width + 4);
  process.stdout.write(`${rule}\n${lines.map((l) => `! ${l.padEnd(width)} !`).join('\n')}\n${rule}\n`);
}

function main(): number {
  const root = path.resolve(import.meta.dirname, '..');
  const requireAdvisories = process.argv.includes('--require-advisories');
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  const run = spawnSync(npm[0]!, [...npm.slice(1), 'audit', '--omit=dev', '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  let audit: { vulnerabilities?: unknown; message?: string; error?: { summary?: string } } | undefined;
  try {
    audit = JSON.parse(run.stdout);
  } catch {
    audit = undefined;
  }
  if (!audit || !('vulnerabilities' in audit)) {
    const why = audit?.message ?? audit?.error?.summary ?? (run.stderr.trim().split('\n').at(-1) || 'no answer');
    banner([
      'npm audit could NOT check the production dependencies:',
      `the advisory service did not answer (${why}).`,
      requireAdvisories ? 'Failing (--require-advisories).' : 'Not failing the build for it; run `npm run audit:prod` where the registry answers.',
    ]);
    return requireAdvisories ? 1 : 0;
  }
  const allowlist = JSON.parse(readFileSync(path.join(root, 'security/audit-allowlist.json'), 'utf8'));
  const v = evaluate(audit, allowlist);
  for (const f of v.allowed) process.stdout.write(`allowed by security/audit-allowlist.json: ${f.id} ${f.package} (${f.severity}) ${f.title}\n`);
  for (const e of v.unused) process.stdout.write(`allow-list entry no longer needed: ${e.id} ${e.package}\n`);
  for (const p of v.problems) process.stdout.write(`allow-list problem: ${p}\n`);
  for (const f of v.blocking) process.stdout.write(`BLOCKING ${f.severity} advisory ${f.id} in ${f.package}: ${f.title}\n`);
  process.stdout.write(v.ok ? 'npm audit: no unreviewed high or critical advisories in production dependencies\n' : 'npm audit: failed\n');
  return v.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) process.exitCode = main();
