// The CWE picker's catalogue and search. The catalogue is MITRE's whole CWE List (weaknesses, and the
// categories and views people also cite), made at build time from the `cwe-sdk` package's data
// (web/scripts/cwe-catalogue.mjs) and loaded on first use, so the app's main bundle does not carry
// it. Its version and date are the data file's.
/// <reference path="../virtual-modules.d.ts" />

export interface CweEntry {
  /** "CWE-79". */
  id: string;
  name: string;
  /** The weakness's abstraction (Pillar, Class, Base, Variant, Compound), or Category or View. */
  kind: string;
  deprecated: boolean;
}

export interface CweCatalogue {
  /** "MITRE CWE List 4.15 (2024-07-16)". */
  label: string;
  version: string;
  date: string;
  entries: readonly CweEntry[];
  byId: ReadonlyMap<string, CweEntry>;
}

let loading: Promise<CweCatalogue> | undefined;

/** The catalogue, loaded once (a separate chunk of the build). */
export function loadCweCatalogue(): Promise<CweCatalogue> {
  loading ??= import('virtual:cwe-catalogue').then(
    ({ default: c }) => {
      const entries = c.entries.map(([n, name, kind, deprecated]) => ({ id: `CWE-${n}`, name, kind, deprecated: deprecated === 1 }));
      return { label: `${c.name} ${c.version} (${c.date})`, version: c.version, date: c.date, entries, byId: new Map(entries.map((e) => [e.id, e])) };
    },
    (err: unknown) => {
      loading = undefined; // a failed chunk load (network) can be retried
      throw err;
    },
  );
  return loading;
}

/** "79", "cwe79", "CWE-79", "cwe 79" as the number; undefined for anything else. */
export function cweNumber(q: string): string | undefined {
  return /^(?:cwe[-\s]?)?0*(\d{1,6})$/i.exec(q.trim())?.[1];
}

// Lower is better. Within a rank, current weaknesses come before categories and views, deprecated
// entries last, then by id.
const RANK = { exactId: 0, idPrefix: 1, namePrefix: 2, nameContains: 3, allWords: 4 } as const;
const standing = (e: CweEntry) => (e.deprecated ? 2 : e.kind === 'Category' || e.kind === 'View' ? 1 : 0);

/**
 * The entries matching a query, best first: by number ("79", "CWE-79": that id, then ids starting
 * with those digits), or by words of the name ("sql injection": names starting with the phrase,
 * then names containing it, then names containing every word).
 */
export function searchCwe(catalogue: CweCatalogue, q: string, limit = 20): CweEntry[] {
  const number = cweNumber(q);
  const phrase = q.trim().toLowerCase().replace(/\s+/g, ' ');
  if (!phrase) return [];
  const words = phrase.split(' ');
  const ranked: [number, CweEntry][] = [];
  for (const e of catalogue.entries) {
    let rank: number | undefined;
    if (number) {
      const digits = e.id.slice(4);
      if (digits === number) rank = RANK.exactId;
      else if (digits.startsWith(number)) rank = RANK.idPrefix;
    } else {
      const name = e.name.toLowerCase();
      if (name.startsWith(phrase)) rank = RANK.namePrefix;
      else if (name.includes(phrase)) rank = RANK.nameContains;
      else if (words.every((w) => name.includes(w))) rank = RANK.allWords;
    }
    if (rank !== undefined) ranked.push([rank, e]);
  }
  ranked.sort(([ra, a], [rb, b]) => ra - rb || standing(a) - standing(b) || Number(a.id.slice(4)) - Number(b.id.slice(4)));
  return ranked.slice(0, limit).map(([, e]) => e);
}
