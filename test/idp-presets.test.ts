// The Google and Microsoft presets against local stand-ins of those providers' documented
// endpoints (test/support/idp-standin.ts): the few settings a person sets, the endpoints, scopes
// and claim mapping the preset fills in, and the checks each provider needs. Google: discovery,
// nonce, the ID token's email_verified carried into the account. Microsoft Entra ID: the tenant's
// v2.0 endpoints, the ID token's issuer must be the configured tenant's; with the multi-tenant
// alias `organizations` the issuer must name the token's own tenant (tid) and personal accounts
// are refused. Every refusal writes no user.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { call, CALLBACK, errorOf, signIn, startTestApp, type TestApp } from './support/app.ts';
import { startStandIn, type StandIn, type StandInPerson } from './support/idp-standin.ts';

const TMI_CALLBACK = 'http://localhost:8080/oauth2/callback';
const MSA_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

const pkce = () => {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};
const uid = () => randomBytes(5).toString('hex');

/** A sign-in through TMI as a browser does it, with the stand-in answering as `person`. */
async function signInVia(t: TestApp, s: StandIn, idp: string, person: StandInPerson) {
  s.person = person;
  const { verifier, challenge } = pkce();
  const start = await t.app.inject({
    method: 'GET',
    url: '/oauth2/authorize',
    query: { idp, client_callback: CALLBACK, scope: 'openid profile email', state: uid(), code_challenge: challenge, code_challenge_method: 'S256' },
  });
  expect(start.statusCode, start.body).toBe(302);
  const authorize = new URL(start.headers.location as string);
  const atProvider = await fetch(authorize, { redirect: 'manual' });
  expect(atProvider.status).toBe(302);
  const cb = new URL(atProvider.headers.get('location')!);
  expect(cb.origin + cb.pathname).toBe(TMI_CALLBACK);
  const back = await t.app.inject({ method: 'GET', url: `${cb.pathname}${cb.search}` });
  expect(back.statusCode, back.body).toBe(302);
  const code = new URL(back.headers.location as string).searchParams.get('code');
  const token = await call(t.app, 'POST', `/oauth2/token?idp=${idp}`, { body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK } });
  return { authorize, token };
}

const usersWith = async (t: TestApp, provider: string, sub: string) =>
  (await t.ctx.db.query('SELECT 1 FROM users WHERE provider = $1 AND provider_user_id = $2', [provider, sub])).length;

