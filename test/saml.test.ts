// SAML 2.0 against a real SAML IdP started in the test (samlify acting as IdP, with its own keys):
// SP metadata, SP-initiated login to tokens, attribute mapping and provider-scoped groups; a
// tampered assertion, an unsigned one, one signed by an untrusted key, a replayed one, an expired
// one, IdP-initiated sign-in off by default; single logout with signed requests and responses; step-up
// through the IdP (ForceAuthn) and linking a SAML identity to an account.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import * as samlify from 'samlify';
import { agedToken } from './support/admin.ts';
import { call, CALLBACK, errorOf, signIn, startTestApp, type TestApp } from './support/app.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/saml/${name}`, import.meta.url), 'utf8');
// The test IdP reads our SP's requests without XSD validation (not what is under test here).
samlify.setSchemaValidator({ validate: async () => 'skipped' });

const IDP_ENTITY = 'https://idp.example.test/metadata';
const SSO = 'https://idp.example.test/sso';
const SLO = 'https://idp.example.test/slo';

function makeIdp(keyName: string, entityID = IDP_ENTITY) {
  return samlify.IdentityProvider({
    entityID,
    privateKey: fixture(`${keyName}.key`),
    signingCert: fixture(`${keyName}.crt`),
    singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: SSO }],
    singleLogoutService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: SLO }],
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'],
  });
}

const idp = makeIdp('idp');
const rogue = makeIdp('rogue');
/** A second IdP (its own entity id) for the provider that allows IdP-initiated sign-in. */
const OPEN_ENTITY = 'https://idp2.example.test/metadata';
const idpOpen = makeIdp('idp', OPEN_ENTITY);
const b64 = (s: string) => Buffer.from(s).toString('base64');

let t: TestApp;
let sp: ReturnType<typeof samlify.ServiceProvider>;

const samlEnv = (id: string, extra: Record<string, string> = {}, by = idp) => ({
  [`SAML_PROVIDERS_${id}_ENABLED`]: 'true',
  [`SAML_PROVIDERS_${id}_NAME`]: 'Corp SSO',
  [`SAML_PROVIDERS_${id}_IDP_METADATA_B64XML`]: b64(by.getMetadata()),
  [`SAML_PROVIDERS_${id}_SP_PRIVATE_KEY`]: fixture('sp.key').replace(/\n/g, '\\n'),
  [`SAML_PROVIDERS_${id}_SP_CERTIFICATE`]: fixture('sp.crt'),
  ...extra,
});

beforeAll(async () => {
  t = await startTestApp({ TMI_SAML_ENABLED: 'true', ...samlEnv('CORP'), ...samlEnv('OPEN', { SAML_PROVIDERS_OPEN_ALLOW_IDP_INITIATED: 'true' }, idpOpen) });
  const metadata = await call(t.app, 'GET', '/saml/corp/metadata');
  sp = samlify.ServiceProvider({ metadata: metadata.text, wantLogoutRequestSigned: true, wantLogoutResponseSigned: true });
});
afterAll(async () => {
  await t?.close();
});

interface Person {
  nameId: string;
  email: string;
  name: string;
  groups: string[];
}

const newPerson = (): Person => {
  const id = randomBytes(4).toString('hex');
  return { nameId: `emp-${id}`, email: `${id}@corp.example`, name: `Emp ${id}`, groups: ['eng', 'security'] };
};

