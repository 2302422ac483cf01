// The rules engine: evaluates rule packs over a model and returns the suggested threats ("findings")
// in a deterministic order, each with a stable fingerprint (rule id + cell id) so that accepting or
// dismissing one is remembered. Pure and isomorphic: the editor, the server and the CLI call it.
import type { ThreatInput } from '../contract/threats.ts';
import { categoryTags, threatTypes, type Categories } from './categories.ts';
import { analyse, type Element, type Flow, type ModelInput, type ModelView } from './graph.ts';
import { severityRank, type Condition, type Pack, type Rule, type Severity } from './pack.ts';
import { onScale, scaleRank, SUGGESTION_KEY, type PropertyValue } from './vocabulary.ts';

export type FindingState = 'open' | 'accepted' | 'dismissed';

export interface Finding {
  fingerprint: string;
  ruleId: string;
  packId: string;
  title: string;
  severity: Severity;
  categories: Categories;
  /** `FRAMEWORK:code` tags, e.g. `STRIDE:S`. */
  tags: string[];
  cwe: string[];
  /** The threat as the rule words it, with the cell names filled in. */
  threat: { name: string; description: string; mitigation: string };
  subject: { kind: 'actor' | 'process' | 'store' | 'flow'; cellId: string; name: string; diagramId: string; diagramName: string; source?: string; target?: string };
  state: FindingState;
  references: { title: string; url: string }[];
}

export interface EvaluateOptions {
  /** Fingerprints dismissed outside the model (e.g. stored by the server). */
  dismissed?: Iterable<string>;
}

export const fingerprintOf = (ruleId: string, cellId: string) => `${ruleId}/${cellId.toLowerCase()}`;

type Subject = Element | Flow;

const patterns = new Map<string, RegExp>();
/** Packs' patterns, compiled once (validation has checked they compile and cannot backtrack badly). */
function patternOf(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    if (patterns.size > 1000) patterns.clear();
    re = new RegExp(source, 'i');
    patterns.set(source, re);
  }
  return re;
}

function testProperty(c: Condition, value: PropertyValue | undefined): boolean {
  const name = c.property!;
  if (c.present !== undefined) return (value !== undefined) === c.present;
  if (value === undefined) return false;
  const norm = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
  if (c.equals !== undefined) return Array.isArray(value) ? false : norm(value) === norm(c.equals);
  if (c.in !== undefined) return Array.isArray(value) ? value.some((v) => c.in!.some((x) => norm(x) === v)) : c.in.some((x) => norm(x) === norm(value));
  if (c.includes !== undefined) return Array.isArray(value) && value.includes(c.includes.toLowerCase());
  if (c.matches !== undefined) return patternOf(c.matches).test(Array.isArray(value) ? value.join(',') : String(value));
  if (typeof value !== 'string') return false;
  const bound = onScale(name, (c.atLeast ?? c.atMost)!);
  const rank = scaleRank(name, value);
  if (bound === undefined || rank < 0) return false;
  return c.atLeast !== undefined ? rank >= scaleRank(name, bound) : rank <= scaleRank(name, bound);
}

function matches(c: Condition, s: Subject): boolean {
  if (c.all) return c.all.every((x) => matches(x, s));
  if (c.any) return c.any.some((x) => matches(x, s));
  if (c.not) return !matches(c.not, s);
  if (c.property !== undefined) return testProperty(c, s.props.get(c.property));
  if (s.kind === 'flow') {
    if (c.source) return matches(c.source, s.source);
    if (c.target) return matches(c.target, s.target);
    if (c.either) return matches(c.either, s.source) || matches(c.either, s.target);
    if (c.both) return matches(c.both, s.source) && matches(c.both, s.target);
    return false;
  }
  if (c.inbound) return s.inbound.some((f) => matches(c.inbound!, f));
  if (c.outbound) return s.outbound.some((f) => matches(c.outbound!, f));
  return false;
}

const outOfScope = (s: Subject) => s.props.get('out_of_scope') === true;

