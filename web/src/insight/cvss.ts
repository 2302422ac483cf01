// CVSS 3.1 and 4.0 through ae-cvss-calculator ({metæffekt}, Apache-2.0): the metrics a calculator
// offers, and the vector and score of a choice. The library implements FIRST's formulas (3.1) and
// macro-vector lookup (4.0); this module only adapts it to the threat's `cvss` entries.
import { Cvss3P1, Cvss4P0 } from 'ae-cvss-calculator';

export type CvssVersion = '3.1' | '4.0';

export interface Metric {
  short: string;
  name: string;
  category: string;
  values: { short: string; name: string }[];
}

const make = (version: CvssVersion, vector?: string) => (version === '3.1' ? new Cvss3P1(vector) : new Cvss4P0(vector));

/** The version a stored vector is written in, if one we calculate. */
export const versionOf = (vector: string): CvssVersion | undefined => (vector.startsWith('CVSS:3.1/') ? '3.1' : vector.startsWith('CVSS:4.0/') ? '4.0' : undefined);

/** The base metrics (and for 4.0 the threat metric) of a version, in the specification's order. */
export function metricsOf(version: CvssVersion): Metric[] {
  const wanted = version === '3.1' ? ['base', 'temporal'] : ['base', 'threat'];
  const out: Metric[] = [];
  for (const [category, comps] of make(version).getRegisteredComponents()) {
    if (!wanted.includes(category.name)) continue;
    for (const c of comps) out.push({ short: c.shortName, name: c.name, category: category.name, values: c.values.filter((v) => !v.hide).map((v) => ({ short: v.shortName, name: v.name })) });
  }
  return out;
}

export interface CvssResult {
  vector: string;
  /** The base score, once every base metric is chosen. */
  base: number | undefined;
  /** The score the vector gives with every metric chosen (temporal/threat included). */
  overall: number | undefined;
  complete: boolean;
  severity: 'none' | 'low' | 'medium' | 'high' | 'critical' | undefined;
}

export function severityOf(score: number): NonNullable<CvssResult['severity']> {
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

/** Scores a set of chosen metric values (`{ AV: 'N', ... }`); unset metrics stay undefined (X). */
export function score(version: CvssVersion, chosen: Record<string, string>): CvssResult {
  const v = make(version);
  for (const [k, value] of Object.entries(chosen)) if (value && value !== 'X') v.applyComponentString(k, value);
  const complete = v.isBaseFullyDefined();
  const s = v.calculateScores() as { overall: number; base?: number; baseMetricsOnly?: number };
  const overall = complete ? s.overall : undefined;
  const base = complete ? (version === '4.0' ? s.baseMetricsOnly : s.base) : undefined;
  return { vector: v.toStringDefinedParts(), base, overall, complete, severity: overall === undefined ? undefined : severityOf(overall) };
}

/** The metric values of a stored vector, or undefined when the library cannot read it. */
export function parseVector(vector: string): { version: CvssVersion; chosen: Record<string, string> } | undefined {
  const version = versionOf(vector);
  if (!version) return undefined;
  const chosen: Record<string, string> = {};
  for (const part of vector.split('/').slice(1)) {
    const [k, value] = part.split(':');
    if (!k || !value) return undefined;
    chosen[k] = value;
  }
  try {
    make(version, vector);
  } catch {
    return undefined;
  }
  return { version, chosen };
}