/** The IdP's signed answer to `requestId` for `person`; `age` moves its clock back (seconds). */
async function idpResponse(person: Person, requestId: string | null, opts: { by?: typeof idp; age?: number; audience?: string; issuer?: string } = {}): Promise<string> {
  const by = opts.by ?? idp;
  const now = Date.now() - (opts.age ?? 0) * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const attr = (name: string, values: string[]) =>
    `<saml:Attribute Name="${name}">${values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${v}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
  const inResponseTo = requestId ? ` InResponseTo="${requestId}"` : '';
  const template =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}"${inResponseTo}>` +
    `<saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">` +
    `<saml:Issuer>{Issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">{NameID}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{NotOnOrAfter}" Recipient="{Destination}"${inResponseTo}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="{IssueInstant}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>${attr('email', [person.email])}${attr('name', [person.name])}${attr('groups', person.groups)}</saml:AttributeStatement>` +
    `</saml:Assertion></samlp:Response>`;
  const id = `_${randomUUID()}`;
  const values: Record<string, string> = {
    ID: id,
    AssertionID: `_${randomUUID()}`,
    IssueInstant: iso(now),
    NotOnOrAfter: iso(now + 300_000),
    Destination: 'http://localhost:8080/saml/acs',
    Issuer: opts.issuer ?? IDP_ENTITY,
    NameID: person.nameId,
    Audience: opts.audience ?? 'http://localhost:8080/saml/corp/metadata',
    SessionIndex: `sess-${person.nameId}`,
  };
  const res = await by.createLoginResponse(sp, { extract: { request: { id: requestId ?? '' } } } as never, 'post', { email: person.email }, {
    customTagReplacement: () => ({ id, context: samlify.SamlLib.replaceTagsByValue(template, values) }),
  });
  return (res as { context: string }).context;
}

/** Starts an SP-initiated login; returns the AuthnRequest id and TMI's relay state. */
async function startLogin(provider = 'corp', query: Record<string, string> = {}) {
  const res = await t.app.inject({ method: 'GET', url: `/saml/${provider}/login`, query });
  expect(res.statusCode, res.body).toBe(302);
  const url = new URL(res.headers.location as string);
  expect(url.origin + url.pathname).toBe(SSO);
  const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return { requestId: /ID="([^"]+)"/.exec(xml)![1]!, relay: url.searchParams.get('RelayState')!, signed: url.searchParams.has('Signature'), xml };
}

const acs = (SAMLResponse: string, RelayState?: string) =>
  t.app.inject({ method: 'POST', url: '/saml/acs', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ SAMLResponse, ...(RelayState ? { RelayState } : {}) }).toString() });

