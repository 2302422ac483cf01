// The OAuth 2 broker (/oauth2/*), discovery documents (/.well-known/*) and the caller's own
// account (/me). Browsers do authorization code + PKCE (S256) against TMI; TMI talks to the
// upstream provider with its own client secret. All flow state lives in the shared store, so any
// instance can finish a flow that another began.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { ApiError, badRequest, noContent, serviceUnavailable } from '../http/errors.ts';
import { FORM_TYPES, JSON_TYPES } from '../http/body.ts';
import { cacheable } from '../http/security.ts';
import { ErrorBody } from '../../contract/common.ts';
import { AuthorizeQuery, IntrospectionResponse, MeResponse, ProvidersResponse, TokenRequest, TokenResponse, UserInfoResponse } from '../../contract/auth.ts';
import { ACCESS_COOKIE, REFRESH_COOKIE, principalOf } from './authenticate.ts';
import { DEV_PROVIDER_ID, devIdentity } from './providers/tmi.ts';
import { OAuthProvider } from './providers/oauth.ts';
import { metrics } from '../observability/metrics.ts';
import { ProviderError, type IdentityProvider, type ProviderIdentity, type UpstreamFlow } from './providers/provider.ts';
import type { TokenGrant } from './sign-in.ts';
import { newSecretToken } from './secret-token.ts';

const FLOW_TTL_SECONDS = 600;
const PKCE_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;

/** What /oauth2/authorize remembers until /oauth2/token (keyed by the code the client receives). */
interface PendingCode {
  provider: string;
  codeChallenge: string;
  loginHint?: string;
  upstream?: UpstreamFlow;
}

