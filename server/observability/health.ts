// Probes for orchestrators, beside the reference's GET / (which always answers 200 with a status):
//   GET /healthz  200 while the process serves requests (liveness: restart only a hung process);
//   GET /readyz   200 when the database and the shared store (Redis) answer, else 503 (readiness:
//                 take the instance out of the load balancer, but do not restart it for an outage).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';

const TIMEOUT_MS = 2000;

/** Whether `check` settles successfully within the probe timeout. */
export async function answers(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), TIMEOUT_MS).unref())]);
    return true;
  } catch {
    return false;
  }
}

export function registerHealthProbes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true } }, async (_request, reply) => {
    const [database, redis] = await Promise.all([answers(() => ctx.db.query('SELECT 1')), answers(() => ctx.shared.kv.get('health:probe'))]);
    const ready = database && redis;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', database: database ? 'ok' : 'unavailable', redis: redis ? 'ok' : 'unavailable' });
  });
}
