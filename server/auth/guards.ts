// Route guards for what authentication alone does not settle: an interactive sign-in (not a
// service account), a recent one (step-up), administrators. Each is a route-level preValidation
// hook, so it runs after authentication (401 first) and before the body is validated.
//
//   r.post('/admin/x', { preValidation: requireAdministrator(ctx, { recentAuth: true }) }, handler)
import type { FastifyRequest, preValidationHookHandler } from 'fastify';
import type { AppContext } from '../context.ts';
import { ApiError, forbidden } from '../http/errors.ts';
import { principalOf, type Principal } from './authenticate.ts';

/** 403 for service-account tokens: `what` completes "Service accounts cannot ...". */
export function refuseServiceAccounts(p: Principal, what: string): void {
  if (p.serviceAccount) throw forbidden(`Service accounts cannot ${what}`);
}

export const requireInteractive =
  (what: string): preValidationHookHandler =>
  async (request: FastifyRequest) => {
    refuseServiceAccounts(principalOf(request), what);
  };

/**
 * The reference's step-up answer (RFC 9470): 401 insufficient_user_authentication, with the
 * largest acceptable age in WWW-Authenticate and the way to a fresh sign-in in the description.
 */
export function insufficientAuthentication(windowSeconds: number): ApiError {
  const description = `Recent re-authentication required: sign in again within the last ${windowSeconds} seconds (GET /oauth2/step_up), then retry`;
  return new ApiError(401, 'insufficient_user_authentication', description, {
    'www-authenticate': `Bearer realm="tmi", error="insufficient_user_authentication", error_description="${description}", max_age=${windowSeconds}`,
  });
}

/** Throws unless the principal signed in interactively within the step-up window. */
export function checkRecentAuth(p: Principal, windowSeconds: number, now = Math.floor(Date.now() / 1000)): void {
  // A client secret proves no person is present, however fresh the token.
  refuseServiceAccounts(p, 'perform operations that require a recent interactive sign-in');
  const authTime = p.claims.auth_time;
  if (typeof authTime !== 'number' || authTime + windowSeconds < now) throw insufficientAuthentication(windowSeconds);
}

/** Writes that need a recent interactive sign-in (TMI_AUTH_STEP_UP_WINDOW_SECONDS, default 300). */
export const requireRecentAuth =
  (ctx: AppContext): preValidationHookHandler =>
  async (request: FastifyRequest) => {
    checkRecentAuth(principalOf(request), await ctx.settings.int('auth.step_up_window_seconds'));
  };

/**
 * Administrators only, by their live membership (not the token's claim); service accounts never
 * (the reference's rule); with `recentAuth`, also a recent interactive sign-in (administrative writes).
 */
export const requireAdministrator =
  (ctx: AppContext, opts: { recentAuth: boolean }): preValidationHookHandler =>
  async (request: FastifyRequest) => {
    const p = principalOf(request);
    if (p.serviceAccount) throw forbidden('Administrative operations require interactive authentication');
    const admin = await ctx.users.isAdministrator(p.userUuid, p.idpGroups, p.provider, ctx.config.auth.administrators);
    if (!admin) throw forbidden('Administrator role required');
    if (opts.recentAuth) checkRecentAuth(p, await ctx.settings.int('auth.step_up_window_seconds'));
  };
