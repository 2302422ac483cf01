// The CWE catalogue of the web app's CWE picker, made at build time from MITRE's CWE List as the
// OWASP `cwe-sdk` package ships it (node_modules/cwe-sdk/raw/cwe-archive.json, MITRE's XML read into
// JSON). Nothing generated is committed: Vite (vite.config.ts) and vitest (vitest.config.ts) serve
// it as the module `virtual:cwe-catalogue`, which the picker imports lazily (web/src/insight/cwe.ts)
// so the app's main bundle does not carry it. The list's version and date come from the data file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const CWE_CATALOGUE_MODULE = 'virtual:cwe-catalogue';
const RESOLVED = `\0${CWE_CATALOGUE_MODULE}`;

/** Where the data file is: resolved through the package, so a moved node_modules still works. */
export function cweArchivePath() {
  return createRequire(import.meta.url).resolve('cwe-sdk/raw/cwe-archive.json');
}

const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Every weakness, category and view of the CWE List, compact: `[id, name, kind, deprecated?]`, where
 * kind is the weakness's abstraction (Pillar, Class, Base, Variant, Compound), or Category or View
 * (kept because rules and people cite some, e.g. the built-in pack cites the view CWE-1008).
 * Deprecated entries are kept, flagged with 1, so ids stored long ago still have a name.
 */
export function readCweCatalogue(file = cweArchivePath()) {
  const catalog = JSON.parse(readFileSync(file, 'utf8')).Weakness_Catalog;
  const attr = catalog?.attr;
  if (!attr?.['@_Version'] || !attr['@_Date']) throw new Error(`${file}: no CWE List version or date in Weakness_Catalog`);
  const entries = [];
  const add = (items, kindOf) => {
    for (const item of list(items)) {
      const a = item.attr;
      const entry = [Number(a['@_ID']), String(a['@_Name']), kindOf(a)];
      if (a['@_Status'] === 'Deprecated') entry.push(1);
      entries.push(entry);
    }
  };
  add(catalog.Weaknesses?.Weakness, (a) => a['@_Abstraction']);
  add(catalog.Categories?.Category, () => 'Category');
  add(catalog.Views?.View, () => 'View');
  if (entries.length < 900 || entries.some(([id, name]) => !Number.isInteger(id) || !name)) throw new Error(`${file}: not the CWE List this build expects`);
  entries.sort((x, y) => x[0] - y[0]);
  return { name: 'MITRE CWE List', version: String(attr['@_Version']), date: String(attr['@_Date']), entries };
}

/** The Vite (and vitest) plugin that serves `virtual:cwe-catalogue`. */
export function cweCatalogue() {
  return {
    name: 'tmi-cwe-catalogue',
    resolveId: (id) => (id === CWE_CATALOGUE_MODULE ? RESOLVED : undefined),
    load(id) {
      if (id !== RESOLVED) return undefined;
      const file = cweArchivePath();
      this.addWatchFile?.(file);
      return `export default ${JSON.stringify(readCweCatalogue(file))};\n`;
    },
  };
}
