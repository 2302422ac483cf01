// Stand-ins for hosted identity providers whose real servers tests cannot reach: a small HTTP
// server on a local port answering like the provider's documented endpoints (Google's discovery
// document, authorization, token, userinfo and keys; Microsoft Entra ID's v2.0 endpoints of a
// tenant and the Graph OIDC userinfo). It runs the authorization code flow for real: it remembers
// the PKCE challenge, nonce and redirect of each code, checks the client secret and the verifier at
// the token endpoint, and signs ID tokens with its own RSA key, published at its keys endpoint.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export interface StandInPerson {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** Google: the Workspace domain of the account. */
  hd?: string;
  /** Entra ID: the tenant of the account. */
  tid?: string;
  preferred_username?: string;
}

export interface StandIn {
  base: string;
  clientId: string;
  clientSecret: string;
  /** Who signs in at the next authorization. */
  person: StandInPerson;
  /** Changes the claims of the next ID token only (a token from another tenant, another issuer...). */
  nextIdToken: ((claims: Record<string, unknown>) => Record<string, unknown>) | null;
  /** Every request the stand-in answered: path and query or form parameters. */
  requests: { path: string; params: URLSearchParams }[];
  close(): Promise<void>;
}

export type StandInKind = 'google' | 'microsoft';

interface Grant {
  person: StandInPerson;
  challenge: string;
  nonce: string;
  redirectUri: string;
  tenant: string;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Google: discovery at /.well-known/openid-configuration (issuer = the stand-in's base),
 * /o/oauth2/v2/auth, /token, /v1/userinfo, /oauth2/v3/certs.
 * Microsoft: /{tenant}/oauth2/v2.0/authorize and /token, /{tenant}/discovery/v2.0/keys, and Graph's
 * /oidc/userinfo; ID tokens issued by /{tid}/v2.0 of the account's tenant.
 */
export async function startStandIn(kind: StandInKind): Promise<StandIn> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `k-${randomBytes(4).toString('hex')}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const grants = new Map<string, Grant>();
  const accessTokens = new Map<string, StandInPerson>();
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s: StandIn = {
    base,
    clientId: kind === 'google' ? '1234-standin.apps.googleusercontent.com' : '00000000-0000-4000-8000-00000000c1d0',
    clientSecret: randomBytes(24).toString('base64url'),
    person: { sub: 'nobody' },
    nextIdToken: null,
    requests: [],
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  server.on('request', (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      const params = req.method === 'POST' ? await readForm(req) : url.searchParams;
      s.requests.push({ path: url.pathname, params });
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const ms = /^\/([^/]+)\/(oauth2\/v2\.0\/authorize|oauth2\/v2\.0\/token|discovery\/v2\.0\/keys)$/.exec(url.pathname);
      const route = kind === 'google' ? url.pathname : ms ? ms[2] : url.pathname;

      if (kind === 'google' && route === '/.well-known/openid-configuration') {
        return json(200, {
          issuer: base,
          authorization_endpoint: `${base}/o/oauth2/v2/auth`,
          token_endpoint: `${base}/token`,
          userinfo_endpoint: `${base}/v1/userinfo`,
          jwks_uri: `${base}/oauth2/v3/certs`,
          response_types_supported: ['code', 'token', 'id_token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid', 'email', 'profile'],
          token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
          code_challenge_methods_supported: ['plain', 'S256'],
        });
      }
      if (route === '/oauth2/v3/certs' || route === 'discovery/v2.0/keys') return json(200, { keys: [publicJwk] });
      if (route === '/o/oauth2/v2/auth' || route === 'oauth2/v2.0/authorize') {
        if (params.get('client_id') !== s.clientId) return json(400, { error: 'invalid_client' });
        const code = randomBytes(16).toString('base64url');
        grants.set(code, {
          person: { ...s.person },
          challenge: params.get('code_challenge') ?? '',
          nonce: params.get('nonce') ?? '',
          redirectUri: params.get('redirect_uri') ?? '',
          tenant: ms?.[1] ?? '',
        });
        const back = new URL(params.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', params.get('state') ?? '');
        return void res.writeHead(302, { location: back.href }).end();
      }
      if (route === '/token' || route === 'oauth2/v2.0/token') {
        const grant = grants.get(params.get('code') ?? '');
        grants.delete(params.get('code') ?? '');
        if (params.get('client_id') !== s.clientId || params.get('client_secret') !== s.clientSecret) return json(401, { error: 'invalid_client' });
        if (!grant || grant.redirectUri !== params.get('redirect_uri')) return json(400, { error: 'invalid_grant' });
        if (createHash('sha256').update(params.get('code_verifier') ?? '').digest('base64url') !== grant.challenge) return json(400, { error: 'invalid_grant', error_description: 'PKCE' });
        const p = grant.person;
        const accessToken = randomBytes(16).toString('base64url');
        accessTokens.set(accessToken, p);
        const now = Math.floor(Date.now() / 1000);
        let claims: Record<string, unknown> =
          kind === 'google'
            ? { iss: base, azp: s.clientId, aud: s.clientId, sub: p.sub, email: p.email, email_verified: p.email_verified, name: p.name, ...(p.hd ? { hd: p.hd } : {}) }
            : { iss: `${base}/${p.tid}/v2.0`, aud: s.clientId, sub: p.sub, tid: p.tid, oid: randomBytes(8).toString('hex'), name: p.name, preferred_username: p.preferred_username, ...(p.email ? { email: p.email } : {}) };
        claims = { ...claims, nonce: grant.nonce, iat: now, exp: now + 3600, auth_time: now };
        if (s.nextIdToken) {
          claims = s.nextIdToken(claims);
          s.nextIdToken = null;
        }
        const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey);
        return json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: 3599, scope: params.get('scope') ?? 'openid profile email', id_token: idToken });
      }
      if (route === '/v1/userinfo' || route === '/oidc/userinfo') {
        const p = accessTokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
        if (!p) return json(401, { error: 'invalid_token' });
        if (kind === 'google') return json(200, { sub: p.sub, name: p.name, email: p.email, email_verified: p.email_verified, ...(p.hd ? { hd: p.hd } : {}) });
        // Graph's OIDC userinfo: no email_verified, the e-mail only when the account has one.
        return json(200, { sub: p.sub, name: p.name, ...(p.email ? { email: p.email } : {}) });
      }
      return json(404, { error: 'not_found' });
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  return s;
}
