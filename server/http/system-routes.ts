// GET / (health and version, as the reference's ApiInfo), GET /config (what web clients need).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { cacheable } from './security.ts';

/** The reference API version this server is wire-compatible with. */
export const API_VERSION = '1.8.22';

/** One probe of a store, bounded; the reference's ComponentHealth. */
async function componentHealth(name: string, check: () => Promise<unknown>) {
  const started = performance.now();
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
    return { status: 'healthy', latency_ms: Math.round(performance.now() - started), message: `${name} is responsive` };
  } catch {
    return { status: 'unhealthy', latency_ms: Math.round(performance.now() - started), message: `${name} cannot be reached` };
  }
}

export function systemRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/', { config: { public: true }, schema: { tags: ['General'], operationId: 'getApiInfo' } }, async (request) => {
    // While a store is down the answer stays 200 with status "degraded" and the failing part named,
    // as the reference's ApiInfo describes; the requests that need the store are the ones that 503.
    const [database, redis] = await Promise.all([
      componentHealth('Database', () => ctx.db.query('SELECT 1')),
      componentHealth(ctx.shared.kind === 'redis' ? 'Redis' : 'Shared state store', () => ctx.shared.kv.get('health:probe')),
    ]);
    const healthy = database.status === 'healthy' && redis.status === 'healthy';
    return {
      status: { code: healthy ? 'ok' : 'degraded', time: new Date().toISOString() },
      service: { name: 'TMI (Threat Modeling Improved)', build: ctx.config.version },
      api: { version: API_VERSION, specification: `${request.protocol}://${request.host}/openapi.json` },
      ...(healthy ? {} : { health: { database, redis } }),
    };
  });

  app.get('/config', { config: { public: true }, schema: { tags: ['General'], operationId: 'getClientConfig' } }, async (_request, reply) => {
    cacheable(reply, 300);
    return {
      features: { websocket_enabled: true, saml_enabled: false, webhooks_enabled: false, timmy_enabled: false },
      limits: { max_file_upload_mb: Math.floor(ctx.config.server.bodyLimitBytes / (1024 * 1024)), max_diagram_participants: 50 },
      ui: { default_theme: 'auto' },
    };
  });
}