const pkce = () => {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

const usersWithSubject = async (provider: string, sub: string) => (await t.ctx.db.query('SELECT 1 FROM users WHERE provider = $1 AND provider_user_id = $2', [provider, sub])).length;

async function signInSaml(person: Person) {
  const { verifier, challenge } = pkce();
  const login = await startLogin('corp', { client_callback: CALLBACK, code_challenge: challenge, state: 'st-1' });
  const res = await acs(await idpResponse(person, login.requestId), login.relay);
  expect(res.statusCode, res.body).toBe(302);
  const back = new URL(res.headers.location as string);
  expect(back.searchParams.get('state')).toBe('st-1');
  const token = await call(t.app, 'POST', '/oauth2/token?idp=corp', {
    body: { grant_type: 'authorization_code', code: back.searchParams.get('code'), code_verifier: verifier, redirect_uri: CALLBACK },
  });
  expect(token.status, token.text).toBe(200);
  return token.body as { access_token: string; refresh_token: string };
}

describe('SAML providers and SP metadata', () => {
  it('lists the SAML providers with their endpoints and publishes SP metadata with our signing certificate', async () => {
    const list = await call(t.app, 'GET', '/saml/providers');
    expect(list.body.providers.map((p: { id: string }) => p.id)).toEqual(['corp', 'open']);
    expect(list.body.providers[0]).toMatchObject({
      name: 'Corp SSO',
      auth_url: expect.stringMatching(/^http:\/\/localhost(:80)?\/saml\/corp\/login$/),
      entity_id: 'http://localhost:8080/saml/corp/metadata',
      acs_url: 'http://localhost:8080/saml/acs',
      slo_url: 'http://localhost:8080/saml/slo',
      initialized: true,
    });
    const md = await call(t.app, 'GET', '/saml/corp/metadata');
    expect(md.headers['content-type']).toContain('application/samlmetadata+xml');
    expect(md.text).toContain('WantAssertionsSigned="true"');
    expect(md.text.replace(/\s+/g, '')).toContain(fixture('sp.crt').replace(/-----[^-]+-----|\s+/g, ''));
    expect((await call(t.app, 'GET', '/saml/nope/metadata')).status).toBe(404);
  });

  it('answers 404 saml_not_enabled when SAML is off, and an empty provider list', async () => {
    const off = await startTestApp({});
    try {
      expect((await call(off.app, 'GET', '/saml/providers')).body).toEqual({ providers: [] });
      expect(errorOf(await call(off.app, 'GET', '/saml/corp/login')).error).toBe('saml_not_enabled');
    } finally {
      await off.close();
    }
  });
});

describe('SAML sign-in', () => {
  it('signs in SP-initiated: signed AuthnRequest, signed assertion, attributes mapped, groups of this provider only', async () => {
    const person = newPerson();
    const login = await startLogin('corp', { client_callback: CALLBACK });
    expect(login.signed).toBe(true);
    expect(login.xml).toContain('AssertionConsumerServiceURL="http://localhost:8080/saml/acs"');
    const tokens = await signInSaml(person);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ idp: 'corp', sub: person.nameId, email: person.email, name: person.name, groups: ['eng', 'security'] });
    const me = await call(t.app, 'GET', '/me', { token: tokens.access_token });
    expect(me.body).toMatchObject({ provider: 'corp', provider_id: person.nameId, email: person.email });
    // The provider's directory is for its own users.
    const dir = await call(t.app, 'GET', `/saml/providers/corp/users?email=${encodeURIComponent(person.email)}`, { token: tokens.access_token });
    expect(dir.body).toMatchObject({ idp: 'corp', total: 1, users: [{ email: person.email, name: person.name }] });
    expect((await call(t.app, 'GET', '/saml/providers/open/users', { token: tokens.access_token })).status).toBe(403);
  });

  it('without a PKCE challenge delivers tokens in the fragment of an allow-listed callback, and refuses other callbacks', async () => {
    const person = newPerson();
    const login = await startLogin('corp', { client_callback: CALLBACK });
    const res = await acs(await idpResponse(person, login.requestId), login.relay);
    const back = new URL(res.headers.location as string);
    expect(back.search).toBe('');
    const fragment = new URLSearchParams(back.hash.slice(1));
    expect(decodeJwt(fragment.get('access_token')!).sub).toBe(person.nameId);
    expect(fragment.get('token_type')).toBe('Bearer');
    const evil = await t.app.inject({ method: 'GET', url: '/saml/corp/login', query: { client_callback: 'https://evil.example/cb' } });
    expect(evil.statusCode).toBe(400);
  });

  it.each([
    ['a tampered assertion', async (p: Person, id: string) => Buffer.from(Buffer.from(await idpResponse(p, id), 'base64').toString('utf8').replace(p.email, 'ceo@corp.example')).toString('base64')],
    ['an unsigned assertion', async (p: Person, id: string) => Buffer.from(Buffer.from(await idpResponse(p, id), 'base64').toString('utf8').replace(/<(ds:)?Signature[\s\S]*?<\/(ds:)?Signature>/g, '')).toString('base64')],
    ['an assertion signed by a key the IdP metadata does not name', (p: Person, id: string) => idpResponse(p, id, { by: rogue })],
    ['an expired assertion', (p: Person, id: string) => idpResponse(p, id, { age: 3600 })],
    ['an assertion for another audience', (p: Person, id: string) => idpResponse(p, id, { audience: 'https://other-sp.example/metadata' })],
    ['an answer to a request TMI never made', (p: Person) => idpResponse(p, `_${randomUUID()}`)],
  ])('refuses %s: error to the client, nothing written', async (_name, make) => {
    const person = newPerson();
    const login = await startLogin('corp', { client_callback: CALLBACK, code_challenge: pkce().challenge });
    const res = await acs(await make(person, login.requestId), login.relay);
    expect(res.statusCode).toBe(302);
    const back = new URL(res.headers.location as string);
    expect(back.searchParams.get('error')).toBe('saml_error');
    expect(back.searchParams.get('code')).toBeNull();
    expect(await usersWithSubject('corp', person.nameId)).toBe(0);
  });

  it('refuses a replayed response, and IdP-initiated sign-in unless the provider allows it (then each assertion once)', async () => {
    const person = newPerson();
    const login = await startLogin('corp', { client_callback: CALLBACK, code_challenge: pkce().challenge });
    const response = await idpResponse(person, login.requestId);
    expect(new URL((await acs(response, login.relay)).headers.location as string).searchParams.get('code')).toBeTruthy();
    const replay = await acs(response, login.relay);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error).toBe('saml_error');

    const unsolicited = await acs(await idpResponse(newPerson(), null));
    expect(unsolicited.statusCode).toBe(401);

    const open = newPerson();
    const spOpen = samlify.ServiceProvider({ metadata: (await call(t.app, 'GET', '/saml/open/metadata')).text });
    const saved = sp;
    sp = spOpen;
    try {
      const idpInitiated = await idpResponse(open, null, { by: idpOpen, issuer: OPEN_ENTITY, audience: 'http://localhost:8080/saml/open/metadata' });
      const first = await acs(idpInitiated);
      expect(first.statusCode, first.body).toBe(200);
      expect(decodeJwt(first.json().access_token)).toMatchObject({ idp: 'open', sub: open.nameId });
      const again = await acs(idpInitiated);
      expect(again.statusCode).toBe(401);
    } finally {
      sp = saved;
    }
  });
});