describe('Google preset against a stand-in', () => {
  let g: StandIn;
  let t: TestApp;
  beforeAll(async () => {
    g = await startStandIn('google');
    t = await startTestApp({
      TMI_OAUTH_CALLBACK_URL: TMI_CALLBACK,
      OAUTH_PROVIDERS_GOOGLE_ENABLED: 'true',
      OAUTH_PROVIDERS_GOOGLE_CLIENT_ID: g.clientId,
      OAUTH_PROVIDERS_GOOGLE_CLIENT_SECRET: g.clientSecret,
      // Only where Google lives changes; everything else is the preset's.
      OAUTH_PROVIDERS_GOOGLE_ISSUER: g.base,
    });
  });
  afterAll(async () => {
    await t?.close();
    await g?.close();
  });

  it('is listed as Google with its icon and discovers its endpoints from the issuer', async () => {
    const res = await call(t.app, 'GET', '/oauth2/providers');
    expect(res.body.providers).toContainEqual(expect.objectContaining({ id: 'google', name: 'Google', icon: 'fa-brands fa-google', client_id: g.clientId }));
  });

  it('signs in with discovery, PKCE and a nonce; subject, e-mail and its verification come from the verified ID token', async () => {
    const person = { sub: `1${Date.now()}${randomBytes(2).readUInt16BE()}`, email: `ana-${uid()}@example.com`, email_verified: true, name: 'Ana Example', hd: 'example.com' };
    const { authorize, token } = await signInVia(t, g, 'google', person);
    expect(g.requests.some((r) => r.path === '/.well-known/openid-configuration')).toBe(true);
    expect(authorize.origin + authorize.pathname).toBe(`${g.base}/o/oauth2/v2/auth`);
    expect(authorize.searchParams.get('scope')).toBe('openid profile email');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(TMI_CALLBACK);
    expect(token.status, token.text).toBe(200);
    expect(decodeJwt(token.body.access_token)).toMatchObject({ idp: 'google', sub: person.sub, email: person.email, email_verified: true, name: 'Ana Example' });
    // The secret went to Google's token endpoint in the body, never to the browser.
    const tokenRequest = g.requests.find((r) => r.path === '/token')!;
    expect(tokenRequest.params.get('client_secret')).toBe(g.clientSecret);
    expect(authorize.searchParams.get('client_secret')).toBeNull();
  });

  it('keeps an address Google did not verify as unverified', async () => {
    const person = { sub: `2${Date.now()}`, email: `bo-${uid()}@gmail.example`, email_verified: false, name: 'Bo' };
    const { token } = await signInVia(t, g, 'google', person);
    expect(token.status, token.text).toBe(200);
    const claims = decodeJwt(token.body.access_token);
    expect(claims.sub).toBe(person.sub);
    expect(claims.email_verified).not.toBe(true);
    const rows = await t.ctx.db.query<{ email_verified: boolean }>('SELECT email_verified FROM users WHERE provider = $1 AND provider_user_id = $2', ['google', person.sub]);
    expect(rows[0]?.email_verified).toBe(false);
  });

  it.each([
    ['an ID token for another client', (c: Record<string, unknown>) => ({ ...c, aud: 'someone-else.apps.googleusercontent.com', azp: 'someone-else.apps.googleusercontent.com' })],
    ['an ID token from another issuer', (c: Record<string, unknown>) => ({ ...c, iss: 'https://accounts.evil.example' })],
    ['an ID token with another nonce', (c: Record<string, unknown>) => ({ ...c, nonce: 'replayed' })],
    ['an expired ID token', (c: Record<string, unknown>) => ({ ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })],
  ])('refuses %s and writes nothing', async (_name, change) => {
    const person = { sub: `3${Date.now()}${randomBytes(2).readUInt16BE()}`, email: `eve-${uid()}@example.com`, email_verified: true, name: 'Eve' };
    g.nextIdToken = change;
    const { token } = await signInVia(t, g, 'google', person);
    expect(token.status).toBe(502);
    expect(errorOf(token).error).toBe('provider_unreachable');
    expect(await usersWith(t, 'google', person.sub)).toBe(0);
  });

  it('asks Google to let the person pick an account when linking', async () => {
    const u = await signIn(t.app);
    const res = await call(t.app, 'POST', `/me/identities/link/start?idp=google&client_callback=${encodeURIComponent(CALLBACK)}`, { token: u.accessToken, body: {} });
    expect(res.status, res.text).toBe(200);
    const url = new URL(res.body.authorization_url);
    expect(url.origin + url.pathname).toBe(`${g.base}/o/oauth2/v2/auth`);
    expect(url.searchParams.get('prompt')).toBe('select_account');
  });
});

/** An app whose `microsoft` provider is the preset for `tenant`, at the stand-in's authority. */
async function microsoftApp(ms: StandIn, tenant: string): Promise<TestApp> {
  return startTestApp({
    TMI_OAUTH_CALLBACK_URL: TMI_CALLBACK,
    OAUTH_PROVIDERS_MICROSOFT_ENABLED: 'true',
    OAUTH_PROVIDERS_MICROSOFT_CLIENT_ID: ms.clientId,
    OAUTH_PROVIDERS_MICROSOFT_CLIENT_SECRET: ms.clientSecret,
    OAUTH_PROVIDERS_MICROSOFT_TENANT: tenant,
    OAUTH_PROVIDERS_MICROSOFT_AUTHORITY: ms.base,
    // Graph is another host in real life; the stand-in answers for it too.
    OAUTH_PROVIDERS_MICROSOFT_USERINFO_URL: `${ms.base}/oidc/userinfo`,
  });
}

