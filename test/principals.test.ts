// GET /principals (our extension, issue 14): people and groups found by name or e-mail as someone
// types in the sharing dialog. Signed-in people only (not service accounts); at least 2 characters;
// % and _ literal; 1-20 matches (default 10); active accounts that have signed in, never
// deactivated, placeholder or automation accounts; TMI groups, provider groups the server knows
// and `everyone`; each match is an authorization entry as it stands, without internal ids.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, startTestApp, type TestApp } from './support/app.ts';
import { buildThreatModel, buildUser, signInAs, uniqueUser, type BuiltUser } from './support/factories.ts';
import { serviceAccountToken } from './support/admin.ts';

let t: TestApp;
let me: BuiltUser;

beforeAll(async () => {
  t = await startTestApp();
  me = await signInAs(t);
});
afterAll(async () => {
  await t?.close();
});

/** A word no other test's data contains, so a search finds only what this test made. */
const token = () => `zq${randomBytes(3).toString('hex')}`;
const search = (q: string, extra = '', who: { accessToken: string } = me) =>
  call(t.app, 'GET', `/principals?q=${encodeURIComponent(q)}${extra}`, { token: who.accessToken });
/** A signed-in person with the given display name. */
async function person(name: string): Promise<BuiltUser> {
  const u = await signInAs(t, uniqueUser('p'));
  await t.ctx.db.query('UPDATE users SET name = $2 WHERE internal_uuid = $1', [u.uuid, name]);
  return u;
}

describe('who may search', () => {
  it('needs a signed-in person: 401 without a token, 403 for a service account', async () => {
    const anonymous = await call(t.app, 'GET', '/principals?q=alice');
    expect(anonymous.status).toBe(401);
    errorOf(anonymous);
    const reviewer = await buildUser(t, { securityReviewer: true });
    const sa = await serviceAccountToken(t, reviewer);
    const refused = await call(t.app, 'GET', '/principals?q=alice', { token: sa });
    expect(refused.status).toBe(403);
    expect(errorOf(refused).error_description).toMatch(/Service accounts/);
    expect((await search('alice', '', reviewer)).status).toBe(200);
  });
});

describe('what it accepts', () => {
  it('refuses a query under 2 characters (besides spaces), too long, with control characters, unknown parameters and a limit outside 1-20', async () => {
    for (const q of ['', 'q=a', 'q=%20a%20', `q=${'x'.repeat(101)}`, 'q=ab%01', 'q=alice&limit=0', 'q=alice&limit=21', 'q=alice&limit=ten', 'q=alice&principal_type=robot', 'q=alice&user_id=1']) {
      const res = await call(t.app, 'GET', `/principals?${q}`, { token: me.accessToken });
      expect(res.status, q).toBe(400);
      errorOf(res);
    }
    expect((await search('ab')).status).toBe(200);
  });
});

