// The list of threat models shows exactly the models the caller may read (GET answers 200), through
// owner changes: the entry naming a model's owner is marked by trigger (migration 0100) so that the
// "shared with me" part of the list skips it, and a wrong mark would hide a shared model or list one
// twice. Co-owners (an owner entry on someone else's model), former owners who keep an entry, new
// owners, and people who lose access are each checked against GET.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
let dave: SignedIn;

const entry = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });
const person = (u: SignedIn) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user });

beforeAll(async () => {
  t = await startTestApp();
  [alice, bob, carol, dave] = await Promise.all(Array.from({ length: 4 }, () => signIn(t.app)));
});
afterAll(async () => t?.close());

/** How often `id` is in the caller's list (every page), and what GET answers them. */
async function seen(u: SignedIn, id: string): Promise<{ listed: number; get: number }> {
  const ids: string[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await call(t.app, 'GET', `/threat_models?limit=100&offset=${offset}`, { token: u.accessToken });
    expect(page.status).toBe(200);
    ids.push(...(page.body.threat_models as { id: string }[]).map((m) => m.id));
    if (offset + 100 >= page.body.total) break;
  }
  return { listed: ids.filter((x) => x === id).length, get: (await call(t.app, 'GET', `/threat_models/${id}`, { token: u.accessToken })).status };
}

async function expectListMatchesGet(id: string): Promise<void> {
  for (const u of [alice, bob, carol, dave]) {
    const s = await seen(u, id);
    expect(s.listed, `${u.user}: listed ${s.listed} times, GET ${s.get}`).toBe(s.get === 200 ? 1 : 0);
  }
  // The mark is right for every entry: it names the model's owner exactly when the entry's user is the owner.
  const wrong = await t.ctx.db.query(
    `SELECT a.position FROM threat_model_access a JOIN threat_models tm ON tm.id = a.threat_model_id
     WHERE a.threat_model_id = $1 AND a.owner_entry IS DISTINCT FROM (a.user_uuid IS NOT NULL AND a.user_uuid = tm.owner_uuid)`,
    [id],
  );
  expect(wrong).toEqual([]);
}

describe('GET /threat_models lists exactly what the caller may read', () => {
  it('for co-owners, readers and strangers, and through owner changes and access changes', async () => {
    const created = await call(t.app, 'POST', '/threat_models', {
      token: alice.accessToken,
      body: { name: 'Visibility', authorization: [entry(bob, 'owner'), entry(carol, 'reader')] },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    await expectListMatchesGet(id);
    expect((await seen(bob, id)).listed).toBe(1); // a co-owner who is not the model's owner
    expect((await seen(dave, id)).listed).toBe(0);

    // Alice gives the model to Bob: Bob now owns it; Alice keeps the entry the list names her by.
    const given = await call(t.app, 'PATCH', `/threat_models/${id}`, {
      token: alice.accessToken,
      body: [{ op: 'replace', path: '/owner', value: person(bob) }],
      contentType: 'application/json-patch+json',
    });
    expect(given.status, given.text).toBe(200);
    await expectListMatchesGet(id);

    // Bob gives it to Dave, who had no entry, and removes Alice's.
    const current = (await call(t.app, 'GET', `/threat_models/${id}`, { token: bob.accessToken })).body;
    const moved = await call(t.app, 'PATCH', `/threat_models/${id}`, {
      token: bob.accessToken,
      body: [
        { op: 'replace', path: '/owner', value: person(dave) },
        { op: 'replace', path: '/authorization', value: (current.authorization as { provider_id: string }[]).filter((e) => e.provider_id !== alice.user) },
      ],
      contentType: 'application/json-patch+json',
    });
    expect(moved.status, moved.text).toBe(200);
    await expectListMatchesGet(id);
    expect((await seen(alice, id)).listed).toBe(0);
    expect((await seen(dave, id)).listed).toBe(1);

    // A path that changes only the owner column (as the merge of a placeholder account does): the
    // trigger moves the mark; Carol, a reader before, now owns the model and Dave keeps his entry.
    await t.ctx.db.query(`UPDATE threat_models SET owner_uuid = (SELECT internal_uuid FROM users WHERE provider = 'tmi' AND provider_user_id = $2) WHERE id = $1`, [id, carol.user]);
    await expectListMatchesGet(id);
    expect((await seen(carol, id)).listed).toBe(1);
  });
});
