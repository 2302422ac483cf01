// Serves the browser app built into web/dist: index.html for browsers at `/` (API clients keep the
// JSON health document) and for the app's own deep links, and the hashed bundles under /assets/.
// The app's routes (/login..., /tm..., /administration..., /account..., /review...) never collide with API paths (see APP_ROUTES).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound, ApiError } from './errors.ts';
import { appPath } from '../app-root.ts';

export const DEFAULT_WEB_DIST = appPath('web/dist');

/** The app's client-side routes; none is a prefix of an API path of the reference. */
export const APP_ROUTES = ['/login', '/login/*', '/tm', '/tm/*', '/administration', '/administration/*', '/account', '/account/*', '/review', '/review/*'];

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/**
 * The policy for the app's HTML: tighter than the API-wide one in security.ts. Scripts and styles
 * from this origin only (X6 writes style attributes and one <style> element, hence
 * 'unsafe-inline' for styles, never for scripts); images from this origin and data: URLs (PNG
 * export, icons) but not from any https host; fetch and WebSocket to this origin only. Built from
 * the configured base URL, never from the request: a Host header is whatever the client wrote.
 */
export function appContentSecurityPolicy(baseUrl: string): string {
  // 'self' covers same-origin WebSockets in current browsers; the explicit origin serves older ones.
  const { host, protocol } = new URL(baseUrl);
  const websocket = `${protocol === 'https:' ? 'wss' : 'ws'}://${host}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${websocket}`,
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** True when the Accept header ranks text/html at least as high as JSON (browsers), not for * / *. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === 'text/html' || type === 'application/xhtml+xml') html = Math.max(html, q);
    if (type === 'application/json') json = Math.max(json, q);
  }
  return html > 0 && html >= json;
}

/** `/` answers by Accept; caches must keep the HTML and the JSON apart (Origin may vary too). */
function varyOnAccept(reply: FastifyReply) {
  const current = reply.getHeader('vary');
  reply.header('vary', current ? `${String(current)}, Accept` : 'Accept');
}

export interface WebOptions {
  /** Where the built app lives; tests point this at a fixture. */
  distDir?: string;
  /** The server's public URL (TMI_SERVER_BASE_URL), for the content security policy. */
  baseUrl: string;
}

export async function webRoutes(app: FastifyInstance, opts: WebOptions): Promise<void> {
  const distDir = opts.distDir ?? DEFAULT_WEB_DIST;
  const contentSecurityPolicy = appContentSecurityPolicy(opts.baseUrl);
  const assetsDir = path.join(distDir, 'assets');
  const indexPath = path.join(distDir, 'index.html');

  // index.html is re-read when the build changes (npm start rebuilds before listening; a developer
  // may rebuild while the server runs), otherwise served from memory.
  let cached: { mtimeMs: number; body: Buffer } | undefined;
  function indexHtml(): Buffer | undefined {
    if (!existsSync(indexPath)) return undefined;
    const { mtimeMs } = statSync(indexPath);
    if (!cached || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, body: readFileSync(indexPath) };
    return cached.body;
  }

  function sendIndex(request: FastifyRequest, reply: FastifyReply) {
    const body = indexHtml();
    if (!body) {
      throw new ApiError(503, 'web_app_not_built', 'The web app is not built: run `npm run build:web` (npm start does it for you)');
    }
    reply.header('content-security-policy', contentSecurityPolicy);
    // The HTML names the current hashed bundles, so it must be revalidated on every load.
    reply.header('cache-control', 'no-cache');
    varyOnAccept(reply);
    return reply.type('text/html; charset=utf-8').send(request.method === 'HEAD' ? undefined : body);
  }

  // `GET /` belongs to the health document (system-routes.ts); a browser asking for HTML is
  // answered here first. onRequest runs after the security headers have been set.
  app.addHook('onRequest', async (request, reply) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || request.url.split('?')[0] !== '/') return;
    if (!prefersHtml(request.headers.accept)) {
      varyOnAccept(reply);
      return;
    }
    return sendIndex(request, reply);
  });

  // No schema: these are not API operations and stay out of /openapi.json.
  const publicRoute = { config: { public: true } };
  for (const url of APP_ROUTES) app.get(url, publicRoute, async (request, reply) => sendIndex(request, reply));

  // @fastify/static streams the file with ETag / Last-Modified / Range; it serves only through the
  // route below (serve: false), which keeps the name check, the content types we allow and our
  // error envelope instead of its own directory handling; the content type is ours (RFC 9239 text/javascript).
  await app.register(fastifyStatic, { root: assetsDir, serve: false, dotfiles: 'deny', index: false, contentType: false });
  app.get<{ Params: { file: string } }>('/assets/:file', publicRoute, async (request, reply) => {
    const { file } = request.params;
    const type = CONTENT_TYPES[path.extname(file)];
    if (!ASSET_NAME.test(file) || !type) throw notFound('No such asset');
    if (!existsSync(path.join(assetsDir, file))) throw notFound('No such asset');
    // File names carry a content hash, so they never change: cache for a year.
    return reply.type(type).sendFile(file, { maxAge: '365d', immutable: true });
  });
}
