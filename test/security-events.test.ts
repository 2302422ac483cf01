// Security events in the log (server/security-events.ts): each trigger writes its `event` line with
// the fields docs/security.md promises, the request id and the client address (through the
// trusted proxy), refused tokens are sampled per address, and no credential reaches the log.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeJwt, SignJWT } from 'jose';
import { SECURITY_EVENTS, TOKEN_FAILURE_LINES } from '../server/security-events.ts';
import { call, CALLBACK, errorOf, signInWithPkce as signIn, startTestApp, uniqueUser, UNREACHABLE_PROVIDER_ENV, type Response, type SignedIn, type TestApp } from './support/app.ts';
import { LogCapture } from './support/log-capture.ts';

const logs = new LogCapture();
const configuredAdmin = uniqueUser('cfgadmin');
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp(
    {
      // One proxy in front: the client address is the last X-Forwarded-For entry.
      TMI_TRUST_PROXY: '1',
      TMI_ADMINISTRATORS: `tmi:${configuredAdmin}`,
      // An upstream provider whose sign-in is never completed (its callback reports an error).
      ...UNREACHABLE_PROVIDER_ENV,
    },
    { logger: logs.logger('info') },
  );
});
afterAll(async () => t?.close());
afterEach(() => {
  vi.useRealTimers();
});

/** A client address of its own per test, so the sampling of refused tokens never mixes tests. */
let nextAddress = 10;
const newAddress = () => `203.0.113.${nextAddress++}`;
const from = (ip: string) => ({ 'x-forwarded-for': ip });

const events = (event: string, match: Record<string, unknown> = {}) =>
  logs.lines.filter((l) => l.event === event && Object.entries(match).every(([k, v]) => JSON.stringify(l[k]) === JSON.stringify(v)));

/** The only line of `event` matching `match`. */
function only(event: string, match: Record<string, unknown> = {}): Record<string, unknown> {
  const found = events(event, match);
  expect(found, `${event} ${JSON.stringify(match)}`).toHaveLength(1);
  return found[0]!;
}

async function userUuid(user: string): Promise<string> {
  const rows = await t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider = $1 AND provider_user_id = $2', ['tmi', user]);
  return rows[0]!.internal_uuid;
}

const pkce = () => {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** The authorization-code flow of the development provider, from a client address. */
async function codeFlow(ip: string, user = uniqueUser()) {
  const { verifier, challenge } = pkce();
  const authorize = await t.app.inject({
    method: 'GET',
    url: '/oauth2/authorize',
    headers: from(ip),
    query: { idp: 'tmi', login_hint: user, client_callback: CALLBACK, scope: 'openid', state: 'st', code_challenge: challenge },
  });
  expect(authorize.statusCode).toBe(302);
  const code = new URL(authorize.headers.location as string).searchParams.get('code')!;
  const exchange = (over: Record<string, string> = {}) =>
    call(t.app, 'POST', '/oauth2/token?idp=tmi', { headers: from(ip), body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK, ...over } });
  return { user, code, verifier, exchange };
}

const refresh = (token: string, ip = '127.0.0.1') => call(t.app, 'POST', '/oauth2/token', { headers: from(ip), body: { grant_type: 'refresh_token', refresh_token: token } });
const me = (token: string, ip: string) => call(t.app, 'GET', '/me', { token, headers: from(ip) });

