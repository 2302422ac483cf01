// Rate limits where the reference has them: the sign-in endpoints per login_hint and per client IP,
// and the discovery documents per client IP. Counters live in the shared store (Redis or the
// database), so the limits hold across instances. Loopback clients are exempt from the IP limits,
// as in the reference. When the store fails, requests pass (a limiter must not take sign-in down).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import type { KeyValueStore } from '../store/shared-state.ts';
import { ApiError } from './errors.ts';
import { metrics } from '../observability/metrics.ts';

const WINDOW_SECONDS = 60;
const AUTH_FLOW_ROUTES = new Set(['/oauth2/authorize', '/oauth2/callback', '/oauth2/token', '/oauth2/refresh', '/oauth2/introspect']);
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

interface Scope {
  name: 'user' | 'ip';
  key: string;
  limit: number;
}

async function enforce(kv: KeyValueStore, request: FastifyRequest, reply: FastifyReply, scopes: Scope[], what: string): Promise<void> {
  let tightest: { limit: number; remaining: number; reset: number } | undefined;
  for (const scope of scopes) {
    let count: number;
    let resetSeconds: number;
    try {
      ({ count, resetSeconds } = await kv.increment(`ratelimit:${scope.key}`, WINDOW_SECONDS));
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'rate limit store unavailable; request allowed');
      return;
    }
    const reset = Math.floor(Date.now() / 1000) + resetSeconds;
    if (count > scope.limit) {
      metrics.rateLimited(what === 'IP' ? 'public' : 'auth_flow', scope.name);
      throw new ApiError(429, 'rate_limit_exceeded', `${what} rate limit exceeded (${scope.name} scope); retry after ${resetSeconds} seconds`, {
        'retry-after': String(resetSeconds),
        'x-ratelimit-limit': String(scope.limit),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(reset),
        'x-ratelimit-scope': scope.name,
      });
    }
    const remaining = scope.limit - count;
    if (!tightest || remaining < tightest.remaining) tightest = { limit: scope.limit, remaining, reset };
  }
  if (tightest) {
    reply.header('x-ratelimit-limit', String(tightest.limit));
    reply.header('x-ratelimit-remaining', String(tightest.remaining));
    reply.header('x-ratelimit-reset', String(tightest.reset));
  }
}

export function registerRateLimits(app: FastifyInstance, config: Config, kv: KeyValueStore): void {
  const rl = config.rateLimit;
  if (!rl.authFlowEnabled && !rl.publicEnabled) return;
  app.addHook('onRequest', async (request, reply) => {
    const ip = request.ip;
    const ipLimited = !LOOPBACK.test(ip);
    const route = request.routeOptions.url;
    if (rl.authFlowEnabled && route && AUTH_FLOW_ROUTES.has(route)) {
      const scopes: Scope[] = [];
      const hint = (request.query as Record<string, unknown> | undefined)?.login_hint;
      if (typeof hint === 'string' && hint.trim()) {
        scopes.push({ name: 'user', key: `auth:user:${hint.trim().toLowerCase().slice(0, 254)}`, limit: rl.authUserPerMinute });
      }
      if (ipLimited) scopes.push({ name: 'ip', key: `auth:ip:${ip}`, limit: rl.authIpPerMinute });
      return enforce(kv, request, reply, scopes, 'Auth flow');
    }
    if (rl.publicEnabled && ipLimited && request.url.startsWith('/.well-known/')) {
      return enforce(kv, request, reply, [{ name: 'ip', key: `public:ip:${ip}`, limit: rl.publicPerMinute }], 'IP');
    }
  });
}
