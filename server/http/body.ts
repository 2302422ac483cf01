// Strict request bodies: JSON must parse completely (no trailing data), carry no duplicate keys and
// no invisible or direction-changing Unicode; forms are parsed with bounded size. Each route says
// which media types it accepts (route config `consumes`), so a PATCH that is not JSON Patch is 415.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, badRequest } from './errors.ts';

export const JSON_TYPES = ['application/json'];
export const JSON_PATCH_TYPES = ['application/json-patch+json'];
export const FORM_TYPES = ['application/x-www-form-urlencoded'];

/** Returns the first key that appears twice in one object of an already-valid JSON text. */
export function findDuplicateKey(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      if (expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        const keys = stack[stack.length - 1]!;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return null;
}

// Zero-width spaces, bidirectional overrides and isolates, BOM, and escaped C0 controls other than
// tab, line feed and carriage return. ZWJ/ZWNJ stay allowed (emoji, Indic scripts).
const DANGEROUS_UNICODE = /[\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/;
const DANGEROUS_ESCAPE = /\\u(00[01][0-8BCEFbcef]|001[0-9A-Fa-f]|007[Ff]|200[BbEeFf]|202[A-Ea-e]|206[0-46-9]|[Ff][Ee][Ff][Ff])/;

export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`Request body is not valid JSON: ${(err as Error).message}`);
  }
  const dup = findDuplicateKey(text);
  if (dup !== null) throw badRequest(`Duplicate key '${dup}' in JSON object`);
  if (DANGEROUS_UNICODE.test(text) || DANGEROUS_ESCAPE.test(text)) {
    throw badRequest(
      'Request contains unsupported Unicode characters (zero-width, bidirectional overrides, or control characters)',
      'invalid_request',
    );
  }
  return typeof value === 'string' ? value.normalize('NFC') : value;
}

function parseForm(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of new URLSearchParams(text)) {
    if (k.includes('\u0000') || v.includes('\u0000')) throw badRequest('Form fields must not contain NUL characters', 'invalid_request');
    if (k in out) throw badRequest(`Duplicate form field '${k}'`, 'invalid_request');
    out[k] = v;
  }
  return out;
}

function mediaType(request: FastifyRequest): string | undefined {
  const ct = request.headers['content-type'];
  return ct ? ct.split(';')[0]!.trim().toLowerCase() : undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Media types the route accepts for its body (default: JSON). */
    consumes?: string[];
  }
}

function hasBody(request: FastifyRequest): boolean {
  const len = request.headers['content-length'];
  return (len !== undefined && len !== '0') || request.headers['transfer-encoding'] !== undefined;
}

export function registerBodyParsing(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const json = (_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => {
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, parseStrictJson(body));
    } catch (err) {
      done(err as Error);
    }
  };
  app.addContentTypeParser(['application/json', 'application/json-patch+json'], { parseAs: 'string' }, json);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (err) {
      done(err as Error);
    }
  });
  // Everything else is refused below with 415 before any parsing; this catch-all keeps Fastify
  // from answering with its own error shape.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined));

  // Content type is checked before authentication, as the reference does (415 before 401).
  app.addHook('onRequest', async (request) => {
    if (request.is404 || request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
    if (!hasBody(request)) return;
    const type = mediaType(request);
    const consumes = request.routeOptions.config?.consumes ?? JSON_TYPES;
    if (!type) throw badRequest('Content-Type header is required for a request with a body', 'invalid_request');
    if (!consumes.includes(type)) {
      throw new ApiError(415, 'unsupported_media_type', `Content-Type must be ${consumes.join(' or ')}`, {
        accept: consumes.join(', '),
      });
    }
  });
}