/** `{element}`, `{source}`, `{target}`, `{kind}` in a rule's threat text, filled from the cell. */
function fill(text: string, s: Subject): string {
  const name = (n: string) => n.replace(/\s+/g, ' ').trim() || '(unnamed)';
  const values: Record<string, string> = {
    element: name(s.name),
    kind: s.kind,
    source: s.kind === 'flow' ? name(s.source.name) : name(s.name),
    target: s.kind === 'flow' ? name(s.target.name) : name(s.name),
  };
  return text.replace(/\{(element|source|target|kind)\}/g, (_, k: string) => values[k]!);
}

function finding(rule: Rule, pack: Pack, s: Subject, view: ModelView, dismissed: Set<string>): Finding {
  const fingerprint = fingerprintOf(rule.id, s.id);
  const state: FindingState = view.accepted.has(fingerprint) ? 'accepted' : dismissed.has(fingerprint) || s.dismissed.has(rule.id) ? 'dismissed' : 'open';
  return {
    fingerprint,
    ruleId: rule.id,
    packId: pack.id,
    title: rule.title,
    severity: rule.threat.severity,
    categories: rule.categories,
    tags: categoryTags(rule.categories),
    cwe: [...rule.threat.cwe],
    threat: { name: fill(rule.threat.name, s), description: fill(rule.threat.description, s), mitigation: fill(rule.threat.mitigation, s) },
    subject: {
      kind: s.kind,
      cellId: s.id,
      name: s.name,
      diagramId: s.diagramId,
      diagramName: s.diagramName,
      ...(s.kind === 'flow' ? { source: s.source.name, target: s.target.name } : {}),
    },
    state,
    references: rule.references ?? [],
  };
}

/** Severity high to low, then rule id, diagram, cell name and fingerprint: the same input, the same order. */
export function compareFindings(a: Finding, b: Finding): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    cmp(a.ruleId, b.ruleId) ||
    cmp(a.subject.diagramName, b.subject.diagramName) ||
    cmp(a.subject.name, b.subject.name) ||
    cmp(a.fingerprint, b.fingerprint)
  );
}

/** Every finding of the enabled rules of `packs` on `model` (open, accepted and dismissed ones). */
export function evaluate(model: ModelInput, packs: readonly Pack[], options: EvaluateOptions = {}): Finding[] {
  const view = analyse(model);
  const dismissed = new Set(options.dismissed ?? []);
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const pack of packs) {
    for (const rule of pack.rules) {
      if (rule.enabled === false) continue;
      for (const d of view.diagrams) {
        const subjects: Subject[] = rule.appliesTo === 'flow' ? d.flows : d.elements;
        for (const s of subjects) {
          if (outOfScope(s) || !matches(rule.match, s)) continue;
          const f = finding(rule, pack, s, view, dismissed);
          if (seen.has(f.fingerprint)) continue;
          seen.add(f.fingerprint);
          out.push(f);
        }
      }
    }
  }
  return out.sort(compareFindings);
}

/** Rule ids must be unique across the packs evaluated together; returns the duplicates. */
export function duplicateRuleIds(packs: readonly Pack[]): string[] {
  const owner = new Map<string, string>();
  const dup = new Set<string>();
  for (const p of packs) for (const r of p.rules) (owner.has(r.id) ? dup.add(r.id) : owner.set(r.id, p.id));
  return [...dup].sort();
}

/** True when some open finding is at or above `threshold`. */
export function exceeds(findings: readonly Finding[], threshold: Severity): boolean {
  return findings.some((f) => f.state === 'open' && severityRank(f.severity) >= severityRank(threshold));
}

/**
 * The threat that accepting a finding creates: linked to its diagram and cell, typed in the model's
 * framework, carrying the fingerprint so the suggestion counts as accepted from then on.
 */
export function toThreatInput(f: Finding, framework: string): ThreatInput {
  return {
    name: f.threat.name.slice(0, 256),
    description: f.threat.description.slice(0, 2048),
    mitigation: f.threat.mitigation.slice(0, 1024),
    severity: f.severity,
    status: 'open',
    threat_type: threatTypes(f.categories, framework),
    cwe_id: f.cwe,
    diagram_id: f.subject.diagramId,
    cell_id: f.subject.cellId,
    metadata: [{ key: SUGGESTION_KEY, value: f.fingerprint }],
  };
}