describe('Microsoft Entra ID preset against a stand-in', () => {
  const tenant = '11111111-2222-4333-8444-555555555555';
  const otherTenant = '66666666-7777-4888-8999-000000000000';
  let ms: StandIn;
  let single: TestApp;
  let orgs: TestApp;
  beforeAll(async () => {
    ms = await startStandIn('microsoft');
    single = await microsoftApp(ms, tenant);
    orgs = await microsoftApp(ms, 'organizations');
  });
  afterAll(async () => {
    await single?.close();
    await orgs?.close();
    await ms?.close();
  });

  const person = (tid: string): StandInPerson => {
    const id = uid();
    return { sub: `AAAAAAAAAAAAAAAAAAAAA${id}`, tid, name: `Kim ${id}`, email: `kim-${id}@contoso.example`, preferred_username: `kim-${id}@contoso.example` };
  };

  it('uses the tenant\'s v2.0 endpoints and signs in an account of that tenant', async () => {
    const p = person(tenant);
    const { authorize, token } = await signInVia(single, ms, 'microsoft', p);
    expect(authorize.origin + authorize.pathname).toBe(`${ms.base}/${tenant}/oauth2/v2.0/authorize`);
    expect(authorize.searchParams.get('scope')).toBe('openid profile email');
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(ms.requests.some((r) => r.path === `/${tenant}/oauth2/v2.0/token`)).toBe(true);
    expect(token.status, token.text).toBe(200);
    // Entra ID vouches for no e-mail address (its ID token has no email_verified).
    const claims = decodeJwt(token.body.access_token);
    expect(claims).toMatchObject({ idp: 'microsoft', sub: p.sub, email: p.email, name: p.name });
    expect(claims.email_verified).not.toBe(true);
    const rows = await single.ctx.db.query<{ email_verified: boolean }>('SELECT email_verified FROM users WHERE provider = $1 AND provider_user_id = $2', ['microsoft', p.sub]);
    expect(rows[0]?.email_verified).toBe(false);
  });

  it('refuses an ID token issued by another tenant than the configured one', async () => {
    const p = person(otherTenant);
    const { token } = await signInVia(single, ms, 'microsoft', p);
    expect(token.status).toBe(502);
    expect(await usersWith(single, 'microsoft', p.sub)).toBe(0);
  });

  it('with tenant organizations: accepts any work tenant whose issuer names the token\'s own tid', async () => {
    const p = person(otherTenant);
    const { authorize, token } = await signInVia(orgs, ms, 'microsoft', p);
    expect(authorize.pathname).toBe('/organizations/oauth2/v2.0/authorize');
    expect(token.status, token.text).toBe(200);
    expect(decodeJwt(token.body.access_token)).toMatchObject({ idp: 'microsoft', sub: p.sub });
  });

  it.each([
    ['an issuer of another tenant than its tid', (c: Record<string, unknown>) => ({ ...c, iss: `${ms.base}/${tenant}/v2.0` })],
    ['no tid', (c: Record<string, unknown>) => ({ ...c, tid: undefined })],
    ['another audience', (c: Record<string, unknown>) => ({ ...c, aud: 'another-app' })],
    ['another nonce', (c: Record<string, unknown>) => ({ ...c, nonce: 'not-ours' })],
  ])('with tenant organizations: refuses an ID token with %s and writes nothing', async (_name, change) => {
    const p = person(otherTenant);
    ms.nextIdToken = change;
    const { token } = await signInVia(orgs, ms, 'microsoft', p);
    expect(token.status).toBe(502);
    expect(await usersWith(orgs, 'microsoft', p.sub)).toBe(0);
  });

  it('with tenant organizations: refuses personal Microsoft accounts', async () => {
    const p = person(MSA_TENANT);
    const { token } = await signInVia(orgs, ms, 'microsoft', p);
    expect(token.status).toBe(502);
    expect(await usersWith(orgs, 'microsoft', p.sub)).toBe(0);
  });
});
