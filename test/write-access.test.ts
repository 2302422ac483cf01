// Kept write decisions (server/resources/threat-models/write-access.ts, migration 0104) never let a
// caller write after losing the right: each change that decides a role (an access entry removed
// or lowered, the `everyone` entry removed, the model deleted, a new owner) refuses the caller's
// next create at once, on the instance that kept the decision and on a second one, though both
// have kept it from creates just before. Creates by others in between keep the decision (content
// writes record no access change), and the right given back works at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { call, errorOf, signIn, startSecondInstance, startTestApp, succeeding, type SignedIn, type TestApp } from './support/app.ts';
import { allocateAliasIfAccessUnchanged, replaceLiveChildAudited } from '../server/resources/children/store.ts';
import { threatKind } from '../server/resources/threats/kind.ts';
import { subjectOf } from '../server/resources/threat-models/service.ts';

let t: TestApp;
let second: Awaited<ReturnType<typeof startSecondInstance>>;
let owner: SignedIn;
let writer: SignedIn;
let other: SignedIn;

beforeAll(async () => {
  t = await startTestApp();
  [owner, writer, other] = await Promise.all([signIn(t.app), signIn(t.app), signIn(t.app)]);
  second = await startSecondInstance(t);
});
afterAll(async () => {
  await second?.close();
  await t?.close();
});

const PATCH = 'application/json-patch+json';
const entry = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });
const everyone = (role: string) => ({ principal_type: 'group', provider: 'tmi', provider_id: 'everyone', role });
const apps = () => [t.app, second.app];

async function model(authorization: unknown[]): Promise<string> {
  return ((await succeeding(t.app, owner)('POST', '/threat_models', { name: 'Write access', authorization })) as { id: string }).id;
}

const create = (app: FastifyInstance, tm: string, who: SignedIn) =>
  call(app, 'POST', `/threat_models/${tm}/threats`, { token: who.accessToken, body: { name: 'T', threat_type: [] } });

/**
 * `who` creates on both instances twice, with another writer's create between: each instance then
 * keeps the decision (checked), and the second create of each used it. Answers the id of a threat
 * `who` created.
 */
async function warm(tm: string, who: SignedIn, alsoWriting?: SignedIn): Promise<string> {
  const subject = subjectOf(await t.ctx.authenticator.principalFor(who.accessToken));
  let threat = '';
  for (const [app, ctx] of [[t.app, t.ctx], [second.app, second.ctx]] as const) {
    for (let i = 0; i < 2; i++) {
      const res = await create(app, tm, who);
      expect(res.status).toBe(201);
      threat ||= res.body.id;
      if (alsoWriting) expect((await create(app, tm, alsoWriting)).status).toBe(201);
    }
    expect(ctx.threatModels.writeAccess.recall(subject, tm)).toBeDefined();
  }
  return threat;
}

/** Both a create and a replacement (PUT, which also uses the kept decision) are refused on both instances. */
async function refusedEverywhere(tm: string, who: SignedIn, status: number, threat: string) {
  for (const app of apps()) {
    for (const res of [await create(app, tm, who), await call(app, 'PUT', `/threat_models/${tm}/threats/${threat}`, { token: who.accessToken, body: { name: 'Replaced', threat_type: [] } })]) {
      expect(res.status, res.text).toBe(status);
      expect(errorOf(res).error).toBe(status === 404 ? 'not_found' : 'forbidden');
    }
  }
}

