// HTTP for notes: the generic routes of threat-model children with the note kind.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { registerChildRoutes } from '../children/routes.ts';
import { noteKind } from './kind.ts';

export function noteRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerChildRoutes(app, ctx, noteKind);
}