describe('sign-in', () => {
  it('success names the provider, the subject, the user and the session, with the request id and client address', async () => {
    const ip = newAddress();
    const flow = await codeFlow(ip);
    const res = await flow.exchange();
    expect(res.status).toBe(200);
    const line = only('auth.signin.success', { provider_id: flow.user });
    expect(line).toMatchObject({
      level: 30,
      msg: 'sign-in succeeded',
      provider: 'tmi',
      provider_id: flow.user,
      user_uuid: await userUuid(flow.user),
      session_id: decodeJwt(res.body.access_token).sid,
      client_ip: ip,
    });
    expect(typeof line.reqId).toBe('string');
  });

  it('failure says why: PKCE, a spent code, a foreign redirect_uri, a malformed body', async () => {
    const ip = newAddress();
    const pkceFailed = await codeFlow(ip);
    expect((await pkceFailed.exchange({ code_verifier: pkce().verifier })).status).toBe(400);
    const spent = await codeFlow(ip);
    expect((await spent.exchange()).status).toBe(200);
    expect((await spent.exchange()).status).toBe(400);
    const foreign = await codeFlow(ip);
    expect((await foreign.exchange({ redirect_uri: 'http://localhost:9999/' })).status).toBe(400);
    const malformed = await codeFlow(ip);
    const bad = await call(t.app, 'POST', '/oauth2/token?idp=tmi', { headers: from(ip), raw: `{"grant_type":"authorization_code","code":"${malformed.code}"`, contentType: 'application/json' });
    expect(bad.status).toBe(400);

    const failures = events('auth.signin.failure', { client_ip: ip });
    expect(failures.map((l) => [l.reason, l.detail])).toEqual([
      ['invalid_grant', 'PKCE verification failed'],
      ['invalid_grant', 'Authorization code is invalid or expired'],
      ['invalid_grant', 'redirect_uri does not match the client_callback the authorization code was issued for'],
      // A parse error quotes the body: no detail.
      ['invalid_input', undefined],
    ]);
    for (const l of failures) expect(l).toMatchObject({ level: 40, msg: 'sign-in failed', provider: 'tmi' });
    expect(logs.text).not.toContain(malformed.code);
  });

  it('failure after the provider vouched for someone names them (account_conflict), once', async () => {
    const ip = newAddress();
    const user = uniqueUser('taken');
    // Someone who signed in with another provider already has this e-mail.
    await t.ctx.db.query(
      `INSERT INTO users (internal_uuid, provider, provider_user_id, email, name, last_login) VALUES ($1, 'corp', $2, $3, 'Taken', now())`,
      [crypto.randomUUID(), `corp-${user}`, `${user}@tmi.local`],
    );
    const res = await (await codeFlow(ip, user)).exchange();
    expect(res.status).toBe(409);
    expect(only('auth.signin.failure', { client_ip: ip })).toMatchObject({ reason: 'account_conflict', provider: 'tmi', provider_id: user });
  });

  it('failure at the provider (its callback carries an error) and an unknown state', async () => {
    const ip = newAddress();
    const state = randomBytes(12).toString('hex');
    const start = await t.app.inject({
      method: 'GET',
      url: '/oauth2/authorize',
      headers: from(ip),
      query: { idp: 'corp', client_callback: CALLBACK, scope: 'openid', state, code_challenge: pkce().challenge },
    });
    expect(start.statusCode).toBe(302);
    const denied = await t.app.inject({ method: 'GET', url: '/oauth2/callback', headers: from(ip), query: { state, error: 'access_denied' } });
    expect(denied.statusCode).toBe(302);
    const unknown = await call(t.app, 'GET', `/oauth2/callback?state=${state}&code=whatever`, { headers: from(ip) });
    expect(errorOf(unknown).error).toBe('invalid_request');
    expect(events('auth.signin.failure', { client_ip: ip }).map((l) => [l.provider, l.reason, l.detail])).toEqual([
      ['corp', 'provider_error', 'access_denied'],
      [undefined, 'invalid_request', 'Invalid state parameter'],
    ]);
  });
});

