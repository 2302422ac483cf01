// Free-text rules shared by the children of a threat model: the reference's HTML/script injection
// filter and its enum normalisation of `status`/`severity` (docs/compatibility.md).
import { badRequest } from '../../http/errors.ts';

// `<script`, `<iframe`, embedded objects, `javascript:` URLs, inline event handlers (`onload=`) and
// template markers; the name/description patterns of the contract already forbid `<` and `>` in
// most fields, this also covers the fields whose pattern allows them and the ones that do not.
const UNSAFE = [
  /<\s*(script|iframe|object|embed|applet)\b/i,
  /javascript\s*:/i,
  /vbscript\s*:/i,
  /\bon[a-z]+\s*=/i,
  /\{\{|\}\}|\$\{|<%|%>|#\{/,
];

export function isUnsafeText(value: string): boolean {
  return UNSAFE.some((re) => re.test(value));
}

/** 400 when one of the named fields of `obj` (a string or a list of strings) carries markup or script. */
export function rejectUnsafeFields(obj: Record<string, unknown>, fields: readonly string[]): void {
  for (const f of fields) {
    const v = obj[f];
    const texts = Array.isArray(v) ? v : [v];
    if (texts.some((t) => typeof t === 'string' && isUnsafeText(t))) throw badRequest(`Field '${f}' contains potentially unsafe content`);
  }
}

const SCRIPT_SCHEME = /^\s*(javascript|vbscript|data)\s*:/i;

/** 400 when one of the named link fields of `obj` uses a scheme that can run script. */
export function rejectScriptUris(obj: Record<string, unknown>, fields: readonly string[]): void {
  for (const f of fields) {
    const v = obj[f];
    if (typeof v === 'string' && SCRIPT_SCHEME.test(v)) throw badRequest(`Field '${f}' contains potentially unsafe content`);
  }
}

