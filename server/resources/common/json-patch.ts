// RFC 6902 JSON Patch over a resource's JSON, with a per-resource allow-list of top-level fields.
import fastJsonPatch from 'fast-json-patch';
import type { JsonPatchDocument } from '../../../contract/common.ts';
import { ApiError, badRequest } from '../../http/errors.ts';

const { applyPatch, JsonPatchError } = fastJsonPatch;

export interface PatchRules {
  /** Top-level fields any writer may change. */
  writable: readonly string[];
  /** Top-level fields that need an extra permission; the check throws 403 when it is missing. */
  guarded?: Record<string, () => void>;
}

const segments = (pointer: string) => pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
const topField = (pointer: string) => segments(pointer)[0] ?? '';

/**
 * Names no resource field has and that reach into JavaScript's object model (`__proto__`,
 * `constructor`, `toString`, ...): a path naming one is refused before anything is looked up.
 */
const isObjectModelName = (segment: string) => segment === 'prototype' || segment in Object.prototype;

/**
 * Applies the patch to a copy of `current` and returns the result. Paths outside the allow-list are
 * 400, guarded ones run their check; `replace` of an absent field is treated as `add`, as the
 * reference does. The result still needs the resource's own validation.
 */
export function applyJsonPatch<T extends object>(current: T, ops: JsonPatchDocument, rules: PatchRules): T {
  if (ops.length === 0) throw badRequest('PATCH request must contain at least one operation');
  const doc = structuredClone(current) as Record<string, unknown>;
  const prepared = ops.map((op) => {
    for (const pointer of [op.path, op.from].filter((p): p is string => p !== undefined)) {
      const field = topField(pointer);
      if (pointer === '' || pointer === '/') throw badRequest('Patching the whole document is not allowed');
      const reserved = segments(pointer).find(isObjectModelName);
      if (reserved !== undefined) throw badRequest(`Path '${pointer.slice(0, 100)}' names '${reserved}', which is not a field`);
      const guard = rules.guarded && Object.hasOwn(rules.guarded, field) ? rules.guarded[field] : undefined;
      if (guard) guard();
      else if (!rules.writable.includes(field)) {
        throw badRequest(`Field '${field}' is not allowed in PATCH requests; it is read-only or unknown`);
      }
    }
    if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op)) {
      throw badRequest(`Operation '${op.op}' on '${op.path}' needs a value`);
    }
    if ((op.op === 'move' || op.op === 'copy') && op.from === undefined) throw badRequest(`Operation '${op.op}' needs 'from'`);
    const depth = op.path.split('/').length - 1;
    if (op.op === 'replace' && depth === 1 && doc[topField(op.path)] === undefined) return { ...op, op: 'add' as const };
    return op;
  });
  try {
    applyPatch(doc, prepared as fastJsonPatch.Operation[], true, true, true);
  } catch (err) {
    if (err instanceof JsonPatchError) {
      if (err.name === 'TEST_OPERATION_FAILED') throw new ApiError(409, 'conflict', 'A JSON Patch test operation failed');
      throw badRequest(`Failed to apply patch: ${err.message.split('\n')[0]}`, 'patch_failed');
    }
    throw err;
  }
  return doc as T;
}
