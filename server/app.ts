// Assembles the Fastify app from its parts. main.ts listens with it; tests drive it in-process.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import { registerAjvFormats } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { CollabSettings, Config } from './config.ts';
import type { AppContext } from './context.ts';
import { registerBodyParsing } from './http/body.ts';
import { ApiError, badRequest, notFound, registerErrorHandling, sendError } from './http/errors.ts';
import { registerSecurity } from './http/security.ts';
import { registerRateLimits, registerUserRateLimits } from './http/rate-limit.ts';
import { registerOpenApi } from './http/openapi.ts';
import { cachedSerializerCompiler, cachedValidatorCompiler } from './http/schema-compilers.ts';
import { registerAuthentication } from './auth/authenticate.ts';
import { authRoutes } from './auth/routes.ts';
import { systemRoutes } from './http/system-routes.ts';
import { resourceRoutes } from './resources/routes.ts';
import { collabRoutes } from './collab/routes.ts';
import { webRoutes } from './http/web.ts';
import { registerSecurityEvents } from './security-events.ts';
import { adminRoutes } from './admin/index.ts';
import { ApiQuotas } from './admin/quotas.ts';
import { UUID_RE } from '../contract/common.ts';
import { registerMetrics } from './observability/metrics.ts';
import { registerTracing } from './observability/tracing.ts';
import { registerHealthProbes } from './observability/health.ts';

registerAjvFormats();

/** Path ids that are integers in the reference (triage notes are numbered per survey response). */
const INTEGER_ID_PARAMS = new Set(['triage_note_id']);

/** Paths reachable without a token even when no route matches (so they answer 404, not 401). */
const PUBLIC_PREFIXES = ['/.well-known/', '/oauth2/', '/saml/', '/static/', '/assets/'];
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_PATH_PARAM = 200;

export interface AppOptions {
  logger?: Logger | false;
  /** Extra routes added after the built-in ones (tests use it for routes that fail on purpose). */
  plugins?: ((app: FastifyInstance, ctx: AppContext) => void | Promise<void>)[];
  /** Collaboration limits and timings over TMI_COLLAB_* (tests shorten them). */
  collab?: Partial<CollabSettings>;
  /** Where the built web app lives (default web/dist); tests use a fixture. */
  webDistDir?: string;
}

/**
 * Fastify's own number setting trusts no hop at all, so a hop count becomes the classic rule: the
 * first `hops` addresses, from the connection backwards, are our proxies; the next one is the client.
 */
function proxyTrust(setting: Config['server']['trustProxy']): FastifyServerOptions['trustProxy'] {
  return typeof setting === 'number' ? (_address: string, hop: number) => hop < setting : setting;
}

