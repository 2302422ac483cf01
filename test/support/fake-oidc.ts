// A small OpenID Connect provider on 127.0.0.1 for tests of TMI's upstream sign-in: discovery,
// authorization (records PKCE and nonce, redirects back with a code), token endpoint (checks the
// client secret, redirect_uri and PKCE verifier, returns an RS256 ID token), JWKS and userinfo.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { call, CALLBACK, type Response } from './app.ts';

export interface FakeUser {
  sub: string;
  email: string;
  name: string;
  email_verified?: boolean;
  groups?: string[];
}

interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  nonce?: string;
  user: FakeUser;
}

export interface FakeOidc {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The user the next authorization signs in as. */
  user: FakeUser;
  /** Sign the next ID token with a key that is not published (a forgery). */
  forgeNextIdToken: boolean;
  /** Every request the provider received, in order. */
  requests: { method: string; path: string; query: Record<string, string>; body: Record<string, string>; authorization?: string }[];
  close(): Promise<void>;
}

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

export async function startFakeOidc(opts: { clientId?: string; clientSecret?: string } = {}): Promise<FakeOidc> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const forger = await generateKeyPair('RS256');
  const kid = `fake-${randomBytes(4).toString('hex')}`;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const pending = new Map<string, PendingAuthorization>();
  const accessTokens = new Map<string, FakeUser>();
  let server: Server;

  const state: FakeOidc = {
    issuer: '',
    clientId: opts.clientId ?? 'tmi-client',
    clientSecret: opts.clientSecret ?? randomBytes(24).toString('base64url'),
    user: { sub: 'u-1', email: 'one@example.test', name: 'User One', email_verified: true, groups: [] },
    forgeNextIdToken: false,
    requests: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', state.issuer);
      const body = req.method === 'POST' ? await readForm(req) : {};
      state.requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        authorization: req.headers.authorization,
      });
      switch (`${req.method} ${url.pathname}`) {
        case 'GET /.well-known/openid-configuration':
          return json(res, 200, {
            issuer: state.issuer,
            authorization_endpoint: `${state.issuer}/authorize`,
            token_endpoint: `${state.issuer}/token`,
            userinfo_endpoint: `${state.issuer}/userinfo`,
            jwks_uri: `${state.issuer}/jwks`,
            response_types_supported: ['code'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
            code_challenge_methods_supported: ['S256'],
            token_endpoint_auth_methods_supported: ['client_secret_post'],
          });
        case 'GET /jwks':
          return json(res, 200, { keys: [jwk] });
        case 'GET /authorize': {
          const q = url.searchParams;
          if (q.get('client_id') !== state.clientId || q.get('response_type') !== 'code' || !q.get('redirect_uri')) {
            return json(res, 400, { error: 'invalid_request' });
          }
          const code = randomBytes(16).toString('base64url');
          pending.set(code, {
            clientId: q.get('client_id')!,
            redirectUri: q.get('redirect_uri')!,
            codeChallenge: q.get('code_challenge') ?? undefined,
            codeChallengeMethod: q.get('code_challenge_method') ?? undefined,
            nonce: q.get('nonce') ?? undefined,
            user: state.user,
          });
          const back = new URL(q.get('redirect_uri')!);
          back.searchParams.set('code', code);
          back.searchParams.set('state', q.get('state') ?? '');
          res.writeHead(302, { location: back.href }).end();
          return;
        }
        case 'POST /token': {
          const p = pending.get(body.code ?? '');
          pending.delete(body.code ?? '');
          if (body.client_id !== state.clientId || body.client_secret !== state.clientSecret) return json(res, 401, { error: 'invalid_client' });
          if (!p || body.grant_type !== 'authorization_code' || body.redirect_uri !== p.redirectUri) return json(res, 400, { error: 'invalid_grant' });
          if (p.codeChallenge) {
            const computed = createHash('sha256').update(body.code_verifier ?? '').digest('base64url');
            if (p.codeChallengeMethod !== 'S256' || computed !== p.codeChallenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
          }
          const accessToken = randomBytes(24).toString('base64url');
          accessTokens.set(accessToken, p.user);
          const forged = state.forgeNextIdToken;
          state.forgeNextIdToken = false;
          const idToken = await new SignJWT({ email: p.user.email, name: p.user.name, ...(p.nonce ? { nonce: p.nonce } : {}) })
            .setProtectedHeader({ alg: 'RS256', kid })
            .setIssuer(state.issuer)
            .setSubject(p.user.sub)
            .setAudience(state.clientId)
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign((forged ? forger.privateKey : privateKey) as CryptoKey);
          return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300, id_token: idToken });
        }
        case 'GET /userinfo': {
          const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
          const user = token ? accessTokens.get(token) : undefined;
          if (!user) return json(res, 401, { error: 'invalid_token' });
          return json(res, 200, user);
        }
        default:
          return json(res, 404, { error: 'not_found' });
      }
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/**
 * Signs `user` in to TMI through this provider (configured in TMI as `idp`) as a browser would:
 * TMI authorize, the provider, TMI's callback, then the token exchange, whose answer is returned.
 */
export async function signInUpstream(app: FastifyInstance, fake: FakeOidc, idp: string, user: FakeUser): Promise<Response> {
  fake.user = user;
  const verifier = randomBytes(48).toString('base64url');
  const start = await app.inject({
    method: 'GET',
    url: '/oauth2/authorize',
    query: {
      idp,
      client_callback: CALLBACK,
      scope: 'openid profile email',
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    },
  });
  if (start.statusCode !== 302) throw new Error(`authorize failed: ${start.statusCode} ${start.body}`);
  const atProvider = await fetch(new URL(start.headers.location as string), { redirect: 'manual' });
  const callback = new URL(atProvider.headers.get('location') ?? '');
  const back = await app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}` });
  if (back.statusCode !== 302) throw new Error(`callback failed: ${back.statusCode} ${back.body}`);
  const code = new URL(back.headers.location as string).searchParams.get('code') ?? '';
  return call(app, 'POST', `/oauth2/token?idp=${idp}`, { body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK } });
}
