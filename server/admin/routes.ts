// Administration of users (/admin/users...) and what a person does with their own account
// (/me/transfer, DELETE /me). Thin: guards, schemas, then AdminUserService.
//
// Guards: administrators only, by live membership, never service accounts; writes need a recent
// interactive sign-in (step-up, server/auth/guards.ts). /me/transfer and DELETE /me refuse
// service-account tokens (a leaked credential must not give away or delete its owner's account).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../context.ts';
import { badRequest, noContent } from '../http/errors.ts';
import { ErrorBody } from '../../contract/common.ts';
import {
  AdminUser,
  AdminUserList,
  AdminUserListQuery,
  DeleteAdminUserQuery,
  DeleteMeQuery,
  DeletionChallenge,
  DeletionPlan,
  TransferOwnershipRequest,
  TransferOwnershipResult,
  UpdateAdminUser,
  UserIdParams,
} from '../../contract/admin.ts';
import { principalOf, type Principal } from '../auth/authenticate.ts';
import { requireAdministrator, requireInteractive } from '../auth/guards.ts';
import { newSecretToken } from '../auth/secret-token.ts';
import { AdminUserService, type ChangeContext } from './users.ts';
import { auditActor } from './system-audit.ts';

const USERS_TAG = ['Admin - Users'];
const ME_TAG = ['User Account'];
/** How long a DELETE /me challenge stays valid (the reference's 3 minutes). */
export const DELETION_CHALLENGE_SECONDS = 180;
const challengeKey = (uuid: string) => `user_deletion_challenge:${uuid}`;

const sameText = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

export function adminUserRoutes(app: FastifyInstance, ctx: AppContext): AdminUserService {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const service = new AdminUserService(ctx.db, ctx.users, ctx.threatModels);
  const adminRead = requireAdministrator(ctx, { recentAuth: false });
  const adminWrite = requireAdministrator(ctx, { recentAuth: true });
  const change = (p: Principal, method: string, path: string): ChangeContext => ({ actor: auditActor(p), method, path });

  r.get(
    '/admin/users',
    {
      preValidation: adminRead,
      schema: { tags: USERS_TAG, operationId: 'listAdminUsers', querystring: AdminUserListQuery, response: { 200: AdminUserList, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } },
    },
    async (request) => service.list(request.query),
  );

  r.get(
    '/admin/users/:user_id',
    {
      preValidation: adminRead,
      schema: { tags: USERS_TAG, operationId: 'getAdminUser', params: UserIdParams, response: { 200: AdminUser, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => service.get(request.params.user_id),
  );

  r.patch(
    '/admin/users/:user_id',
    {
      preValidation: adminWrite,
      schema: {
        tags: USERS_TAG,
        operationId: 'updateAdminUser',
        params: UserIdParams,
        body: UpdateAdminUser,
        response: { 200: AdminUser, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => service.update(change(principalOf(request), 'PATCH', '/admin/users/:user_id'), request.params.user_id, request.body),
  );

  r.delete(
    '/admin/users/:user_id',
    {
      preValidation: adminWrite,
      schema: {
        tags: USERS_TAG,
        operationId: 'deleteAdminUser',
        params: UserIdParams,
        querystring: DeleteAdminUserQuery,
        response: { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      await service.delete(change(p, 'DELETE', '/admin/users/:user_id'), request.params.user_id, { transferTo: request.query.transfer_to, self: false });
      return noContent(reply);
    },
  );

  r.get(
    '/admin/users/:user_id/deletion_plan',
    {
      preValidation: adminRead,
      schema: {
        tags: USERS_TAG,
        operationId: 'getAdminUserDeletionPlan',
        params: UserIdParams,
        querystring: DeleteAdminUserQuery,
        response: { 200: DeletionPlan, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      await service.get(request.params.user_id);
      return service.deletionPlan(ctx.db, request.params.user_id, request.query.transfer_to);
    },
  );

  r.post(
    '/admin/users/:user_id/transfer',
    {
      preValidation: adminWrite,
      schema: {
        tags: USERS_TAG,
        operationId: 'transferAdminUserOwnership',
        params: UserIdParams,
        body: TransferOwnershipRequest,
        response: { 200: TransferOwnershipResult, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) =>
      service.transfer(change(principalOf(request), 'POST', '/admin/users/:user_id/transfer'), request.params.user_id, request.body.target_user_id, false),
  );

  r.post(
    '/me/transfer',
    {
      preValidation: requireInteractive('transfer ownership'),
      schema: {
        tags: ME_TAG,
        operationId: 'transferCurrentUserOwnership',
        body: TransferOwnershipRequest,
        response: { 200: TransferOwnershipResult, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return service.transfer(change(p, 'POST', '/me/transfer'), p.userUuid, request.body.target_user_id, true);
    },
  );

  // DELETE /me, in two steps: without `challenge`, the challenge text (and, beyond the reference,
  // what will happen to each model the caller owns); with the exact text back within 3 minutes,
  // the deletion. Keyed by the account's id, never by e-mail.
  r.delete(
    '/me',
    {
      preValidation: requireInteractive('delete accounts'),
      schema: {
        tags: ME_TAG,
        operationId: 'deleteUserAccount',
        querystring: DeleteMeQuery,
        response: { 200: DeletionChallenge, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { challenge, transfer_to: transferTo } = request.query;
      const key = challengeKey(p.userUuid);
      if (challenge === undefined) {
        const plan = await service.deletionPlan(ctx.db, p.userUuid, transferTo);
        const text = `I understand that deleting my TMI account ${p.email || p.name} is permanent; confirm with ${newSecretToken(32)}.`;
        const expires = new Date(Date.now() + DELETION_CHALLENGE_SECONDS * 1000);
        await ctx.shared.kv.set(key, JSON.stringify({ text, transferTo: transferTo ?? null }), DELETION_CHALLENGE_SECONDS);
        return reply.code(200).send({ challenge_text: text, expires_at: expires.toISOString(), plan });
      }
      const stored = await ctx.shared.kv.take(key);
      const expected = stored ? (JSON.parse(stored) as { text: string; transferTo: string | null }) : null;
      if (!expected || !sameText(expected.text, challenge) || (expected.transferTo ?? undefined) !== transferTo) {
        throw badRequest('Invalid or expired challenge', 'invalid_challenge');
      }
      await service.delete(change(p, 'DELETE', '/me'), p.userUuid, { transferTo, self: true });
      await ctx.sessions.revokeAccessToken(p.claims.jti, p.claims.exp);
      if (p.claims.sid) await ctx.sessions.revokeSession(p.claims.sid);
      return noContent(reply);
    },
  );

  return service;
}
