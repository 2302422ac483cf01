// Bounded parsing of untrusted files: a size limit, a nesting limit checked before the parser
// recurses, YAML aliases bounded ("billion laughs"), XML with any DTD refused (no entities, no
// external references). Every refusal is an ImportError with a message for a person.
import { XMLParser } from 'fast-xml-parser';
import { parseDocument } from 'yaml';
import { ImportError } from './document.ts';

export interface Limits {
  /** Largest accepted file, in characters of its text. */
  maxChars: number;
  /** Deepest accepted nesting of objects and arrays (XML elements). */
  maxDepth: number;
  /** Most YAML alias expansions. */
  maxAliases: number;
}

export const DEFAULT_LIMITS: Limits = { maxChars: 16 * 1024 * 1024, maxDepth: 64, maxAliases: 200 };

const mib = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;

export function checkSize(text: string, limits: Limits, what: string): void {
  if (text.length > limits.maxChars) throw new ImportError('too_large', `The ${what} file is ${mib(text.length)}; files up to ${mib(limits.maxChars)} are accepted.`);
}

/**
 * The deepest bracket nesting of JSON (or YAML flow) text, outside strings; stops as soon as
 * `limit` is passed, so a hostile file costs one linear scan and never reaches the parser.
 */
function bracketDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"') quote = '"';
    else if (ch === '[' || ch === '{') {
      if (++depth > limit) return true;
    } else if (ch === ']' || ch === '}') depth--;
  }
  return false;
}

export function parseJson(text: string, limits: Limits, what: string): unknown {
  checkSize(text, limits, what);
  if (bracketDepthExceeds(text, limits.maxDepth)) throw new ImportError('too_deep', `The ${what} file is nested more than ${limits.maxDepth} levels deep.`);
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new ImportError('invalid_syntax', `The ${what} file is not valid JSON: ${(e as Error).message}`);
  }
}

/** Depth of a parsed value (objects and arrays), stopping past `limit`. */
function depthExceeds(v: unknown, limit: number, depth = 0): boolean {
  if (depth > limit) return true;
  if (Array.isArray(v)) return v.some((x) => depthExceeds(x, limit, depth + 1));
  if (v !== null && typeof v === 'object') return Object.values(v).some((x) => depthExceeds(x, limit, depth + 1));
  return false;
}

/** YAML with `<<` merge keys (Threagile uses them), aliases bounded, nesting bounded. */
export function parseYaml(text: string, limits: Limits, what: string, onRepair?: (note: string) => void): unknown {
  checkSize(text, limits, what);
  // Block nesting is indentation: a line indented further than the depth limit allows is refused
  // before the parser builds a tree for it.
  const maxIndent = limits.maxDepth * 4;
  for (const m of text.matchAll(/^( +)\S/gm)) {
    if (m[1]!.length > maxIndent) throw new ImportError('too_deep', `The ${what} file is nested more than ${limits.maxDepth} levels deep.`);
  }
  if (bracketDepthExceeds(text.replace(/'[^'\n]*'|#[^\n]*/g, ''), limits.maxDepth)) throw new ImportError('too_deep', `The ${what} file is nested more than ${limits.maxDepth} levels deep.`);
  let doc = parseDocument(text, { merge: true, prettyErrors: false });
  if (doc.errors.length) {
    // PyYAML (which wrote or read many real files) accepts quoted text whose continuation lines
    // are indented too little; YAML 1.2 parsers do not. Retry once with those lines indented.
    const repaired = indentQuotedContinuations(text);
    const retry = repaired === text ? undefined : parseDocument(repaired, { merge: true, prettyErrors: false });
    if (!retry || retry.errors.length) throw new ImportError('invalid_syntax', `The ${what} file is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    onRepair?.('under-indented lines of multi-line quoted text were indented before parsing (as PyYAML reads them)');
    doc = retry;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: limits.maxAliases });
  } catch (e) {
    const msg = (e as Error).message;
    if (/alias/i.test(msg)) throw new ImportError('unsafe_content', `The ${what} file expands YAML aliases too often (a "billion laughs" document?); at most ${limits.maxAliases} are accepted.`);
    throw new ImportError('invalid_syntax', `The ${what} file is not valid YAML: ${msg}`);
  }
  if (depthExceeds(value, limits.maxDepth)) throw new ImportError('too_deep', `The ${what} file is nested more than ${limits.maxDepth} levels deep.`);
  return value;
}

/**
 * Multi-line quoted scalars whose continuation lines are not indented deeper than the line that
 * opened them, re-indented (the quoted text itself does not change: YAML folds that whitespace).
 */
export function indentQuotedContinuations(text: string): string {
  const lines = text.split('\n');
  let quote = '';
  let minIndent = 0;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    let from = 0;
    if (quote) {
      const indent = line.length - line.trimStart().length;
      if (line.trim() && indent < minIndent) {
        line = ' '.repeat(minIndent) + line.trimStart();
        lines[i] = line;
      }
      from = 0;
    } else {
      const m = /^(\s*)(?:-\s+)?(?:[^'"#:\s][^:#]*:\s+|-\s+)?(['"])/.exec(line);
      if (!m) continue;
      quote = m[2]!;
      minIndent = m[1]!.length + 1;
      from = m[0].length;
    }
    for (let j = from; j < line.length; j++) {
      const ch = line[j]!;
      if (quote === '"' && ch === '\\') j++;
      else if (ch === quote) {
        if (quote === "'" && line[j + 1] === "'") j++;
        else {
          quote = '';
          break;
        }
      }
    }
  }
  return lines.join('\n');
}

/** Elements that are always lists in the XML formats we read, even with one child. */
const XML_LISTS = new Set(['KeyValueOfguidanyType', 'anyType', 'KeyValueOfstringThreatpc_P0_PhOB', 'KeyValueOfstringstring', 'string', 'DrawingSurfaceModel', 'ThreatMetaDatum', 'Note']);

/**
 * XML without a DTD: any DOCTYPE or ENTITY declaration is refused outright (no entity expansion,
 * no external references), nesting is bounded, namespace prefixes are dropped, attributes kept
 * under `@_`, text values kept as strings; elements at the `skip` paths are left as raw text.
 */
export function parseXml(text: string, limits: Limits, what: string, skip: string[] = []): Record<string, unknown> {
  checkSize(text, limits, what);
  if (/<!DOCTYPE|<!ENTITY|<!ATTLIST|<!ELEMENT/i.test(text)) {
    throw new ImportError('unsafe_content', `The ${what} file declares a DTD or XML entities, which are refused (they can read local files or expand without bound).`);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    htmlEntities: false,
    maxNestedTags: limits.maxDepth,
    isArray: (name) => XML_LISTS.has(name),
    // Parts the importer does not read stay unparsed text (the validator still checks them).
    stopNodes: skip,
  });
  try {
    return parser.parse(text, true) as Record<string, unknown>;
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (/nest/i.test(msg)) throw new ImportError('too_deep', `The ${what} file is nested more than ${limits.maxDepth} levels deep.`);
    throw new ImportError('invalid_syntax', `The ${what} file is not well-formed XML: ${msg.split('\n')[0]}`);
  }
}
