// Security headers on every response, CORS, and HTTPS-only transport hints.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../config.ts';

// Stricter than the reference's (no 'unsafe-inline'/'unsafe-eval' for scripts): the API serves no
// scripts, and the web app is built without inline scripts. See docs/compatibility.md.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "font-src 'self'",
  "connect-src 'self' wss: ws:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const CORS_ALLOW_HEADERS =
  'Content-Type, Content-Length, Accept-Encoding, Authorization, Accept, Origin, Cache-Control, Pragma, X-Requested-With, If-Match, X-Request-ID';
export const CORS_ALLOW_METHODS = 'POST, OPTIONS, GET, PUT, DELETE, PATCH';
export const CORS_EXPOSE_HEADERS = 'WWW-Authenticate, ETag, Location, X-Request-ID, Retry-After';

/** Public, cacheable documents (discovery, JWKS) override the default no-store. */
export function cacheable(reply: FastifyReply, seconds = 3600): void {
  reply.header('cache-control', `public, max-age=${seconds}`);
}

export function registerSecurity(app: FastifyInstance, config: Config): void {
  const allowed = new Set(config.cors.allowedOrigins);
  const hsts = config.server.tls.enabled;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('x-xss-protection', '0');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('referrer-policy', 'strict-origin-when-cross-origin');
    reply.header('cache-control', 'no-store, no-cache, must-revalidate');
    reply.header('permissions-policy', 'geolocation=(), microphone=(), camera=()');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (hsts) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');

    const origin = request.headers.origin;
    if (origin) {
      const normalised = origin.replace(/\/+$/, '');
      if (config.cors.reflectAnyOrigin || allowed.has(normalised)) {
        reply.header('access-control-allow-origin', origin);
        reply.header('access-control-allow-credentials', 'true');
        reply.header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
      }
    }
    if (request.method === 'OPTIONS') {
      reply.header('access-control-allow-headers', CORS_ALLOW_HEADERS);
      reply.header('access-control-allow-methods', CORS_ALLOW_METHODS);
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });

  // The answer depends on Origin whenever one was sent; handlers may set their own Vary (content
  // negotiation), so merge rather than set, at the last moment.
  app.addHook('onSend', async (request, reply) => {
    if (!request.headers.origin) return;
    const current = reply.getHeader('vary');
    const values = (Array.isArray(current) ? current.join(',') : String(current ?? '')).split(',').map((v) => v.trim()).filter(Boolean);
    if (!values.some((v) => v.toLowerCase() === 'origin' || v === '*')) reply.header('vary', [...values, 'Origin'].join(', '));
  });
}

/** A browser Origin is allowed for credentialed use (CORS and WebSocket origin checks). */
export function originAllowed(config: Config, origin: string | undefined, requestHost?: string): boolean {
  if (!origin) return true; // non-browser clients send none
  const o = origin.replace(/\/+$/, '');
  if (config.cors.allowedOrigins.includes(o)) return true;
  if (config.cors.reflectAnyOrigin) return true;
  try {
    if (new URL(o).host === requestHost) return true;
    if (new URL(o).origin === new URL(config.server.baseUrl).origin) return true;
  } catch {
    return false;
  }
  return false;
}

/**
 * Where the plain-HTTP listener sends a request: the configured base URL's origin plus the
 * request's path and query, nothing else. The request target never chooses the host, be it
 * absolute-form (`GET http://evil.example/x`) or a network-path reference (`GET //evil.example/x`,
 * which resolved against the base URL would be https://evil.example/x).
 */
export function httpsRedirectLocation(baseUrl: string, requestTarget: string): string {
  let pathAndQuery = '/';
  try {
    const parsed = new URL(requestTarget, 'http://request-target.invalid');
    // One leading slash: "//host" must not survive as a path either (`/./\evil.example/` parses
    // to the path //evil.example/), even though the origin in front already fixes the host.
    pathAndQuery = `${parsed.pathname.replace(/^\/+/, '/')}${parsed.search}`;
  } catch {
    // Not a URL at all: the root is as good a place as any.
  }
  return `${new URL(baseUrl).origin}${pathAndQuery}`;
}
