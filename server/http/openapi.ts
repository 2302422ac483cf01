// The server's own OpenAPI document, generated from the schemas its routes declare.
import type { FastifyInstance, RouteOptions } from 'fastify';

declare module 'fastify' {
  interface FastifySchema {
    tags?: string[];
    operationId?: string;
    summary?: string;
  }
  interface FastifyContextConfig {
    /** Media types of the route's successful responses when they are not JSON (files: reports, exports). */
    produces?: string[];
  }
}

interface RouteDoc {
  method: string;
  url: string;
  schema: Record<string, unknown>;
  isPublic: boolean;
  consumes: string[];
  produces?: string[];
}

/** Strips TypeBox's symbol keys and $id by round-tripping through JSON (also for the AsyncAPI document). */
export const plain = (schema: unknown) => (schema === undefined ? undefined : (JSON.parse(JSON.stringify(schema)) as Record<string, unknown>));

function parameters(schema: Record<string, unknown>, location: 'path' | 'query') {
  const s = plain(schema[location === 'path' ? 'params' : 'querystring']) as
    | { properties?: Record<string, unknown>; required?: string[] }
    | undefined;
  if (!s?.properties) return [];
  return Object.entries(s.properties).map(([name, prop]) => ({
    name,
    in: location,
    required: location === 'path' || (s.required ?? []).includes(name),
    schema: prop,
  }));
}

export function registerOpenApi(app: FastifyInstance, info: { title: string; version: string }): void {
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.schema || route.url === '/openapi.json') return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({
        method: method.toLowerCase(),
        url: route.url,
        schema: route.schema as Record<string, unknown>,
        isPublic: Boolean(route.config?.public),
        consumes: route.config?.consumes ?? ['application/json'],
        produces: route.config?.produces,
      });
    }
  });

  let cached: unknown;
  app.get('/openapi.json', { config: { public: true } }, async () => {
    cached ??= build(routes, info);
    return cached;
  });
}

function build(routes: RouteDoc[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const s = r.schema;
    const responses: Record<string, unknown> = {};
    for (const [status, body] of Object.entries((s.response as Record<string, unknown>) ?? { 200: undefined })) {
      const schema = plain(body) as { type?: string } | undefined;
      const types = r.produces && status.startsWith('2') ? r.produces : ['application/json'];
      responses[status] =
        schema && schema.type !== 'null'
          ? { description: `HTTP ${status}`, content: Object.fromEntries(types.map((t) => [t, { schema }])) }
          : { description: `HTTP ${status}` };
    }
    (paths[path] ??= {})[r.method] = {
      operationId: s.operationId,
      tags: s.tags,
      ...(typeof s.description === 'string' ? { description: s.description } : {}),
      parameters: [...parameters(s, 'path'), ...parameters(s, 'query')],
      ...(s.body ? { requestBody: { required: true, content: Object.fromEntries(r.consumes.map((c) => [c, { schema: plain(s.body) }])) } } : {}),
      responses,
      ...(r.isPublic ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: 'TMI (Threat Modeling Improved) REST API v1' },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        cookieAuth: { type: 'apiKey', in: 'cookie', name: 'tmi_access_token' },
      },
    },
    security: [{ bearerAuth: [] }, { cookieAuth: [] }],
    paths,
  };
}
