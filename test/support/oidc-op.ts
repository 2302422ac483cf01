// A real OpenID provider for tests: the `oidc-provider` package (a certified OP) on a free local
// port, with one confidential client for TMI. Sign-in interactions are answered by the test's
// "person" (`op.user`) without a form. In front of the token endpoint sits an optional
// interceptor (`op.tamper`) that can rewrite the token response, re-signing the ID token with
// the OP's own key or not, to play a compromised or misrouted token endpoint.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, decodeJwt, SignJWT, type JWK } from 'jose';
// @ts-expect-error oidc-provider ships no type declarations
import Provider from 'oidc-provider';

export interface OpUser {
  sub: string;
  email: string;
  name: string;
  email_verified?: boolean;
  groups?: string[];
}

export interface RealOp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who signs in at the next interaction. */
  user: OpUser;
  /** Interactions the OP asked for (prompt names: login, consent), in order. */
  prompts: string[][];
  /** Rewrites the ID token claims of the next token response (signed with the OP's key unless `forge`). */
  tamper: { claims?: (c: Record<string, unknown>) => Record<string, unknown>; forge?: boolean; corrupt?: boolean } | null;
  /** Lifetime of authorization codes, seconds. */
  codeTtl: number;
  close(): Promise<void>;
}

export async function startRealOp(opts: { redirectUri: string }): Promise<RealOp> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk: JWK = { ...(await exportJWK(privateKey)), kid: `op-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
  const forger = await generateKeyPair('RS256');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const op: RealOp = {
    issuer,
    clientId: 'tmi-test-client',
    clientSecret: randomBytes(24).toString('base64url'),
    user: { sub: 'op-user-1', email: 'one@op.example', name: 'Op User One', email_verified: true, groups: [] },
    prompts: [],
    tamper: null,
    codeTtl: 60,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const accounts = new Map<string, OpUser>();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: op.clientId,
        client_secret: op.clientSecret,
        redirect_uris: [opts.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: { AuthorizationCode: () => op.codeTtl },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: unknown, id: string) {
      const user = accounts.get(id);
      if (!user) return undefined;
      return { accountId: id, claims: async () => ({ ...user }) };
    },
  });
  provider.proxy = false;
  const callback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    const prompt = details.prompt as { name: string; details: Record<string, unknown> };
    op.prompts.push([prompt.name]);
    const user = op.user;
    accounts.set(user.sub, user);
    const grant = new provider.Grant({ accountId: user.sub, clientId: op.clientId });
    grant.addOIDCScope('openid email profile');
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId: user.sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Forwards a token request to the OP, then applies `op.tamper` to the answer. */
  async function tokenInterceptor(req: IncomingMessage, res: ServerResponse) {
    const body = await readBody(req);
    const upstream = await fetch(`${issuer}/token-upstream`, { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: body.toString('utf8') });
    const text = await upstream.text();
    const tamper = op.tamper;
    op.tamper = null;
    if (!tamper || upstream.status !== 200) {
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
      return;
    }
    const json = JSON.parse(text) as { id_token: string };
    if (tamper.corrupt) {
      const [h, p, s] = json.id_token.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims.email = 'attacker@evil.example';
      json.id_token = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    } else {
      const claims = tamper.claims ? tamper.claims(decodeJwt(json.id_token) as Record<string, unknown>) : (decodeJwt(json.id_token) as Record<string, unknown>);
      const key = tamper.forge ? forger.privateKey : await importJWK(signingJwk, 'RS256');
      json.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid! }).sign(key);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json));
  }

  server.on('request', (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    void (async () => {
      if (path.startsWith('/interaction/')) return interaction(req, res);
      if (path === '/token' && req.method === 'POST' && !req.headers['x-op-upstream']) return tokenInterceptor(req, res);
      if (path === '/token-upstream') {
        req.url = '/token';
        req.headers['x-op-upstream'] = '1';
      }
      return callback(req, res);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  return op;
}

/**
 * A browser's trip through redirects: follows 3xx from `start` while they stay on the OP (keeping
 * its cookies), and returns the first Location that leaves it (TMI's callback).
 */
export async function browseOp(op: RealOp, start: string): Promise<URL> {
  const jar = new Map<string, string>();
  let url = new URL(start);
  for (let hop = 0; hop < 20; hop++) {
    if (url.origin !== op.issuer) return url;
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`the OP answered ${res.status} without a redirect: ${await res.text()}`);
    url = new URL(location, url);
  }
  throw new Error('too many redirects');
}
