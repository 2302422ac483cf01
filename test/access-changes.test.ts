// Only the owner changes who has access (issue 8, item 2; authz ACTION_ROLES `share`): the access
// list (PUT or PATCH), the owner, and the security reviewer, whose assignment gives the reviewer an
// owner entry. Assigning a reviewer also needs membership of security-reviewers; clearing does not.
// Every role against every such change; a refused change writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';

const SECURITY_REVIEWERS = '00000000-0000-0000-0000-000000000001';

let t: TestApp;
let owner: SignedIn;
let writer: SignedIn;
let reader: SignedIn;
/** A member of security-reviewers who is only a writer on the (confidential) models below. */
let reviewer: SignedIn;
/** A member of security-reviewers who owns the models, and assigns the reviewer the "clear" cases start with. */
let leadReviewer: SignedIn;
let stranger: SignedIn;
let target: SignedIn;

async function makeReviewer(t: TestApp, u: SignedIn): Promise<void> {
  const rows = await t.ctx.db.query<{ internal_uuid: string }>("SELECT internal_uuid FROM users WHERE provider = 'tmi' AND provider_user_id = $1", [u.user]);
  await t.ctx.users.addToGroup(t.ctx.db, SECURITY_REVIEWERS, rows[0]!.internal_uuid);
}

beforeAll(async () => {
  t = await startTestApp();
  [owner, writer, reader, reviewer, leadReviewer, stranger, target] = await Promise.all(Array.from({ length: 7 }, () => signIn(t.app)));
  await makeReviewer(t, reviewer);
  await makeReviewer(t, leadReviewer);
});
afterAll(async () => t?.close());

const entry = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });
const person = (u: SignedIn) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, email: u.email, display_name: u.user });
const patch = (app: TestApp, u: SignedIn, id: string, ops: unknown) =>
  call(app.app, 'PATCH', `/threat_models/${id}`, { token: u.accessToken, body: ops, contentType: 'application/json-patch+json' });

type Change = 'put authorization' | 'patch authorization' | 'patch owner' | 'assign someone else' | 'assign oneself' | 'clear reviewer';
const CHANGES: Change[] = ['put authorization', 'patch authorization', 'patch owner', 'assign someone else', 'assign oneself', 'clear reviewer'];

/** A model owned by `owner`, shared with the writer, reader and reviewer; with a reviewer already assigned for "clear". */
async function modelFor(change: Change, confidential: boolean): Promise<string> {
  const res = await call(t.app, 'POST', '/threat_models', {
    token: owner.accessToken,
    body: {
      name: `Rules: ${change}`,
      is_confidential: confidential,
      authorization: [entry(writer, 'writer'), entry(reader, 'reader'), entry(reviewer, 'writer'), entry(leadReviewer, 'owner')],
    },
  });
  expect(res.status, res.text).toBe(201);
  const id = res.body.id as string;
  if (change === 'clear reviewer') {
    const assigned = await patch(t, leadReviewer, id, [{ op: 'replace', path: '/security_reviewer', value: person(target) }]);
    expect(assigned.status, assigned.text).toBe(200);
  }
  return id;
}

async function attempt(change: Change, who: SignedIn, id: string) {
  const current = (await call(t.app, 'GET', `/threat_models/${id}`, { token: owner.accessToken })).body;
  const shared = (current.authorization as Record<string, unknown>[]).map(({ display_name: _d, email: _e, ...rest }) => rest);
  switch (change) {
    case 'put authorization':
      return call(t.app, 'PUT', `/threat_models/${id}`, { token: who.accessToken, body: { name: current.name, is_confidential: current.is_confidential, authorization: [...shared, entry(target, 'reader')] } });
    case 'patch authorization':
      return patch(t, who, id, [{ op: 'add', path: '/authorization/-', value: entry(target, 'reader') }]);
    case 'patch owner':
      return patch(t, who, id, [{ op: 'replace', path: '/owner', value: { principal_type: 'user', provider: 'tmi', provider_id: target.user } }]);
    case 'assign someone else':
      return patch(t, who, id, [{ op: 'replace', path: '/security_reviewer', value: person(target) }]);
    case 'assign oneself':
      return patch(t, who, id, [{ op: 'replace', path: '/security_reviewer', value: person(who) }]);
    case 'clear reviewer':
      return patch(t, who, id, [{ op: 'remove', path: '/security_reviewer' }]);
  }
}