describe('SAML single logout', () => {
  it('ends the sessions of a signed IdP LogoutRequest and answers with a signed LogoutResponse; unsigned requests are refused', async () => {
    const person = newPerson();
    const tokens = await signInSaml(person);
    const { context } = idp.createLogoutRequest(sp, 'redirect', { logoutNameID: person.nameId, sessionIndex: `sess-${person.nameId}` }) as { context: string };
    const request = new URL(context);

    const unsigned = new URLSearchParams(request.search);
    unsigned.delete('Signature');
    unsigned.delete('SigAlg');
    const refused = await call(t.app, 'GET', `/saml/slo?${unsigned}`);
    expect(refused.status).toBe(400);
    expect((await call(t.app, 'GET', '/me', { token: tokens.access_token })).status).toBe(200);

    const res = await t.app.inject({ method: 'GET', url: `/saml/slo${request.search}` });
    expect(res.statusCode, res.body).toBe(302);
    const answer = new URL(res.headers.location as string);
    expect(answer.origin + answer.pathname).toBe(SLO);
    expect(answer.searchParams.get('Signature')).toBeTruthy();
    const octetString = answer.search.slice(1).split('&').filter((p) => !p.startsWith('Signature=')).join('&');
    const parsed = await idp.parseLogoutResponse(sp, 'redirect', { query: Object.fromEntries(answer.searchParams), octetString } as never);
    // samlify verified our signature; the answer says the logout succeeded.
    expect(parsed.samlContent).toContain('urn:oasis:names:tc:SAML:2.0:status:Success');

    expect((await call(t.app, 'GET', '/me', { token: tokens.access_token })).status).toBe(401);
    expect((await call(t.app, 'POST', '/oauth2/token', { body: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })).status).toBe(400);
  });
});

/** The AuthnRequest behind a redirect to the IdP: its id, whether it forces a login, the relay. */
function authnRequestOf(location: string) {
  const url = new URL(location);
  expect(url.origin + url.pathname).toBe(SSO);
  const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return { requestId: /ID="([^"]+)"/.exec(xml)![1]!, forceAuthn: /ForceAuthn="true"/.test(xml), relay: url.searchParams.get('RelayState')! };
}


