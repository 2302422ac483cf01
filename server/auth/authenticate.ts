// Authentication of every request that is not public: `Authorization: Bearer` wins over the
// `tmi_access_token` cookie, a malformed Authorization header is 401 with no fallback, and a
// revoked token or session is refused. Routes opt out with `config: { public: true }`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, unauthorized } from '../http/errors.ts';
import { tokenRejected, verificationFailure } from '../security-events.ts';
import type { AccessClaims, TokenService } from './tokens.ts';
import type { SessionService } from './sessions.ts';
import type { UserService } from './users.ts';
import { BUILT_IN_GROUPS } from '../authz/index.ts';
import { parseServiceAccountSubject } from './client-credentials.ts';

export const ACCESS_COOKIE = 'tmi_access_token';
export const REFRESH_COOKIE = 'tmi_refresh_token';

export interface Principal {
  userUuid: string;
  provider: string;
  providerId: string;
  email: string;
  name: string;
  /**
   * Group names the identity provider asserted (the token's `groups` claim). They name groups of
   * `provider` only and never grant TMI's own groups.
   */
  idpGroups: string[];
  /**
   * Ids of the TMI groups the user belongs to, read from the database (not from the token), so a
   * membership change reaches live tokens: at once on this instance, within UserService.CACHE_MS
   * on the others.
   */
  tmiGroupIds: string[];
  claims: AccessClaims;
  token: string;
  /**
   * Set when the token was minted for a client credential (grant_type=client_credentials): the
   * principal acts as the credential's owner, without the owner's administrator role, and is
   * refused wherever an interactive sign-in is required.
   */
  serviceAccount?: { credentialId: string };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without a token. */
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
    /** A read's revocation check, still running while the handler works. */
    pendingRevocation?: Promise<'valid' | 'revoked' | 'unavailable'>;
  }
}

/** Returns the token the request carries, or null; throws 401 for a malformed Authorization header. */
export function extractToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const parts = header.split(' ');
    if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer' || !parts[1]) {
      tokenRejected('malformed_header');
      throw unauthorized('Malformed Authorization header; expected "Bearer <token>"');
    }
    return parts[1];
  }
  return request.cookies?.[ACCESS_COOKIE] ?? null;
}

export class Authenticator {
  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionService,
    private readonly users: UserService,
  ) {}

  /** Verifies a token and resolves its user; throws 401 (or 503 when the session store is down). */
  async principalFor(token: string): Promise<Principal> {
    const { principal, revocation } = await this.resolve(token);
    throwIfRevoked(await revocation);
    return principal;
  }

  /**
   * Verifies the token and starts the revocation check without waiting for it, so that the check
   * and the user lookup (or, for reads, the handler's own query) run at the same time.
   */
  private async resolve(token: string): Promise<{ principal: Principal; revocation: Promise<RevocationState> }> {
    if (token.length > 8192) {
      tokenRejected('too_long');
      throw unauthorized('Invalid token');
    }
    let claims: AccessClaims;
    try {
      claims = await this.tokens.verify(token);
    } catch (err) {
      tokenRejected(verificationFailure(err));
      throw unauthorized('Invalid or expired token');
    }
    const who = { provider: claims.idp, provider_id: claims.sub, session_id: claims.sid };
    const revocation = this.sessions.isRevoked(claims.jti, claims.sid).then(
      (revoked): RevocationState => {
        // Every caller refuses a revoked token, so it is logged where it is found.
        if (revoked) tokenRejected('revoked', who);
        return revoked ? 'revoked' : 'valid';
      },
      (): RevocationState => 'unavailable',
    );
    const serviceAccount = parseServiceAccountSubject(claims.sub);
    const found = await this.users.forToken(claims.idp, serviceAccount ? serviceAccount.ownerSubject : claims.sub);
    if (!found) {
      // A revoked token says so, rather than "user not found".
      throwIfRevoked(await revocation);
      tokenRejected('unknown_user', who);
      throw unauthorized('User not found');
    }
    const { user, tmiGroupIds } = found;
    return {
      principal: {
        userUuid: user.internal_uuid,
        provider: claims.idp,
        providerId: serviceAccount ? serviceAccount.ownerSubject : claims.sub,
        email: user.email,
        name: user.name,
        idpGroups: !serviceAccount && Array.isArray(claims.groups) ? claims.groups.filter((g): g is string => typeof g === 'string') : [],
        tmiGroupIds: serviceAccount ? tmiGroupIds.filter((id) => id !== BUILT_IN_GROUPS.administrators) : tmiGroupIds,
        claims,
        token,
        ...(serviceAccount ? { serviceAccount: { credentialId: serviceAccount.credentialId } } : {}),
      },
      revocation,
    };
  }

  async authenticate(request: FastifyRequest): Promise<Principal> {
    if (request.principal) return request.principal;
    const token = extractToken(request);
    if (!token) throw unauthorized();
    const { principal, revocation } = await this.resolve(token);
    if ((request.method === 'GET' || request.method === 'HEAD') && request.headers.upgrade === undefined) {
      // Reads have no effect a caller could see before the response, so the handler may run
      // while the revocation check is under way; the response waits for it (onSend below).
      // A WebSocket upgrade never passes through onSend, so it waits for the check here.
      request.pendingRevocation = revocation;
    } else {
      throwIfRevoked(await revocation);
    }
    request.principal = principal;
    return principal;
  }
}

type RevocationState = 'valid' | 'revoked' | 'unavailable';

function revocationError(state: RevocationState): ApiError | null {
  if (state === 'revoked') return unauthorized('Token has been revoked');
  if (state === 'unavailable') {
    return new ApiError(503, 'service_unavailable', 'Authentication service temporarily unavailable - please retry', { 'retry-after': '5' });
  }
  return null;
}

function throwIfRevoked(state: RevocationState): void {
  const err = revocationError(state);
  if (err) throw err;
}

export function registerAuthentication(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('pendingRevocation', undefined);
  // Nothing leaves for a read whose token turns out to be revoked: the prepared answer is replaced
  // by the 401 (or 503 when the check could not be made).
  app.addHook('onSend', async (request, reply, payload) => {
    const pending = request.pendingRevocation;
    if (!pending) return payload;
    request.pendingRevocation = undefined;
    const err = revocationError(await pending);
    if (!err) return payload;
    for (const h of ['etag', 'location', 'last-modified', 'content-disposition']) reply.removeHeader(h);
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    reply.code(err.status).header('content-type', 'application/json; charset=utf-8');
    return JSON.stringify({ error: err.code, error_description: err.description });
  });
  // preValidation: after the body is parsed (malformed JSON is 400 first, as the reference), before
  // schema validation (so an anonymous caller learns nothing about a route's body rules).
  app.addHook('preValidation', async (request) => {
    // Unmatched paths are handled (and authenticated) by the not-found handler.
    if (request.is404 || request.routeOptions.config?.public) return;
    await authenticator.authenticate(request);
  });
}

/** The principal of an authenticated route; routes behind the hook always have one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}
