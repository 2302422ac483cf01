// Framework categories a rule maps to, and the threat_type names they become on a threat. The names
// are the ones the app offers per framework (threat_model_framework: STRIDE, LINDDUN, CIA, ...).
import { FRAMEWORK_THREAT_TYPES } from '../contract/limits.ts';

/** Category codes of a rule, in the order of the framework's names in the contract. */
const codes = <const K extends readonly string[]>(keys: K, names: readonly string[]) =>
  Object.fromEntries(keys.map((k, i) => [k, names[i]!])) as { readonly [P in K[number]]: string };

export const STRIDE = codes(['S', 'T', 'R', 'I', 'D', 'E'], FRAMEWORK_THREAT_TYPES.STRIDE);
export const LINDDUN = codes(
  ['linking', 'identifying', 'non-repudiation', 'detecting', 'data-disclosure', 'unawareness', 'non-compliance'],
  FRAMEWORK_THREAT_TYPES.LINDDUN,
);
export const CIA = codes(['confidentiality', 'integrity', 'availability'], FRAMEWORK_THREAT_TYPES.CIA);

export type StrideLetter = keyof typeof STRIDE;
export type LinddunCategory = keyof typeof LINDDUN;
export type CiaCategory = keyof typeof CIA;

export interface Categories {
  STRIDE?: StrideLetter[];
  LINDDUN?: LinddunCategory[];
  CIA?: CiaCategory[];
}

const NAMES = { STRIDE, LINDDUN, CIA } as const;
export const FRAMEWORK_KEYS = ['STRIDE', 'LINDDUN', 'CIA'] as const;

/** Every category as `FRAMEWORK:code` (SARIF tags, text output). */
export function categoryTags(c: Categories): string[] {
  return FRAMEWORK_KEYS.flatMap((f) => (c[f] ?? []).map((code) => `${f}:${code}`));
}

/**
 * The threat_type values for a threat suggested under `framework`: the names of the rule's
 * categories in that framework, else (a framework the rule does not map to) its STRIDE names.
 */
export function threatTypes(c: Categories, framework: string): string[] {
  const f = FRAMEWORK_KEYS.find((k) => k.toLowerCase() === framework.toLowerCase());
  const pick = (k: (typeof FRAMEWORK_KEYS)[number]) => (c[k] ?? []).map((code) => (NAMES[k] as Record<string, string>)[code]!);
  const own = f ? pick(f) : [];
  return own.length ? own : pick('STRIDE');
}
