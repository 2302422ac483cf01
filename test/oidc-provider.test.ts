// OpenID Connect against a real OpenID provider (the `oidc-provider` package on a local port):
// sign-in end to end, refresh, logout; ID tokens that are tampered with, forged, for another
// audience or another nonce; an expired code; step-up with prompt=login/max_age=0; identity
// linking (start, pending, confirm, list, unlink) and its refusals.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import type { FastifyInstance } from 'fastify';
import { call, CALLBACK, errorOf, signIn, startTestApp, uniqueUser, type TestApp } from './support/app.ts';
import { agedToken } from './support/admin.ts';
import { browseOp, startRealOp, type OpUser, type RealOp } from './support/oidc-op.ts';

const TMI_CALLBACK = 'http://localhost:8080/oauth2/callback';

const pkce = () => {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

let op: RealOp;
let t: TestApp;
let admin: string;

beforeAll(async () => {
  op = await startRealOp({ redirectUri: TMI_CALLBACK });
  admin = uniqueUser('admin');
  t = await startTestApp({
    TMI_OAUTH_CALLBACK_URL: TMI_CALLBACK,
    OAUTH_PROVIDERS_CORP_ENABLED: 'true',
    OAUTH_PROVIDERS_CORP_CLIENT_ID: op.clientId,
    OAUTH_PROVIDERS_CORP_CLIENT_SECRET: op.clientSecret,
    OAUTH_PROVIDERS_CORP_ISSUER: op.issuer,
    TMI_ADMINISTRATORS: `tmi:${admin}`,
  });
});
afterAll(async () => {
  await t?.close();
  await op?.close();
});

const newUser = (): OpUser => {
  const id = randomBytes(4).toString('hex');
  return { sub: `op-${id}`, email: `${id}@op.example`, name: `Op ${id}`, email_verified: true, groups: ['engineering'] };
};

/** TMI's callback, reached the way a browser reaches it; returns TMI's redirect to the client. */
async function throughOp(app: FastifyInstance, location: string): Promise<URL> {
  const back = await browseOp(op, location);
  expect(back.origin + back.pathname).toBe(TMI_CALLBACK);
  const res = await app.inject({ method: 'GET', url: `${back.pathname}${back.search}` });
  expect(res.statusCode, res.body).toBe(302);
  return new URL(res.headers.location as string);
}

async function signInAtOp(user: OpUser, before?: () => void) {
  op.user = user;
  const { verifier, challenge } = pkce();
  const start = await t.app.inject({
    method: 'GET',
    url: '/oauth2/authorize',
    query: { idp: 'corp', client_callback: CALLBACK, scope: 'openid profile email', state: randomBytes(8).toString('hex'), code_challenge: challenge, code_challenge_method: 'S256' },
  });
  expect(start.statusCode, start.body).toBe(302);
  const toClient = await throughOp(t.app, start.headers.location as string);
  before?.();
  const code = toClient.searchParams.get('code') ?? '';
  return call(t.app, 'POST', '/oauth2/token?idp=corp', { body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK } });
}

const usersWithSubject = async (sub: string) => (await t.ctx.db.query('SELECT 1 FROM users WHERE provider = $1 AND provider_user_id = $2', ['corp', sub])).length;

describe('OpenID Connect sign-in against a real OpenID provider', () => {
  it('signs in end to end (discovery, PKCE and nonce upstream, verified ID token, userinfo), refreshes and logs out', async () => {
    const user = newUser();
    const res = await signInAtOp(user);
    expect(res.status, res.text).toBe(200);
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ sub: user.sub, idp: 'corp', email: user.email, name: user.name, email_verified: true, groups: ['engineering'] });
    const me = await call(t.app, 'GET', '/me', { token: res.body.access_token });
    expect(me.body).toMatchObject({ provider: 'corp', provider_id: user.sub, email: user.email });

    const refreshed = await call(t.app, 'POST', '/oauth2/token', { body: { grant_type: 'refresh_token', refresh_token: res.body.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token).groups).toEqual(['engineering']);

    expect((await call(t.app, 'POST', '/me/logout', { token: refreshed.body.access_token })).status).toBe(204);
    expect((await call(t.app, 'GET', '/me', { token: refreshed.body.access_token })).status).toBe(401);
    expect((await call(t.app, 'POST', '/oauth2/token', { body: { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token } })).status).toBe(400);
  });

  it.each([
    ['a tampered ID token (payload changed, signature kept)', { corrupt: true }],
    ['an ID token signed with a key the provider does not publish', { forge: true }],
    ['an ID token for another audience', { claims: (c: Record<string, unknown>) => ({ ...c, aud: 'another-client' }) }],
    ['an ID token with another nonce', { claims: (c: Record<string, unknown>) => ({ ...c, nonce: 'not-the-one-we-sent' }) }],
    ['an ID token from another issuer', { claims: (c: Record<string, unknown>) => ({ ...c, iss: 'https://evil.example' }) }],
  ])('refuses %s and writes nothing', async (_name, tamper) => {
    const user = newUser();
    const res = await signInAtOp(user, () => {
      op.tamper = tamper;
    });
    expect(res.status).toBe(502);
    expect(errorOf(res).error).toBe('provider_unreachable');
    expect(await usersWithSubject(user.sub)).toBe(0);
  });

  it('refuses an expired authorization code', async () => {
    // The flow of the first test, with codes valid for one second and a wait before the exchange.
    op.codeTtl = 1;
    try {
      const late = newUser();
      const refused = await signInAtOpAfter(late, 1500);
      expect(refused.status).toBe(502);
      expect(await usersWithSubject(late.sub)).toBe(0);
    } finally {
      op.codeTtl = 60;
    }
  });
});