describe('SAML step-up and identity linking', () => {
  it('a SAML account steps up through its IdP with ForceAuthn; the fresh token shows it; another person is refused', async () => {
    const person = newPerson();
    const stale = await agedToken(t, (await signInSaml(person)).access_token, 3600);
    const refused = await call(t.app, 'POST', `/me/identities/link/start?idp=corp&client_callback=${encodeURIComponent(CALLBACK)}`, { token: stale });
    expect(refused.status).toBe(401);
    expect(errorOf(refused).error).toBe('insufficient_user_authentication');

    const { verifier, challenge } = pkce();
    const stepUp = await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${challenge}&state=su1`, { token: stale, headers: { accept: 'application/json' } });
    expect(stepUp.status, stepUp.text).toBe(200);
    expect(stepUp.body.result).toBe('step_up_redirect');
    const request = authnRequestOf(stepUp.body.redirect_url);
    expect(request.forceAuthn).toBe(true);
    const res = await acs(await idpResponse(person, request.requestId), request.relay);
    expect(res.statusCode, res.body).toBe(302);
    const back = new URL(res.headers.location as string);
    expect(back.searchParams.get('state')).toBe('su1');
    const fresh = await call(t.app, 'POST', '/oauth2/token?idp=corp', { body: { grant_type: 'authorization_code', code: back.searchParams.get('code'), code_verifier: verifier, redirect_uri: CALLBACK } });
    expect(fresh.status, fresh.text).toBe(200);
    expect(decodeJwt(fresh.body.access_token)).toMatchObject({ idp: 'corp', sub: person.nameId });
    expect(decodeJwt(fresh.body.access_token).auth_time).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 5);

    // Someone else at the IdP cannot complete this account's step-up, and gets no account.
    const again = pkce();
    const second = await call(t.app, 'GET', `/oauth2/step_up?client_callback=${encodeURIComponent(CALLBACK)}&code_challenge=${again.challenge}`, { token: stale, headers: { accept: 'application/json' } });
    const otherRequest = authnRequestOf(second.body.redirect_url);
    const stranger = newPerson();
    const otherBack = new URL((await acs(await idpResponse(stranger, otherRequest.requestId), otherRequest.relay)).headers.location as string);
    const mismatch = await call(t.app, 'POST', '/oauth2/token?idp=corp', { body: { grant_type: 'authorization_code', code: otherBack.searchParams.get('code'), code_verifier: again.verifier, redirect_uri: CALLBACK } });
    expect(mismatch.status).toBe(400);
    expect(errorOf(mismatch).error).toBe('identity_mismatch');
    expect(await usersWithSubject('corp', stranger.nameId)).toBe(0);
  });

  it('links a SAML identity to an account after confirmation; it then signs in to that account; one with its own account is refused', async () => {
    const owner = await signIn(t.app);
    const person = newPerson();
    const start = await call(t.app, 'POST', `/me/identities/link/start?idp=corp&client_callback=${encodeURIComponent(CALLBACK)}`, { token: owner.accessToken });
    expect(start.status, start.text).toBe(200);
    const request = authnRequestOf(start.body.authorization_url);
    const res = await acs(await idpResponse(person, request.requestId), request.relay);
    expect(res.statusCode, res.body).toBe(302);
    const back = new URL(res.headers.location as string);
    expect(back.searchParams.get('state')).toBe(start.body.link_state);
    const linkId = back.searchParams.get('link_pending')!;
    expect(linkId).toBeTruthy();
    const pending = await call(t.app, 'GET', `/me/identities/link/pending/${linkId}`, { token: owner.accessToken });
    expect(pending.body.pending).toMatchObject({ provider: 'corp', email: person.email, name: person.name });
    const confirmed = await call(t.app, 'POST', '/me/identities/link/confirm', { token: owner.accessToken, body: { token: linkId } });
    expect(confirmed.status, confirmed.text).toBe(201);
    // Nothing was created for the linked person, and signing in with it is signing in to the account.
    expect(await usersWithSubject('corp', person.nameId)).toBe(0);
    const viaSaml = await signInSaml(person);
    expect(decodeJwt(viaSaml.access_token)).toMatchObject({ idp: 'tmi', sub: owner.user });
    expect(await usersWithSubject('corp', person.nameId)).toBe(0);

    // A SAML identity that signed in on its own cannot be linked to another account.
    const other = newPerson();
    await signInSaml(other);
    const second = await signIn(t.app);
    const start2 = await call(t.app, 'POST', `/me/identities/link/start?idp=corp&client_callback=${encodeURIComponent(CALLBACK)}`, { token: second.accessToken });
    const request2 = authnRequestOf(start2.body.authorization_url);
    const refused = await acs(await idpResponse(other, request2.requestId), request2.relay);
    expect(new URL(refused.headers.location as string).searchParams.get('error')).toBe('identity_already_bound');
  });
});
