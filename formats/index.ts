// Import and export of whole threat models: TMI's own JSON, OWASP Threat Dragon (v1, v2), Open
// Threat Model (JSON, YAML), Microsoft Threat Modeling Tool (.tm7) and Threagile YAML. Isomorphic:
// text in, document and report out; the caller does the file or network I/O.
import { ImportError, type ExportResult, type ImportResult, type ModelDocument } from './document.ts';
import { checkSize, DEFAULT_LIMITS, type Limits } from './limits.ts';
import { importOtm, exportOtm } from './otm.ts';
import { importThreagile } from './threagile.ts';
import { exportThreatDragon, importThreatDragon } from './threat-dragon.ts';
import { importTm7, isTm7 } from './tm7.ts';
import { exportTmiJson, importTmiJson } from './tmi-json.ts';

export * from './document.ts';
export { DEFAULT_LIMITS, type Limits } from './limits.ts';
export { reassignIds, stableUuid } from './ids.ts';
export { exportOtm, importOtm, exportThreatDragon, importThreatDragon, importTm7, importThreagile, exportTmiJson, importTmiJson };

export type ImportFormat = 'tmi-json' | 'threat-dragon' | 'otm' | 'tm7' | 'threagile';
export type ExportFormat = 'tmi-json' | 'threat-dragon' | 'otm';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['tmi-json', 'threat-dragon', 'otm', 'tm7', 'threagile'];
export const EXPORT_FORMATS: readonly ExportFormat[] = ['tmi-json', 'threat-dragon', 'otm'];

const IMPORTERS: Record<ImportFormat, (text: string, limits?: Limits) => ImportResult> = {
  'tmi-json': importTmiJson,
  'threat-dragon': importThreatDragon,
  otm: importOtm,
  tm7: importTm7,
  threagile: importThreagile,
};

/**
 * Which format a file is in, from its first bytes and a few top-level keys (the file name only
 * breaks ties), without parsing the whole file.
 */
export function detectFormat(text: string, fileName = ''): ImportFormat {
  const head = text.slice(0, 64 * 1024).replace(/^\uFEFF/, '');
  const name = fileName.toLowerCase();
  if (isTm7(head) || name.endsWith('.tm7')) return 'tm7';
  const start = head.trimStart();
  if (start.startsWith('{')) {
    if (/"otmVersion"\s*:/.test(head)) return 'otm';
    if (/"summary"\s*:/.test(head) && /"detail"\s*:/.test(text)) return 'threat-dragon';
    return 'tmi-json';
  }
  if (/^otmVersion\s*:/m.test(head)) return 'otm';
  if (/^(threagile_version|technical_assets)\s*:/m.test(head)) return 'threagile';
  if (name.endsWith('.otm')) return 'otm';
  if (start.startsWith('<')) throw new ImportError('unrecognised_format', 'The file is XML but not a Threat Modeling Tool model (no ThreatModel root).');
  throw new ImportError('unrecognised_format', 'The file is not in a format TMI imports: TMI JSON, Threat Dragon JSON, OTM (JSON or YAML), Threat Modeling Tool .tm7 or Threagile YAML.');
}

/** Imports `text` in the given format, or the detected one. */
export function importModel(text: string, options: { format?: ImportFormat; fileName?: string; limits?: Limits } = {}): ImportResult {
  const limits = options.limits ?? DEFAULT_LIMITS;
  checkSize(text, limits, 'model');
  const format = options.format ?? detectFormat(text, options.fileName);
  return IMPORTERS[format](text, limits);
}

export function exportModel(doc: ModelDocument, format: ExportFormat): ExportResult {
  if (format === 'threat-dragon') return exportThreatDragon(doc);
  if (format === 'otm') return exportOtm(doc);
  return exportTmiJson(doc);
}

