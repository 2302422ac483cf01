// The built-in rule pack: data in builtin-pack.json, validated like any organisation's pack.
import data from './builtin-pack.json' with { type: 'json' };
import { validatePack, type Pack } from './pack.ts';

export const BUILTIN_PACK: Pack = validatePack(data, 'builtin-pack.json');