async function signInAtOpAfter(user: OpUser, waitMs: number) {
  op.user = user;
  const { verifier, challenge } = pkce();
  const start = await t.app.inject({
    method: 'GET',
    url: '/oauth2/authorize',
    query: { idp: 'corp', client_callback: CALLBACK, scope: 'openid profile email', state: randomBytes(8).toString('hex'), code_challenge: challenge, code_challenge_method: 'S256' },
  });
  const toClient = await throughOp(t.app, start.headers.location as string);
  await new Promise((r) => setTimeout(r, waitMs));
  return call(t.app, 'POST', '/oauth2/token?idp=corp', {
    body: { grant_type: 'authorization_code', code: toClient.searchParams.get('code'), code_verifier: verifier, redirect_uri: CALLBACK },
  });
}


describe('step-up', () => {
  it('an upstream OpenID account steps up through its provider with prompt=login and max_age=0; another person is refused', async () => {
    const user = newUser();
    const first = await signInAtOp(user);
    const stale = await agedToken(t, first.body.access_token, 3600);
    const link = await call(t.app, 'POST', `/me/identities/link/start?idp=corp&client_callback=${encodeURIComponent(CALLBACK)}`, { token: stale });
    expect(link.status).toBe(401);
    expect(errorOf(link).error).toBe('insufficient_user_authentication');
    expect(link.headers['www-authenticate']).toMatch(/error="insufficient_user_authentication".*max_age=300/);

    const { verifier, challenge } = pkce();
    const stepUp = await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${challenge}&state=s1`, {
      token: stale,
      headers: { accept: 'application/json' },
    });
    expect(stepUp.status, stepUp.text).toBe(200);
    expect(stepUp.body.result).toBe('step_up_redirect');
    const upstream = new URL(stepUp.body.redirect_url);
    expect(upstream.searchParams.get('prompt')).toBe('login');
    expect(upstream.searchParams.get('max_age')).toBe('0');

    op.prompts = [];
    op.user = user;
    const code = (await throughOp(t.app, stepUp.body.redirect_url)).searchParams.get('code');
    expect(op.prompts.flat()).toContain('login');
    const fresh = await call(t.app, 'POST', '/oauth2/token?idp=corp', { body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK } });
    expect(fresh.status, fresh.text).toBe(200);
    expect(decodeJwt(fresh.body.access_token).auth_time).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 5);

    // Someone else at the provider cannot complete this account's step-up.
    const again = pkce();
    const second = await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${again.challenge}`, { token: stale, headers: { accept: 'application/json' } });
    op.user = newUser();
    const otherCode = (await throughOp(t.app, second.body.redirect_url)).searchParams.get('code');
    const mismatch = await call(t.app, 'POST', '/oauth2/token?idp=corp', { body: { grant_type: 'authorization_code', code: otherCode, code_verifier: again.verifier, redirect_uri: CALLBACK } });
    expect(mismatch.status).toBe(400);
    expect(errorOf(mismatch).error).toBe('identity_mismatch');
    expect(await usersWithSubject(op.user.sub)).toBe(0);
  });

  it('administrative writes need a recent sign-in; the development provider steps up by a fresh code; service accounts and scope are refused', async () => {
    const a = await signIn(t.app, admin);
    const stale = await agedToken(t, a.accessToken, 301);
    const body = { name: `bot ${randomBytes(3).toString('hex')}` };
    const refused = await call(t.app, 'POST', '/admin/users/automation', { token: stale, body });
    expect(refused.status).toBe(401);
    expect(errorOf(refused).error).toBe('insufficient_user_authentication');
    expect(errorOf(refused).error_description).toContain('/oauth2/step_up');

    const { verifier, challenge } = pkce();
    const stepUp = await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${challenge}`, { token: stale });
    expect(stepUp.status).toBe(302);
    const code = new URL(stepUp.headers.location as string).searchParams.get('code');
    const fresh = await call(t.app, 'POST', '/oauth2/token?idp=tmi', { body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK } });
    expect(fresh.status).toBe(200);
    expect(decodeJwt(fresh.body.access_token).sub).toBe(admin);
    const created = await call(t.app, 'POST', '/admin/users/automation', { token: fresh.body.access_token, body });
    expect(created.status, created.text).toBe(201);

    expect(errorOf(await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${challenge}&scope=openid`, { token: stale })).error).toBe('invalid_scope');
    expect(errorOf(await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${challenge}`)).error).toBe('invalid_token');
    const sa = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      payload: { grant_type: 'client_credentials', client_id: created.body.client_credential.client_id, client_secret: created.body.client_credential.client_secret },
    });
    const saStep = await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${challenge}`, { token: sa.json().access_token });
    expect(errorOf(saStep).error).toBe('unsupported_grant_type');
  });
});

