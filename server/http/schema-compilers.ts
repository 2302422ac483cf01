// Request validators and response serializers: compiled on a route's first request, and once per
// schema for the whole process. Fastify compiles every route's schemas when the route is
// registered: with about two hundred routes, each naming the error envelope for several status
// codes, that was most of the CPU time of a start (bench/startup; docs/performance.md) and of
// building an app in tests. Compiled functions hold no state of the app that made them, so a
// second app in the same process (tests build dozens) reuses them. Output is unchanged: the same
// compilers (TypeBox's, fast-json-stringify) do the work.
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import fastJsonStringify from 'fast-json-stringify';

type Validator = ReturnType<FastifySchemaCompiler<any>>;
type Serializer = (data: unknown) => string;

/**
 * Two levels: the schema object itself (route modules share their TypeBox constants), then its
 * JSON text (schemas a route builds afresh for each app are equal, not identical). The text keys
 * are bounded by the number of distinct schemas in the code.
 */
class CompiledCache<T> {
  private readonly byObject = new WeakMap<object, Map<string, T>>();
  private readonly byText = new Map<string, T>();

  get(schema: object, variant: string, compile: () => T): T {
    let perObject = this.byObject.get(schema);
    const hit = perObject?.get(variant);
    if (hit) return hit;
    const text = `${variant}\u0000${JSON.stringify(schema)}`;
    let compiled = this.byText.get(text);
    if (!compiled) {
      compiled = compile();
      this.byText.set(text, compiled);
    }
    if (!perObject) this.byObject.set(schema, (perObject = new Map()));
    perObject.set(variant, compiled);
    return compiled;
  }
}

const validators = new CompiledCache<Validator>();
const serializers = new CompiledCache<Serializer>();

/** TypeBox's compiler (querystring, params and headers are converted; bodies are checked as they are). */
export const cachedValidatorCompiler: FastifySchemaCompiler<any> = (route) => {
  let compiled: Validator | undefined;
  return ((data: unknown) => (compiled ??= validators.get(route.schema as object, route.httpPart ?? '', () => TypeBoxValidatorCompiler(route)))(data)) as Validator;
};

/** Fastify's default (fast-json-stringify, no shared schemas: the app registers none). */
export const cachedSerializerCompiler: FastifySerializerCompiler<any> = (route) => {
  let compiled: Serializer | undefined;
  return (data: unknown) => (compiled ??= serializers.get(route.schema as object, '', () => fastJsonStringify(route.schema as object) as Serializer))(data);
};
