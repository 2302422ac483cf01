// HTTP for assets: the generic routes of threat-model children with the asset family's spec.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { registerChildRoutes } from '../children/routes.ts';
import { assetSpec } from './family.ts';

export function assetRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerChildRoutes(app, ctx, assetSpec);
}
