// Rule packs as data: the TypeBox schema of a pack, loading one from JSON or YAML text, and the
// checks the schema cannot express (unknown properties, operators that do not fit the rule's
// target, bad regular expressions, duplicate ids). A bad pack is one PackError listing every problem.
import { Type, type Static } from 'typebox';
import { parseDocument } from 'yaml';
import { CIA, LINDDUN, STRIDE } from './categories.ts';
import { isKnownProperty, PROPERTIES, onScale } from './vocabulary.ts';
import { compileOnFirstUse } from '../contract/validator.ts';

export const SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severityRank = (s: string) => SEVERITIES.indexOf(s as Severity);

const Scalar = Type.Union([Type.String({ maxLength: 256 }), Type.Boolean(), Type.Number()]);
const closed = { additionalProperties: false } as const;
const enumOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/**
 * A condition: exactly one operator per object. Combinators (all, any, not), a property test
 * (`property` with one comparator), and the graph steps: `source`/`target`/`either`/`both` on a
 * flow's ends, `inbound`/`outbound` (some flow into or out of an element matches).
 */
const Condition = Type.Cyclic(
  {
    Condition: Type.Object(
      {
        all: Type.Optional(Type.Array(Type.Ref('Condition'), { minItems: 1, maxItems: 50 })),
        any: Type.Optional(Type.Array(Type.Ref('Condition'), { minItems: 1, maxItems: 50 })),
        not: Type.Optional(Type.Ref('Condition')),
        property: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        equals: Type.Optional(Scalar),
        in: Type.Optional(Type.Array(Scalar, { minItems: 1, maxItems: 100 })),
        present: Type.Optional(Type.Boolean()),
        atLeast: Type.Optional(Type.String({ maxLength: 64 })),
        atMost: Type.Optional(Type.String({ maxLength: 64 })),
        includes: Type.Optional(Type.String({ maxLength: 128 })),
        matches: Type.Optional(Type.String({ maxLength: 256 })),
        source: Type.Optional(Type.Ref('Condition')),
        target: Type.Optional(Type.Ref('Condition')),
        either: Type.Optional(Type.Ref('Condition')),
        both: Type.Optional(Type.Ref('Condition')),
        inbound: Type.Optional(Type.Ref('Condition')),
        outbound: Type.Optional(Type.Ref('Condition')),
      },
      closed,
    ),
  },
  'Condition',
);
export type Condition = Static<typeof Condition>;

const TEXT = '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F<>]*$';

export const RuleSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'Stable id; part of every fingerprint' }),
    title: Type.String({ minLength: 1, maxLength: 200, pattern: TEXT }),
    description: Type.Optional(Type.String({ maxLength: 2000, pattern: TEXT })),
    appliesTo: enumOf(['element', 'flow'] as const),
    match: Condition,
    categories: Type.Object(
      {
        STRIDE: Type.Optional(Type.Array(enumOf(Object.keys(STRIDE) as (keyof typeof STRIDE)[]), { minItems: 1, uniqueItems: true })),
        LINDDUN: Type.Optional(Type.Array(enumOf(Object.keys(LINDDUN) as (keyof typeof LINDDUN)[]), { minItems: 1, uniqueItems: true })),
        CIA: Type.Optional(Type.Array(enumOf(Object.keys(CIA) as (keyof typeof CIA)[]), { minItems: 1, uniqueItems: true })),
      },
      closed,
    ),
    threat: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^<>"&\\x00-\\x1F]*$' }),
        description: Type.String({ minLength: 1, maxLength: 1500, pattern: TEXT }),
        severity: enumOf(SEVERITIES),
        cwe: Type.Array(Type.String({ pattern: '^CWE-[0-9]{1,6}$' }), { maxItems: 10, uniqueItems: true }),
        mitigation: Type.String({ minLength: 1, maxLength: 1000, pattern: TEXT }),
      },
      closed,
    ),
    references: Type.Optional(Type.Array(Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }), url: Type.String({ pattern: '^https://[^\\s]+$', maxLength: 500 }) }, closed), { maxItems: 10 })),
    enabled: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type Rule = Static<typeof RuleSchema>;

