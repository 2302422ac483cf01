// The parts of the sign-in broker that the OAuth, SAML and account routes share: session
// cookies, the client-callback allow-list, one-time codes handed to client callbacks, and the
// flow state kept in the shared store (so any instance can finish a flow another began).
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { ApiError, badRequest } from '../http/errors.ts';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './authenticate.ts';
import type { ProviderIdentity, UpstreamFlow } from './providers/provider.ts';
import { newSecretToken } from './secret-token.ts';
import type { TokenGrant } from './sign-in.ts';

export const FLOW_TTL_SECONDS = 600;
/** A staged identity link waits this long for its confirmation (the reference's five minutes). */
export const LINK_PENDING_TTL_SECONDS = 300;
export const PKCE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
export const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43,128}$/;

/** What a code handed to a client callback stands for, until /oauth2/token (keyed by the code). */
export interface PendingCode {
  provider: string;
  /** Where the code was sent: the token request's redirect_uri must name the same URL. */
  clientCallback: string;
  codeChallenge: string;
  /** Development provider: who signs in. */
  loginHint?: string;
  /** Upstream OAuth: the code is the provider's, exchanged at /oauth2/token. */
  upstream?: UpstreamFlow;
  /** SAML: the identity the IdP's signed assertion vouched for at the ACS. */
  identity?: ProviderIdentity;
  saml?: SamlSession;
  /** Step-up: the identity must sign in to this account. */
  stepUpUser?: string;
}

/** What /oauth2/authorize (or step-up, or a link start) remembers until the provider calls /oauth2/callback. */
export interface PendingState {
  provider: string;
  clientCallback: string;
  upstream: UpstreamFlow;
  /** Sign-in and step-up: the client's PKCE challenge, checked at /oauth2/token. */
  codeChallenge?: string;
  stepUpUser?: string;
  /** Identity linking: the account the identity will be linked to. */
  linkUser?: string;
}

/** A staged identity link (identity_link_pending in the reference), keyed by its one-time token. */
export interface PendingLink {
  userUuid: string;
  identity: ProviderIdentity;
}

export interface SamlSession {
  nameId: string;
  sessionIndex?: string;
}

