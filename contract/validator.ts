// Validators for the server's own checks (beyond the routes' schemas, which Fastify compiles when
// it registers them), compiled on their first use instead of when their module loads.
import type { StaticEncode, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';

/**
 * A TypeBox validator of `schema`, built the first time it checks something. Compiling generates
 * code and evaluates it, and the server holds dozens of such validators for requests it may never
 * see (patches, imports, collaboration messages): compiled all at load they were a twentieth of
 * its start (docs/performance.md, start and memory).
 */
export class CompiledOnFirstUse<const T extends TSchema> {
  #compiled: Validator<{}, T> | undefined;

  constructor(private readonly schema: T) {}

  private get validator(): Validator<{}, T> {
    return (this.#compiled ??= Compile<T, Validator<{}, T>>(this.schema));
  }

  Check(value: unknown): value is StaticEncode<T, {}> {
    return this.validator.Check(value);
  }

  Errors(value: unknown): ReturnType<Validator<{}, T>['Errors']> {
    return this.validator.Errors(value);
  }
}

export const compileOnFirstUse = <const T extends TSchema>(schema: T): CompiledOnFirstUse<T> => new CompiledOnFirstUse(schema);