/** What /oauth2/authorize remembers until the upstream provider calls /oauth2/callback. */
interface PendingState {
  provider: string;
  clientCallback: string;
  codeChallenge: string;
  upstream: UpstreamFlow;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** scheme://host of the request, for documents that tell clients where to go next. */
export function requestBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

function withQuery(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

export function authRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = ctx;
  const upstream = new Map<string, IdentityProvider>(
    config.oauth.providers.map((p) => [p.id, new OAuthProvider(p, config.oauth.callbackUrl, config.buildMode !== 'production')]),
  );
  const knownProvider = (id: string) => (id === DEV_PROVIDER_ID && config.auth.devProviderEnabled) || upstream.has(id);
  const publicRoute = { public: true };

  // ---- cookies ------------------------------------------------------------------------------
  const cookieBase = {
    httpOnly: true,
    secure: config.cookie.secure,
    ...(config.cookie.domain ? { domain: config.cookie.domain } : {}),
  };
  function setSessionCookies(reply: FastifyReply, access: string, refresh: string) {
    if (!config.cookie.enabled) return;
    reply.setCookie(ACCESS_COOKIE, access, { ...cookieBase, path: '/', sameSite: 'lax', maxAge: config.jwt.expirationSeconds });
    reply.setCookie(REFRESH_COOKIE, refresh, { ...cookieBase, path: '/oauth2', sameSite: 'strict', maxAge: config.jwt.refreshTokenDays * 86_400 });
  }
  function clearSessionCookies(reply: FastifyReply) {
    if (!config.cookie.enabled) return;
    reply.clearCookie(ACCESS_COOKIE, { ...cookieBase, path: '/', sameSite: 'lax' });
    reply.clearCookie(REFRESH_COOKIE, { ...cookieBase, path: '/oauth2', sameSite: 'strict' });
  }

  // ---- token grants -------------------------------------------------------------------------
  function grantBody(reply: FastifyReply, grant: TokenGrant) {
    setSessionCookies(reply, grant.accessToken, grant.refreshToken);
    return { access_token: grant.accessToken, refresh_token: grant.refreshToken, expires_in: grant.expiresIn, token_type: 'Bearer' };
  }

  async function refreshGrant(reply: FastifyReply, token: string | undefined) {
    if (!token) throw badRequest('Missing refresh_token parameter', 'invalid_request');
    const grant = await ctx.signIns.refresh(token);
    if (!grant) {
      clearSessionCookies(reply);
      throw new ApiError(400, 'invalid_grant', 'The refresh token is invalid or expired.');
    }
    return grantBody(reply, grant);
  }

  // ---- /oauth2/providers --------------------------------------------------------------------
  r.get(
    '/oauth2/providers',
    { config: publicRoute, schema: { tags: ['OAuth'], operationId: 'getAuthProviders', response: { 200: ProvidersResponse } } },
    async (request) => {
      const base = requestBase(request);
      const entry = (id: string, name: string, icon: string, clientId: string) => ({
        id,
        name,
        icon,
        auth_url: `${base}/oauth2/authorize?idp=${encodeURIComponent(id)}`,
        token_url: `${base}/oauth2/token?idp=${encodeURIComponent(id)}`,
        redirect_uri: config.oauth.callbackUrl,
        client_id: clientId,
      });
      const providers = [...upstream.values()].map((p) => entry(p.id, p.name, p.icon || 'fa-solid fa-right-to-bracket', p.clientId));
      if (config.auth.devProviderEnabled) providers.push(entry(DEV_PROVIDER_ID, 'TMI Development Login', 'fa-solid fa-flask', ''));
      return { providers };
    },
  );

  // ---- /oauth2/authorize --------------------------------------------------------------------
  function clientCallbackAllowed(cb: string): boolean {
    let url: URL;
    try {
      url = new URL(cb);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (url.username || url.password) return false;
    if (config.oauth.allowLoopbackCallbacks && url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return true;
    return config.oauth.clientCallbackAllowlist.some((entry) => (entry.endsWith('*') ? cb.startsWith(entry.slice(0, -1)) : cb === entry));
  }

  r.get(
    '/oauth2/authorize',
    { config: publicRoute, schema: { tags: ['OAuth'], operationId: 'authorizeOAuthProvider', querystring: AuthorizeQuery } },
    async (request, reply) => {
      const q = request.query;
      const idp = q.idp ?? (config.buildMode !== 'production' ? DEV_PROVIDER_ID : undefined);
      if (!idp) throw badRequest('Missing required parameter: idp', 'invalid_request');
      if (!knownProvider(idp)) throw badRequest(`provider ${idp} not found`, 'invalid_request');
      if (!q.scope || !q.scope.split(/\s+/).includes('openid')) throw badRequest('scope must include openid', 'invalid_scope');
      if ((q.response_type ?? 'code') !== 'code') throw badRequest('Only response_type=code is supported', 'unsupported_response_type');
      if (!q.client_callback) throw badRequest('client_callback is required', 'invalid_request');
      if (!clientCallbackAllowed(q.client_callback)) throw badRequest('client_callback is not in the allowlist', 'invalid_request');
      if (!q.code_challenge) throw badRequest('code_challenge is required (PKCE with S256)', 'invalid_request');
      if ((q.code_challenge_method ?? 'S256') !== 'S256') throw badRequest('code_challenge_method must be S256', 'invalid_request');
      if (!/^[A-Za-z0-9_-]{43,128}$/.test(q.code_challenge)) {
        throw badRequest('code_challenge must be 43-128 characters of base64url (the S256 hash of the code_verifier)', 'invalid_request');
      }
      const state = q.state ?? newSecretToken();
      try {
        if (idp === DEV_PROVIDER_ID) {
          const code = newSecretToken();
          const pending: PendingCode = { provider: idp, codeChallenge: q.code_challenge, loginHint: q.login_hint };
          await ctx.shared.kv.set(`authcode:${code}`, JSON.stringify(pending), FLOW_TTL_SECONDS);
          return reply.redirect(withQuery(q.client_callback, { code, state }), 302);
        }
        const provider = upstream.get(idp)!;
        const flow: UpstreamFlow = { state, codeVerifier: newSecretToken(48), nonce: newSecretToken() };
        const pending: PendingState = { provider: idp, clientCallback: q.client_callback, codeChallenge: q.code_challenge, upstream: flow };
        if (!(await ctx.shared.kv.setIfAbsent(`oauth_state:${state}`, JSON.stringify(pending), FLOW_TTL_SECONDS))) {
          throw badRequest('state is already in use by another sign-in; use a fresh random state', 'invalid_request');
        }
        return reply.redirect(await provider.authorizationUrl(flow), 302);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        request.log.error({ err }, 'authorization could not start');
        throw serviceUnavailable('Sign-in is temporarily unavailable - please retry');
      }
    },
  );

  // ---- /oauth2/callback (called by the upstream provider) -----------------------------------
  r.get(
    '/oauth2/callback',
    {
      config: publicRoute,
      schema: {
        tags: ['OAuth'],
        operationId: 'handleOAuthCallback',
        querystring: Type.Object({
          code: Type.Optional(Type.String({ maxLength: 4096 })),
          state: Type.Optional(Type.String({ maxLength: 512 })),
          error: Type.Optional(Type.String({ maxLength: 256 })),
          error_description: Type.Optional(Type.String({ maxLength: 1024 })),
        }),
      },
    },
    async (request, reply) => {
      const { code, state, error } = request.query;
      if (!state) throw badRequest('Missing code or state parameter', 'invalid_request');
      const raw = await ctx.shared.kv.take(`oauth_state:${state}`);
      if (!raw) throw badRequest('Invalid state parameter', 'invalid_request');
      const pending = JSON.parse(raw) as PendingState;
      if (error) {
        metrics.signIn(pending.provider, 'failure');
        return reply.redirect(withQuery(pending.clientCallback, { error, state, ...(request.query.error_description ? { error_description: request.query.error_description } : {}) }), 302);
      }
      if (!code) throw badRequest('Missing code or state parameter', 'invalid_request');
      const forToken: PendingCode = { provider: pending.provider, codeChallenge: pending.codeChallenge, upstream: pending.upstream };
      await ctx.shared.kv.set(`authcode:${code}`, JSON.stringify(forToken), FLOW_TTL_SECONDS);
      return reply.redirect(withQuery(pending.clientCallback, { code, state }), 302);
    },
  );

  // ---- /oauth2/token ------------------------------------------------------------------------
  r.post(
    '/oauth2/token',
    {
      config: { ...publicRoute, consumes: [...JSON_TYPES, ...FORM_TYPES] },
      schema: {
        tags: ['OAuth'],
        operationId: 'exchangeOAuthCode',
        querystring: Type.Object({ idp: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' })) }),
        body: TokenRequest,
        response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.grant_type === 'refresh_token') {
        return refreshGrant(reply, body.refresh_token || request.cookies[REFRESH_COOKIE]);
      }
      if (body.grant_type !== 'authorization_code') {
        throw badRequest(`Unsupported grant type: ${body.grant_type}`, 'unsupported_grant_type');
      }
      if (!body.code || !body.redirect_uri || !body.code_verifier) {
        throw badRequest('Missing required fields for authorization_code grant (code, code_verifier, redirect_uri)', 'invalid_request');
      }
      const idp = request.query.idp ?? (config.buildMode !== 'production' ? DEV_PROVIDER_ID : undefined);
      if (!idp) throw badRequest('Missing required parameter: idp', 'invalid_request');
      if (!knownProvider(idp)) throw badRequest(`Invalid provider: ${idp}`, 'invalid_request');
      if (!PKCE_PATTERN.test(body.code_verifier)) throw badRequest('Code verifier format is invalid.', 'invalid_request');
      const raw = await ctx.shared.kv.take(`authcode:${body.code}`);
      if (!raw) throw badRequest('Authorization code is invalid or expired', 'invalid_grant');
      const pending = JSON.parse(raw) as PendingCode;
      if (pending.provider !== idp) throw badRequest('Authorization code was issued for another provider', 'invalid_grant');
      if (!safeEqual(s256(body.code_verifier), pending.codeChallenge)) throw badRequest('PKCE verification failed', 'invalid_grant');
      let identity: ProviderIdentity;
      if (idp === DEV_PROVIDER_ID) {
        identity = devIdentity(pending.loginHint);
      } else {
        try {
          identity = await upstream.get(idp)!.exchange(body.code, pending.upstream!);
        } catch (err) {
          request.log.warn({ err: (err as Error).message, idp }, 'upstream sign-in failed');
          metrics.signIn(idp, 'failure');
          if (err instanceof ProviderError && err.kind === 'invalid_response') {
            throw new ApiError(502, 'provider_response_invalid', 'The identity provider returned an unusable identity');
          }
          throw new ApiError(502, 'provider_unreachable', 'Could not complete authorization code exchange with the identity provider');
        }
      }
      return grantBody(reply, await ctx.signIns.signIn(identity));
    },
  );

  r.post(
    '/oauth2/refresh',
    {
      config: publicRoute,
      schema: {
        tags: ['OAuth'],
        operationId: 'refreshToken',
        body: Type.Optional(Type.Object({ refresh_token: Type.Optional(Type.String({ maxLength: 512 })) }, { additionalProperties: false })),
        response: { 200: TokenResponse, 400: ErrorBody },
      },
    },
    async (request, reply) => refreshGrant(reply, request.body?.refresh_token || request.cookies[REFRESH_COOKIE]),
  );

  // ---- /oauth2/revoke (RFC 7009) ------------------------------------------------------------
  r.post(
    '/oauth2/revoke',
    {
      config: { ...publicRoute, consumes: [...JSON_TYPES, ...FORM_TYPES] },
      schema: {
        tags: ['OAuth'],
        operationId: 'revokeToken',
        body: Type.Object(
          {
            token: Type.Optional(Type.String({ maxLength: 8192 })),
            token_type_hint: Type.Optional(Type.Union([Type.Literal('access_token'), Type.Literal('refresh_token')])),
            client_id: Type.Optional(Type.String({ maxLength: 256 })),
            client_secret: Type.Optional(Type.String({ maxLength: 256 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({}), 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (request, reply) => {
      // The caller authenticates with a valid access token of its own.
      const header = request.headers.authorization;
      if (!header || !/^Bearer \S+$/.test(header)) {
        throw new ApiError(401, 'invalid_client', 'Client authentication failed', { 'www-authenticate': 'Bearer realm="tmi"' });
      }
      try {
        await ctx.authenticator.principalFor(header.slice(7));
      } catch {
        throw new ApiError(401, 'invalid_client', 'Client authentication failed', { 'www-authenticate': 'Bearer realm="tmi"' });
      }
      const { token, token_type_hint: hint } = request.body;
      if (!token) throw badRequest('token is required', 'invalid_request');
      if (hint !== 'refresh_token') {
        try {
          const claims = await ctx.tokens.verify(token);
          await ctx.sessions.revokeAccessToken(claims.jti, claims.exp);
        } catch {
          /* not one of our access tokens: RFC 7009 answers 200 all the same */
        }
      }
      if (hint !== 'access_token') await ctx.sessions.revokeRefreshToken(token);
      if (token === request.cookies[ACCESS_COOKIE] || token === request.cookies[REFRESH_COOKIE]) clearSessionCookies(reply);
      return {};
    },
  );

  // ---- /oauth2/introspect (RFC 7662) --------------------------------------------------------
  r.post(
    '/oauth2/introspect',
    {
      config: { ...publicRoute, consumes: [...FORM_TYPES, ...JSON_TYPES] },
      schema: {
        tags: ['OAuth'],
        operationId: 'introspectToken',
        body: Type.Object(
          { token: Type.Optional(Type.String({ maxLength: 8192 })), token_type_hint: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: { 200: IntrospectionResponse, 400: ErrorBody },
      },
    },
    async (request) => {
      const token = request.body?.token;
      if (!token) throw badRequest('Invalid request: token parameter is required', 'invalid_request');
      try {
        const p = await ctx.authenticator.principalFor(token);
        const c = p.claims;
        return {
          active: true,
          sub: c.sub,
          email: c.email,
          name: c.name,
          idp: c.idp,
          iat: c.iat,
          exp: c.exp,
          iss: c.iss,
          token_type: 'Bearer',
          scope: 'openid profile email',
        };
      } catch {
        return { active: false };
      }
    },
  );

  // ---- /oauth2/userinfo, /me, /me/logout ----------------------------------------------------
  r.get(
    '/oauth2/userinfo',
    { schema: { tags: ['OAuth'], operationId: 'getCurrentUserInfo', response: { 200: UserInfoResponse, 401: ErrorBody } } },
    async (request) => {
      const p = principalOf(request);
      return {
        sub: p.providerId,
        email: p.email,
        ...(p.claims.email_verified ? { email_verified: true } : {}),
        name: p.name,
        idp: p.provider,
        ...(p.groups.length ? { groups: p.groups } : {}),
      };
    },
  );

  r.get('/me', { schema: { tags: ['Users'], operationId: 'getCurrentUser', response: { 200: MeResponse, 401: ErrorBody } } }, async (request) => {
    const p = principalOf(request);
    const groups = await ctx.users.groupRows(p.userUuid);
    const ids = new Set(groups.map((g) => g.internal_uuid));
    return {
      principal_type: 'user' as const,
      provider: p.provider,
      provider_id: p.providerId,
      display_name: p.name,
      email: p.email,
      is_admin: await ctx.users.isAdministrator(p.userUuid, p.groups, p.provider, config.auth.administrators),
      is_security_reviewer: ids.has('00000000-0000-0000-0000-000000000001') || config.auth.everyoneIsAReviewer,
      groups: groups.map((g) => ({ internal_uuid: g.internal_uuid, group_name: g.group_name, name: g.name ?? g.group_name })),
    };
  });

  r.post(
    '/me/logout',
    { schema: { tags: ['Users'], operationId: 'logoutCurrentUser', response: { 401: ErrorBody } } },
    async (request, reply) => {
      const p = principalOf(request);
      await ctx.sessions.revokeAccessToken(p.claims.jti, p.claims.exp);
      if (p.claims.sid) await ctx.sessions.revokeSession(p.claims.sid);
      clearSessionCookies(reply);
      return noContent(reply);
    },
  );

  // ---- discovery ----------------------------------------------------------------------------
  const discoveryCommon = (base: string) => ({
    issuer: ctx.tokens.issuer,
    authorization_endpoint: `${base}/oauth2/authorize`,
    token_endpoint: `${base}/oauth2/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/oauth2/revoke`,
    introspection_endpoint: `${base}/oauth2/introspect`,
    scopes_supported: ['openid', 'profile', 'email'],
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
  });
  const wellKnown = { config: publicRoute, schema: { tags: ['Discovery'] } };

  r.get('/.well-known/openid-configuration', wellKnown, async (request, reply) => {
    cacheable(reply);
    const base = requestBase(request);
    return {
      ...discoveryCommon(base),
      userinfo_endpoint: `${base}/oauth2/userinfo`,
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [ctx.tokens.method],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'email', 'email_verified', 'name', 'idp', 'groups'],
    };
  });
  r.get('/.well-known/oauth-authorization-server', wellKnown, async (request, reply) => {
    cacheable(reply);
    return discoveryCommon(requestBase(request));
  });
  r.get('/.well-known/oauth-protected-resource', wellKnown, async (request, reply) => {
    cacheable(reply);
    const base = requestBase(request);
    return {
      resource: base,
      authorization_servers: [base],
      jwks_uri: `${base}/.well-known/jwks.json`,
      scopes_supported: ['openid', 'profile', 'email'],
      bearer_methods_supported: ['header'],
      resource_name: 'TMI (Threat Modeling Improved) API',
      resource_documentation: `${base}/openapi.json`,
      tls_client_certificate_bound_access_tokens: false,
    };
  });
  r.get('/.well-known/jwks.json', wellKnown, async (_request, reply) => {
    cacheable(reply);
    return ctx.tokens.jwks();
  });
}
