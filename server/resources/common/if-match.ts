// Optimistic concurrency: `If-Match` with the resource's version (bare `5`, `"5"`, `W/"5"` or `*`),
// answered with `ETag: "<version>"`. A stale version is 409 version_mismatch, as the reference.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, badRequest } from '../../http/errors.ts';

/** null: no precondition; 'any': `*`; a number: the version the client last saw. */
export type Precondition = null | 'any' | number;

export function readIfMatch(request: FastifyRequest, required = false): Precondition {
  const raw = request.headers['if-match'];
  if (raw === undefined || raw === '') {
    if (required) throw new ApiError(428, 'if_match_required', 'If-Match header with the resource version is required');
    return null;
  }
  const m = /^\s*(\*|(?:W\/)?"?([0-9]{1,9})"?)\s*$/.exec(raw);
  if (!m) throw badRequest('If-Match must be a version number, a quoted version or *', 'invalid_if_match');
  return m[1] === '*' ? 'any' : Number(m[2]);
}

export function checkPrecondition(pre: Precondition, currentVersion: number): void {
  if (typeof pre === 'number' && pre !== currentVersion) {
    throw new ApiError(409, 'version_mismatch', 'Resource version does not match If-Match precondition; refetch and retry');
  }
}

export function setEtag(reply: FastifyReply, version: number): void {
  reply.header('etag', `"${version}"`);
}

/**
 * A versioned write without If-Match still proceeds (last writer wins); like the reference, the
 * response says that this is deprecated.
 */
export function warnIfUnconditional(reply: FastifyReply, pre: Precondition): void {
  if (pre !== null) return;
  reply.header('deprecation', 'true');
  reply.header('warning', '299 - "If-Match header (or body \'version\') is required for PUT/PATCH; future releases will return 428 Precondition Required"');
}