describe('refused access tokens', () => {
  it('say why: malformed header, malformed token, bad signature, expired, unknown user, revoked', async () => {
    const ip = newAddress();
    const s = await signIn(t.app);
    const claims = decodeJwt(s.accessToken);
    const secret = new TextEncoder().encode(t.config.jwt.secret);
    const forge = (over: Record<string, unknown>, key = secret) => new SignJWT({ ...claims, ...over }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
    expect((await call(t.app, 'GET', '/me', { headers: { ...from(ip), authorization: `Basic ${s.accessToken}` } })).status).toBe(401);
    expect((await me('not-a-jwt', ip)).status).toBe(401);
    expect((await me(await forge({}, new TextEncoder().encode('k'.repeat(64))), ip)).status).toBe(401);
    expect((await me(await forge({ exp: Math.floor(Date.now() / 1000) - 10 }), ip)).status).toBe(401);
    expect((await me(await forge({ sub: 'nobody-at-all' }), ip)).status).toBe(401);
    expect(events('auth.token.invalid', { client_ip: ip }).map((l) => l.reason)).toEqual(['malformed_header', 'malformed', 'bad_signature', 'expired', 'unknown_user']);
    expect(only('auth.token.invalid', { client_ip: ip, reason: 'unknown_user' })).toMatchObject({ level: 40, provider: 'tmi', provider_id: 'nobody-at-all' });

    const other = newAddress();
    await call(t.app, 'POST', '/me/logout', { token: s.accessToken });
    expect((await me(s.accessToken, other)).status).toBe(401);
    expect(only('auth.token.invalid', { client_ip: other })).toMatchObject({ reason: 'revoked', provider: 'tmi', provider_id: s.user, session_id: claims.sid });
  });

  it(`are logged at most ${TOKEN_FAILURE_LINES} times a minute per client address; the rest are counted in one line`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 61_000); // a fresh sampling window
    const flood = newAddress();
    const quiet = newAddress();
    for (let i = 0; i < TOKEN_FAILURE_LINES + 15; i++) expect((await me(`junk-${i}`, flood)).status).toBe(401);
    expect((await me('junk', quiet)).status).toBe(401);
    expect(events('auth.token.invalid', { client_ip: flood })).toHaveLength(TOKEN_FAILURE_LINES);
    expect(events('auth.token.invalid', { client_ip: quiet })).toHaveLength(1);
    expect(events('auth.token.invalid.suppressed')).toHaveLength(0);

    vi.setSystemTime(Date.now() + 61_000);
    expect((await me('junk', quiet)).status).toBe(401);
    expect(only('auth.token.invalid.suppressed')).toMatchObject({ level: 40, suppressed: 15, window_seconds: 60, client_ips: [flood], client_ip: quiet });
    expect(events('auth.token.invalid', { client_ip: quiet })).toHaveLength(2);
  });
});

describe('refresh, reuse, logout and revocation', () => {
  it('rotation, reuse (and the session it revoked), a refused refresh, logout and RFC 7009 revocation', async () => {
    const ip = newAddress();
    const flow = await codeFlow(ip);
    const first = (await flow.exchange()).body as { access_token: string; refresh_token: string };
    const uuid = await userUuid(flow.user);
    const sid = decodeJwt(first.access_token).sid as string;

    const rotated = await refresh(first.refresh_token, ip);
    expect(rotated.status).toBe(200);
    expect(only('auth.refresh.success', { session_id: sid })).toMatchObject({ level: 30, user_uuid: uuid, client_ip: ip });

    const thief = newAddress();
    expect((await refresh(first.refresh_token, thief)).status).toBe(400);
    expect(only('auth.refresh.reuse', { revoked_session_id: sid })).toMatchObject({ level: 40, user_uuid: uuid, client_ip: thief });
    expect((await refresh(rotated.body.refresh_token, ip)).status).toBe(400);
    expect(only('auth.refresh.failure', { session_id: sid })).toMatchObject({ level: 40, reason: 'revoked', user_uuid: uuid, client_ip: ip });
    expect((await refresh('never-issued', thief)).status).toBe(400);
    expect(only('auth.refresh.failure', { client_ip: thief })).toMatchObject({ reason: 'unknown' });

    const s = await signIn(t.app);
    const claims = decodeJwt(s.accessToken);
    expect((await call(t.app, 'POST', '/me/logout', { token: s.accessToken, headers: from(ip) })).status).toBe(204);
    expect(only('auth.logout', { provider_id: s.user })).toMatchObject({
      level: 30,
      provider: 'tmi',
      user_uuid: await userUuid(s.user),
      revoked_token_id: claims.jti,
      revoked_session_id: claims.sid,
      client_ip: ip,
    });

    const caller = await signIn(t.app);
    const victim = await signIn(t.app);
    const byRefresh = await call(t.app, 'POST', '/oauth2/revoke', { token: caller.accessToken, headers: from(ip), body: { token: victim.refreshToken, token_type_hint: 'refresh_token' } });
    expect(byRefresh.status).toBe(200);
    const byAccess = await call(t.app, 'POST', '/oauth2/revoke', { token: caller.accessToken, headers: from(ip), body: { token: victim.accessToken } });
    expect(byAccess.status).toBe(200);
    const victimClaims = decodeJwt(victim.accessToken);
    const revokes = events('auth.revoke', { provider_id: caller.user });
    expect(revokes.map((l) => [l.token_type_hint, l.revoked_session_id, l.revoked_token_id])).toEqual([
      ['refresh_token', victimClaims.sid, undefined],
      // No hint: tried as an access token, then as a refresh token (not a live one of ours).
      [undefined, undefined, victimClaims.jti],
    ]);
    for (const l of revokes) expect(l).toMatchObject({ level: 30, provider: 'tmi', user_uuid: await userUuid(caller.user), client_ip: ip });
  });
});

