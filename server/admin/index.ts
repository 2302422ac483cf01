// Administration and the person's own account (issue 14): every route of server/admin.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { adminUserRoutes } from './routes.ts';
import { groupRoutes } from './groups.ts';
import { selfServiceRoutes } from './account.ts';

export function adminRoutes(app: FastifyInstance, ctx: AppContext): void {
  adminUserRoutes(app, ctx);
  groupRoutes(app, ctx);
  selfServiceRoutes(app, ctx);
}