export const PackSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    version: Type.String({ minLength: 1, maxLength: 32 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    rules: Type.Array(RuleSchema, { maxItems: 2000 }),
  },
  closed,
);
export type Pack = Static<typeof PackSchema>;

const PackCheck = compileOnFirstUse(PackSchema);

export class PackError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid rule pack:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PackError';
  }
}

/** Schema errors as readable lines: one per path, literal unions as "must be one of ...". */
function schemaProblems(value: unknown): string[] {
  const byPath = new Map<string, { consts: string[]; messages: string[] }>();
  for (const e of PackCheck.Errors(value)) {
    if (e.keyword === 'boolean') continue;
    const path = e.instancePath || '/';
    const entry = byPath.get(path) ?? { consts: [], messages: [] };
    byPath.set(path, entry);
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'const') entry.consts.push(JSON.stringify(params.allowedValue));
    else if (e.keyword === 'anyOf' && entry.consts.length) continue;
    else if (e.keyword === 'additionalProperties') entry.messages.push(`unknown field(s) ${(params.additionalProperties as string[]).map((k) => `'${k}'`).join(', ')}`);
    else entry.messages.push(e.message);
  }
  return [...byPath].flatMap(([path, { consts, messages }]) => [
    ...(consts.length ? [`${path}: must be one of ${consts.join(', ')}`] : []),
    ...messages.map((m) => `${path}: ${m}`),
  ]);
}

const COMBINATORS = ['all', 'any', 'not'] as const;
const FLOW_STEPS = ['source', 'target', 'either', 'both'] as const;
const ELEMENT_STEPS = ['inbound', 'outbound'] as const;
const COMPARATORS = ['equals', 'in', 'present', 'atLeast', 'atMost', 'includes', 'matches'] as const;

/** Checks one condition tree; `on` is what it is evaluated against (an element or a flow). */
function conditionProblems(c: Condition, on: 'element' | 'flow', path: string, out: string[]): void {
  const ops = [...COMBINATORS, ...FLOW_STEPS, ...ELEMENT_STEPS, 'property'].filter((k) => (c as Record<string, unknown>)[k] !== undefined);
  const comparators = COMPARATORS.filter((k) => (c as Record<string, unknown>)[k] !== undefined);
  if (ops.length !== 1) {
    out.push(`${path}: needs exactly one of all, any, not, property, source, target, either, both, inbound, outbound (found ${ops.length ? ops.join(', ') : 'none'})`);
    return;
  }
  const op = ops[0]!;
  if (op !== 'property' && comparators.length) out.push(`${path}: ${comparators.join(', ')} only go with 'property'`);
  if (op === 'all' || op === 'any') c[op]!.forEach((x, i) => conditionProblems(x, on, `${path}/${op}/${i}`, out));
  else if (op === 'not') conditionProblems(c.not!, on, `${path}/not`, out);
  else if ((FLOW_STEPS as readonly string[]).includes(op)) {
    if (on !== 'flow') out.push(`${path}: '${op}' applies to flows, not elements`);
    conditionProblems((c as Record<string, Condition>)[op]!, 'element', `${path}/${op}`, out);
  } else if ((ELEMENT_STEPS as readonly string[]).includes(op)) {
    if (on !== 'element') out.push(`${path}: '${op}' applies to elements, not flows`);
    conditionProblems((c as Record<string, Condition>)[op]!, 'flow', `${path}/${op}`, out);
  } else {
    const name = c.property!;
    if (comparators.length !== 1) {
      out.push(`${path}: property '${name}' needs exactly one of ${COMPARATORS.join(', ')}`);
      return;
    }
    if (!isKnownProperty(name)) {
      out.push(`${path}: unknown property '${name}' (see docs/rules.md; raw cell metadata is 'meta:<key>')`);
      return;
    }
    const def = PROPERTIES[name];
    if (def && def.applies !== 'both' && def.applies !== on) out.push(`${path}: property '${name}' is about ${def.applies}s, not ${on}s`);
    const cmp = comparators[0]!;
    if ((cmp === 'atLeast' || cmp === 'atMost') && def?.type !== 'scale') out.push(`${path}: '${cmp}' needs a property with a scale (data_classification, availability, integrity)`);
    else if ((cmp === 'atLeast' || cmp === 'atMost') && !onScale(name, c[cmp]!)) out.push(`${path}: '${c[cmp]}' is not on the scale of ${name} (${def!.values!.join(', ')})`);
    if (cmp === 'includes' && def && def.type !== 'list') out.push(`${path}: 'includes' needs a list property (data_formats)`);
    if (cmp === 'matches') {
      try {
        new RegExp(c.matches!, 'i');
        const risky = backtrackingRisk(c.matches!);
        if (risky) out.push(`${path}: 'matches' ${risky}, which can take exponential time; use 'in' or a simpler pattern`);
      } catch {
        out.push(`${path}: 'matches' is not a valid regular expression`);
      }
    }
  }
}