export async function buildApp(ctx: AppContext, opts: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = ctx;
  const app = Fastify({
    loggerInstance: opts.logger || undefined,
    logger: opts.logger === undefined ? false : undefined,
    // Our own onResponse hook writes one line per request; Fastify's two lines would repeat it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: proxyTrust(config.server.trustProxy),
    routerOptions: { maxParamLength: 512, ignoreDuplicateSlashes: false },
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    },
    requestTimeout: 30_000,
    return503OnClosing: true,
    ...(config.server.tls.enabled
      ? {
          https: {
            cert: readFileSync(config.server.tls.certFile),
            key: readFileSync(config.server.tls.keyFile),
            minVersion: 'TLSv1.2',
            servername: config.server.tls.subjectName,
          },
        }
      : {}),
  } as FastifyServerOptions);
  app.setValidatorCompiler(cachedValidatorCompiler);
  app.setSerializerCompiler(cachedSerializerCompiler);
  registerSecurityEvents(app);

  // Unknown paths: 401 first for private ones (as the reference), then 405 when another method
  // exists for the path, else 404.
  const routePatterns: { re: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    const re = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}/?$`);
    const existing = routePatterns.find((p) => p.re.source === re.source);
    const methods = [route.method].flat().map((m) => m.toUpperCase());
    if (existing) methods.forEach((m) => existing.methods.add(m));
    else routePatterns.push({ re, methods: new Set(methods) });
  });

  await app.register(fastifyCookie);
  registerErrorHandling(app);
  registerSecurity(app, config);
  registerBodyParsing(app);
  registerRateLimits(app, config, ctx.shared.kv);
  registerMetrics(app, ctx);
  registerTracing(app);
  registerOpenApi(app, { title: 'TMI (Threat Modeling Improved) API', version: config.version });

  // Path ids are checked before authentication, as the reference does (400 invalid_id first).
  // PostgreSQL refuses NUL in text, so a NUL anywhere in the path or the query is refused here
  // rather than failing in SQL (the bodies' parsers refuse it too).
  app.addHook('onRequest', async (request) => {
    const params = (request.params ?? {}) as Record<string, string>;
    for (const [name, value] of Object.entries(params)) {
      if (value.length > MAX_PATH_PARAM) throw badRequest(`Path parameter ${name} is too long`, 'invalid_id');
      if (value.includes('\u0000')) throw badRequest(`Path parameter ${name} contains a NUL character`, 'invalid_id');
      if (INTEGER_ID_PARAMS.has(name)) {
        if (!/^[1-9][0-9]{0,9}$/.test(value)) throw badRequest(`Invalid id for parameter: ${name} (a positive integer)`, 'invalid_id');
      } else if ((name === 'id' || name.endsWith('_id')) && !UUID_RE.test(value)) {
        throw badRequest(`Invalid UUID format for parameter: ${name}`, 'invalid_id');
      }
    }
    const query = (request.query ?? {}) as Record<string, string | string[]>;
    for (const [name, value] of Object.entries(query)) {
      if (name.includes('\u0000') || [value].flat().some((v) => v.includes('\u0000'))) {
        throw badRequest(`Query parameter ${name.replace(/\u0000/g, '')} contains a NUL character`);
      }
    }
  });

  registerAuthentication(app, ctx.authenticator);
  const apiQuotas = new ApiQuotas(ctx.db);
  registerUserRateLimits(app, ctx.shared.kv, (uuid) => apiQuotas.of(uuid), async () => ({
    minute: await ctx.settings.int('rate_limit.api_user_per_minute'),
    hour: await ctx.settings.int('rate_limit.api_user_per_hour'),
  }));

  // One structured line per request: id, user, method, route, status, latency. No query values
  // (they may carry codes or tickets), no headers (they carry tokens).
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        user: request.principal ? `${request.principal.provider}:${request.principal.providerId}` : undefined,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        path: request.url.split('?')[0],
        status: reply.statusCode,
        latency_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (!PUBLIC_PREFIXES.some((p) => path.startsWith(p))) await ctx.authenticator.authenticate(request);
    const allowed = new Set<string>();
    for (const p of routePatterns) if (p.re.test(path)) p.methods.forEach((m) => allowed.add(m));
    if (allowed.size > 0) {
      if (allowed.has('GET')) allowed.add('HEAD');
      allowed.add('OPTIONS');
      reply.header('allow', [...allowed].sort().join(', '));
      return sendError(reply, new ApiError(405, 'method_not_allowed', `Method ${request.method} is not allowed on ${path}`));
    }
    return sendError(reply, notFound(`No resource at ${path}`));
  });

  systemRoutes(app, ctx);
  registerHealthProbes(app, ctx);
  authRoutes(app, ctx);
  adminRoutes(app, ctx, apiQuotas);
  resourceRoutes(app, ctx);
  await collabRoutes(app, ctx, opts.collab);
  for (const plugin of opts.plugins ?? []) await plugin(app, ctx);
  await webRoutes(app, { distDir: opts.webDistDir, baseUrl: config.server.baseUrl });

  await app.ready();
  return app;
}
