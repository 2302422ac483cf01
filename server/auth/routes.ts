// The OAuth 2 broker (/oauth2/*), discovery documents (/.well-known/*) and the caller's own
// account (/me). Browsers do authorization code + PKCE (S256) against TMI; TMI talks to the
// upstream provider with its own client secret. All flow state lives in the shared store, so any
// instance can finish a flow that another began. Step-up (/oauth2/step_up) and identity linking
// go through the same callback; service accounts use grant_type=client_credentials.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { ApiError, badRequest, noContent, serviceUnavailable, unauthorized } from '../http/errors.ts';
import { FORM_TYPES, JSON_TYPES } from '../http/body.ts';
import { cacheable } from '../http/security.ts';
import { ErrorBody } from '../../contract/common.ts';
import {
  AuthorizeQuery,
  IntrospectionResponse,
  MeResponse,
  ProvidersResponse,
  StepUpQuery,
  StepUpResponse,
  TokenRequest,
  TokenResponse,
  UserInfoResponse,
} from '../../contract/auth.ts';
import { ACCESS_COOKIE, REFRESH_COOKIE, principalOf, type Principal } from './authenticate.ts';
import { DEV_PROVIDER_ID, devIdentity } from './providers/tmi.ts';
import { ProviderError, type ProviderIdentity, type UpstreamFlow } from './providers/provider.ts';
import { metrics } from '../observability/metrics.ts';
import { newSecretToken } from './secret-token.ts';
import { Broker, PKCE_VERIFIER, requestBase, s256, safeEqual, withQuery, type PendingCode } from './broker.ts';
import { samlRoutes, saveSamlRelay } from './saml-routes.ts';
import { accountRoutes } from './account-routes.ts';
import { partyOf, securityEvent, signInFailureHook, stepUpFailed, type Party } from '../security-events.ts';

export { requestBase } from './broker.ts';

