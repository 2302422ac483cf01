// Threat suggestions over the API (our extension): GET /threat_models/{id}/suggestions, dismissal
// remembered per model, accept creating a linked threat through the threat service (audit trail),
// and organisation rule packs under /admin/rule_packs (administrators, step-up, security events).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.ts';
import { BUILTIN_PACK } from '../rules/index.ts';
import { call, errorOf, signIn, startTestApp, uniqueUser, type SignedIn, type TestApp } from './support/app.ts';
import { decodeJwt } from 'jose';
import { LogCapture } from './support/log-capture.ts';
import { Kit } from './rules/kit.ts';

let t: TestApp;
let owner: SignedIn, writer: SignedIn, reader: SignedIn, stranger: SignedIn, admin: SignedIn;
const logs = new LogCapture();
const adminName = uniqueUser('admin');
const share = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });

const ORG_PACK = {
  id: 'org-pack',
  name: 'Organisation rules',
  version: '1.0.0',
  rules: [
    {
      id: 'org-legacy-ftp',
      title: 'Legacy FTP in use',
      appliesTo: 'flow',
      match: { property: 'protocol', equals: 'ftp' },
      categories: { STRIDE: ['I'] },
      threat: { name: 'FTP between {source} and {target}', description: 'FTP is banned by policy.', severity: 'high', cwe: ['CWE-319'], mitigation: 'Use SFTP.' },
    },
  ],
};

let configDir: string;
beforeAll(async () => {
  configDir = mkdtempSync(path.join(tmpdir(), 'tmi-packs-'));
  const cfgPack = { ...ORG_PACK, id: 'config-pack', rules: [{ ...ORG_PACK.rules[0], id: 'cfg-store-named-legacy', appliesTo: 'element', match: { property: 'name', matches: '^legacy' }, threat: { ...ORG_PACK.rules[0]!.threat, name: 'Legacy system {element}' } }] };
  writeFileSync(path.join(configDir, 'config-pack.yaml'), JSON.stringify(cfgPack));
  t = await startTestApp({ TMI_ADMINISTRATORS: `tmi:${adminName}`, TMI_RULE_PACKS: path.join(configDir, 'config-pack.yaml') }, { logger: logs.logger('info') });
  [owner, writer, reader, stranger, admin] = await Promise.all([signIn(t.app), signIn(t.app), signIn(t.app), signIn(t.app), signIn(t.app, adminName)]);
});
afterAll(async () => t?.close());

/** A model with a diagram: an external user, a web process in a boundary, a plain-HTTP flow, a database. */
async function modelWithDiagram(): Promise<{ tm: string; diagram: string; cells: Record<string, string> }> {
  const res = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'Shop', authorization: [share(writer, 'writer'), share(reader, 'reader')] } });
  expect(res.status).toBe(201);
  const tm = res.body.id as string;
  const d = await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: owner.accessToken, body: { name: 'Main', type: 'DFD-1.0.0' } });
  expect(d.status, d.text).toBe(201);
  const k = new Kit();
  const dmz = k.boundary('DMZ');
  const user = k.actor('Customer');
  const web = k.process('Web shop', {}, dmz);
  const db = k.store('Legacy orders', {}, dmz);
  const http = k.flow(user, web, { protocol: 'http' });
  const ftp = k.flow(web, db, { protocol: 'ftp' });
  const put = await call(t.app, 'PUT', `/threat_models/${tm}/diagrams/${d.body.id}`, { token: owner.accessToken, body: { name: 'Main', type: 'DFD-1.0.0', cells: k.cells } });
  expect(put.status, put.text).toBe(200);
  return { tm, diagram: d.body.id, cells: { user, web, db, http, ftp } };
}

