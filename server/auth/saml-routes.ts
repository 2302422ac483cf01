// SAML 2.0 endpoints (/saml/*): the provider list, SP metadata, SP-initiated login, the assertion
// consumer, single logout, and the directory of a SAML provider's users. The login's relay state
// is ours (a random token in the shared store), never a URL the IdP or an attacker chose.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { ApiError, badRequest, forbidden, notFound } from '../http/errors.ts';
import { FORM_TYPES } from '../http/body.ts';
import { cacheable } from '../http/security.ts';
import { ErrorBody } from '../../contract/common.ts';
import { SamlProvidersResponse, SamlUsers, TokenResponse } from '../../contract/auth.ts';
import { principalOf } from './authenticate.ts';
import { Broker, FLOW_TTL_SECONDS, requestBase, withQuery } from './broker.ts';
import { ProviderError, type ProviderIdentity } from './providers/provider.ts';
import { issuerOf, type SamlProvider } from './providers/saml.ts';
import { newSecretToken } from './secret-token.ts';
import { securityEvent, signInFailed } from '../security-events.ts';
import { likeContains } from '../store/like.ts';

/** What /saml/{provider}/login (or step-up, or a link start) remembers until the ACS. */
export interface SamlRelay {
  provider: string;
  clientCallback?: string;
  codeChallenge?: string;
  state?: string;
  stepUpUser?: string;
  linkUser?: string;
}

export type LinkCallback = (
  request: FastifyRequest,
  provider: string,
  userUuid: string,
  clientCallback: string,
  state: string,
  identify: () => Promise<ProviderIdentity>,
) => Promise<string>;

export async function saveSamlRelay(ctx: AppContext, relay: SamlRelay): Promise<string> {
  const token = newSecretToken();
  await ctx.shared.kv.set(`saml_relay:${token}`, JSON.stringify(relay), FLOW_TTL_SECONDS);
  return token;
}

const samlOff = () => new ApiError(404, 'saml_not_enabled', 'SAML authentication is not enabled on this server');

