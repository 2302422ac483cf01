// Text from other tools fitted to the reference's field rules (contract/): names without < > " ' &,
// descriptions without < >, no control characters, length limits, and nothing the server's
// markup filter refuses (template markers, inline event handlers, script URLs). Each adjustment is
// noted in the import report, so nothing changes silently.
import type { Reporter } from './document.ts';

// eslint-disable-next-line no-control-regex
const CONTROL_ALL = /[\x00-\x1F\x7F]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_KEEP_LINES = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/g;
const NAME_CHARS: Record<string, string> = { '<': '‹', '>': '›', '"': '”', "'": '’', '&': '+' };

/** The server refuses these in free text (tmi-domain-notes §1.1); a hyphen or space defuses them. */
function defuse(s: string): string {
  return s
    .replace(/\{\{|\}\}|\$\{|<%|%>|#\{/g, (m) => `${m[0]} ${m[1]}`)
    .replace(/\b(on)([a-z]+\s*=)/gi, '$1-$2')
    .replace(/\b(javascript|vbscript)(\s*):/gi, '$1 :');
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export class TextFitter {
  constructor(private readonly r: Reporter) {}

  private track(before: string, after: string, what: string): string {
    if (before !== after) this.r.note(`${what} adjusted to the TMI field rules (characters replaced or text shortened)`);
    return after;
  }

  /** A name (threat, diagram, asset, note): one line, no < > " ' &, at most `max` characters. */
  name(raw: unknown, fallback: string, what = 'names', max = 256): string {
    const s = typeof raw === 'string' ? raw : raw === undefined || raw === null ? '' : String(raw);
    const clean = defuse(s.replace(CONTROL_ALL, ' ').replace(/[<>"'&]/g, (c) => NAME_CHARS[c]!).replace(/\s+/g, ' ').trim());
    return this.track(s.replace(/\s+/g, ' ').trim(), cut(clean, max), what) || fallback;
  }

  /** A cell label: one line of at most 256 characters without control characters. */
  label(raw: unknown): string {
    const s = typeof raw === 'string' ? raw : '';
    const out = cut(s.replace(CONTROL_ALL, ' ').replace(/\s+/g, ' ').trim(), 256);
    return this.track(s.replace(/\s+/g, ' ').trim(), out, 'labels');
  }

  /** Free text (descriptions, mitigations): lines kept, no < > unless `allowAngles`, at most `max`. */
  text(raw: unknown, max: number, what = 'descriptions', allowAngles = false): string | null {
    if (typeof raw !== 'string') return null;
    const s = raw.replace(/\r\n/g, '\n').trim();
    if (!s) return null;
    let out = s.replace(CONTROL_KEEP_LINES, '');
    if (!allowAngles) out = out.replace(/[<>]/g, (c) => NAME_CHARS[c]!);
    out = cut(defuse(out), max);
    return this.track(s, out, what);
  }

  /** A metadata value: 1 to 1024 characters, or nothing. */
  meta(raw: unknown): string | undefined {
    if (raw === undefined || raw === null || typeof raw === 'object') return undefined;
    const s = String(raw).trim();
    if (!s) return undefined;
    return this.track(s, cut(defuse(s.replace(CONTROL_KEEP_LINES, '')), 1024), 'metadata values');
  }
}

/** Drops HTML tags (Threagile allows <b>, <i> in its texts). */
export const stripTags = (s: string) => s.replace(/<[^>]{0,200}>/g, '');

/** HTML fragments (TMT and StartLeft texts) as plain text: links become "text (url)", other tags go. */
export function htmlText(s: string): string {
  return stripTags(
    s.replace(/<a\s[^>]{0,300}href\s*=\s*"([^"]{1,500})"[^>]{0,200}>([^<]{0,500})<\/a>/gi, (_, url: string, text: string) => (text.trim() === url.trim() || !text.trim() ? url : `${text} (${url})`)),
  ).replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, e: string) => ({ amp: '&', lt: '‹', gt: '›', quot: '"', '#39': "'", nbsp: ' ' })[e]!);
}

/** "Information disclosure", "information-disclosure", "Denial Of Service" -> the STRIDE names TMI uses. */
const STRIDE_NAMES: Record<string, string> = {
  spoofing: 'Spoofing',
  tampering: 'Tampering',
  repudiation: 'Repudiation',
  informationdisclosure: 'Information Disclosure',
  denialofservice: 'Denial of Service',
  elevationofprivilege: 'Elevation of Privilege',
  elevationofprivileges: 'Elevation of Privilege',
};

export function threatType(raw: string): string {
  return STRIDE_NAMES[raw.toLowerCase().replace(/[^a-z]/g, '')] ?? raw.trim();
}


const SEVERITY_WORDS: Record<string, string> = {
  critical: 'critical',
  veryhigh: 'critical',
  high: 'high',
  elevated: 'high',
  medium: 'medium',
  moderate: 'medium',
  low: 'low',
  verylow: 'informational',
  info: 'informational',
  informational: 'informational',
  none: 'informational',
};

/** A severity word as one of the conventional values, or undefined when it is not one. */
export function severity(raw: unknown): string | undefined {
  return typeof raw === 'string' ? SEVERITY_WORDS[raw.toLowerCase().replace(/[^a-z]/g, '')] : undefined;
}

/** A metadata key from any label: the characters the contract allows, at most 256. */
export const metaKey = (s: string) => s.trim().replace(/[^a-zA-Z0-9_.:-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 256) || 'value';