const list = (tm: string, query = '', who = reader) => call(t.app, 'GET', `/threat_models/${tm}/suggestions${query}`, { token: who.accessToken });
const threatCount = async (tm: string) => (await call(t.app, 'GET', `/threat_models/${tm}/threats`, { token: owner.accessToken })).body.total as number;
const dismissalRows = async (tm: string) => (await t.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM suggestion_dismissals WHERE threat_model_id = $1', [tm]))[0]!.n;

describe('GET /threat_models/{id}/suggestions', () => {
  it('runs the built-in and configured packs over the diagrams, with rule, cell, threat, severity, CWE and mitigation', async () => {
    const { tm, diagram, cells } = await modelWithDiagram();
    const res = await list(tm);
    expect(res.status, res.text).toBe(200);
    expect(res.body.total).toBe(res.body.suggestions.length);
    expect(res.body.total).toBeGreaterThan(5);
    const s = res.body.suggestions;
    for (const x of s) {
      expect(x.state).toBe('open');
      expect(x.id).toBe(`${x.rule_id}~${x.cell_id}`);
      expect(x.diagram_id).toBe(diagram);
      expect(typeof x.threat.name).toBe('string');
      expect(typeof x.threat.mitigation).toBe('string');
      expect(Array.isArray(x.cwe)).toBe(true);
    }
    // Plain HTTP from outside into the DMZ: a built-in rule fires on that flow.
    const onHttp = s.filter((x: { cell_id: string }) => x.cell_id === cells.http);
    expect(onHttp.length).toBeGreaterThan(0);
    expect(onHttp[0]).toMatchObject({ cell_kind: 'flow', source_name: 'Customer', target_name: 'Web shop', pack_id: 'tmi-builtin' });
    // The configured pack (TMI_RULE_PACKS) is evaluated as well.
    expect(s.find((x: { rule_id: string }) => x.rule_id === 'cfg-store-named-legacy')).toMatchObject({ cell_id: cells.db, severity: 'high', threat: { name: 'Legacy system Legacy orders' }, cwe: ['CWE-319'] });
    expect(res.body.packs.map((p: { id: string; source: string }) => `${p.id}:${p.source}`)).toEqual(['tmi-builtin:builtin', 'config-pack:config']);
    const bySeverity = res.body.open_by_severity;
    expect(Object.values(bySeverity).reduce((a: number, b) => a + (b as number), 0)).toBe(res.body.total);
    // Sorted high to low.
    const ranks = s.map((x: { severity: string }) => BUILTIN_SEVERITY.indexOf(x.severity));
    expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
    // Filters.
    const onWeb = await list(tm, `?cell_id=${cells.web}`);
    expect(onWeb.body.suggestions.every((x: { cell_id: string }) => x.cell_id === cells.web)).toBe(true);
    expect(onWeb.body.total).toBeGreaterThan(0);
    expect((await list(tm, `?diagram_id=${'0'.repeat(8)}-0000-4000-8000-000000000000`)).body.total).toBe(0);
    expect((await list(tm, '?state=dismissed')).body.total).toBe(0);
    expect((await list(tm, '?state=all')).body.total).toBe(res.body.total);
  });

  it('requires authentication and read access; 404 for a missing model; bad queries are 400', async () => {
    const { tm } = await modelWithDiagram();
    expect((await call(t.app, 'GET', `/threat_models/${tm}/suggestions`)).status).toBe(401);
    const denied = await list(tm, '', stranger);
    expect(denied.status).toBe(403);
    errorOf(denied);
    expect((await list('00000000-0000-4000-8000-000000000999')).status).toBe(404);
    for (const q of ['?state=closed', '?cell_id=<script>', '?diagram_id=nope', '?unknown=1']) {
      const res = await list(tm, q);
      expect(res.status, q).toBe(400);
      errorOf(res);
    }
    expect((await call(t.app, 'GET', '/threat_models/not-a-uuid/suggestions', { token: owner.accessToken })).status).toBe(400);
  });
});

/** The same person's token, signed as if they had signed in `ageSeconds` ago. */
async function agedToken(token: string, ageSeconds: number): Promise<string> {
  const c = decodeJwt(token) as Record<string, unknown>;
  const found = await t.ctx.users.forToken(c.idp as string, c.sub as string);
  const m = await t.ctx.users.builtInMemberships(found!.user.internal_uuid);
  const subject = { provider: c.idp as string, providerUserId: c.sub as string, email: c.email as string, emailVerified: false, name: c.name as string, groups: [], isAdministrator: m.isAdministrator, isSecurityReviewer: m.isSecurityReviewer };
  return (await t.ctx.tokens.sign(subject, { sessionId: c.sid as string, authTime: Math.floor(Date.now() / 1000) - ageSeconds })).token;
}

const BUILTIN_SEVERITY = ['informational', 'low', 'medium', 'high', 'critical'];

describe('dismissing a suggestion', () => {
  it('is remembered per model, leaves the open list, and can be undone', async () => {
    const { tm } = await modelWithDiagram();
    const other = await modelWithDiagram();
    const before = (await list(tm)).body;
    const target = before.suggestions[0];
    const url = `/threat_models/${tm}/suggestions/${target.id}/dismissal`;
    const res = await call(t.app, 'POST', url, { token: writer.accessToken });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: target.id, state: 'dismissed' });
    // Idempotent.
    expect((await call(t.app, 'POST', url, { token: owner.accessToken })).status).toBe(200);
    const after = (await list(tm)).body;
    expect(after.total).toBe(before.total - 1);
    expect(after.suggestions.find((x: { id: string }) => x.id === target.id)).toBeUndefined();
    expect((await list(tm, '?state=dismissed')).body.suggestions.map((x: { id: string }) => x.id)).toEqual([target.id]);
    // Another model with the same cells is untouched.
    expect((await list(other.tm)).body.total).toBe(before.total);
    // Undo.
    expect((await call(t.app, 'DELETE', url, { token: writer.accessToken })).status).toBe(204);
    expect((await list(tm)).body.total).toBe(before.total);
    const again = await call(t.app, 'DELETE', url, { token: writer.accessToken });
    expect(again.status).toBe(404);
    errorOf(again);
  });

  it('needs the writer role; unknown or malformed suggestions are 404/400; nothing is written on refusal', async () => {
    const { tm } = await modelWithDiagram();
    const id = (await list(tm)).body.suggestions[0].id;
    const url = `/threat_models/${tm}/suggestions/${id}/dismissal`;
    expect((await call(t.app, 'POST', url)).status).toBe(401);
    expect((await call(t.app, 'DELETE', url)).status).toBe(401);
    for (const who of [reader, stranger]) {
      const res = await call(t.app, 'POST', url, { token: who.accessToken });
      expect(res.status).toBe(403);
      errorOf(res);
      expect((await call(t.app, 'DELETE', url, { token: who.accessToken })).status).toBe(403);
    }
    const unknown = await call(t.app, 'POST', `/threat_models/${tm}/suggestions/no-such-rule~00000000-0000-4000-8000-000000000001/dismissal`, { token: writer.accessToken });
    expect(unknown.status).toBe(404);
    errorOf(unknown);
    for (const bad of ['nope', '~abc', `${'x'.repeat(70)}~00000000-0000-4000-8000-000000000001`, 'rule~<x>']) {
      const res = await call(t.app, 'POST', `/threat_models/${tm}/suggestions/${encodeURIComponent(bad)}/dismissal`, { token: writer.accessToken });
      expect(res.status, bad).toBe(400);
      errorOf(res);
    }
    expect(await dismissalRows(tm)).toBe(0);
  });
});