describe('who may access a threat model', () => {
  const entry = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });
  const patch = (u: SignedIn, id: string, ops: unknown[]): Promise<Response> =>
    call(t.app, 'PATCH', `/threat_models/${id}`, { token: u.accessToken, body: ops, contentType: 'application/json-patch+json' });

  it('creation, entries added, removed and given another role, and a new owner: who, what, to whom', async () => {
    const [owner, reader, writer, heir] = await Promise.all([signIn(t.app), signIn(t.app), signIn(t.app), signIn(t.app)]);
    const ownerParty = { provider: 'tmi', provider_id: owner.user, user_uuid: await userUuid(owner.user) };
    const created = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'Shared', authorization: [entry(reader, 'reader')] } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(only('access.changed', { threat_model_id: id })).toMatchObject({
      level: 30,
      msg: 'threat model access list changed',
      ...ownerParty,
      client_ip: '127.0.0.1',
      added: expect.arrayContaining([entry(owner, 'owner'), entry(reader, 'reader'), { principal_type: 'group', provider: 'tmi', provider_id: 'security-reviewers', role: 'owner' }]),
      removed: [],
      role_changed: [],
    });

    // A change that leaves access alone writes nothing.
    expect((await patch(owner, id, [{ op: 'replace', path: '/name', value: 'Renamed' }])).status).toBe(200);
    expect(events('access.changed', { threat_model_id: id })).toHaveLength(1);

    const put = await call(t.app, 'PUT', `/threat_models/${id}`, { token: owner.accessToken, body: { name: 'Renamed', authorization: [entry(reader, 'writer'), entry(writer, 'writer')] } });
    expect(put.status).toBe(200);
    const changed = events('access.changed', { threat_model_id: id })[1]!;
    expect(changed).toMatchObject({ ...ownerParty, added: [entry(writer, 'writer')], role_changed: [{ ...entry(reader, 'writer'), previous_role: 'reader' }] });
    // The automatic group entries are not in a PUT's list: they go, and the line says so.
    expect(changed.removed).toEqual(expect.arrayContaining([{ principal_type: 'group', provider: 'tmi', provider_id: 'security-reviewers', role: 'owner' }]));

    const idx = (put.body.authorization as { provider_id: string }[]).findIndex((a) => a.provider_id === writer.user);
    expect((await patch(owner, id, [{ op: 'remove', path: `/authorization/${idx}` }])).status).toBe(200);
    expect(events('access.changed', { threat_model_id: id })[2]).toMatchObject({ added: [], removed: [entry(writer, 'writer')], role_changed: [] });

    expect((await patch(owner, id, [{ op: 'replace', path: '/owner', value: { principal_type: 'user', provider: 'tmi', provider_id: heir.user } }])).status).toBe(200);
    expect(only('owner.changed', { threat_model_id: id })).toMatchObject({
      level: 30,
      ...ownerParty,
      previous_owner: ownerParty,
      new_owner: { provider: 'tmi', provider_id: heir.user, user_uuid: await userUuid(heir.user) },
    });
    expect(events('access.changed', { threat_model_id: id })[3]).toMatchObject({ added: [entry(heir, 'owner')] });

    // A refused change writes no event.
    expect((await patch(reader, id, [{ op: 'add', path: '/authorization/-', value: entry(writer, 'owner') }])).status).toBe(403);
    expect(events('access.changed', { threat_model_id: id })).toHaveLength(4);
  });
});