describe('a kept write decision', () => {
  it('is refused at once after the access entry is removed, and works again once it is given back', async () => {
    const tm = await model([entry(writer, 'writer'), entry(other, 'writer')]);
    const threat = await warm(tm, writer, other);
    await succeeding(t.app, owner)('PATCH', `/threat_models/${tm}`, [{ op: 'remove', path: '/authorization/1' }], PATCH);
    await refusedEverywhere(tm, writer, 403, threat);
    await succeeding(second.app, owner)('PATCH', `/threat_models/${tm}`, [{ op: 'add', path: '/authorization/-', value: entry(writer, 'writer') }], PATCH);
    for (const app of apps()) expect((await create(app, tm, writer)).status).toBe(201);
  });

  it('is refused at once after the role is lowered to reader', async () => {
    const tm = await model([entry(writer, 'writer')]);
    const threat = await warm(tm, writer);
    await succeeding(second.app, owner)('PUT', `/threat_models/${tm}`, { name: 'Write access', authorization: [entry(writer, 'reader')] });
    await refusedEverywhere(tm, writer, 403, threat);
  });

  it('is refused at once after the everyone entry that gave it is removed', async () => {
    const tm = await model([everyone('writer')]);
    const threat = await warm(tm, writer);
    await succeeding(t.app, owner)('PUT', `/threat_models/${tm}`, { name: 'Write access', authorization: [everyone('reader')] });
    await refusedEverywhere(tm, writer, 403, threat);
  });

  it('is refused at once after the model is deleted (404)', async () => {
    const tm = await model([entry(writer, 'writer')]);
    const threat = await warm(tm, writer);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}`, { token: owner.accessToken })).status).toBe(204);
    await refusedEverywhere(tm, writer, 404, threat);
  });

  it('is refused at once for a former owner after the owner column alone changes', async () => {
    const tm = await model([entry(other, 'writer')]);
    // The owner's own entry goes first (the role then comes from the owner column alone)...
    await t.ctx.db.query('DELETE FROM threat_model_access WHERE threat_model_id = $1 AND owner_entry', [tm]);
    await warm(tm, owner);
    // ...then the column changes, as nothing but a change of hands does it.
    await t.ctx.db.query(`UPDATE threat_models SET owner_uuid = (SELECT internal_uuid FROM users WHERE provider = 'tmi' AND provider_user_id = $2) WHERE id = $1`, [tm, other.user]);
    for (const app of apps()) expect([403, 404]).toContain((await create(app, tm, owner)).status);
  });
});

describe('the statement that vouches for a kept decision', () => {
  it("takes the alias while nothing deciding a role changed since the stamp, not after a change of the model's access or of a group", async () => {
    const tm = await model([entry(writer, 'writer')]);
    const stamp = async () => (await t.ctx.db.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s'))[0]!.s;
    const before = await stamp();
    // A content write records no access change.
    expect((await create(t.app, tm, writer)).status).toBe(201);
    expect(await allocateAliasIfAccessUnchanged(t.ctx.db, tm, 'threat', before)).toEqual(expect.any(Number));
    // An access change of this model.
    await succeeding(t.app, owner)('PATCH', `/threat_models/${tm}`, [{ op: 'add', path: '/authorization/-', value: entry(other, 'reader') }], PATCH);
    expect(await allocateAliasIfAccessUnchanged(t.ctx.db, tm, 'threat', before)).toBeNull();
    // A group's name (identity-provider groups match by it): every model.
    const fresh = await stamp();
    expect(await allocateAliasIfAccessUnchanged(t.ctx.db, tm, 'threat', fresh)).toEqual(expect.any(Number));
    await t.ctx.db.tx(async (q) => {
      await q.query(`INSERT INTO groups (internal_uuid, provider, group_name) VALUES (gen_random_uuid(), 'corp', $1)`, [`g-${tm}`]);
      await q.query(`UPDATE groups SET group_name = $2 WHERE provider = 'corp' AND group_name = $1`, [`g-${tm}`, `h-${tm}`]);
    });
    expect(await allocateAliasIfAccessUnchanged(t.ctx.db, tm, 'threat', fresh)).toBeNull();
    await t.ctx.db.query(`DELETE FROM groups WHERE provider = 'corp' AND group_name = $1`, [`h-${tm}`]);
  });
});

describe('a replacement (PUT) that uses a kept decision', () => {
  it('is one statement whose audit entry holds what GET then answers, with entries in the body or without (and so is a create)', async () => {
    const tm = await model([entry(writer, 'writer')]);
    await warm(tm, writer);
    // A create with entries, numbers and lists answers what GET then answers.
    const created = await call(t.app, 'POST', `/threat_models/${tm}/threats`, {
      token: writer.accessToken,
      body: { name: 'Created', threat_type: ['Tampering'], score: 5.5, cvss: [{ vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 }], metadata: [{ key: 'z', value: '1' }, { key: 'y', value: '2' }] },
    });
    expect(created.status, created.text).toBe(201);
    const threat = created.body.id as string;
    const url = `/threat_models/${tm}/threats/${threat}`;
    expect((await call(t.app, 'GET', url, { token: writer.accessToken })).body).toEqual(created.body);
    expect(created.body.metadata).toEqual([{ key: 'y', value: '2' }, { key: 'z', value: '1' }]);
    const bodies = [
      { name: 'Replaced', threat_type: ['Spoofing'], score: 7.3, severity: 'High', metadata: [{ key: 'b', value: '2' }, { key: 'a', value: '1' }] },
      { name: 'Again', threat_type: [], description: 'Entries kept' },
    ];
    for (const body of bodies) {
      const put = await call(t.app, 'PUT', url, { token: writer.accessToken, body });
      expect(put.status, put.text).toBe(200);
      const got = (await call(t.app, 'GET', url, { token: writer.accessToken })).body;
      expect(put.body).toEqual(got);
      const [audited] = await t.ctx.db.query<{ snapshot: unknown; version: number }>(
        `SELECT snapshot, version FROM audit_entries WHERE object_id = $1 AND change_type = 'updated' ORDER BY version DESC LIMIT 1`,
        [threat],
      );
      expect(audited).toEqual({ snapshot: got, version: got.version });
    }
    expect(((await call(t.app, 'GET', url, { token: writer.accessToken })).body as { metadata: unknown }).metadata).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
  });

  it('writes nothing when the version differs, the child is gone or access changed since the stamp', async () => {
    const tm = await model([entry(writer, 'writer')]);
    const threat = await warm(tm, writer);
    const principal = await t.ctx.authenticator.principalFor(writer.accessToken);
    const accessStamp = t.ctx.threatModels.writeAccess.recall(subjectOf(principal), tm)!;
    const version = ((await call(t.app, 'GET', `/threat_models/${tm}/threats/${threat}`, { token: writer.accessToken })).body as { version: number }).version;
    const replace = (conditions: { accessStamp: string; expectedVersion?: number }, id = threat) =>
      replaceLiveChildAudited(
        t.ctx.db,
        threatKind,
        { tmId: tm, id, values: { name: 'Direct', threat_type: [], mitigated: false, include_in_report: true, timmy_enabled: true }, metadata: undefined, at: new Date() },
        conditions,
        { threatModelId: tm, objectType: 'threat', objectId: id, changeType: 'updated', actor: { email: 'w@example.com', provider: 'tmi', providerId: 'w', name: 'W' }, summary: 'Threat updated', snapshot: {} },
      );
    const audits = async () => (await t.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_entries WHERE object_id = $1`, [threat]))[0]!.n;
    const before = await audits();
    expect(await replace({ accessStamp, expectedVersion: version + 1 })).toBeNull();
    expect(await replace({ accessStamp }, '00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await audits()).toBe(before);
    expect(await replace({ accessStamp, expectedVersion: version })).toMatchObject({ name: 'Direct', version: version + 1 });
    expect(await audits()).toBe(before + 1);
    await succeeding(t.app, owner)('PATCH', `/threat_models/${tm}`, [{ op: 'add', path: '/authorization/-', value: entry(other, 'reader') }], PATCH);
    expect(await replace({ accessStamp })).toBeNull();
    expect(await audits()).toBe(before + 1);
  });
});

describe('creates that ask for aliases together', () => {
  it('get distinct consecutive aliases, in one model and on two instances at once', async () => {
    const tm = await model([entry(writer, 'writer')]);
    await warm(tm, writer);
    const before = ((await call(t.app, 'GET', `/threat_models/${tm}/threats?limit=100`, { token: writer.accessToken })).body as { threats: { alias: number }[] }).threats.map((x) => x.alias);
    const burst = await Promise.all(Array.from({ length: 24 }, (_, i) => create(i % 3 === 2 ? second.app : t.app, tm, writer)));
    for (const res of burst) expect(res.status, res.text).toBe(201);
    const aliases = burst.map((res) => res.body.alias as number).sort((a, b) => a - b);
    const highest = Math.max(...before);
    expect(aliases).toEqual(Array.from({ length: 24 }, (_, i) => highest + 1 + i));
  });
});