/** What decides access, as the owner sees it. */
async function accessState(id: string) {
  const tm = (await call(t.app, 'GET', `/threat_models/${id}`, { token: owner.accessToken })).body;
  return { owner: tm.owner, authorization: tm.authorization, security_reviewer: tm.security_reviewer ?? null, version: tm.version };
}

const ALLOWED_ALL = Object.fromEntries(CHANGES.map((c) => [c, 200])) as Record<Change, number>;
const REFUSED_ALL = Object.fromEntries(CHANGES.map((c) => [c, 403])) as Record<Change, number>;

const MATRIX: { role: string; who: () => SignedIn; confidential: boolean; expected: Record<Change, number> }[] = [
  // The owner changes access; assigning a reviewer is for security reviewers (the reference's rule).
  { role: 'owner', who: () => owner, confidential: true, expected: { ...ALLOWED_ALL, 'assign someone else': 403, 'assign oneself': 403 } },
  { role: 'writer', who: () => writer, confidential: true, expected: REFUSED_ALL },
  { role: 'reader', who: () => reader, confidential: true, expected: REFUSED_ALL },
  { role: 'security reviewer with the writer role', who: () => reviewer, confidential: true, expected: REFUSED_ALL },
  // On a model that is not confidential, security reviewers own it through the automatic entry.
  { role: 'security reviewer owning the model through security-reviewers', who: () => reviewer, confidential: false, expected: ALLOWED_ALL },
  { role: 'no access', who: () => stranger, confidential: true, expected: REFUSED_ALL },
];

describe('who may change access', () => {
  for (const row of MATRIX) {
    it(`${row.role}: ${CHANGES.map((c) => `${c} ${row.expected[c]}`).join(', ')}`, async () => {
      for (const change of CHANGES) {
        const id = await modelFor(change, row.confidential);
        const before = await accessState(id);
        const res = await attempt(change, row.who(), id);
        expect(res.status, `${row.role}, ${change}: ${res.text}`).toBe(row.expected[change]);
        if (res.status === 403) {
          expect(errorOf(res).error).toBe('forbidden');
          expect(await accessState(id), `${row.role}, ${change} wrote something`).toEqual(before);
        }
      }
    });
  }
});

describe('with every user a security reviewer (TMI_AUTH_EVERYONE_IS_A_REVIEWER)', () => {
  it('a writer still cannot make themselves or anyone else an owner through the reviewer field', async () => {
    const rt = await startTestApp({ TMI_AUTH_EVERYONE_IS_A_REVIEWER: 'true' });
    try {
      const [o, w, x] = await Promise.all([signIn(rt.app), signIn(rt.app), signIn(rt.app)]);
      const created = await call(rt.app, 'POST', '/threat_models', { token: o.accessToken, body: { name: 'Confidential', is_confidential: true, authorization: [entry(w, 'writer')] } });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      for (const who of [w, x]) {
        const res = await patch(rt, w, id, [{ op: 'replace', path: '/security_reviewer', value: person(who) }]);
        expect(res.status, res.text).toBe(403);
      }
      const tm = (await call(rt.app, 'GET', `/threat_models/${id}`, { token: o.accessToken })).body;
      expect(tm.security_reviewer ?? null).toBeNull();
      expect(tm.authorization.find((a: { provider_id: string }) => a.provider_id === w.user)?.role).toBe('writer');
      // The writer may still set the status, which does not change access.
      expect((await patch(rt, w, id, [{ op: 'replace', path: '/status', value: 'in_review' }])).status).toBe(200);
    } finally {
      await rt.close();
    }
  }, 120_000);
});
