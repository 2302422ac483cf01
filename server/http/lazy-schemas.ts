// Schema compilation on first use. Fastify compiles every route's request validators and response
// serializers when the route is registered: with about two hundred routes, each naming the error
// envelope for five status codes, that was most of the CPU time of a start (bench/startup; profile
// in docs/performance.md). Here a route's validator or serializer is compiled the first time a
// request needs it, and a serializer once per schema object (the shared error envelope compiles
// once, not a thousand times). Output is unchanged: the same compilers do the work.
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type Serializer = (data: unknown) => string;
type RouteSchema = { schema: object; method: string; url: string; httpStatus?: string };

/** Fastify's default serializer factory (fast-json-stringify), compiling lazily and once per schema. */
export const lazySerializers: NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer'] = (
  externalSchemas,
  serializerOpts,
) => {
  const compile = SerializerSelector()(externalSchemas as never, serializerOpts as never) as (route: RouteSchema) => Serializer;
  const bySchema = new WeakMap<object, Serializer>();
  return ((route: RouteSchema) => {
    const known = bySchema.get(route.schema);
    if (known) return known;
    let compiled: Serializer | undefined;
    const lazy: Serializer = (data) => (compiled ??= compile(route))(data);
    bySchema.set(route.schema, lazy);
    return lazy;
  }) as never;
};

/** Wraps a validator compiler so that each route's validator is compiled on its first request. */
export function lazyValidators<T>(inner: FastifySchemaCompiler<T>): FastifySchemaCompiler<T> {
  return (route) => {
    let compiled: ReturnType<FastifySchemaCompiler<T>> | undefined;
    return (data: unknown) => (compiled ??= inner(route))(data) as never;
  };
}