describe('people', () => {
  it('finds people by part of their name or e-mail, prefix matches first, with the fields of an access entry only', async () => {
    const word = token();
    const starts = await person(`${word} Starts`);
    const within = await person(`Someone ${word}`);
    const res = await search(word.slice(0, 6).toUpperCase());
    expect(res.status).toBe(200);
    expect(res.body.principals).toEqual([
      { principal_type: 'user', provider: 'tmi', provider_id: starts.user, display_name: `${word} Starts`, email: starts.email },
      { principal_type: 'user', provider: 'tmi', provider_id: within.user, display_name: `Someone ${word}`, email: within.email },
    ]);
    expect(JSON.stringify(res.body)).not.toContain(starts.uuid);
    // By e-mail (the development provider's e-mail is the login hint at tmi.local).
    const byMail = await search(`${within.user}@tmi`);
    expect(byMail.body.principals.map((p: any) => p.provider_id)).toEqual([within.user]);
  });

  it('takes % and _ literally', async () => {
    const word = token();
    const percent = await person(`${word} 100% sure`);
    const other = await person(`${word} 100x sure`);
    const underscore = await person(`${word} a_b`);
    await person(`${word} axb`);
    expect((await search(`${word} 100%`)).body.principals.map((p: any) => p.provider_id)).toEqual([percent.user]);
    expect((await search(`${word} 100`)).body.principals.map((p: any) => p.provider_id).sort()).toEqual([percent.user, other.user].sort());
    expect((await search('a_b')).body.principals.filter((p: any) => p.display_name.startsWith(word)).map((p: any) => p.provider_id)).toEqual([underscore.user]);
    expect((await search('%%')).body.principals).toEqual([]);
    expect((await search('__')).body.principals).toEqual([]);
  });

  it('returns 10 matches by default, up to 20 when asked, as few as asked', async () => {
    const word = token();
    for (let i = 0; i < 22; i++) await person(`${word} member ${String(i).padStart(2, '0')}`);
    expect((await search(word)).body.principals).toHaveLength(10);
    const twenty = (await search(word, '&limit=20')).body.principals;
    expect(twenty).toHaveLength(20);
    expect(twenty.map((p: any) => p.display_name)).toEqual(Array.from({ length: 20 }, (_, i) => `${word} member ${String(i).padStart(2, '0')}`));
    expect((await search(word, '&limit=3')).body.principals).toHaveLength(3);
  });

  it('leaves out deactivated accounts, accounts that never signed in and automation accounts', async () => {
    const word = token();
    const active = await person(`${word} active`);
    const deactivated = await person(`${word} deactivated`);
    await t.ctx.db.query('UPDATE users SET active = false WHERE internal_uuid = $1', [deactivated.uuid]);
    const automation = await person(`${word} automation`);
    await t.ctx.db.query('UPDATE users SET automation = true WHERE internal_uuid = $1', [automation.uuid]);
    // Sharing with an id nobody signed in with makes a placeholder account of that name.
    await buildThreatModel(t, me, { authorization: [{ principal_type: 'user', provider: 'tmi', provider_id: `${word}-placeholder`, role: 'reader' }] });
    expect((await t.ctx.db.query('SELECT 1 FROM users WHERE provider_user_id = $1', [`${word}-placeholder`])).length).toBe(1);
    expect((await search(word)).body.principals.map((p: any) => p.provider_id)).toEqual([active.user]);
  });
});

describe('groups', () => {
  it('finds TMI groups, provider groups the server knows, and everyone', async () => {
    const word = token();
    const admin = await buildUser(t, { administrator: true });
    const made = await call(t.app, 'POST', '/admin/groups', { token: admin.accessToken, body: { group_name: `${word}_auditors`, name: `Auditors ${word}` } });
    expect(made.status).toBe(201);
    // A provider group becomes known when someone shares with it.
    await buildThreatModel(t, me, { authorization: [{ principal_type: 'group', provider: 'github', provider_id: `${word}-platform`, role: 'reader' }] });
    const res = await search(word);
    expect(res.body.principals).toEqual([
      { principal_type: 'group', provider: 'tmi', provider_id: `${word}_auditors`, display_name: `Auditors ${word}` },
      { principal_type: 'group', provider: 'github', provider_id: `${word}-platform`, display_name: `${word}-platform` },
    ]);
    expect((await search('every')).body.principals).toContainEqual({ principal_type: 'group', provider: 'tmi', provider_id: 'everyone', display_name: 'Everyone (Pseudo-group)' });
    expect((await search(word, '&principal_type=user')).body.principals).toEqual([]);
    expect((await search(word, '&principal_type=group')).body.principals).toHaveLength(2);
  });
});

describe('a match is an access entry', () => {
  it('is added to a threat model\'s access list as it came', async () => {
    const word = token();
    const friend = await person(`${word} Friend`);
    const tm = await buildThreatModel(t, me);
    const [match] = (await search(word)).body.principals;
    const res = await call(t.app, 'PATCH', `/threat_models/${tm.id}`, {
      token: me.accessToken,
      contentType: 'application/json-patch+json',
      body: [{ op: 'add', path: '/authorization/-', value: { ...match, role: 'writer' } }],
    });
    expect(res.status).toBe(200);
    expect(res.body.authorization).toContainEqual({ principal_type: 'user', provider: 'tmi', provider_id: friend.user, display_name: `${word} Friend`, email: friend.email, role: 'writer' });
  });
});
