// Authentication of every request that is not public: `Authorization: Bearer` wins over the
// `tmi_access_token` cookie, a malformed Authorization header is 401 with no fallback, and a
// revoked token or session is refused. Routes opt out with `config: { public: true }`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, unauthorized } from '../http/errors.ts';
import type { AccessClaims, TokenService } from './tokens.ts';
import type { SessionService } from './sessions.ts';
import type { UserService } from './users.ts';

export const ACCESS_COOKIE = 'tmi_access_token';
export const REFRESH_COOKIE = 'tmi_refresh_token';

export interface Principal {
  userUuid: string;
  provider: string;
  providerId: string;
  email: string;
  name: string;
  /** IdP groups and TMI group names from the token. */
  groups: string[];
  claims: AccessClaims;
  token: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without a token. */
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Returns the token the request carries, or null; throws 401 for a malformed Authorization header. */
export function extractToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const parts = header.split(' ');
    if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer' || !parts[1]) {
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
    if (token.length > 8192) throw unauthorized('Invalid token');
    let claims: AccessClaims;
    try {
      claims = await this.tokens.verify(token);
    } catch {
      throw unauthorized('Invalid or expired token');
    }
    let revoked: boolean;
    try {
      revoked = await this.sessions.isRevoked(claims.jti, claims.sid);
    } catch {
      throw new ApiError(503, 'service_unavailable', 'Authentication service temporarily unavailable - please retry', { 'retry-after': '5' });
    }
    if (revoked) throw unauthorized('Token has been revoked');
    const user = await this.users.byProviderId(claims.idp, claims.sub);
    if (!user) throw unauthorized('User not found');
    return {
      userUuid: user.internal_uuid,
      provider: claims.idp,
      providerId: claims.sub,
      email: user.email,
      name: user.name,
      groups: Array.isArray(claims.groups) ? claims.groups.filter((g): g is string => typeof g === 'string') : [],
      claims,
      token,
    };
  }

  async authenticate(request: FastifyRequest): Promise<Principal> {
    if (request.principal) return request.principal;
    const token = extractToken(request);
    if (!token) throw unauthorized();
    request.principal = await this.principalFor(token);
    return request.principal;
  }
}

export function registerAuthentication(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', undefined);
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
