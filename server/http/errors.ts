// One error type with a stable code and an HTTP status; one handler turns everything into the
// reference's envelope {error, error_description}. Unknown errors become a generic 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StoreUnavailableError, type StoreName } from '../store/availability.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
    this.name = 'ApiError';
  }
}

export const badRequest = (description: string, code = 'invalid_input') => new ApiError(400, code, description);
export const unauthorized = (description = 'Authentication required') =>
  new ApiError(401, 'unauthorized', description, {
    'www-authenticate': `Bearer realm="tmi", error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
  });
export const forbidden = (description = "You don't have sufficient permissions to perform this action") =>
  new ApiError(403, 'forbidden', description);
export const notFound = (description = 'Resource not found') => new ApiError(404, 'not_found', description);
export const conflict = (description: string, code = 'conflict') => new ApiError(409, code, description);
export const serviceUnavailable = (description = 'Service temporarily unavailable - please retry') =>
  new ApiError(503, 'service_unavailable', description, { 'retry-after': '30' });

/**
 * PostgreSQL or Redis cannot be reached. A short Retry-After: outages worth answering this way are
 * restarts and fail-overs, over in seconds; the wording is the reference's.
 */
export const storeUnavailable = (store: StoreName) =>
  new ApiError(503, 'service_unavailable', `${store === 'database' ? 'Storage' : 'Cache'} service temporarily unavailable - please retry`, { 'retry-after': '5' });

const MAX_DESCRIPTION = 1000;

/** Control characters are stripped and long texts cut, as the contract's Error schema requires. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  const t = text.replace(/[\x00-\x1f\x7f]+/g, ' ');
  return t.length > MAX_DESCRIPTION ? `${t.slice(0, MAX_DESCRIPTION - 3)}...` : t;
}

export function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .code(err.status)
    .type('application/json; charset=utf-8')
    .send({ error: err.code, error_description: clean(err.description) });
}

const STATUS_CODES: Record<number, string> = {
  400: 'invalid_input',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limit_exceeded',
  431: 'request_header_fields_too_large',
};

/** Maps Fastify's own errors (parsing, limits, validation) to API errors; null for unknown ones. */
export function toApiError(err: FastifyError): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreUnavailableError) return storeUnavailable(err.store);
  if (err.validation) {
    const where = err.validationContext ?? 'body';
    const first = err.validation[0];
    const field = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : '';
    const params = first?.params as Record<string, unknown> | undefined;
    let detail = first?.message ?? 'is invalid';
    if (first?.keyword === 'additionalProperties' && params?.additionalProperty) {
      detail = `property "${String(params.additionalProperty)}" is not allowed`;
    } else if (first?.keyword === 'required' && params?.missingProperty) {
      detail = `property "${String(params.missingProperty)}" is required`;
    } else if (field) {
      detail = `"${field}" ${detail}`;
    }
    const code = where === 'params' ? 'invalid_id' : 'invalid_input';
    return badRequest(`Invalid ${where === 'querystring' ? 'query parameter' : where}: ${detail}`, code);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'Unsupported Content-Type for this operation', { accept: 'application/json' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'payload_too_large', 'Request body is too large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('Request body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return badRequest('Content-Length does not match the body', 'invalid_request');
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return badRequest('Content-Type header is required for a request with a body', 'invalid_request');
    case 'FST_ERR_CTP_INVALID_TYPE':
      return badRequest('Content-Type header is malformed', 'invalid_request');
  }
  if (err instanceof SyntaxError) return badRequest(`Malformed JSON: ${err.message}`);
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ApiError(status, STATUS_CODES[status] ?? 'invalid_request', err.message);
  return null;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const api = toApiError(err);
    if (api) {
      // An outage is logged when it begins and ends (store/availability.ts); each request it
      // fails gets a line without a stack.
      if (api.status === 503) request.log.warn({ reason: err.message }, 'request failed: service unavailable');
      else if (api.status >= 500) request.log.error({ err }, 'request failed');
      return sendError(reply, api);
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, new ApiError(500, 'server_error', 'An internal error occurred; the request id identifies it in the server log'));
  });
}

/** 204 No Content. */
export function noContent(reply: FastifyReply): FastifyReply {
  return (reply as FastifyReply).code(204).send();
}
