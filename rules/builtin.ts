// The built-in rule pack: data in builtin-pack.json. It is held to the same checks as any
// organisation's pack (validatePack) by test/rules/builtin-pack.test.ts, not at every start: the
// file ships with the code and cannot change without a build.
import data from './builtin-pack.json' with { type: 'json' };
import type { Pack } from './pack.ts';

export const BUILTIN_PACK = data as Pack;
