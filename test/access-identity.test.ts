// Who a caller is, for access decisions (issue 8, items 1, 4 and 18; docs/security.md "Access"):
// - TMI's own groups (security-reviewers, administrators, tmi-automation, ...) are granted by TMI
//   only, never by a group name an identity provider sends; provider groups match entries of that
//   provider only;
// - sharing with someone who never signed in (by e-mail or provider id) binds at their first
//   sign-in with that provider, by subject or by an e-mail that provider vouches for, and never
//   locks them out;
// - an entry naming an existing user by e-mail is stored as that user, not as a second one.
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, startTestApp, uniqueUser, type SignedIn, type TestApp } from './support/app.ts';
import { signInUpstream, startFakeOidc, type FakeOidc, type FakeUser } from './support/fake-oidc.ts';

const SECURITY_REVIEWERS = '00000000-0000-0000-0000-000000000001';
const TMI_AUTOMATION = '00000000-0000-0000-0000-000000000004';
const BUILT_IN_NAMES = ['security-reviewers', 'administrators', 'confidential-project-reviewers', 'tmi-automation', 'everyone'];

let t: TestApp;
let fake: FakeOidc;
let owner: SignedIn;

beforeAll(async () => {
  fake = await startFakeOidc();
  t = await startTestApp({
    OAUTH_PROVIDERS_ACME_ENABLED: 'true',
    OAUTH_PROVIDERS_ACME_CLIENT_ID: fake.clientId,
    OAUTH_PROVIDERS_ACME_CLIENT_SECRET: fake.clientSecret,
    OAUTH_PROVIDERS_ACME_ISSUER: fake.issuer,
  });
  owner = await signIn(t.app);
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const hex = () => randomBytes(4).toString('hex');
const acmeUser = (over: Partial<FakeUser> = {}): FakeUser => ({ sub: `acme-${hex()}`, email: `${hex()}@acme.test`, name: 'Acme Person', email_verified: true, groups: [], ...over });

/** Signs an upstream user in and returns their access token (the sign-in must succeed). */
async function acmeToken(user: FakeUser): Promise<string> {
  const res = await signInUpstream(t.app, fake, 'acme', user);
  expect(res.status, res.text).toBe(200);
  return res.body.access_token as string;
}

const entry = (provider: string, providerId: string, role: string, type = 'user') => ({ principal_type: type, provider, provider_id: providerId, role });

async function create(body: Record<string, unknown>, by = owner): Promise<{ id: string; authorization: Record<string, string>[] }> {
  const res = await call(t.app, 'POST', '/threat_models', { token: by.accessToken, body });
  expect(res.status, res.text).toBe(201);
  return res.body;
}
const get = (token: string, id: string) => call(t.app, 'GET', `/threat_models/${id}`, { token });
const listed = async (token: string, id: string) =>
  (await call(t.app, 'GET', '/threat_models?limit=100', { token })).body.threat_models.some((m: { id: string }) => m.id === id);
const userEntries = (tm: { authorization: Record<string, string>[] }) => tm.authorization.filter((a) => a.principal_type === 'user');

async function userUuid(provider: string, providerUserId: string): Promise<string> {
  const rows = await t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider = $1 AND provider_user_id = $2', [provider, providerUserId]);
  return rows[0]!.internal_uuid;
}
const usersWithEmail = async (email: string) =>
  (await t.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)', [email]))[0]!.n;

describe('groups from an identity provider', () => {
  it('grant nothing when named like a built-in group: no reviewer, administrator or automation rights', async () => {
    const open = await create({ name: 'Open model' });
    const confidential = await create({ name: 'Confidential model', is_confidential: true });
    const mallory = acmeUser({ groups: BUILT_IN_NAMES });
    const token = await acmeToken(mallory);
    for (const tm of [open, confidential]) {
      const res = await get(token, tm.id);
      expect(res.status, tm.id).toBe(403);
      expect(await listed(token, tm.id)).toBe(false);
    }
    const me = await call(t.app, 'GET', '/me', { token });
    expect(me.body).toMatchObject({ is_admin: false, is_security_reviewer: false, groups: [] });
    expect(decodeJwt(token)).toMatchObject({ tmi_is_administrator: false, tmi_is_security_reviewer: false });
    expect((await call(t.app, 'GET', '/threat_models?include_deleted=true', { token })).status).toBe(403);

    // Shared with her as a writer: she writes, but neither reviews nor counts as automation.
    const shared = await create({ name: 'Shared with Mallory', authorization: [entry('acme', mallory.sub, 'writer')] });
    const patch = (ops: unknown) => call(t.app, 'PATCH', `/threat_models/${shared.id}`, { token, body: ops, contentType: 'application/json-patch+json' });
    expect((await patch([{ op: 'replace', path: '/status', value: 'approved' }])).status).toBe(403);
    const self = { principal_type: 'user', provider: 'acme', provider_id: mallory.sub, email: mallory.email, display_name: 'M' };
    expect((await patch([{ op: 'replace', path: '/security_reviewer', value: self }])).status).toBe(403);
    const threat = await call(t.app, 'POST', `/threat_models/${shared.id}/threats`, { token, body: { name: 'Spoofing', threat_type: ['Spoofing'] } });
    expect(threat.status, threat.text).toBe(201);
    expect(threat.body.auto_generated).toBe(false);
    expect((await get(owner.accessToken, shared.id)).body).toMatchObject({ status: 'not_started', security_reviewer: null });
  });

  it('match access entries of their own provider only, never a TMI group of the same name', async () => {
    const dana = acmeUser({ groups: ['secops', 'security-reviewers'] });
    const token = await acmeToken(dana);
    const own = await create({ name: 'Acme secops', authorization: [entry('acme', 'secops', 'writer', 'group')] });
    const sameNameTmi = await create({ name: 'TMI secops', is_confidential: true, authorization: [entry('tmi', 'secops', 'writer', 'group')] });
    const otherProvider = await create({ name: 'Corp secops', is_confidential: true, authorization: [entry('corp', 'secops', 'writer', 'group')] });
    const providerReviewers = await create({ name: 'Acme reviewers', is_confidential: true, authorization: [entry('acme', 'security-reviewers', 'reader', 'group')] });

    expect((await get(token, own.id)).status).toBe(200);
    expect(await listed(token, own.id)).toBe(true);
    expect((await call(t.app, 'PUT', `/threat_models/${own.id}`, { token, body: { name: 'Acme secops, edited' } })).status).toBe(200);
    for (const tm of [sameNameTmi, otherProvider]) {
      expect((await get(token, tm.id)).status).toBe(403);
      expect(await listed(token, tm.id)).toBe(false);
    }
    // The provider's own group called "security-reviewers" is just that provider's group: reader here, nothing more.
    expect((await get(token, providerReviewers.id)).status).toBe(200);
    expect((await call(t.app, 'PUT', `/threat_models/${providerReviewers.id}`, { token, body: { name: 'x' } })).status).toBe(403);
  });
});

describe('TMI group memberships', () => {
  it('come from the database and reach a live token without signing in again', async () => {
    const rev = await signIn(t.app);
    const open = await create({ name: 'Needs review' });
    expect((await get(rev.accessToken, open.id)).status).toBe(403);

    await t.ctx.users.addToGroup(t.ctx.db, SECURITY_REVIEWERS, await userUuid('tmi', rev.user));
    expect((await get(rev.accessToken, open.id)).status).toBe(200);
    expect(await listed(rev.accessToken, open.id)).toBe(true);
    expect((await call(t.app, 'GET', '/me', { token: rev.accessToken })).body.is_security_reviewer).toBe(true);
    const status = await call(t.app, 'PATCH', `/threat_models/${open.id}`, {
      token: rev.accessToken,
      body: [{ op: 'replace', path: '/status', value: 'in_review' }],
      contentType: 'application/json-patch+json',
    });
    expect(status.status, status.text).toBe(200);

    await t.ctx.users.addToGroup(t.ctx.db, TMI_AUTOMATION, await userUuid('tmi', rev.user));
    const threat = await call(t.app, 'POST', `/threat_models/${open.id}/threats`, { token: rev.accessToken, body: { name: 'Found by a bot', threat_type: ['Tampering'] } });
    expect(threat.status, threat.text).toBe(201);
    expect(threat.body.auto_generated).toBe(true);
  });
});

describe('principals named by e-mail', () => {
  it('store an existing user under their provider id, never as a second user beside them', async () => {
    const writer = await signIn(t.app);
    // As the web client sends it: the owner and a colleague by e-mail.
    const tm = await create({ name: 'By e-mail', authorization: [entry('tmi', owner.email, 'owner'), entry('tmi', writer.email.toUpperCase(), 'writer')] });
    expect(userEntries(tm).map((a) => `${a.provider_id}:${a.role}`)).toEqual([`${owner.user}:owner`, `${writer.user}:writer`]);
    expect(await usersWithEmail(owner.email)).toBe(1);
    expect(await usersWithEmail(writer.email)).toBe(1);
    expect((await call(t.app, 'PUT', `/threat_models/${tm.id}`, { token: writer.accessToken, body: { name: 'Edited by the writer' } })).status).toBe(200);

    const replaced = await call(t.app, 'PUT', `/threat_models/${tm.id}`, { token: owner.accessToken, body: { name: 'Again', authorization: [entry('tmi', owner.email, 'owner'), entry('tmi', writer.email, 'reader')] } });
    expect(replaced.status, replaced.text).toBe(200);
    expect(userEntries(replaced.body).map((a) => `${a.provider_id}:${a.role}`)).toEqual([`${owner.user}:owner`, `${writer.user}:reader`]);
    const patched = await call(t.app, 'PATCH', `/threat_models/${tm.id}`, {
      token: owner.accessToken,
      body: [{ op: 'add', path: '/authorization/-', value: entry('tmi', writer.email, 'writer') }],
      contentType: 'application/json-patch+json',
    });
    expect(patched.status, patched.text).toBe(200);
    expect(userEntries(patched.body).map((a) => `${a.provider_id}:${a.role}`)).toEqual([`${owner.user}:owner`, `${writer.user}:writer`]);
    expect(await usersWithEmail(writer.email)).toBe(1);
  });

  it('do not find an account whose e-mail its provider did not verify', async () => {
    const unverified = acmeUser({ email_verified: false });
    const token = await acmeToken(unverified);
    const tm = await create({ name: 'For the verified owner of the address', authorization: [entry('acme', unverified.email, 'writer')] });
    expect((await get(token, tm.id)).status).toBe(403);
    expect(userEntries(tm).find((a) => a.role === 'writer')?.provider_id).toBe(unverified.email);
  });
});

describe('sharing before the first sign-in', () => {
  it('binds an e-mail share to that person at their first sign-in with the same provider, and locks nobody out', async () => {
    const bob = uniqueUser('bob');
    const email = `${bob}@tmi.local`;
    const tm = await create({ name: 'For Bob', authorization: [entry('tmi', email, 'writer')] });
    expect(userEntries(tm).find((a) => a.role === 'writer')?.provider_id).toBe(email);

    // Someone at another provider with the same address signs in first: they get nothing, and are not refused.
    const impostor = await acmeToken(acmeUser({ email, email_verified: true }));
    expect((await get(impostor, tm.id)).status).toBe(403);

    const signedIn = await signIn(t.app, bob);
    const read = await get(signedIn.accessToken, tm.id);
    expect(read.status, read.text).toBe(200);
    expect(userEntries(read.body).map((a) => `${a.provider}:${a.provider_id}:${a.role}`)).toEqual([`tmi:${owner.user}:owner`, `tmi:${bob}:writer`]);
    expect((await call(t.app, 'PUT', `/threat_models/${tm.id}`, { token: signedIn.accessToken, body: { name: 'Edited by Bob' } })).status).toBe(200);
    expect((await get(impostor, tm.id)).status).toBe(403);
    // Bob's next sign-in finds the same account.
    expect((await get((await signIn(t.app, bob)).accessToken, tm.id)).status).toBe(200);
    expect(await usersWithEmail(email)).toBe(2); // Bob and the account at the other provider
  });

  it('binds a share at another provider only to an e-mail that provider verified', async () => {
    const email = `${hex()}@acme.test`;
    const tm = await create({ name: 'For Carol', authorization: [entry('acme', email, 'reader')] });
    const unverified = await acmeToken(acmeUser({ email, email_verified: false }));
    expect((await get(unverified, tm.id)).status).toBe(403);
    const carol = await acmeToken(acmeUser({ email, email_verified: true }));
    expect((await get(carol, tm.id)).status).toBe(200);
    expect((await get(unverified, tm.id)).status).toBe(403);
  });

  it('binds a share by provider id to the user with that subject', async () => {
    const sub = `acme-${hex()}`;
    const tm = await create({ name: 'For a subject', authorization: [entry('acme', sub, 'writer')] });
    const token = await acmeToken(acmeUser({ sub, email_verified: false }));
    expect((await call(t.app, 'PUT', `/threat_models/${tm.id}`, { token, body: { name: 'Edited by the subject' } })).status).toBe(200);
    expect(userEntries((await get(owner.accessToken, tm.id)).body).find((a) => a.role === 'writer')?.provider_id).toBe(sub);
  });

  it('gathers shares by id and by e-mail, ownership and roles into one account', async () => {
    const dave = uniqueUser('dave');
    const email = `${dave}@tmi.local`;
    const byId = await create({ name: 'Dave by id', authorization: [entry('tmi', dave, 'reader')] });
    const both = await create({ name: 'Dave twice', authorization: [entry('tmi', dave, 'reader'), entry('tmi', email, 'writer')] });
    const given = await create({ name: 'Given to Dave' });
    const transfer = await call(t.app, 'PATCH', `/threat_models/${given.id}`, {
      token: owner.accessToken,
      body: [{ op: 'replace', path: '/owner', value: { principal_type: 'user', provider: 'tmi', provider_id: email } }],
      contentType: 'application/json-patch+json',
    });
    expect(transfer.status, transfer.text).toBe(200);

    const signedIn = await signIn(t.app, dave);
    expect((await get(signedIn.accessToken, byId.id)).status).toBe(200);
    const merged = (await get(signedIn.accessToken, both.id)).body;
    expect(userEntries(merged).map((a) => `${a.provider_id}:${a.role}`)).toEqual([`${owner.user}:owner`, `${dave}:writer`]);
    const owned = (await get(signedIn.accessToken, given.id)).body;
    expect(owned.owner.provider_id).toBe(dave);
    expect((await call(t.app, 'DELETE', `/threat_models/${given.id}`, { token: signedIn.accessToken })).status).toBe(204);
    expect(await usersWithEmail(email)).toBe(1);
  });

  it('still refuses a second account for an e-mail that already signed in with another method', async () => {
    const erin = await signIn(t.app, uniqueUser('erin'));
    const res = await signInUpstream(t.app, fake, 'acme', acmeUser({ email: erin.email, email_verified: true }));
    expect(res.status).toBe(409);
    expect(errorOf(res).error).toBe('account_conflict');
  });
});