describe('administrators', () => {
  it('a configured administrator is logged when first granted, and what they do as administrator', async () => {
    const first = await signIn(t.app, configuredAdmin);
    await signIn(t.app, configuredAdmin);
    const party = { provider: 'tmi', provider_id: configuredAdmin, user_uuid: await userUuid(configuredAdmin) };
    expect(only('admin.granted', { provider_id: configuredAdmin })).toMatchObject({ level: 30, ...party, groups: ['administrators'], via: 'configuration' });

    const ip = newAddress();
    expect((await call(t.app, 'GET', '/threat_models?include_deleted=true', { token: first.accessToken, headers: from(ip) })).status).toBe(200);
    expect(only('admin.threat_models.include_deleted', { client_ip: ip })).toMatchObject({ level: 30, ...party });
    const plain = await signIn(t.app);
    expect((await call(t.app, 'GET', '/threat_models?include_deleted=true', { token: plain.accessToken, headers: from(ip) })).status).toBe(403);
    expect(events('admin.threat_models.include_deleted', { client_ip: ip })).toHaveLength(1);

    // Deleted children: the owner's own listing is no event; that of an administrator who only
    // reads the model is one, naming the model and the kind.
    const reader = { principal_type: 'user', provider: 'tmi', provider_id: configuredAdmin, role: 'reader' };
    const model = (await call(t.app, 'POST', '/threat_models', { token: plain.accessToken, body: { name: 'deleted children', authorization: [reader] } })).body as { id: string };
    for (const kind of ['threats', 'diagrams']) {
      expect((await call(t.app, 'GET', `/threat_models/${model.id}/${kind}?include_deleted=true`, { token: plain.accessToken, headers: from(ip) })).status).toBe(200);
    }
    expect(events('admin.children.include_deleted', { client_ip: ip })).toHaveLength(0);
    for (const kind of ['threats', 'diagrams']) {
      expect((await call(t.app, 'GET', `/threat_models/${model.id}/${kind}?include_deleted=true`, { token: first.accessToken, headers: from(ip) })).status).toBe(200);
    }
    expect(events('admin.children.include_deleted', { client_ip: ip })).toEqual([
      expect.objectContaining({ level: 30, ...party, threat_model_id: model.id, kind: 'threats' }),
      expect.objectContaining({ level: 30, ...party, threat_model_id: model.id, kind: 'diagrams' }),
    ]);
  });
});

