// Administration and the person's own account (issue 14): every route of server/admin, and the
// people-and-groups search of the sharing dialog (directory.ts).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { adminUserRoutes } from './routes.ts';
import { groupRoutes } from './groups.ts';
import { selfServiceRoutes } from './account.ts';
import { auditRoutes, pruneSystemAudit } from './audit-routes.ts';
import { ApiQuotas, quotaRoutes } from './quotas.ts';
import { directoryRoutes } from './directory.ts';
import { settingsRoutes } from './settings.ts';

/** How often each instance prunes the system audit log (deletes are idempotent across instances). */
const PRUNE_EVERY_MS = 6 * 3600 * 1000;

export function adminRoutes(app: FastifyInstance, ctx: AppContext, apiQuotas: ApiQuotas): void {
  adminUserRoutes(app, ctx);
  groupRoutes(app, ctx);
  selfServiceRoutes(app, ctx);
  auditRoutes(app, ctx);
  quotaRoutes(app, ctx, apiQuotas);
  directoryRoutes(app, ctx);
  settingsRoutes(app, ctx);
  // The retention is a runtime setting: each pass uses the value of the moment.
  const prune = () =>
    void ctx.settings
      .int('audit.system_retention_days')
      .then((days) => pruneSystemAudit(ctx.db, days))
      .catch((err: unknown) => app.log.warn({ err }, 'system audit pruning failed'));
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(prune, PRUNE_EVERY_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}
