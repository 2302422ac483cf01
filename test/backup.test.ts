// Backups: the export command writes every model (with children, cells, metadata and access) in
// the reference's JSON, and restore into an empty server gives the same data back. Also the
// PGlite folder procedure: stop, copy the folder, start on the copy.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModels, restoreModels, type Backup } from '../server/tools/backup.ts';
import { call, signIn, startTestApp, uniqueUser, usingPostgres, type SignedIn, type TestApp } from './support/app.ts';
import { COMPILED_CLI, ensureBuilt, NODE_COMPILE_CACHE } from './support/build.ts';
import { ROOT, signInOverHttp, startServerProcess } from './support/process.ts';

const node = (id: string) => ({
  id,
  shape: 'process',
  position: { x: 10, y: 20 },
  size: { width: 120, height: 60 },
  attrs: { text: { text: 'Auth' } },
  data: { _metadata: [{ key: 'k', value: 'v' }] },
});
const edge = (id: string, source: string, target: string) => ({ id, shape: 'flow', source: { cell: source }, target: { cell: target }, labels: [{ attrs: { text: { text: 'HTTPS' } } }] });

/**
 * What must survive a restore: everything but what the server assigns (ids, aliases, times,
 * versions, created_by) and what it learns only when a user signs in there (names, emails).
 */
function comparable(tm: Record<string, any>): unknown {
  const ids = new Map<string, string>();
  for (const kind of ['assets', 'diagrams']) for (const [i, c] of (tm[kind] as any[]).entries()) ids.set(c.id, `${kind}#${i}`);
  const strip = (o: Record<string, any>) => {
    const { id: _i, alias: _a, created_at: _c, modified_at: _m, version: _v, threat_model_id: _t, status_updated: _s, update_vector: _u, ...rest } = o;
    for (const link of ['diagram_id', 'asset_id']) if (rest[link]) rest[link] = ids.get(rest[link]) ?? `unknown ${rest[link]}`;
    return rest;
  };
  const out: Record<string, unknown> = strip(tm);
  delete out.created_by;
  const principal = (p: Record<string, any>) => ({ principal_type: p.principal_type, provider: p.provider, provider_id: p.provider_id, ...(p.role ? { role: p.role } : {}) });
  out.owner = principal(tm.owner);
  out.authorization = (tm.authorization as Record<string, any>[]).map(principal);
  for (const kind of ['threats', 'diagrams', 'documents', 'repositories', 'notes', 'assets']) {
    out[kind] = (tm[kind] as Record<string, any>[]).map(strip).sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }
  return out;
}