export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** scheme://host of the request, for documents that tell clients where to go next. */
export function requestBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export function withQuery(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

export class Broker {
  constructor(private readonly ctx: AppContext) {}

  private get cookieBase() {
    const { cookie } = this.ctx.config;
    return { httpOnly: true, secure: cookie.secure, ...(cookie.domain ? { domain: cookie.domain } : {}) };
  }

  setSessionCookies(reply: FastifyReply, access: string, refresh: string): void {
    const { config } = this.ctx;
    if (!config.cookie.enabled) return;
    reply.setCookie(ACCESS_COOKIE, access, { ...this.cookieBase, path: '/', sameSite: 'lax', maxAge: config.jwt.expirationSeconds });
    if (refresh) reply.setCookie(REFRESH_COOKIE, refresh, { ...this.cookieBase, path: '/oauth2', sameSite: 'strict', maxAge: config.jwt.refreshTokenDays * 86_400 });
  }

  clearSessionCookies(reply: FastifyReply): void {
    if (!this.ctx.config.cookie.enabled) return;
    reply.clearCookie(ACCESS_COOKIE, { ...this.cookieBase, path: '/', sameSite: 'lax' });
    reply.clearCookie(REFRESH_COOKIE, { ...this.cookieBase, path: '/oauth2', sameSite: 'strict' });
  }

  /** The token response body; sets the session cookies. */
  grantBody(reply: FastifyReply, grant: TokenGrant) {
    this.setSessionCookies(reply, grant.accessToken, grant.refreshToken);
    return { access_token: grant.accessToken, refresh_token: grant.refreshToken, expires_in: grant.expiresIn, token_type: 'Bearer' };
  }

  clientCallbackAllowed(cb: string): boolean {
    const { oauth } = this.ctx.config;
    let url: URL;
    try {
      url = new URL(cb);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (url.username || url.password) return false;
    if (oauth.allowLoopbackCallbacks && url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return true;
    // The bundled web app's own callback, on this server's origin: without it the app could sign
    // nobody in in production unless the operator listed it.
    if (cb === `${this.ctx.config.server.baseUrl}/login/callback`) return true;
    return oauth.clientCallbackAllowlist.some((entry) => (entry.endsWith('*') ? cb.startsWith(entry.slice(0, -1)) : cb === entry));
  }

  /** 400 unless `cb` is an allow-listed client callback. */
  checkClientCallback(cb: string | undefined): string {
    if (!cb) throw badRequest('client_callback is required', 'invalid_request');
    if (!this.clientCallbackAllowed(cb)) throw badRequest('client_callback is not in the allowlist', 'invalid_request');
    return cb;
  }

  /** 400 unless the PKCE parameters are an S256 challenge. */
  checkPkce(challenge: string | undefined, method: string | undefined): string {
    if (!challenge) throw badRequest('code_challenge is required (PKCE with S256)', 'invalid_request');
    if ((method ?? 'S256') !== 'S256') throw badRequest('code_challenge_method must be S256', 'invalid_request');
    if (!PKCE_CHALLENGE.test(challenge)) {
      throw badRequest('code_challenge must be 43-128 characters of base64url (the S256 hash of the code_verifier)', 'invalid_request');
    }
    return challenge;
  }

  /** Stores what a fresh one-time code stands for and returns the code. */
  async issueCode(pending: PendingCode, code = newSecretToken()): Promise<string> {
    await this.ctx.shared.kv.set(`authcode:${code}`, JSON.stringify(pending), FLOW_TTL_SECONDS);
    return code;
  }

  async takeCode(code: string): Promise<PendingCode | null> {
    const raw = await this.ctx.shared.kv.take(`authcode:${code}`);
    return raw ? (JSON.parse(raw) as PendingCode) : null;
  }

  /** Remembers the flow until the provider calls back; 400 when the client's state is taken. */
  async saveState(pending: PendingState): Promise<void> {
    if (!(await this.ctx.shared.kv.setIfAbsent(`oauth_state:${pending.upstream.state}`, JSON.stringify(pending), FLOW_TTL_SECONDS))) {
      throw badRequest('state is already in use by another sign-in; use a fresh random state', 'invalid_request');
    }
  }

  async takeState(state: string): Promise<PendingState | null> {
    const raw = await this.ctx.shared.kv.take(`oauth_state:${state}`);
    return raw ? (JSON.parse(raw) as PendingState) : null;
  }

  /** Stages a link of `identity` to `userUuid` and returns its one-time token. */
  async stageLink(link: PendingLink): Promise<string> {
    // A UUID (122 random bits): it travels as the path parameter link_id, which must be one.
    const token = randomUUID();
    await this.ctx.shared.kv.set(`link_pending:${token}`, JSON.stringify(link), LINK_PENDING_TTL_SECONDS);
    return token;
  }

  async peekLink(token: string): Promise<PendingLink | null> {
    if (token.length > 256) return null;
    const raw = await this.ctx.shared.kv.get(`link_pending:${token}`);
    return raw ? (JSON.parse(raw) as PendingLink) : null;
  }

  async takeLink(token: string): Promise<PendingLink | null> {
    if (token.length > 256) return null;
    const raw = await this.ctx.shared.kv.take(`link_pending:${token}`);
    return raw ? (JSON.parse(raw) as PendingLink) : null;
  }

  /**
   * Step-up: the identity that came back must be the one of the account that asked, else 400
   * identity_mismatch and nothing is written (the reference's rule).
   */
  async checkStepUpIdentity(identity: ProviderIdentity, stepUpUser: string): Promise<void> {
    const account = await this.ctx.users.accountOf(identity.provider, identity.providerUserId);
    if (account !== stepUpUser) {
      throw new ApiError(400, 'identity_mismatch', 'You must re-authenticate as the user who initiated step-up');
    }
  }

  /** Remembers which TMI sessions a SAML session opened, for the IdP's single logout. */
  async rememberSamlSession(provider: string, saml: SamlSession, sessionId: string): Promise<void> {
    const key = samlSessionKey(provider, saml.nameId);
    const kv = this.ctx.shared.kv;
    const list = JSON.parse((await kv.get(key)) ?? '[]') as { sid: string; idx?: string }[];
    list.push({ sid: sessionId, ...(saml.sessionIndex ? { idx: saml.sessionIndex } : {}) });
    await kv.set(key, JSON.stringify(list.slice(-50)), this.ctx.config.jwt.sessionLifetimeDays * 86_400);
  }

  /** Ends the TMI sessions of a SAML session (all of the name id's when no session index is given). */
  async endSamlSessions(provider: string, nameId: string, sessionIndex?: string): Promise<number> {
    const key = samlSessionKey(provider, nameId);
    const kv = this.ctx.shared.kv;
    const list = JSON.parse((await kv.get(key)) ?? '[]') as { sid: string; idx?: string }[];
    const ending = list.filter((s) => !sessionIndex || s.idx === sessionIndex);
    for (const s of ending) await this.ctx.sessions.revokeSession(s.sid);
    const rest = list.filter((s) => !ending.includes(s));
    if (rest.length) await kv.set(key, JSON.stringify(rest), this.ctx.config.jwt.sessionLifetimeDays * 86_400);
    else await kv.del(key);
    return ending.length;
  }
}

const samlSessionKey = (provider: string, nameId: string) => `saml_sessions:${provider}:${createHash('sha256').update(nameId).digest('hex')}`;