describe('accepting a suggestion', () => {
  it('creates a threat linked to the cell through the threat service, audited, and the suggestion counts as accepted', async () => {
    const { tm, diagram, cells } = await modelWithDiagram();
    const s = (await list(tm)).body.suggestions.find((x: { cell_id: string; rule_id: string }) => x.cell_id === cells.db && x.rule_id === 'cfg-store-named-legacy');
    // A dismissed suggestion can still be accepted (the dismissal goes).
    await call(t.app, 'POST', `/threat_models/${tm}/suggestions/${s.id}/dismissal`, { token: writer.accessToken });
    const res = await call(t.app, 'POST', `/threat_models/${tm}/suggestions/${s.id}/accept`, { token: writer.accessToken });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Legacy system Legacy orders',
      diagram_id: diagram,
      cell_id: cells.db,
      severity: 'high',
      status: 'open',
      cwe_id: ['CWE-319'],
      mitigation: 'Use SFTP.',
      threat_model_id: tm,
      version: 1,
    });
    expect(res.body.threat_type.length).toBeGreaterThan(0);
    expect(res.body.metadata).toEqual([{ key: 'suggestion', value: `cfg-store-named-legacy/${cells.db}` }]);
    expect(await dismissalRows(tm)).toBe(0);
    const open = (await list(tm)).body.suggestions.map((x: { id: string }) => x.id);
    expect(open).not.toContain(s.id);
    expect((await list(tm, '?state=accepted')).body.suggestions.map((x: { id: string }) => x.id)).toEqual([s.id]);
    const again = await call(t.app, 'POST', `/threat_models/${tm}/suggestions/${s.id}/accept`, { token: writer.accessToken });
    expect(again.status).toBe(409);
    errorOf(again);
    const dismissAccepted = await call(t.app, 'POST', `/threat_models/${tm}/suggestions/${s.id}/dismissal`, { token: writer.accessToken });
    expect(dismissAccepted.status).toBe(409);
    const trail = await call(t.app, 'GET', `/threat_models/${tm}/audit_trail?object_type=threat`, { token: owner.accessToken });
    expect(trail.body.audit_entries.map((e: { object_id: string; change_type: string }) => `${e.object_id}:${e.change_type}`)).toEqual([`${res.body.id}:created`]);
    // Deleting the threat reopens the suggestion.
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/threats/${res.body.id}`, { token: owner.accessToken })).status).toBe(204);
    expect((await list(tm)).body.suggestions.map((x: { id: string }) => x.id)).toContain(s.id);
  });

  it('needs the writer role and an existing suggestion; no threat is written on refusal', async () => {
    const { tm } = await modelWithDiagram();
    const id = (await list(tm)).body.suggestions[0].id;
    const url = `/threat_models/${tm}/suggestions/${id}/accept`;
    expect((await call(t.app, 'POST', url)).status).toBe(401);
    for (const who of [reader, stranger]) {
      const res = await call(t.app, 'POST', url, { token: who.accessToken });
      expect(res.status).toBe(403);
      errorOf(res);
    }
    expect((await call(t.app, 'POST', `/threat_models/${tm}/suggestions/nothing~00000000-0000-4000-8000-000000000001/accept`, { token: owner.accessToken })).status).toBe(404);
    expect((await call(t.app, 'POST', `/threat_models/00000000-0000-4000-8000-000000000999/suggestions/${id}/accept`, { token: owner.accessToken })).status).toBe(404);
    expect(await threatCount(tm)).toBe(0);
  });
});

describe('/admin/rule_packs', () => {
  it('lists built-in and configured packs; administrators upload, replace and delete organisation packs, which the suggestions use', async () => {
    const { tm, cells } = await modelWithDiagram();
    const listed = await call(t.app, 'GET', '/admin/rule_packs', { token: admin.accessToken });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.rule_packs.map((p: { id: string; source: string }) => `${p.id}:${p.source}`)).toEqual(['tmi-builtin:builtin', 'config-pack:config']);
    expect(listed.body.rule_packs[0].rule_count).toBe(BUILTIN_PACK.rules.length);

    const made = await call(t.app, 'POST', '/admin/rule_packs', { token: admin.accessToken, body: ORG_PACK });
    expect(made.status, made.text).toBe(201);
    expect(made.body).toMatchObject({ id: 'org-pack', source: 'uploaded', rule_count: 1, pack: { id: 'org-pack', rules: [{ id: 'org-legacy-ftp' }] } });
    expect(logs.lines.some((l) => l.event === 'admin.rule_pack.created' && l.pack_id === 'org-pack' && l.provider_id === adminName)).toBe(true);
    const ftp = (await list(tm)).body.suggestions.find((x: { rule_id: string }) => x.rule_id === 'org-legacy-ftp');
    expect(ftp).toMatchObject({ cell_id: cells.ftp, pack_id: 'org-pack', threat: { name: 'FTP between Web shop and Legacy orders' } });

    expect((await call(t.app, 'POST', '/admin/rule_packs', { token: admin.accessToken, body: ORG_PACK })).status).toBe(409);
    const replaced = await call(t.app, 'PUT', '/admin/rule_packs/org-pack', { token: admin.accessToken, body: { ...ORG_PACK, version: '1.1.0', rules: [{ ...ORG_PACK.rules[0], threat: { ...ORG_PACK.rules[0]!.threat, severity: 'low' } }] } });
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.body.version).toBe('1.1.0');
    expect((await call(t.app, 'GET', '/admin/rule_packs/org-pack', { token: admin.accessToken })).body.pack.rules[0].threat.severity).toBe('low');
    expect((await list(tm)).body.suggestions.find((x: { rule_id: string }) => x.rule_id === 'org-legacy-ftp').severity).toBe('low');

    expect((await call(t.app, 'DELETE', '/admin/rule_packs/org-pack', { token: admin.accessToken })).status).toBe(204);
    expect(logs.lines.some((l) => l.event === 'admin.rule_pack.deleted' && l.pack_id === 'org-pack')).toBe(true);
    expect((await call(t.app, 'GET', '/admin/rule_packs/org-pack', { token: admin.accessToken })).status).toBe(404);
    expect((await call(t.app, 'DELETE', '/admin/rule_packs/org-pack', { token: admin.accessToken })).status).toBe(404);
    expect((await list(tm)).body.suggestions.find((x: { rule_id: string }) => x.rule_id === 'org-legacy-ftp')).toBeUndefined();
  });

  it('is for administrators only; built-in and configured packs cannot be changed; invalid packs are 400 and nothing is stored', async () => {
    const packRows = async () => (await t.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM rule_packs'))[0]!.n;
    const start = await packRows();
    for (const [method, url, body] of [
      ['GET', '/admin/rule_packs'],
      ['POST', '/admin/rule_packs', ORG_PACK],
      ['GET', '/admin/rule_packs/tmi-builtin'],
      ['PUT', '/admin/rule_packs/org-pack', ORG_PACK],
      ['DELETE', '/admin/rule_packs/org-pack'],
    ] as const) {
      expect((await call(t.app, method, url, { body })).status, `${method} ${url}`).toBe(401);
      const res = await call(t.app, method, url, { token: owner.accessToken, body });
      expect(res.status, `${method} ${url}`).toBe(403);
      errorOf(res);
    }
    for (const id of ['tmi-builtin', 'config-pack']) {
      expect((await call(t.app, 'PUT', `/admin/rule_packs/${id}`, { token: admin.accessToken, body: { ...ORG_PACK, id } })).status).toBe(409);
      expect((await call(t.app, 'DELETE', `/admin/rule_packs/${id}`, { token: admin.accessToken })).status).toBe(409);
      expect((await call(t.app, 'POST', '/admin/rule_packs', { token: admin.accessToken, body: { ...ORG_PACK, id } })).status).toBe(409);
    }
    const clash = await call(t.app, 'POST', '/admin/rule_packs', { token: admin.accessToken, body: { ...ORG_PACK, id: 'clash', rules: [{ ...ORG_PACK.rules[0], id: BUILTIN_PACK.rules[0]!.id }] } });
    expect(clash.status).toBe(409);
    expect(errorOf(clash).error_description).toContain(BUILTIN_PACK.rules[0]!.id);
    const badRule = { ...ORG_PACK.rules[0], match: { property: 'no_such_property', equals: 'x' } };
    for (const body of [
      { ...ORG_PACK, rules: [badRule] },
      { ...ORG_PACK, rules: [{ ...ORG_PACK.rules[0], match: { property: 'name', matches: '(a+)+$' } }] },
      { ...ORG_PACK, rules: [{ ...ORG_PACK.rules[0], threat: { ...ORG_PACK.rules[0]!.threat, severity: 'huge' } }] },
      { ...ORG_PACK, id: 'bad id!' },
      { ...ORG_PACK, extra: true },
      { ...ORG_PACK, name: 'x'.repeat(201) },
      { ...ORG_PACK, rules: 'none' },
      [ORG_PACK],
    ]) {
      const res = await call(t.app, 'POST', '/admin/rule_packs', { token: admin.accessToken, body });
      expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      errorOf(res);
    }
    const unknownProp = await call(t.app, 'POST', '/admin/rule_packs', { token: admin.accessToken, body: { ...ORG_PACK, rules: [badRule] } });
    expect(errorOf(unknownProp).error_description).toContain("unknown property 'no_such_property'");
    expect((await call(t.app, 'POST', '/admin/rule_packs', { token: admin.accessToken, raw: '{"id":', contentType: 'application/json' })).status).toBe(400);
    expect((await call(t.app, 'POST', '/admin/rule_packs', { token: admin.accessToken, raw: 'id: x', contentType: 'text/plain' })).status).toBe(415);
    expect((await call(t.app, 'PUT', '/admin/rule_packs/other-id', { token: admin.accessToken, body: { ...ORG_PACK, id: 'x-pack' } })).status).toBe(400);
    expect((await call(t.app, 'PUT', '/admin/rule_packs/absent', { token: admin.accessToken, body: { ...ORG_PACK, id: 'absent' } })).status).toBe(404);
    expect(await packRows()).toBe(start);
  });

  it('writes need a recent sign-in (step-up)', async () => {
    const stale = await agedToken(admin.accessToken, 3600);
    const res = await call(t.app, 'POST', '/admin/rule_packs', { token: stale, body: { ...ORG_PACK, id: 'stale-pack' } });
    expect(res.status).toBe(401);
    expect(errorOf(res).error).toBe('insufficient_user_authentication');
    expect((await call(t.app, 'GET', '/admin/rule_packs', { token: stale })).status).toBe(200);
  });
});

describe('TMI_RULE_PACKS', () => {
  it('validates the files at start with readable errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tmi-packs-bad-'));
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'id: bad\nname: Bad\nversion: "1"\nrules:\n  - id: r1\n    title: x\n');
    const base = { TMI_BUILD_MODE: 'test', TMI_JWT_SECRET: 'x'.repeat(40) };
    expect(() => loadConfig({ ...base, TMI_RULE_PACKS: bad })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, TMI_RULE_PACKS: bad })).toThrow(/TMI_RULE_PACKS: .*bad.yaml/);
    expect(() => loadConfig({ ...base, TMI_RULE_PACKS: path.join(dir, 'missing.json') })).toThrow(/no such file/);
    const dup = path.join(dir, 'dup.json');
    writeFileSync(dup, JSON.stringify({ ...ORG_PACK, rules: [{ ...ORG_PACK.rules[0], id: BUILTIN_PACK.rules[0]!.id }] }));
    expect(() => loadConfig({ ...base, TMI_RULE_PACKS: dup })).toThrow(/more than one pack/);
    const good = path.join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(ORG_PACK));
    expect(loadConfig({ ...base, TMI_RULE_PACKS: good }).rules.packs.map((p) => p.id)).toEqual(['org-pack']);
  });
});