describe('export and restore over the API', () => {
  let source: TestApp;
  let target: TestApp;
  let owner: SignedIn;
  let tmId: string;
  let base: string;
  let targetBase: string;

  beforeAll(async () => {
    source = await startTestApp();
    target = await startTestApp();
    base = await source.app.listen({ port: 0, host: '127.0.0.1' });
    targetBase = await target.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await signIn(source.app, uniqueUser('owner'));
    const colleague = await signIn(source.app, uniqueUser('colleague'));
    const token = owner.accessToken;
    const tm = await call(source.app, 'POST', '/threat_models', {
      token,
      body: {
        name: `Payments ${randomUUID().slice(0, 8)}`,
        description: 'Card payments',
        threat_model_framework: 'STRIDE',
        issue_uri: 'https://issues.example.com/1',
        metadata: [{ key: 'team', value: 'payments' }],
        authorization: [
          { principal_type: 'user', provider: 'tmi', provider_id: colleague.user, role: 'writer' },
          { principal_type: 'group', provider: 'tmi', provider_id: 'everyone', role: 'reader' },
        ],
      },
    });
    expect(tm.status, tm.text).toBe(201);
    tmId = tm.body.id;
    const url = (kind: string) => `/threat_models/${tmId}/${kind}`;
    const asset = await call(source.app, 'POST', url('assets'), { token, body: { name: 'Card data', type: 'data', criticality: 'high', classification: ['pci'] } });
    const diagram = await call(source.app, 'POST', url('diagrams'), { token, body: { name: 'Flow', type: 'DFD-1.0.0' } });
    const [a, b, e] = [randomUUID(), randomUUID(), randomUUID()];
    const put = await call(source.app, 'PUT', `${url('diagrams')}/${diagram.body.id}`, { token, body: { name: 'Flow', type: 'DFD-1.0.0', description: 'Checkout', cells: [node(a), node(b), edge(e, a, b)] } });
    expect(put.status, put.text).toBe(200);
    const threat = await call(source.app, 'POST', url('threats'), {
      token,
      body: { name: 'Card skimming', threat_type: ['Tampering'], severity: 'High', priority: 'High', status: 'Open', mitigated: false, score: 7.5, diagram_id: diagram.body.id, cell_id: a, asset_id: asset.body.id, metadata: [{ key: 'cwe', value: '311' }] },
    });
    expect(threat.status, threat.text).toBe(201);
    for (const [kind, body] of [
      ['documents', { name: 'Architecture', uri: 'https://docs.example.com/arch.pdf', description: 'Overview' }],
      ['notes', { name: 'Review', content: '# Findings\n\n- token leak' }],
      ['repositories', { name: 'payments', uri: 'https://git.example.com/payments.git', type: 'git', parameters: { refType: 'branch', refValue: 'main' } }],
    ] as const) {
      const res = await call(source.app, 'POST', url(kind), { token, body });
      expect(res.status, `${kind}: ${res.text}`).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await source?.close();
    await target?.close();
  });

  it('restore into an empty server gives the same models back, owners and access lists included', async () => {
    const backup = await exportModels(base, owner.accessToken);
    const original = backup.threat_models.find((m) => m.id === tmId)!;
    expect(original).toBeDefined();
    expect((original.diagrams as any[])[0].cells).toHaveLength(3);
    expect((original.notes as any[])[0].content).toContain('token leak');

    // Restored by a user of the new server; afterwards the models belong to their original owners.
    const restorer = await signIn(target.app, uniqueUser('restorer'));
    const created = await restoreModels(targetBase, restorer.accessToken, { ...backup, threat_models: [original] });
    const newId = created.get(tmId)!;
    expect(newId).toBeDefined();
    expect(newId).not.toBe(tmId);

    // The owner signs in to the new server (same provider and id) and finds the model as it was.
    const ownerThere = await signIn(target.app, owner.user);
    const again = await exportModels(targetBase, ownerThere.accessToken);
    const restored = again.threat_models.find((m) => m.id === newId)!;
    expect(restored).toBeDefined();
    expect(comparable(restored)).toEqual(comparable(original));
    // The restoring user kept no access of its own (it reads as everyone does, and may not write).
    const write = await call(target.app, 'PATCH', `/threat_models/${newId}`, { token: restorer.accessToken, body: [{ op: 'replace', path: '/name', value: 'x' }], contentType: 'application/json-patch+json' });
    expect(write.status).toBe(403);
  });

  it('the backup command writes the file and restores it; the token comes from a file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tmi-backup-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, `${owner.accessToken}\n`, { mode: 0o600 });
    const file = path.join(dir, 'backup.json');
    // Not spawnSync: the servers answering the command live in this process.
    await ensureBuilt();
    const cli = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [COMPILED_CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_COMPILE_CACHE } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
    const exported = await cli(['backup', 'export', '--url', base, '--token-file', tokenFile, '--out', file]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/\d+ threat models exported/);
    const backup = JSON.parse(readFileSync(file, 'utf8')) as Backup;
    expect(backup.format).toBe('tmi-backup/1');
    expect(backup.threat_models.some((m) => m.id === tmId)).toBe(true);
    // Nothing secret in what the command printed.
    expect(exported.stderr + exported.stdout).not.toContain(owner.accessToken);

    const missing = await cli(['backup', 'export', '--url', base]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('--token-file');
    const refused = await cli(['backup', 'restore', '--url', targetBase, '--token-file', tokenFile, '--in', file]);
    expect(refused.status).toBe(1);
    // The owner's token from the source server is not valid on the target: the error says so.
    expect(refused.stderr).toMatch(/answered 401/);
  }, 120_000);
});

describe.runIf(!usingPostgres)('PGlite data folder backup', () => {
  it('a copy of the stopped server\'s folder starts with the same data', async () => {
    const data = mkdtempSync(path.join(tmpdir(), 'tmi-pglite-backup-'));
    const first = await startServerProcess({ TMI_BUILD_MODE: 'dev', TMI_DATA_DIR: data });
    let id: string;
    const user = uniqueUser('folder');
    try {
      const token = await signInOverHttp(first.port, user);
      const res = await fetch(`http://127.0.0.1:${first.port}/threat_models`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"Kept"}' });
      expect(res.status).toBe(201);
      id = ((await res.json()) as { id: string }).id;
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
    // The documented procedure: server stopped, copy the whole folder (here: cp -a; or tar).
    const copy = `${data}-copy`;
    cpSync(data, copy, { recursive: true, preserveTimestamps: true });
    const second = await startServerProcess({ TMI_BUILD_MODE: 'dev', TMI_DATA_DIR: copy });
    try {
      const token = await signInOverHttp(second.port, user);
      const res = await fetch(`http://127.0.0.1:${second.port}/threat_models/${id}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { name: string }).name).toBe('Kept');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 240_000);
});
