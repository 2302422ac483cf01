// Rate limits, counted in the shared store (Redis or the database) so that they hold across
// instances:
// - the sign-in endpoints per login_hint and per client address, and the discovery documents per
//   client address, as the reference;
// - the whole API per signed-in user (per minute and per hour, the reference's per-user quota) and
//   per client address (ours).
// Loopback clients are exempt from the address limits, as in the reference. Counter keys are
// hashes of what they count, so no request value reaches the store as it came. When the store
// cannot count one check, that check passes (a limiter must not take sign-in or the API down) and
// every other check of the request still applies.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import type { KeyValueStore } from '../store/shared-state.ts';
import { ApiError } from './errors.ts';
import { metrics } from '../observability/metrics.ts';

const AUTH_FLOW_ROUTES = new Set(['/oauth2/authorize', '/oauth2/callback', '/oauth2/token', '/oauth2/refresh', '/oauth2/introspect', '/oauth2/step_up', '/saml/:provider/login', '/saml/acs', '/saml/slo']);
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const WINDOW_SECONDS = { minute: 60, hour: 3600 } as const;
const TIER_NAMES = { auth: 'Auth flow', public: 'IP', api: 'API' } as const;
/** The `limit` label values of tmi_rate_limit_rejections_total. */
export const RATE_LIMIT_TIERS = Object.keys(TIER_NAMES) as (keyof typeof TIER_NAMES)[];

export interface RateLimitCheck {
  tier: keyof typeof TIER_NAMES;
  scope: 'user' | 'ip';
  window: keyof typeof WINDOW_SECONDS;
  /** What is counted: a login_hint, a client address, a user id. Any length, any bytes. */
  id: string;
  limit: number;
}

/** The store key of a check's counter: fixed length and alphabet, whatever the request sent. */
export function rateLimitKey(check: Omit<RateLimitCheck, 'limit'>): string {
  const digest = createHash('sha256').update(check.id).digest('base64url');
  return `ratelimit:${check.tier}:${check.scope}:${check.window}:${digest}`;
}

function rateLimitHeaders(limit: number, remaining: number, resetSeconds: number): Record<string, string> {
  return {
    // The reference's headers (reset as a Unix time) and the IETF draft's (reset in seconds).
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + resetSeconds),
    'ratelimit-limit': String(limit),
    'ratelimit-remaining': String(remaining),
    'ratelimit-reset': String(resetSeconds),
  };
}

async function enforce(kv: KeyValueStore, request: FastifyRequest, reply: FastifyReply, checks: RateLimitCheck[]): Promise<void> {
  const counted = await Promise.all(
    checks.map(async (check) => {
      try {
        return { check, ...(await kv.increment(rateLimitKey(check), WINDOW_SECONDS[check.window])) };
      } catch (err) {
        request.log.warn({ err: (err as Error).message, check: `${check.tier}:${check.scope}:${check.window}` }, 'rate limit store failed; this check passes');
        return undefined;
      }
    }),
  );
  let tightest: { limit: number; remaining: number; resetSeconds: number } | undefined;
  for (const c of counted) {
    if (!c) continue;
    const { check, count, resetSeconds } = c;
    if (count > check.limit) {
      metrics.rateLimited(check.tier, check.scope);
      throw new ApiError(
        429,
        'rate_limit_exceeded',
        `${TIER_NAMES[check.tier]} rate limit exceeded (${check.scope} scope): ${check.limit} requests per ${check.window}; retry after ${resetSeconds} seconds`,
        { 'retry-after': String(resetSeconds), ...rateLimitHeaders(check.limit, 0, resetSeconds), 'x-ratelimit-scope': check.scope },
      );
    }
    const remaining = check.limit - count;
    if (!tightest || remaining < tightest.remaining) tightest = { limit: check.limit, remaining, resetSeconds };
  }
  // A request passes two sets of checks (before and after authentication); the headers tell the
  // tightest of all.
  const earlier = reply.getHeader('x-ratelimit-remaining');
  if (tightest && (earlier === undefined || tightest.remaining < Number(earlier))) {
    reply.headers(rateLimitHeaders(tightest.limit, tightest.remaining, tightest.resetSeconds));
  }
}

function firstString(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' ? v : undefined;
}

/** The limits by client address and by login_hint: early, before anything else looks at the request. */
export function registerRateLimits(app: FastifyInstance, config: Config, kv: KeyValueStore): void {
  const rl = config.rateLimit;
  app.addHook('onRequest', async (request, reply) => {
    const ip = request.ip;
    const byAddress = !LOOPBACK.test(ip);
    const route = request.routeOptions.url;
    const checks: RateLimitCheck[] = [];
    if (rl.authFlowEnabled && route && AUTH_FLOW_ROUTES.has(route)) {
      const hint = firstString((request.query as Record<string, unknown> | undefined)?.login_hint)?.trim().toLowerCase();
      if (hint) checks.push({ tier: 'auth', scope: 'user', window: 'minute', id: hint, limit: rl.authUserPerMinute });
      if (byAddress) checks.push({ tier: 'auth', scope: 'ip', window: 'minute', id: ip, limit: rl.authIpPerMinute });
    } else if (rl.publicEnabled && byAddress && request.url.startsWith('/.well-known/')) {
      checks.push({ tier: 'public', scope: 'ip', window: 'minute', id: ip, limit: rl.publicPerMinute });
    }
    if (rl.apiIpPerMinute > 0 && byAddress) checks.push({ tier: 'api', scope: 'ip', window: 'minute', id: ip, limit: rl.apiIpPerMinute });
    if (checks.length) await enforce(kv, request, reply, checks);
  });
}

/** The limits per signed-in user: register after authentication, whose principal they count. */
export function registerUserRateLimits(
  app: FastifyInstance,
  kv: KeyValueStore,
  /** A user's own API request quota set by an administrator (replaces the default limits). */
  quotaOf: (userUuid: string) => Promise<{ minute: number; hour: number | null } | null>,
  /** The limits of a user without a quota of their own (runtime settings, so asked on each request). */
  defaultQuota: () => Promise<{ minute: number; hour: number }>,
): void {
  app.addHook('preValidation', async (request, reply) => {
    const user = request.principal?.userUuid;
    if (!user) return;
    const own = await quotaOf(user);
    const { minute: perMinute, hour: perHour } = own ? { minute: own.minute, hour: own.hour ?? 0 } : await defaultQuota();
    const checks: RateLimitCheck[] = [];
    if (perMinute > 0) checks.push({ tier: 'api', scope: 'user', window: 'minute', id: user, limit: perMinute });
    if (perHour > 0) checks.push({ tier: 'api', scope: 'user', window: 'hour', id: user, limit: perHour });
    await enforce(kv, request, reply, checks);
  });
}
