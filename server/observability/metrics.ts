// Prometheus metrics (prom-client): requests per route, latency, sign-ins, rate-limit rejections,
// collaboration, database pool and Redis health, and Node's own (event-loop lag, heap, GC).
// Exposed on a port of their own (TMI_OTEL_PROMETHEUS_PORT) and/or at /metrics on the API port
// behind a bearer token (TMI_METRICS_TOKEN); never to anonymous callers of the API port.
//
// One registry per process: the counters below are called from wherever the event happens
// (`metrics.signIn('google', 'success')`), and labels only ever take values from code or
// configuration (route patterns, provider ids), never from requests, so their number stays small.
import { createServer, type Server } from 'node:http';
import { X509Certificate, createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppContext } from '../context.ts';
import { answers } from './health.ts';
import { notFound } from '../http/errors.ts';

const registry = new Registry();
registry.setDefaultLabels({ service: 'tmi' });
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

const httpRequests = new Counter({
  name: 'tmi_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status code',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});
const httpDuration = new Histogram({
  name: 'tmi_http_request_duration_seconds',
  help: 'Time to answer an HTTP request, by method and route pattern',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
const httpErrors = new Counter({
  name: 'tmi_http_server_errors_total',
  help: 'HTTP requests answered with a 5xx status, by method and route pattern',
  labelNames: ['method', 'route'] as const,
  registers: [registry],
});
const unauthorized = new Counter({
  name: 'tmi_http_unauthorized_total',
  help: 'Requests refused with 401 (no or bad credentials) or 403 (not allowed), by status',
  labelNames: ['status'] as const,
  registers: [registry],
});
const signIns = new Counter({
  name: 'tmi_sign_ins_total',
  help: 'Completed and failed sign-ins, by identity provider and outcome (success | failure)',
  labelNames: ['provider', 'outcome'] as const,
  registers: [registry],
});
const rateLimited = new Counter({
  name: 'tmi_rate_limit_rejections_total',
  help: 'Requests refused with 429 by a rate limit, by limit and scope (user | ip)',
  labelNames: ['limit', 'scope'] as const,
  registers: [registry],
});
const collabOperations = new Counter({
  name: 'tmi_collab_operations_total',
  help: 'Diagram operations received over collaboration sockets, by outcome',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** Live things counted when scraped: collaboration hubs and database pools of this process. */
interface CollabSource {
  sessionCount: number;
  socketCount: number;
}
const collabSources = new Set<CollabSource>();
new Gauge({
  name: 'tmi_collab_sessions',
  help: 'Collaboration sessions with at least one socket on this instance',
  registers: [registry],
  collect() {
    this.set([...collabSources].reduce((n, s) => n + s.sessionCount, 0));
  },
});
new Gauge({
  name: 'tmi_collab_sockets',
  help: 'Open collaboration sockets on this instance',
  registers: [registry],
  collect() {
    this.set([...collabSources].reduce((n, s) => n + s.socketCount, 0));
  },
});

interface HealthSource {
  ctx: AppContext;
}
const healthSources = new Set<HealthSource>();
new Gauge({
  name: 'tmi_database_up',
  help: '1 when the database answered a probe query at scrape time, else 0',
  registers: [registry],
  async collect() {
    const [source] = healthSources;
    if (source) this.set((await answers(() => source.ctx.db.query('SELECT 1'))) ? 1 : 0);
  },
});
new Gauge({
  name: 'tmi_redis_up',
  help: '1 when the shared store (Redis, or the database without Redis) answered at scrape time, else 0',
  registers: [registry],
  async collect() {
    const [source] = healthSources;
    if (source) this.set((await answers(() => source.ctx.shared.kv.get('health:probe'))) ? 1 : 0);
  },
});
new Gauge({
  name: 'tmi_database_pool_connections',
  help: 'PostgreSQL pool connections by state (total | idle | waiting: requests queued for a connection)',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    const [source] = healthSources;
    const stats = source?.ctx.db.poolStats?.();
    if (!stats) return;
    this.set({ state: 'total' }, stats.total);
    this.set({ state: 'idle' }, stats.idle);
    this.set({ state: 'waiting' }, stats.waiting);
  },
});

new Gauge({
  name: 'tmi_tls_certificate_expiry_timestamp_seconds',
  help: 'When the certificate TMI serves (TMI_SERVER_TLS_CERT_FILE) expires, as a Unix time; read at scrape time, so a renewed file shows at once',
  registers: [registry],
  collect() {
    const [source] = healthSources;
    const tls = source?.ctx.config.server.tls;
    if (!tls?.enabled) return;
    try {
      this.set(Date.parse(new X509Certificate(readFileSync(tls.certFile)).validTo) / 1000);
    } catch {
      this.set(0); // unreadable: alert as if expired
    }
  },
});

export const metrics = {
  /** A sign-in through `provider` completed (tokens issued) or failed (refused upstream, bad exchange). */
  signIn(provider: string, outcome: 'success' | 'failure'): void {
    signIns.inc({ provider, outcome });
  },
  /** A request refused by the rate limit tier `limit` ('auth' | 'public' | 'api') in `scope` ('ip' | 'user'). */
  rateLimited(limit: string, scope: string): void {
    rateLimited.inc({ limit, scope });
  },
  /** A collaboration operation's outcome (applied | duplicate | noop | rejected | ended). */
  collabOperation(outcome: string): void {
    collabOperations.inc({ outcome });
  },
  /** Counts a collaboration hub's sessions and sockets until the returned function is called. */
  watchCollab(source: CollabSource): () => void {
    collabSources.add(source);
    return () => collabSources.delete(source);
  },
  /** The exposition text (tests, and the two endpoints below). */
  async text(): Promise<string> {
    return registry.metrics();
  },
  contentType: registry.contentType,
};

function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Counts every answered request, and serves the metrics: at /metrics behind TMI_METRICS_TOKEN,
 * and on TMI_OTEL_PROMETHEUS_PORT (its own listener, started when the app listens).
 */
export function registerMetrics(app: FastifyInstance, ctx: AppContext): void {
  const { port, interface: host } = ctx.config.operations.metrics;
  const source: HealthSource = { ctx };
  healthSources.add(source);

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    const status = reply.statusCode;
    httpRequests.inc({ method, route, status: String(status) });
    httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
    if (status >= 500) httpErrors.inc({ method, route });
    if (status === 401 || status === 403) unauthorized.inc({ status: String(status) });
  });

  // The token is a runtime setting (observability.metrics_token, TMI_METRICS_TOKEN): asked on each
  // scrape, so an administrator can set or change it without a restart. Without one, /metrics is
  // not served here: the answer is what an unknown path gets (401 anonymous, else 404).
  app.get('/metrics', { config: { public: true } }, async (request, reply) => {
    const token = await ctx.settings.value('observability.metrics_token');
    if (!token) {
      await ctx.authenticator.authenticate(request);
      throw notFound(`No resource at ${request.url.split('?')[0]}`);
    }
    {
      const header = request.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!given || !sameToken(given, token)) {
        return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').send({ error: 'unauthorized', error_description: 'A valid metrics token is required' });
      }
      return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(await registry.metrics());
    }
  });

  let server: Server | undefined;
  if (port) {
    app.addHook('onListen', async () => {
      server = createServer((req, res) => {
        if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text),
          () => res.writeHead(500).end(),
        );
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => resolve());
      });
      app.log.info({ port, interface: host }, 'metrics listening');
    });
  }
  app.addHook('onClose', async () => {
    healthSources.delete(source);
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  });
}
