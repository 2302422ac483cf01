// The caller's sign-in surface beyond /me: service-account credentials (/me/client_credentials
// and the administrators' variants, automation users), linked identities (/me/identities*, the
// administrators' variants) and a provider's group directory (/oauth2/providers/{idp}/groups).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { ApiError, badRequest, conflict, forbidden, noContent, notFound } from '../http/errors.ts';
import { ErrorBody } from '../../contract/common.ts';
import {
  ClientCredentialCreate,
  ClientCredentialList,
  ClientCredentialResponse,
  CreateAutomationAccount,
  CreateAutomationAccountResponse,
  IdentityLinkConfirm,
  IdentityLinkStartQuery,
  IdentityLinkStartResponse,
  LinkedIdentity,
  MyIdentities,
  PageQuery,
  PendingIdentityLink,
  ProviderGroups,
} from '../../contract/auth.ts';
import { BUILT_IN_GROUPS } from '../authz/index.ts';
import { principalOf } from './authenticate.ts';
import { FLOW_TTL_SECONDS, type Broker } from './broker.ts';
import { requireAdministrator, requireInteractive, requireRecentAuth } from './guards.ts';
import { DEV_PROVIDER_ID } from './providers/tmi.ts';
import { newSecretToken } from './secret-token.ts';
import { saveSamlRelay } from './saml-routes.ts';
import { mergePlaceholders } from './users.ts';
import { partyOf, securityEvent } from '../security-events.ts';

const UserIdParams = Type.Object({ user_id: Type.String({ format: 'uuid' }) });

interface LinkedRow {
  id: string;
  provider: string;
  provider_user_id: string;
  email: string;
  name: string;
  linked_at: Date;
  last_used_at: Date | null;
}

/** The reference shows a provider's subject cut to its first 8 characters. */
const shortSubject = (sub: string) => (sub.length > 8 ? `${sub.slice(0, 8)}…` : sub);

function linkedIdentity(row: LinkedRow) {
  return {
    id: row.id,
    provider: row.provider,
    provider_user_id: shortSubject(row.provider_user_id),
    ...(row.email ? { email: row.email } : {}),
    ...(row.name ? { name: row.name } : {}),
    linked_at: new Date(row.linked_at).toISOString(),
    last_used_at: row.last_used_at ? new Date(row.last_used_at).toISOString() : null,
  };
}