export function samlRoutes(app: FastifyInstance, ctx: AppContext, broker: Broker, linkCallback: LinkCallback): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = ctx;
  const providers = ctx.providers.saml;
  const publicRoute = { public: true };

  function providerOr404(id: string): SamlProvider {
    if (!config.saml.enabled) throw samlOff();
    const p = providers.get(id);
    if (!p) throw notFound(`SAML provider ${id} not found`);
    return p;
  }

  /** The provider a message came from: named explicitly, or found by the message's Issuer. */
  async function providerOfMessage(message: string, named?: string): Promise<SamlProvider> {
    if (!config.saml.enabled) throw samlOff();
    if (named) return providerOr404(named);
    const issuer = issuerOf(message);
    for (const p of providers.values()) {
      if (issuer && (await p.check()) && (await p.issuer()) === issuer) return p;
    }
    throw badRequest('The SAML message names no configured identity provider', 'saml_error');
  }

  // ---- /saml/providers ----------------------------------------------------------------------
  r.get(
    '/saml/providers',
    { config: publicRoute, schema: { tags: ['SAML'], operationId: 'getSAMLProviders', response: { 200: SamlProvidersResponse } } },
    async (request, reply) => {
      cacheable(reply);
      const base = requestBase(request);
      const list = await Promise.all(
        [...providers.values()].map(async (p) => ({
          id: p.id,
          name: p.cfg.name,
          icon: p.cfg.icon,
          auth_url: `${base}/saml/${encodeURIComponent(p.id)}/login`,
          metadata_url: `${base}/saml/${encodeURIComponent(p.id)}/metadata`,
          entity_id: p.cfg.entityId,
          acs_url: p.cfg.acsUrl,
          slo_url: p.cfg.sloUrl,
          initialized: await p.check(),
        })),
      );
      return { providers: list };
    },
  );

  // ---- /saml/{provider}/metadata ------------------------------------------------------------
  r.get(
    '/saml/:provider/metadata',
    { config: publicRoute, schema: { tags: ['SAML'], operationId: 'getSAMLMetadata', params: Type.Object({ provider: Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' }) }) } },
    async (request, reply) => {
      const p = providerOr404(request.params.provider);
      const xml = await p.spMetadata().catch(() => {
        throw new ApiError(503, 'service_unavailable', 'The identity provider metadata could not be loaded - please retry', { 'retry-after': '30' });
      });
      return reply.type('application/samlmetadata+xml; charset=utf-8').send(xml);
    },
  );

  // ---- /saml/{provider}/login ---------------------------------------------------------------
  r.get(
    '/saml/:provider/login',
    {
      config: publicRoute,
      schema: {
        tags: ['SAML'],
        operationId: 'initiateSAMLLogin',
        params: Type.Object({ provider: Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' }) }),
        querystring: Type.Object({
          client_callback: Type.Optional(Type.String({ maxLength: 2048 })),
          // Ours: with a PKCE challenge the ACS hands the client a code (as /oauth2/authorize does)
          // instead of tokens in the URL fragment.
          code_challenge: Type.Optional(Type.String({ maxLength: 256 })),
          code_challenge_method: Type.Optional(Type.String({ maxLength: 16 })),
          state: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[a-zA-Z0-9_~.+/=-]*$' })),
        }),
      },
    },
    async (request, reply) => {
      const p = providerOr404(request.params.provider);
      const q = request.query;
      // The reference sends SAML tokens to any client_callback; ours must be allow-listed.
      const clientCallback = q.client_callback === undefined ? undefined : broker.checkClientCallback(q.client_callback);
      const codeChallenge = q.code_challenge === undefined ? undefined : broker.checkPkce(q.code_challenge, q.code_challenge_method);
      const relay = await saveSamlRelay(ctx, { provider: p.id, clientCallback, codeChallenge, state: q.state });
      const url = await p.loginUrl(relay).catch(() => {
        throw new ApiError(503, 'service_unavailable', 'Sign-in is temporarily unavailable - please retry', { 'retry-after': '30' });
      });
      return reply.redirect(url, 302);
    },
  );

  // ---- /saml/acs ----------------------------------------------------------------------------
  r.post(
    '/saml/acs',
    {
      config: { ...publicRoute, consumes: FORM_TYPES },
      schema: {
        tags: ['SAML'],
        operationId: 'processSAMLResponse',
        body: Type.Object(
          { SAMLResponse: Type.String({ minLength: 1, maxLength: 200_000 }), RelayState: Type.Optional(Type.String({ maxLength: 10_000 })) },
          { additionalProperties: false },
        ),
        response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { SAMLResponse, RelayState } = request.body;
      if (!config.saml.enabled) throw samlOff();
      const raw = RelayState && /^[0-9a-f]{64}$/.test(RelayState) ? await ctx.shared.kv.take(`saml_relay:${RelayState}`) : null;
      const relay = raw ? (JSON.parse(raw) as SamlRelay) : null;
      const provider = await providerOfMessage(SAMLResponse, relay?.provider);
      const failure = (reason: string) => securityEvent('auth.signin.failure', { provider: provider.id, reason });
      if (!relay && !provider.cfg.allowIdpInitiated) {
        failure('idp_initiated');
        throw new ApiError(401, 'saml_error', 'IdP-initiated sign-in is not enabled for this provider; start at /saml/{provider}/login');
      }
      const state = relay?.state ?? '';
      const back = (params: Record<string, string>) => reply.redirect(withQuery(relay!.clientCallback!, state ? { ...params, state } : params), 302);
      if (relay?.linkUser && relay.clientCallback) {
        return reply.redirect(await linkCallback(request, provider.id, relay.linkUser, relay.clientCallback, state, async () => (await provider.consume(SAMLResponse)).identity), 302);
      }
      let result;
      try {
        result = await provider.consume(SAMLResponse);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        failure(err.message);
        if (relay?.clientCallback) return back({ error: 'saml_error', error_description: 'The SAML response was refused' });
        throw new ApiError(401, 'saml_error', 'The SAML response was refused');
      }
      const saml = { nameId: result.nameId, sessionIndex: result.sessionIndex };
      if (relay?.clientCallback && relay.codeChallenge) {
        // The client finishes at /oauth2/token?idp=<provider> with its PKCE verifier.
        const code = await broker.issueCode({
          provider: provider.id,
          clientCallback: relay.clientCallback,
          codeChallenge: relay.codeChallenge,
          identity: result.identity,
          saml,
          stepUpUser: relay.stepUpUser,
        });
        return back({ code });
      }
      let grant;
      try {
        grant = await ctx.signIns.signIn(result.identity);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        signInFailed(err, { provider: provider.id });
        if (relay?.clientCallback) return back({ error: err.code, error_description: err.description });
        throw err;
      }
      await broker.rememberSamlSession(provider.id, saml, grant.sessionId);
      const body = broker.grantBody(reply, grant);
      if (!relay?.clientCallback) return body;
      // The reference's delivery when the client sent no PKCE challenge: tokens in the fragment
      // (never sent to a server, nor logged), to an allow-listed callback only.
      const fragment = new URLSearchParams({
        access_token: body.access_token,
        refresh_token: body.refresh_token,
        token_type: body.token_type,
        expires_in: String(body.expires_in),
        ...(state ? { state } : {}),
      });
      return reply.redirect(`${relay.clientCallback.split('#')[0]}#${fragment}`, 302);
    },
  );

  // ---- /saml/slo ----------------------------------------------------------------------------
  async function logout(request: FastifyRequest, reply: FastifyReply, provider: SamlProvider, binding: Parameters<SamlProvider['logoutRequest']>[0], relayState: string) {
    let profile;
    try {
      profile = await provider.logoutRequest(binding);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      securityEvent('auth.saml.logout_refused', { provider: provider.id, reason: err.message });
      throw badRequest('Invalid SAML logout request', 'saml_error');
    }
    const ended = await broker.endSamlSessions(provider.id, profile.nameID, profile.sessionIndex);
    securityEvent('auth.saml.logout', { provider: provider.id, sessions_ended: ended });
    const url = await provider.logoutResponseUrl(profile, relayState);
    if (url) return reply.redirect(url, 302);
    return { message: 'Logout successful' };
  }

  const sloSchema = { tags: ['SAML'], response: { 200: Type.Object({ message: Type.String() }, { additionalProperties: false }), 400: ErrorBody, 404: ErrorBody } };

  r.get(
    '/saml/slo',
    {
      config: publicRoute,
      schema: {
        ...sloSchema,
        operationId: 'processSAMLLogout',
        querystring: Type.Object({
          SAMLRequest: Type.Optional(Type.String({ minLength: 1, maxLength: 100_000 })),
          SAMLResponse: Type.Optional(Type.String({ maxLength: 100_000 })),
          RelayState: Type.Optional(Type.String({ maxLength: 10_000 })),
          SigAlg: Type.Optional(Type.String({ maxLength: 256 })),
          Signature: Type.Optional(Type.String({ maxLength: 4096 })),
          provider: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' })),
        }),
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (!config.saml.enabled) throw samlOff();
      // TMI starts no logouts of its own at the IdP, so it expects no LogoutResponse.
      if (!q.SAMLRequest) throw badRequest('SAMLRequest is required', 'invalid_request');
      const provider = await providerOfMessage(q.SAMLRequest, q.provider);
      const query = Object.fromEntries(Object.entries(q).filter(([k]) => k !== 'provider')) as Record<string, string>;
      const originalQuery = request.url.slice(request.url.indexOf('?') + 1);
      return logout(request, reply, provider, { query, originalQuery }, q.RelayState ?? '');
    },
  );

  r.post(
    '/saml/slo',
    {
      config: { ...publicRoute, consumes: FORM_TYPES },
      schema: {
        ...sloSchema,
        operationId: 'processSAMLLogoutPost',
        body: Type.Object(
          { SAMLRequest: Type.String({ minLength: 1, maxLength: 100_000 }), RelayState: Type.Optional(Type.String({ maxLength: 10_000 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { SAMLRequest, RelayState } = request.body;
      const provider = await providerOfMessage(SAMLRequest);
      return logout(request, reply, provider, { body: { SAMLRequest } }, RelayState ?? '');
    },
  );

  // ---- /saml/providers/{idp}/users ----------------------------------------------------------
  r.get(
    '/saml/providers/:idp/users',
    {
      schema: {
        tags: ['SAML'],
        operationId: 'listSAMLUsers',
        params: Type.Object({ idp: Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' }) }),
        querystring: Type.Object({
          email: Type.Optional(Type.String({ maxLength: 1024 })),
          limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 500, default: 100 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
        }),
        response: { 200: SamlUsers, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { idp } = request.params;
      providerOr404(idp);
      // The reference's x-same-provider-required: a provider's directory is for its own users.
      if (p.provider !== idp) throw forbidden(`Only users of ${idp} may list its users`);
      const { email, limit = 100, offset = 0 } = request.query;
      const filter = email ? likeContains(email.toLowerCase()) : '%';
      const [rows, total] = await Promise.all([
        ctx.db.query<{ internal_uuid: string; email: string; name: string; last_login: Date | null }>(
          `SELECT internal_uuid, email, name, last_login FROM users WHERE provider = $1 AND lower(email) LIKE $2 ORDER BY lower(email), internal_uuid LIMIT $3 OFFSET $4`,
          [idp, filter, limit, offset],
        ),
        ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE provider = $1 AND lower(email) LIKE $2', [idp, filter]),
      ]);
      return {
        idp,
        users: rows.map((u) => ({ internal_uuid: u.internal_uuid, email: u.email, name: u.name, ...(u.last_login ? { last_login: new Date(u.last_login).toISOString() } : {}) })),
        total: total[0]!.n,
      };
    },
  );
}