describe('service accounts and step-up', () => {
  it('a credential created, used, refused and deleted, and a step-up started: who, which credential, never the secret', async () => {
    const admin = await signIn(t.app, configuredAdmin);
    const party = { provider: 'tmi', provider_id: configuredAdmin, user_uuid: await userUuid(configuredAdmin) };
    const ip = newAddress();
    const created = await call(t.app, 'POST', '/me/client_credentials', { token: admin.accessToken, headers: from(ip), body: { name: 'pipeline' } });
    expect(created.status).toBe(201);
    const { id, client_id: clientId, client_secret: secret } = created.body as { id: string; client_id: string; client_secret: string };
    expect(only('auth.client_credentials.created', { credential_id: id })).toMatchObject({ ...party, account_uuid: party.user_uuid, client_ip: ip });

    const grant = (clientSecret: string) => call(t.app, 'POST', '/oauth2/token', { headers: from(ip), body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } });
    expect((await grant(secret)).status).toBe(200);
    expect(only('auth.client_credentials.used', { credential_id: id })).toMatchObject({ account_uuid: party.user_uuid, client_ip: ip });
    expect((await grant(`${secret}x`)).status).toBe(401);
    expect(only('auth.client_credentials.failure', { client_id: clientId })).toMatchObject({ level: 40, reason: expect.any(String), client_ip: ip });

    expect((await call(t.app, 'DELETE', `/me/client_credentials/${id}`, { token: admin.accessToken, headers: from(ip) })).status).toBe(204);
    expect(only('auth.client_credentials.deleted', { credential_id: id })).toMatchObject({ ...party, account_uuid: party.user_uuid });

    const { challenge } = pkce();
    const stepUp = await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${challenge}&code_challenge_method=S256`, { token: admin.accessToken, headers: from(ip) });
    expect(stepUp.status).toBe(302);
    expect(only('auth.step_up.started', { client_ip: ip })).toMatchObject(party);

    expect(logs.text.includes(secret)).toBe(false);
  });
});

describe('the log of a whole session', () => {
  it('has every event of sign-in, refresh, reuse, sharing, logout and revocation, and no credential', async () => {
    const ip = newAddress();
    const flow = await codeFlow(ip);
    const first = (await flow.exchange()).body as { access_token: string; refresh_token: string };
    const second = (await refresh(first.refresh_token, ip)).body as { access_token: string; refresh_token: string };
    const again = await codeFlow(ip, flow.user);
    const third = (await again.exchange()).body as { access_token: string; refresh_token: string };
    expect((await refresh(first.refresh_token, ip)).status).toBe(400); // reuse: the first session ends
    const friend = await signIn(t.app);
    const tm = await call(t.app, 'POST', '/threat_models', {
      token: third.access_token,
      headers: { ...from(ip), cookie: 'other=cookie-secret-456' },
      body: { name: 'Logged', authorization: [{ principal_type: 'user', provider: 'tmi', provider_id: friend.user, role: 'reader' }] },
    });
    expect(tm.status).toBe(201);
    await call(t.app, 'POST', '/oauth2/revoke', { token: third.access_token, headers: from(ip), body: { token: friend.refreshToken } });
    expect((await call(t.app, 'POST', '/me/logout', { token: third.access_token, headers: from(ip) })).status).toBe(204);
    await me(third.access_token, ip);

    const seen = new Set(logs.lines.filter((l) => l.client_ip === ip).map((l) => l.event));
    for (const e of ['auth.signin.success', 'auth.refresh.success', 'auth.refresh.reuse', 'access.changed', 'auth.revoke', 'auth.logout', 'auth.token.invalid']) expect(seen, e).toContain(e);

    const secrets = [
      ...[first, second, third].flatMap((g) => [g.access_token, g.refresh_token]),
      friend.refreshToken,
      flow.code,
      flow.verifier,
      again.code,
      again.verifier,
      'cookie-secret-456',
      'corp-client-secret-for-tests',
      t.config.jwt.secret,
    ];
    for (const s of secrets) {
      expect(logs.text.includes(s), `log contains ${s.slice(0, 12)}...`).toBe(false);
      for (const part of s.split('.').filter((p) => p.length >= 16)) expect(logs.text.includes(part), `log contains part of ${s.slice(0, 12)}...`).toBe(false);
    }
  });
});

describe('docs/security.md', () => {
  it('lists every event of the catalogue with a jq query', () => {
    const doc = readFileSync(new URL('../docs/security.md', import.meta.url), 'utf8');
    for (const event of Object.keys(SECURITY_EVENTS)) expect(doc.includes(`jq 'select(.event=="${event}")'`), event).toBe(true);
  });
});
