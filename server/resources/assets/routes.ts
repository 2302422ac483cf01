// HTTP for assets: the generic routes of threat-model children with the asset kind.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { registerChildRoutes } from '../children/routes.ts';
import { assetKind } from './kind.ts';

export function assetRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerChildRoutes(app, ctx, assetKind);
}
