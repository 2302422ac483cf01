// Existence before the body. A write to a threat model, or to something under one, answers in the
// reference's order — 400 invalid_id, 401, 404 (model, then child), 403, and only then 400 for
// the body — so a missing target is 404 whatever the body holds. Fastify validates the body
// before the handler runs; this preValidation hook (after authentication) makes the target's
// checks first, but only when the body is going to be refused: a valid body goes straight to
// the handler, which makes the same checks inside its transaction.
import type { FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { principalOf, type Principal } from '../../auth/authenticate.ts';

/** Throws the 404 or 403 the write would get; `params` are the route's path parameters. */
export type TargetCheck = (p: Principal, params: Record<string, string>) => Promise<void>;

function bodyIsValid(request: FastifyRequest): boolean {
  const validate = request.getValidationFunction('body');
  if (!validate) return true;
  const result = validate(request.body) as unknown;
  // Ajv-style compilers answer a boolean; the TypeBox compiler answers { value } or { error }.
  return typeof result === 'boolean' ? result : !(result as { error?: unknown } | null)?.error;
}

/**
 * The hook for one write route. `alsoRefuses` names the extra body rules that run before the
 * handler (a friendlier message for the same refusal), so they too wait for the target's checks.
 */
export function existenceBeforeBody(check: TargetCheck, alsoRefuses?: (request: FastifyRequest) => boolean): preValidationAsyncHookHandler {
  return async (request) => {
    if (bodyIsValid(request) && !alsoRefuses?.(request)) return;
    const params = Object.fromEntries(Object.entries(request.params as Record<string, string>).map(([k, v]) => [k, k.endsWith('_id') ? v.toLowerCase() : v]));
    await check(principalOf(request), params);
  };
}