export function accountRoutes(app: FastifyInstance, ctx: AppContext, broker: Broker): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const recentAuth = requireRecentAuth(ctx);
  const adminRead = requireAdministrator(ctx, { recentAuth: false });
  const adminWrite = requireAdministrator(ctx, { recentAuth: true });

  async function userOr404(uuid: string) {
    const user = await ctx.users.byUuid(uuid);
    if (!user) throw notFound('User not found');
    return user;
  }

  // ---- service accounts ---------------------------------------------------------------------
  r.post(
    '/me/client_credentials',
    {
      preValidation: requireInteractive('create client credentials'),
      schema: { tags: ['Authentication'], operationId: 'createCurrentUserClientCredential', body: ClientCredentialCreate, response: { 201: ClientCredentialResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      // The reference's rule, from live memberships rather than the token's claims.
      const m = await ctx.users.builtInMemberships(p.userUuid);
      const admin = await ctx.users.isAdministrator(p.userUuid, p.idpGroups, p.provider, ctx.config.auth.administrators);
      if (!admin && !m.isSecurityReviewer) throw forbidden('Client credentials are for administrators and security reviewers');
      const created = await ctx.clientCredentials.create(p.userUuid, request.body);
      securityEvent('auth.client_credentials.created', { ...partyOf(p), credential_id: created.id, account_uuid: p.userUuid });
      return reply.code(201).send(created);
    },
  );

  r.get(
    '/me/client_credentials',
    {
      preValidation: requireInteractive('list client credentials'),
      schema: { tags: ['Authentication'], operationId: 'listCurrentUserClientCredentials', querystring: PageQuery, response: { 200: ClientCredentialList, 401: ErrorBody, 403: ErrorBody } },
    },
    async (request) => ctx.clientCredentials.list(principalOf(request).userUuid, request.query.limit ?? 20, request.query.offset ?? 0),
  );

  r.delete(
    '/me/client_credentials/:credential_id',
    {
      preValidation: requireInteractive('delete client credentials'),
      schema: { tags: ['Authentication'], operationId: 'deleteCurrentUserClientCredential', params: Type.Object({ credential_id: Type.String({ format: 'uuid' }) }), response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      await ctx.clientCredentials.delete(p.userUuid, request.params.credential_id);
      securityEvent('auth.client_credentials.deleted', { ...partyOf(p), credential_id: request.params.credential_id, account_uuid: p.userUuid });
      return noContent(reply);
    },
  );

  r.get(
    '/admin/users/:user_id/client_credentials',
    {
      preValidation: adminRead,
      schema: { tags: ['Admin - Users'], operationId: 'listAdminUserClientCredentials', params: UserIdParams, querystring: PageQuery, response: { 200: ClientCredentialList, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => {
      await userOr404(request.params.user_id);
      return ctx.clientCredentials.list(request.params.user_id, request.query.limit ?? 20, request.query.offset ?? 0);
    },
  );

  r.post(
    '/admin/users/:user_id/client_credentials',
    {
      preValidation: adminWrite,
      schema: { tags: ['Admin - Users'], operationId: 'createAdminUserClientCredential', params: UserIdParams, body: ClientCredentialCreate, response: { 201: ClientCredentialResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      await userOr404(request.params.user_id);
      const created = await ctx.clientCredentials.create(request.params.user_id, request.body);
      securityEvent('auth.client_credentials.created', { ...partyOf(p), credential_id: created.id, account_uuid: request.params.user_id });
      return reply.code(201).send(created);
    },
  );

  r.delete(
    '/admin/users/:user_id/client_credentials/:credential_id',
    {
      preValidation: adminWrite,
      schema: {
        tags: ['Admin - Users'],
        operationId: 'deleteAdminUserClientCredential',
        params: Type.Object({ user_id: Type.String({ format: 'uuid' }), credential_id: Type.String({ format: 'uuid' }) }),
        response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      await ctx.clientCredentials.delete(request.params.user_id, request.params.credential_id);
      securityEvent('auth.client_credentials.deleted', { ...partyOf(p), credential_id: request.params.credential_id, account_uuid: request.params.user_id });
      return noContent(reply);
    },
  );

  r.post(
    '/admin/users/automation',
    {
      preValidation: adminWrite,
      schema: { tags: ['Admin - Users'], operationId: 'createAutomationAccount', body: CreateAutomationAccount, response: { 201: CreateAutomationAccountResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { name } = request.body;
      const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
      const providerUserId = `tmi-automation-${slug}`;
      const email = request.body.email ?? `${providerUserId}@tmi.local`;
      const result = await ctx.db.tx(async (q) => {
        const rows = await q.query<{ internal_uuid: string; created_at: Date; modified_at: Date }>(
          `INSERT INTO users (internal_uuid, provider, provider_user_id, email, name, email_verified, automation)
           VALUES ($1, $2, $3, $4, $5, true, true) ON CONFLICT (provider, provider_user_id) DO NOTHING
           RETURNING internal_uuid, created_at, modified_at`,
          [randomUUID(), DEV_PROVIDER_ID, providerUserId, email, `TMI Automation: ${name}`],
        );
        const user = rows[0];
        if (!user) throw conflict(`An automation account named ${providerUserId} already exists`);
        await ctx.users.addToGroup(q, BUILT_IN_GROUPS.tmiAutomation, user.internal_uuid);
        const credential = await ctx.clientCredentials.create(user.internal_uuid, { name }, q);
        return { user, credential };
      });
      securityEvent('auth.client_credentials.created', { ...partyOf(p), credential_id: result.credential.id, account_uuid: result.user.internal_uuid, automation: true });
      return reply.code(201).send({
        user: {
          internal_uuid: result.user.internal_uuid,
          provider: DEV_PROVIDER_ID,
          provider_user_id: providerUserId,
          email,
          name: `TMI Automation: ${name}`,
          email_verified: true,
          created_at: new Date(result.user.created_at).toISOString(),
          modified_at: new Date(result.user.modified_at).toISOString(),
          last_login: null,
          is_admin: false,
          groups: ['tmi-automation'],
          automation: true,
        },
        client_credential: result.credential,
      });
    },
  );

  // ---- linked identities --------------------------------------------------------------------
  const listLinked = (userUuid: string) =>
    ctx.db.query<LinkedRow>(
      'SELECT id, provider, provider_user_id, email, name, linked_at, last_used_at FROM linked_identities WHERE user_uuid = $1 ORDER BY linked_at, id',
      [userUuid],
    );

  r.get(
    '/me/identities',
    { preValidation: requireInteractive('list identities'), schema: { tags: ['User Account'], operationId: 'listMyIdentities', response: { 200: MyIdentities, 401: ErrorBody, 403: ErrorBody } } },
    async (request) => {
      const p = principalOf(request);
      const user = await userOr404(p.userUuid);
      return { primary: { provider: user.provider, email: user.email, name: user.name }, linked: (await listLinked(p.userUuid)).map(linkedIdentity) };
    },
  );

  r.post(
    '/me/identities/link/start',
    {
      preValidation: recentAuth,
      schema: { tags: ['User Account'], operationId: 'startIdentityLink', querystring: IdentityLinkStartQuery, response: { 200: IdentityLinkStartResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => {
      const p = principalOf(request);
      const { idp } = request.query;
      if (!idp) throw badRequest('idp parameter is required', 'invalid_request');
      const clientCallback = broker.checkClientCallback(request.query.client_callback);
      const oauth = ctx.providers.oauth.get(idp);
      const saml = ctx.providers.saml.get(idp);
      if (!oauth && !saml) {
        // The development provider vouches for nobody, so it cannot be linked.
        throw badRequest(`Provider "${idp}" is not configured or is disabled`, 'invalid_provider');
      }
      const state = newSecretToken();
      let authorizationUrl: string;
      if (oauth) {
        const flow = { state, codeVerifier: newSecretToken(48), nonce: newSecretToken(), selectAccount: true };
        await broker.saveState({ provider: idp, clientCallback, upstream: flow, linkUser: p.userUuid });
        authorizationUrl = await oauth.authorizationUrl(flow);
      } else {
        const relay = await saveSamlRelay(ctx, { provider: idp, clientCallback, state, linkUser: p.userUuid });
        authorizationUrl = await saml!.loginUrl(relay);
      }
      securityEvent('auth.identity.link_started', { ...partyOf(p), linked_provider: idp });
      return { link_state: state, authorization_url: authorizationUrl, expires_at: new Date(Date.now() + FLOW_TTL_SECONDS * 1000).toISOString() };
    },
  );

  r.get(
    '/me/identities/link/pending/:link_id',
    {
      preValidation: requireInteractive('link identities'),
      schema: { tags: ['User Account'], operationId: 'getPendingIdentityLink', params: Type.Object({ link_id: Type.String({ maxLength: 256 }) }), response: { 200: PendingIdentityLink, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => {
      const p = principalOf(request);
      const pending = await broker.peekLink(request.params.link_id);
      // Someone else's pending link is as absent as an expired one.
      if (!pending || pending.userUuid !== p.userUuid) throw notFound('Pending identity link not found or expired');
      const user = await userOr404(p.userUuid);
      const { identity } = pending;
      return {
        pending: { provider: identity.provider, provider_user_id: shortSubject(identity.providerUserId), ...(identity.email ? { email: identity.email } : {}), ...(identity.name ? { name: identity.name } : {}) },
        account: { provider: user.provider, email: user.email },
      };
    },
  );

  r.post(
    '/me/identities/link/confirm',
    {
      preValidation: recentAuth,
      schema: { tags: ['User Account'], operationId: 'confirmIdentityLink', body: IdentityLinkConfirm, response: { 201: LinkedIdentity, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const peeked = await broker.peekLink(request.body.token);
      if (!peeked || peeked.userUuid !== p.userUuid) throw notFound('Pending identity link not found or expired');
      const pending = await broker.takeLink(request.body.token);
      if (!pending) throw notFound('Pending identity link not found or expired');
      const { identity } = pending;
      const refuse = () => {
        securityEvent('auth.identity.link_failed', { ...partyOf(p), linked_provider: identity.provider, reason: 'identity_already_bound' });
        return conflict('This identity is already linked to a TMI account', 'identity_already_bound');
      };
      const row = await ctx.db.tx(async (q) => {
        // Serialise links and first sign-ins of this identity: the checks below and the insert
        // see the same state.
        await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`identity:${identity.provider}:${identity.providerUserId}`]);
        const bound = await q.query<{ internal_uuid: string; last_login: Date | null }>(
          'SELECT internal_uuid, last_login FROM users WHERE provider = $1 AND provider_user_id = $2',
          [identity.provider, identity.providerUserId],
        );
        if (bound[0]?.last_login) throw refuse();
        const inserted = await q.query<LinkedRow>(
          `INSERT INTO linked_identities (id, user_uuid, provider, provider_user_id, email, name) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (provider, provider_user_id) DO NOTHING
           RETURNING id, provider, provider_user_id, email, name, linked_at, last_used_at`,
          [randomUUID(), p.userUuid, identity.provider, identity.providerUserId, identity.email, identity.name],
        );
        if (!inserted[0]) throw refuse();
        // What was shared with this identity before anyone signed in with it now belongs to the account.
        if (bound[0]) await mergePlaceholders(q, p.userUuid, [bound[0].internal_uuid]);
        return inserted[0];
      });
      securityEvent('auth.identity.linked', { ...partyOf(p), linked_provider: identity.provider, identity_id: row.id });
      return reply.code(201).send(linkedIdentity(row));
    },
  );

  r.delete(
    '/me/identities/:id',
    {
      preValidation: recentAuth,
      schema: { tags: ['User Account'], operationId: 'deleteMyIdentity', params: Type.Object({ id: Type.String({ format: 'uuid' }) }), response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const rows = await ctx.db.query('DELETE FROM linked_identities WHERE id = $1 AND user_uuid = $2 RETURNING id', [request.params.id, p.userUuid]);
      if (!rows[0]) throw notFound('Linked identity not found');
      securityEvent('auth.identity.unlinked', { ...partyOf(p), account_uuid: p.userUuid, identity_id: request.params.id });
      return noContent(reply);
    },
  );

  r.get(
    '/admin/users/:user_id/identities',
    { preValidation: adminRead, schema: { tags: ['Admin - Users'], operationId: 'adminListUserIdentities', params: UserIdParams, response: { 200: MyIdentities, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
    async (request) => {
      const user = await userOr404(request.params.user_id);
      return { primary: { provider: user.provider, email: user.email, name: user.name }, linked: (await listLinked(user.internal_uuid)).map(linkedIdentity) };
    },
  );

  r.delete(
    '/admin/users/:user_id/identities/:identity_id',
    {
      preValidation: adminWrite,
      schema: {
        tags: ['Admin - Users'],
        operationId: 'adminDeleteUserIdentity',
        params: Type.Object({ user_id: Type.String({ format: 'uuid' }), identity_id: Type.String({ format: 'uuid' }) }),
        response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const rows = await ctx.db.query('DELETE FROM linked_identities WHERE id = $1 AND user_uuid = $2 RETURNING id', [request.params.identity_id, request.params.user_id]);
      if (!rows[0]) throw notFound('Linked identity not found');
      securityEvent('auth.identity.unlinked', { ...partyOf(p), account_uuid: request.params.user_id, identity_id: request.params.identity_id });
      return noContent(reply);
    },
  );

  // ---- provider groups ----------------------------------------------------------------------
  r.get(
    '/oauth2/providers/:idp/groups',
    {
      schema: {
        tags: ['Authentication'],
        operationId: 'getProviderGroups',
        params: Type.Object({ idp: Type.String({ maxLength: 100, pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' }) }),
        response: { 200: ProviderGroups, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { idp } = request.params;
      if (!ctx.providers.known(idp)) throw new ApiError(404, 'not_found', `Identity provider ${idp} not found`);
      const rows = await ctx.db.query<{ group_name: string; name: string | null; used: boolean }>(
        `SELECT g.group_name, g.name, EXISTS (SELECT 1 FROM threat_model_access a WHERE a.group_uuid = g.internal_uuid) AS used
         FROM groups g WHERE g.provider = $1 ORDER BY g.group_name LIMIT 1000`,
        [idp],
      );
      const groups = rows.map((g) => ({ name: g.group_name, ...(g.name && g.name !== g.group_name ? { display_name: g.name } : {}), used_in_authorizations: g.used }));
      // The caller's own groups from this provider are known too, even before anyone shares with them.
      if (p.provider === idp) {
        for (const name of p.idpGroups) if (!groups.some((g) => g.name === name)) groups.push({ name, used_in_authorizations: false });
      }
      return { idp, groups: groups.slice(0, 1000) };
    },
  );
}
