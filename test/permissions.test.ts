// What a caller may do with a threat model, as the server tells clients (GET
// /threat_models/{id}/permissions, our extension): every ability it reports is what the API then
// does, for owners, writers, readers, security reviewers and administrators.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { BUILT_IN_GROUPS } from '../server/authz/index.ts';
import { ABILITIES, type Ability } from '../contract/threat-models.ts';
import { call, errorOf, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';

let t: TestApp;
let owner: SignedIn;
let writer: SignedIn;
let reader: SignedIn;
let reviewer: SignedIn;
let reviewingOwner: SignedIn;
let admin: SignedIn;
let stranger: SignedIn;

const PATCH = 'application/json-patch+json';
const entry = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });
const patch = (u: SignedIn, tm: string, ops: unknown) => call(t.app, 'PATCH', `/threat_models/${tm}`, { token: u.accessToken, body: ops, contentType: PATCH });
const permissionsOf = (u: SignedIn, tm: string) => call(t.app, 'GET', `/threat_models/${tm}/permissions`, { token: u.accessToken });

async function join(u: SignedIn, group: string) {
  const [row] = await t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider = $1 AND provider_user_id = $2', ['tmi', u.user]);
  await t.ctx.users.addToGroup(t.ctx.db, group, row!.internal_uuid);
}

beforeAll(async () => {
  t = await startTestApp();
  [owner, writer, reader, reviewer, reviewingOwner, admin, stranger] = await Promise.all(Array.from({ length: 7 }, () => signIn(t.app)));
  await join(reviewer, BUILT_IN_GROUPS.securityReviewers);
  await join(reviewingOwner, BUILT_IN_GROUPS.securityReviewers);
  await join(admin, BUILT_IN_GROUPS.administrators);
});
afterAll(async () => t?.close());

/**
 * A confidential model (so that the security-reviewers group has no owner entry on it) shared
 * with the cast, holding a diagram and a deleted threat.
 */
async function model(by = owner) {
  const res = await call(t.app, 'POST', '/threat_models', {
    token: by.accessToken,
    body: { name: 'Permissions', is_confidential: true, authorization: [entry(writer, 'writer'), entry(reader, 'reader'), entry(reviewer, 'writer'), entry(admin, 'reader')] },
  });
  expect(res.status, res.text).toBe(201);
  const tm = res.body.id as string;
  const diagram = await call(t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: by.accessToken, body: { name: 'D', type: 'DFD-1.0.0' } });
  const threat = await call(t.app, 'POST', `/threat_models/${tm}/threats`, { token: by.accessToken, body: { name: 'Gone', threat_type: [] } });
  expect((await call(t.app, 'DELETE', `/threat_models/${tm}/threats/${threat.body.id}`, { token: by.accessToken })).status).toBe(204);
  return { tm, diagram: diagram.body.id as string };
}

/** Each ability, tried for real: the request succeeds exactly when the ability says so. */
const PROBES: [Ability, (u: SignedIn, m: { tm: string; diagram: string }) => Promise<number>][] = [
  ['read', async (u, m) => (await call(t.app, 'GET', `/threat_models/${m.tm}`, { token: u.accessToken })).status],
  ['list_deleted', async (u, m) => (await call(t.app, 'GET', `/threat_models/${m.tm}/threats?include_deleted=true`, { token: u.accessToken })).status],
  ['list_deleted', async (u, m) => (await call(t.app, 'GET', `/threat_models/${m.tm}/diagrams?include_deleted=true`, { token: u.accessToken })).status],
  ['change_status', async (u, m) => (await patch(u, m.tm, [{ op: 'replace', path: '/status', value: 'in_progress' }])).status],
  ['write', async (u, m) => (await patch(u, m.tm, [{ op: 'replace', path: '/name', value: 'Renamed' }])).status],
  ['assign_security_reviewer', async (u, m) => (await patch(u, m.tm, [{ op: 'replace', path: '/security_reviewer', value: { principal_type: 'user', provider: 'tmi', provider_id: writer.user } }])).status],
  ['share', async (u, m) => (await patch(u, m.tm, [{ op: 'add', path: '/authorization/-', value: entry(stranger, 'reader') }])).status],
  ['delete', async (u, m) => (await call(t.app, 'DELETE', `/threat_models/${m.tm}/diagrams/${m.diagram}`, { token: u.accessToken })).status],
];

describe('GET /threat_models/{id}/permissions', () => {
  it('requires authentication and read access; an unknown or deleted model is 404', async () => {
    const { tm } = await model();
    expect((await call(t.app, 'GET', `/threat_models/${tm}/permissions`)).status).toBe(401);
    const denied = await permissionsOf(stranger, tm);
    expect(denied.status).toBe(403);
    expect(errorOf(denied).error).toBe('forbidden');
    expect((await permissionsOf(owner, randomUUID())).status).toBe(404);
    expect((await call(t.app, 'GET', '/threat_models/not-a-uuid/permissions', { token: owner.accessToken })).status).toBe(400);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}`, { token: owner.accessToken })).status).toBe(204);
    expect((await permissionsOf(owner, tm)).status).toBe(404);
  });

  it('answers the role and every ability, and each ability is what the API then does', async () => {
    const yes = (...abilities: Ability[]) => Object.fromEntries(ABILITIES.map((a) => [a, abilities.includes(a)]));
    const cast: [string, SignedIn, string, Record<string, boolean>][] = [
      ['owner', owner, 'owner', yes('read', 'collaborate', 'write', 'delete', 'share', 'restore', 'rollback', 'list_deleted')],
      ['writer', writer, 'writer', yes('read', 'collaborate', 'write')],
      ['reader', reader, 'reader', yes('read', 'collaborate')],
      ['security reviewer with write access', reviewer, 'writer', yes('read', 'collaborate', 'write', 'change_status')],
      ['owner who is a security reviewer', reviewingOwner, 'owner', yes(...ABILITIES)],
      ['administrator with read access', admin, 'reader', yes('read', 'collaborate', 'list_deleted')],
    ];
    for (const [who, u, role, abilities] of cast) {
      const m = await model(u === reviewingOwner ? reviewingOwner : owner);
      const res = await permissionsOf(u, m.tm);
      expect(res.status, res.text).toBe(200);
      expect(res.body, who).toEqual({ threat_model_id: m.tm, role, abilities });
      for (const [ability, probe] of PROBES) {
        const status = await probe(u, m);
        expect(status < 300, `${who}: ${ability} answered ${status}`).toBe(abilities[ability]);
        if (!abilities[ability]) expect(status, `${who}: ${ability}`).toBe(403);
      }
    }
  }, 120_000);

  it('follows a change of role: a transferred model answers the new owner as owner', async () => {
    const { tm } = await model();
    expect((await patch(owner, tm, [{ op: 'replace', path: '/owner', value: { principal_type: 'user', provider: 'tmi', provider_id: writer.user } }])).status).toBe(200);
    expect((await permissionsOf(writer, tm)).body).toMatchObject({ role: 'owner', abilities: { share: true, delete: true } });
  });
});