/** A client id and secret from HTTP Basic (RFC 6749 2.3.1: form-encoded, then base64). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const m = header ? /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header) : null;
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return null;
  try {
    return { id: decodeURIComponent(text.slice(0, i)), secret: decodeURIComponent(text.slice(i + 1)) };
  } catch {
    return null;
  }
}

export function authRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = ctx;
  const upstream = ctx.providers.oauth;
  const broker = new Broker(ctx);
  const knownProvider = (id: string) => ctx.providers.known(id);
  const publicRoute = { public: true };
  const clearSessionCookies = (reply: FastifyReply) => broker.clearSessionCookies(reply);

  async function refreshGrant(reply: FastifyReply, token: string | undefined) {
    if (!token) throw badRequest('Missing refresh_token parameter', 'invalid_request');
    const grant = await ctx.signIns.refresh(token);
    if (!grant) {
      clearSessionCookies(reply);
      throw new ApiError(400, 'invalid_grant', 'The refresh token is invalid or expired.');
    }
    return broker.grantBody(reply, grant);
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
  r.get(
    '/oauth2/authorize',
    { config: publicRoute, schema: { tags: ['OAuth'], operationId: 'authorizeOAuthProvider', querystring: AuthorizeQuery } },
    async (request, reply) => {
      const q = request.query;
      const idp = q.idp ?? (config.buildMode !== 'production' ? DEV_PROVIDER_ID : undefined);
      if (!idp) throw badRequest('Missing required parameter: idp', 'invalid_request');
      if (!knownProvider(idp) || ctx.providers.saml.has(idp)) throw badRequest(`provider ${idp} not found`, 'invalid_request');
      if (!q.scope || !q.scope.split(/\s+/).includes('openid')) throw badRequest('scope must include openid', 'invalid_scope');
      if ((q.response_type ?? 'code') !== 'code') throw badRequest('Only response_type=code is supported', 'unsupported_response_type');
      const clientCallback = broker.checkClientCallback(q.client_callback);
      const codeChallenge = broker.checkPkce(q.code_challenge, q.code_challenge_method);
      const state = q.state ?? newSecretToken();
      try {
        if (idp === DEV_PROVIDER_ID) {
          const code = await broker.issueCode({ provider: idp, clientCallback, codeChallenge, loginHint: q.login_hint });
          return reply.redirect(withQuery(clientCallback, { code, state }), 302);
        }
        const flow: UpstreamFlow = { state, codeVerifier: newSecretToken(48), nonce: newSecretToken() };
        await broker.saveState({ provider: idp, clientCallback, codeChallenge, upstream: flow });
        return reply.redirect(await upstream.get(idp)!.authorizationUrl(flow), 302);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        request.log.error({ err }, 'authorization could not start');
        throw serviceUnavailable('Sign-in is temporarily unavailable - please retry');
      }
    },
  );

  // ---- /oauth2/step_up ----------------------------------------------------------------------
  // A fresh interactive sign-in for the caller, through the provider of their account (ForceAuthn
  // for SAML, prompt=login&max_age=0 for OpenID providers). Every provider gets the round trip:
  // the reference's "weak" short-circuit rotated tokens without any re-authentication, which let
  // a stolen access token satisfy step-up.
  r.get(
    '/oauth2/step_up',
    {
      config: publicRoute,
      schema: { tags: ['OAuth'], operationId: 'stepUpAuthenticate', querystring: StepUpQuery, response: { 200: StepUpResponse, 400: ErrorBody, 401: ErrorBody } },
    },
    async (request, reply) => {
      let p: Principal;
      try {
        p = await ctx.authenticator.authenticate(request);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          throw new ApiError(401, 'invalid_token', 'Missing or invalid access token', { 'www-authenticate': 'Bearer realm="tmi", error="invalid_token"' });
        }
        throw err;
      }
      const q = request.query;
      const refuse = (reason: string, err: ApiError) => stepUpFailed(err, { ...partyOf(p), reason });
      if (p.serviceAccount) throw refuse('service_account', badRequest('Step-up does not apply to client credentials grants', 'unsupported_grant_type'));
      if (q.scope !== undefined) throw badRequest('scope is not accepted on /oauth2/step_up', 'invalid_scope');
      if ((q.response_type ?? 'code') !== 'code') throw badRequest('Only response_type=code is supported', 'unsupported_response_type');
      if (!knownProvider(p.provider)) {
        throw refuse('invalid_provider', badRequest(`Provider "${p.provider}" is not configured or is disabled`, 'invalid_provider'));
      }
      const clientCallback = broker.checkClientCallback(q.client_callback);
      const codeChallenge = broker.checkPkce(q.code_challenge, q.code_challenge_method);
      const state = q.state ?? newSecretToken();
      let location: string;
      if (p.provider === DEV_PROVIDER_ID) {
        const code = await broker.issueCode({ provider: p.provider, clientCallback, codeChallenge, loginHint: p.providerId, stepUpUser: p.userUuid });
        location = withQuery(clientCallback, { code, state });
      } else if (ctx.providers.saml.has(p.provider)) {
        const relay = await saveSamlRelay(ctx, { provider: p.provider, clientCallback, codeChallenge, state, stepUpUser: p.userUuid });
        location = await ctx.providers.saml.get(p.provider)!.loginUrl(relay, { forceAuthn: true });
      } else {
        const flow: UpstreamFlow = { state, codeVerifier: newSecretToken(48), nonce: newSecretToken(), maxAge: 0 };
        await broker.saveState({ provider: p.provider, clientCallback, codeChallenge, upstream: flow, stepUpUser: p.userUuid });
        location = await upstream.get(p.provider)!.authorizationUrl(flow);
      }
      securityEvent('auth.step_up.started', partyOf(p));
      // XHR clients ask for JSON (the reference's step_up_redirect); browsers navigating get the 302.
      if (/\bapplication\/json\b/.test(request.headers.accept ?? '')) return { result: 'step_up_redirect' as const, redirect_url: location };
      return reply.redirect(location, 302);
    },
  );

  // ---- /oauth2/callback (called by the upstream provider) -----------------------------------
  r.get(
    '/oauth2/callback',
    {
      config: publicRoute,
      onError: signInFailureHook,
      schema: {
        tags: ['OAuth'],
        operationId: 'handleOAuthCallback',
        querystring: Type.Object({
          code: Type.Optional(Type.String({ maxLength: 4096 })),
          state: Type.Optional(Type.String({ maxLength: 512 })),
          error: Type.Optional(Type.String({ maxLength: 256 })),
          error_description: Type.Optional(Type.String({ maxLength: 1024 })),
          // RFC 9207: the provider names itself in its answer (checked at the exchange, against mix-up).
          iss: Type.Optional(Type.String({ maxLength: 2048 })),
        }),
      },
    },
    async (request, reply) => {
      const { code, state, error } = request.query;
      if (!state) throw badRequest('Missing code or state parameter', 'invalid_request');
      const pending = await broker.takeState(state);
      if (!pending) throw badRequest('Invalid state parameter', 'invalid_request');
      if (error) {
        securityEvent('auth.signin.failure', { provider: pending.provider, reason: 'provider_error', detail: error });
        metrics.signIn(pending.provider, 'failure');
        return reply.redirect(withQuery(pending.clientCallback, { error, state, ...(request.query.error_description ? { error_description: request.query.error_description } : {}) }), 302);
      }
      if (!code) throw badRequest('Missing code or state parameter', 'invalid_request');
      if (request.query.iss) pending.upstream.iss = request.query.iss;
      if (pending.linkUser) return reply.redirect(await finishLinkCallback(request, pending.provider, pending.linkUser, pending.clientCallback, state, () => upstream.get(pending.provider)!.exchange(code, pending.upstream)), 302);
      await broker.issueCode(
        { provider: pending.provider, clientCallback: pending.clientCallback, codeChallenge: pending.codeChallenge!, upstream: pending.upstream, stepUpUser: pending.stepUpUser },
        code,
      );
      return reply.redirect(withQuery(pending.clientCallback, { code, state }), 302);
    },
  );

  /**
   * Identity linking, after the provider vouched for the second identity: stage the link for the
   * account's confirmation, or tell the client why not. Returns where to send the browser.
   */
  async function partyOfAccount(userUuid: string): Promise<Party> {
    const user = await ctx.users.byUuid(userUuid);
    return { provider: user?.provider ?? '', provider_id: user?.provider_user_id ?? '', user_uuid: userUuid };
  }

  async function finishLinkCallback(
    request: FastifyRequest,
    provider: string,
    userUuid: string,
    clientCallback: string,
    state: string,
    identify: () => Promise<ProviderIdentity>,
  ): Promise<string> {
    let identity: ProviderIdentity;
    try {
      identity = await identify();
    } catch (err) {
      securityEvent('auth.identity.link_failed', { ...(await partyOfAccount(userUuid)), linked_provider: provider, reason: err instanceof ProviderError ? err.kind : 'server_error' });
      return withQuery(clientCallback, { error: 'code_exchange_failed', state });
    }
    const owner = await ctx.users.accountOf(identity.provider, identity.providerUserId);
    if (owner !== null) {
      securityEvent('auth.identity.link_failed', { ...(await partyOfAccount(userUuid)), linked_provider: provider, reason: 'identity_already_bound' });
      return withQuery(clientCallback, { error: 'identity_already_bound', state });
    }
    const token = await broker.stageLink({ userUuid, identity });
    return withQuery(clientCallback, { link_pending: token, state });
  }

  // ---- /oauth2/token ------------------------------------------------------------------------
  r.post(
    '/oauth2/token',
    {
      config: { ...publicRoute, consumes: [...JSON_TYPES, ...FORM_TYPES] },
      onError: signInFailureHook,
      schema: {
        tags: ['OAuth'],
        operationId: 'exchangeOAuthCode',
        querystring: Type.Object({ idp: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' })) }),
        body: TokenRequest,
        response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.grant_type === 'refresh_token') {
        return refreshGrant(reply, body.refresh_token || request.cookies[REFRESH_COOKIE]);
      }
      if (body.grant_type === 'client_credentials') {
        const basic = basicCredentials(request.headers.authorization);
        const clientId = body.client_id ?? basic?.id;
        const clientSecret = body.client_secret ?? basic?.secret;
        if (!clientId || !clientSecret) throw badRequest('client_id and client_secret are required for the client_credentials grant', 'invalid_request');
        let client;
        try {
          client = await ctx.clientCredentials.authenticate(clientId, clientSecret);
        } catch (err) {
          if (err instanceof ApiError) securityEvent('auth.client_credentials.failure', { client_id: clientId.slice(0, 64), reason: err.code });
          throw err;
        }
        const grant = await ctx.signIns.serviceAccountGrant(client);
        securityEvent('auth.client_credentials.used', { credential_id: client.credential.id, account_uuid: client.owner.internal_uuid });
        // No cookies and no refresh token: the client authenticates again when the token expires.
        return { access_token: grant.accessToken, refresh_token: '', expires_in: grant.expiresIn, token_type: 'Bearer' };
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
      if (!PKCE_VERIFIER.test(body.code_verifier)) throw badRequest('Code verifier format is invalid.', 'invalid_request');
      const pending: PendingCode | null = await broker.takeCode(body.code);
      // A failed sign-in is logged by the route's onError hook (reason: the error code); a failed
      // step-up says so here, with the step that failed.
      const fail = (reason: string, err: ApiError) => (pending?.stepUpUser ? stepUpFailed(err, { provider: idp, user_uuid: pending.stepUpUser, reason }) : err);
      if (!pending) throw fail('invalid_code', badRequest('Authorization code is invalid or expired', 'invalid_grant'));
      if (pending.provider !== idp) throw fail('wrong_provider', badRequest('Authorization code was issued for another provider', 'invalid_grant'));
      // RFC 6749 4.1.3: the code is bound to the callback it was delivered to (the reference does not check).
      if (body.redirect_uri !== pending.clientCallback) {
        throw fail('redirect_uri_mismatch', badRequest('redirect_uri does not match the client_callback the authorization code was issued for', 'invalid_grant'));
      }
      if (!safeEqual(s256(body.code_verifier), pending.codeChallenge)) throw fail('pkce', badRequest('PKCE verification failed', 'invalid_grant'));
      let identity: ProviderIdentity;
      if (idp === DEV_PROVIDER_ID) {
        identity = devIdentity(pending.loginHint);
      } else if (pending.identity) {
        identity = pending.identity;
      } else {
        try {
          identity = await upstream.get(idp)!.exchange(body.code, pending.upstream!);
        } catch (err) {
          request.log.warn({ err: (err as Error).message, idp }, 'upstream sign-in failed');
          metrics.signIn(idp, 'failure');
          if (err instanceof ProviderError && err.kind === 'invalid_response') {
            throw fail('provider_response_invalid', new ApiError(502, 'provider_response_invalid', 'The identity provider returned an unusable identity'));
          }
          throw fail('provider_exchange_failed', new ApiError(502, 'provider_unreachable', 'Could not complete authorization code exchange with the identity provider'));
        }
      }
      if (pending.stepUpUser) {
        try {
          await broker.checkStepUpIdentity(identity, pending.stepUpUser);
        } catch (err) {
          throw fail('identity_mismatch', err as ApiError);
        }
      }
      let grant;
      try {
        grant = await ctx.signIns.signIn(identity);
      } catch (err) {
        if (err instanceof ApiError) throw fail(err.code, err);
        throw err;
      }
      if (pending.saml) await broker.rememberSamlSession(idp, pending.saml, grant.sessionId);
      if (pending.stepUpUser) {
        securityEvent('auth.step_up.success', { provider: idp, provider_id: identity.providerUserId, user_uuid: grant.user.internal_uuid, session_id: grant.sessionId });
      }
      return broker.grantBody(reply, grant);
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
      let caller;
      try {
        caller = await ctx.authenticator.principalFor(header.slice(7));
      } catch (err) {
        if (err instanceof ApiError && err.status === 503) throw err; // the check could not be made
        throw new ApiError(401, 'invalid_client', 'Client authentication failed', { 'www-authenticate': 'Bearer realm="tmi"' });
      }
      const { token, token_type_hint: hint } = request.body;
      if (!token) throw badRequest('token is required', 'invalid_request');
      let revokedTokenId: string | undefined;
      if (hint !== 'refresh_token') {
        // Not one of our access tokens: RFC 7009 answers 200 all the same. One of ours that cannot
        // be revoked (the store is down) is a 503, never a 200 that revoked nothing.
        const claims = await ctx.tokens.verify(token).catch(() => null);
        if (claims) await ctx.sessions.revokeAccessToken(claims.jti, claims.exp);
        revokedTokenId = claims?.jti;
      }
      const revokedSessionId = hint !== 'access_token' ? await ctx.sessions.revokeRefreshToken(token) : null;
      securityEvent('auth.revoke', { ...partyOf(caller), token_type_hint: hint, revoked_token_id: revokedTokenId, revoked_session_id: revokedSessionId ?? undefined });
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
    { schema: { tags: ['OAuth'], operationId: 'getCurrentUser', response: { 200: UserInfoResponse, 401: ErrorBody } } },
    async (request) => {
      const p = principalOf(request);
      return {
        sub: p.providerId,
        email: p.email,
        ...(p.claims.email_verified ? { email_verified: true } : {}),
        name: p.name,
        idp: p.provider,
        ...(p.idpGroups.length ? { groups: p.idpGroups } : {}),
      };
    },
  );

  r.get('/me', { schema: { tags: ['Users'], operationId: 'getCurrentUserProfile', response: { 200: MeResponse, 401: ErrorBody } } }, async (request) => {
    const p = principalOf(request);
    const groups = await ctx.users.groupRows(p.userUuid);
    const ids = new Set(groups.map((g) => g.internal_uuid));
    return {
      principal_type: 'user' as const,
      provider: p.provider,
      provider_id: p.providerId,
      display_name: p.name,
      email: p.email,
      is_admin: await ctx.users.isAdministrator(p.userUuid, p.idpGroups, p.provider, config.auth.administrators),
      is_security_reviewer: ids.has('00000000-0000-0000-0000-000000000001') || (await ctx.users.everyoneIsAReviewer()),
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
      securityEvent('auth.logout', { ...partyOf(p), revoked_token_id: p.claims.jti, revoked_session_id: p.claims.sid });
      clearSessionCookies(reply);
      return noContent(reply);
    },
  );

  samlRoutes(app, ctx, broker, finishLinkCallback);
  accountRoutes(app, ctx, broker);

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
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    // none: browsers (PKCE); the others: service-account credentials.
    token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
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