describe('identity linking', () => {
  it('links an upstream identity to an account after confirmation; it then signs in to that account; unlink ends that', async () => {
    const owner = await signIn(t.app);
    const corpUser = newUser();
    const start = await call(t.app, 'POST', `/me/identities/link/start?idp=corp&client_callback=${encodeURIComponent(CALLBACK)}`, { token: owner.accessToken });
    expect(start.status, start.text).toBe(200);
    expect(start.body).toMatchObject({ link_state: expect.any(String), authorization_url: expect.stringContaining(op.issuer) });
    // This provider does not list prompt=select_account, so it is not sent (it would refuse it).
    expect(new URL(start.body.authorization_url).searchParams.get('prompt')).toBeNull();
    op.user = corpUser;
    const back = await throughOp(t.app, start.body.authorization_url);
    const linkId = back.searchParams.get('link_pending')!;
    expect(linkId).toBeTruthy();
    expect(back.searchParams.get('state')).toBe(start.body.link_state);

    // Only the account that started the link sees or confirms it.
    const stranger = await signIn(t.app);
    expect((await call(t.app, 'GET', `/me/identities/link/pending/${linkId}`, { token: stranger.accessToken })).status).toBe(404);
    expect((await call(t.app, 'POST', '/me/identities/link/confirm', { token: stranger.accessToken, body: { token: linkId } })).status).toBe(404);

    const pending = await call(t.app, 'GET', `/me/identities/link/pending/${linkId}`, { token: owner.accessToken });
    expect(pending.body).toEqual({
      pending: { provider: 'corp', provider_user_id: `${corpUser.sub.slice(0, 8)}…`, email: corpUser.email, name: corpUser.name },
      account: { provider: 'tmi', email: owner.email },
    });
    const confirmed = await call(t.app, 'POST', '/me/identities/link/confirm', { token: owner.accessToken, body: { token: linkId } });
    expect(confirmed.status, confirmed.text).toBe(201);
    expect(confirmed.body).toMatchObject({ provider: 'corp', email: corpUser.email });
    expect((await call(t.app, 'POST', '/me/identities/link/confirm', { token: owner.accessToken, body: { token: linkId } })).status).toBe(404);

    const list = await call(t.app, 'GET', '/me/identities', { token: owner.accessToken });
    expect(list.body.primary).toMatchObject({ provider: 'tmi', email: owner.email });
    expect(list.body.linked).toHaveLength(1);

    // Signing in with the linked identity is signing in to the account (no second account).
    const viaCorp = await signInAtOp(corpUser);
    expect(viaCorp.status).toBe(200);
    expect(decodeJwt(viaCorp.body.access_token)).toMatchObject({ idp: 'tmi', sub: owner.user });
    // Groups from another provider are not carried into a token of the account's own provider.
    expect(decodeJwt(viaCorp.body.access_token).groups).toBeUndefined();
    expect(await usersWithSubject(corpUser.sub)).toBe(0);

    // The identity cannot be linked a second time, to this or another account.
    const again = await call(t.app, 'POST', `/me/identities/link/start?idp=corp&client_callback=${encodeURIComponent(CALLBACK)}`, { token: stranger.accessToken });
    op.user = corpUser;
    expect((await throughOp(t.app, again.body.authorization_url)).searchParams.get('error')).toBe('identity_already_bound');

    expect((await call(t.app, 'DELETE', `/me/identities/${confirmed.body.id}`, { token: stranger.accessToken })).status).toBe(404);
    expect((await call(t.app, 'DELETE', `/me/identities/${confirmed.body.id}`, { token: owner.accessToken })).status).toBe(204);
    const afterUnlink = await signInAtOp(corpUser);
    expect(decodeJwt(afterUnlink.body.access_token)).toMatchObject({ idp: 'corp', sub: corpUser.sub });
  });

  it('refuses to link an identity that already has an account of its own, and the development provider', async () => {
    const existing = newUser();
    expect((await signInAtOp(existing)).status).toBe(200);
    const owner = await signIn(t.app);
    const start = await call(t.app, 'POST', `/me/identities/link/start?idp=corp&client_callback=${encodeURIComponent(CALLBACK)}`, { token: owner.accessToken });
    op.user = existing;
    expect((await throughOp(t.app, start.body.authorization_url)).searchParams.get('error')).toBe('identity_already_bound');
    const dev = await call(t.app, 'POST', `/me/identities/link/start?idp=tmi&client_callback=${encodeURIComponent(CALLBACK)}`, { token: owner.accessToken });
    expect(errorOf(dev).error).toBe('invalid_provider');
    const badCallback = await call(t.app, 'POST', `/me/identities/link/start?idp=corp&client_callback=${encodeURIComponent('https://evil.example/cb')}`, { token: owner.accessToken });
    expect(errorOf(badCallback).error).toBe('invalid_request');
  });
});