/**
 * Why a pattern could backtrack catastrophically (packs may come from an upload and run on the
 * server over every cell): a back-reference, or a repeated group that itself repeats or branches,
 * as in `(a+)+` or `(a|ab)*`. Undefined when the pattern is safe by that measure.
 */
export function backtrackingRisk(pattern: string): string | undefined {
  if (/\\[1-9]|\\k</.test(pattern)) return 'uses a back-reference';
  const groups: { repeats: boolean; branches: boolean }[] = [];
  let lastGroup: { repeats: boolean; branches: boolean } | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      i++;
      lastGroup = undefined;
      continue;
    }
    if (ch === '[') {
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      lastGroup = undefined;
      continue;
    }
    const top = groups[groups.length - 1];
    if (ch === '(') groups.push({ repeats: false, branches: false });
    else if (ch === ')') {
      lastGroup = groups.pop();
      if (lastGroup && groups.length && (lastGroup.repeats || lastGroup.branches)) groups[groups.length - 1]!.repeats ||= lastGroup.repeats;
      continue;
    } else if (ch === '|' && top) top.branches = true;
    else if (ch === '*' || ch === '+' || (ch === '{' && /^\{\d*,?\d*\}/.test(pattern.slice(i)) && !/^\{\d+\}|^\{[01],?1?\}/.test(pattern.slice(i)))) {
      if (lastGroup && (lastGroup.repeats || lastGroup.branches)) return 'repeats a group that itself repeats or branches';
      if (top) top.repeats = true;
    }
    lastGroup = undefined;
  }
  return undefined;
}

/** Validates a parsed pack; returns it typed, or throws PackError with every problem found. */
export function validatePack(value: unknown, source = 'pack'): Pack {
  const problems = schemaProblems(value);
  if (problems.length) throw new PackError(source, problems);
  const pack = value as Pack;
  const seen = new Set<string>();
  pack.rules.forEach((r, i) => {
    const at = `/rules/${i} (${r.id})`;
    if (seen.has(r.id)) problems.push(`${at}: duplicate rule id '${r.id}'`);
    seen.add(r.id);
    if (!r.categories.STRIDE && !r.categories.LINDDUN && !r.categories.CIA) problems.push(`${at}/categories: map the rule to at least one framework`);
    conditionProblems(r.match, r.appliesTo, `${at}/match`, problems);
  });
  if (problems.length) throw new PackError(source, problems);
  return pack;
}

/** Bounds for pack text, which may come from an administrator's upload. */
export const MAX_PACK_BYTES = 2 * 1024 * 1024;

/** Parses and validates pack text: JSON when it starts with `{`, YAML otherwise (aliases bounded). */
export function parsePack(text: string, source = 'pack'): Pack {
  if (text.length > MAX_PACK_BYTES) throw new PackError(source, [`larger than ${MAX_PACK_BYTES} bytes`]);
  let value: unknown;
  if (text.trimStart().startsWith('{')) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new PackError(source, [`not valid JSON: ${(e as Error).message}`]);
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) throw new PackError(source, doc.errors.slice(0, 10).map((e) => `not valid YAML: ${e.message}`));
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new PackError(source, [`not valid YAML: ${(e as Error).message}`]);
    }
  }
  return validatePack(value, source);
}
