// Runtime settings (/admin/settings[/{key}], POST /admin/settings/reencrypt): administrators only,
// never service accounts, a recent interactive sign-in for writes (step-up), each write in the
// system audit log and the security log. Thin: checks and presentation here, the values in
// server/settings/runtime.ts. Secret values never leave the server: list, get and the PUT answer
// show <configured> / <not configured>, and refusals never repeat the value sent.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../context.ts';
import { ApiError, badRequest, conflict, noContent, notFound } from '../http/errors.ts';
import { ErrorBody } from '../../contract/common.ts';
import { ReencryptResult, SettingKeyParams, SystemSetting, SystemSettingList, SystemSettingUpdate } from '../../contract/admin.ts';
import { principalOf, type Principal } from '../auth/authenticate.ts';
import { requireAdministrator } from '../auth/guards.ts';
import { partyOf, securityEvent } from '../security-events.ts';
import { auditActor } from './system-audit.ts';
import { definitionOf, environmentVariableOf, isInternalKey, isSecretKey, RESERVED_KEYS, typeProblem } from '../settings/registry.ts';
import type { SettingChange, SettingView } from '../settings/runtime.ts';

const TAGS = ['Admin - Settings'];
export const CONFIGURED = '<configured>';
export const NOT_CONFIGURED = '<not configured>';
const UNREADABLE = '<encrypted with a key this server does not have>';

/** A setting as the API shows it: secrets masked. */
function present(v: SettingView): SystemSetting {
  const { secret, value, ...rest } = v;
  const shown = secret ? (value === '' ? NOT_CONFIGURED : CONFIGURED) : (value ?? UNREADABLE);
  return { ...rest, value: shown };
}

function refuseReserved(key: string): void {
  if (RESERVED_KEYS.has(key)) throw badRequest(`'${key}' is a reserved key`, 'reserved_key');
}

/** 409 for a setting the environment decides (the reference's wording). */
function refuseEnvironmentControlled(ctx: AppContext, key: string): void {
  if (environmentVariableOf(key, ctx.config)) throw conflict(`Setting '${key}' is controlled by environment and cannot be modified via the API`);
}

function hasBody(request: FastifyRequest): boolean {
  const len = request.headers['content-length'];
  return (len !== undefined && len !== '0') || request.headers['transfer-encoding'] !== undefined || request.body !== undefined;
}

export function settingsRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const adminRead = requireAdministrator(ctx, { recentAuth: false });
  const adminWrite = requireAdministrator(ctx, { recentAuth: true });
  const change = (p: Principal, method: string, path: string): SettingChange => ({ actor: auditActor(p), method, path });

  r.get(
    '/admin/settings',
    { preValidation: adminRead, schema: { tags: TAGS, operationId: 'listSystemSettings', response: { 200: SystemSettingList, 401: ErrorBody, 403: ErrorBody } } },
    async () => (await ctx.settings.list()).map(present),
  );

  r.get(
    '/admin/settings/:key',
    {
      preValidation: adminRead,
      schema: { tags: TAGS, operationId: 'getSystemSetting', params: SettingKeyParams, response: { 200: SystemSetting, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => {
      const { key } = request.params;
      refuseReserved(key);
      const found = await ctx.settings.get(key);
      if (!found) throw notFound(`Setting '${key}' not found`);
      return present(found);
    },
  );

  r.put(
    '/admin/settings/:key',
    {
      preValidation: adminWrite,
      schema: {
        tags: TAGS,
        operationId: 'updateSystemSetting',
        params: SettingKeyParams,
        body: SystemSettingUpdate,
        response: { 200: SystemSetting, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { key } = request.params;
      const input = request.body;
      refuseReserved(key);
      if (isInternalKey(key)) throw badRequest(`'${key}' names start-up configuration, which is set in the environment only`, 'invalid_key');
      refuseEnvironmentControlled(ctx, key);
      const def = definitionOf(key);
      if (def && input.type !== def.type) throw badRequest(`Setting '${key}' has type ${def.type}`, 'validation_error');
      // Never repeat the value: it may be a secret.
      const problem = typeProblem(input.type, input.value) ?? def?.problem?.(input.value);
      if (problem) throw badRequest(`The value of setting '${key}' ${problem}`, 'validation_error');
      const secret = isSecretKey(key);
      if (secret && ctx.config.buildMode === 'production' && !ctx.settings.encryptor.enabled) {
        throw badRequest(
          `Refusing to store the secret-classified setting '${key}' in plaintext: configure TMI_SECRET_SETTINGS_ENCRYPTION_KEY`,
          'validation_error',
        );
      }
      const saved = await ctx.settings.put(change(p, 'PUT', '/admin/settings/:key'), key, input, p.userUuid);
      securityEvent('admin.setting.changed', { ...partyOf(p), key, change: 'updated' });
      return present(saved);
    },
  );

  r.delete(
    '/admin/settings/:key',
    {
      preValidation: adminWrite,
      schema: { tags: TAGS, operationId: 'deleteSystemSetting', params: SettingKeyParams, response: { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { key } = request.params;
      refuseReserved(key);
      if (isInternalKey(key)) throw notFound('Setting not found in database');
      refuseEnvironmentControlled(ctx, key);
      if (!(await ctx.settings.delete(change(p, 'DELETE', '/admin/settings/:key'), key))) throw notFound('Setting not found in database');
      securityEvent('admin.setting.changed', { ...partyOf(p), key, change: 'deleted' });
      return noContent(reply);
    },
  );

  r.post(
    '/admin/settings/reencrypt',
    {
      preValidation: adminWrite,
      schema: { tags: TAGS, operationId: 'reencryptSystemSettings', response: { 200: ReencryptResult, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody } },
    },
    async (request) => {
      if (hasBody(request)) throw badRequest('This operation takes no request body', 'invalid_request');
      if (!ctx.settings.encryptor.enabled) throw new ApiError(409, 'encryption_not_enabled', 'Encryption is not enabled');
      const p = principalOf(request);
      const result = await ctx.settings.reencrypt(change(p, 'POST', '/admin/settings/reencrypt'));
      securityEvent('admin.setting.changed', { ...partyOf(p), change: 'reencrypted', reencrypted: result.reencrypted, failed: result.errors.length });
      return result;
    },
  );
}
