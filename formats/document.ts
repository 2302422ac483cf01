// The portable model every importer produces and every exporter reads: a whole threat model in the
// reference's wire shapes (the Input schemas of contract/, plus ids so that threats can point at
// diagrams, cells and assets), and the report of an import: what was found, what was imported and
// what could not be mapped.
import type { Static } from 'typebox';
import type { AssetInput } from '../contract/assets.ts';
import type { ASSET_TYPES } from '../contract/limits.ts';
import type { Metadata } from '../contract/common.ts';
import type { CellJson, DfdDiagramInput } from '../contract/diagrams.ts';
import type { DocumentInput } from '../contract/documents.ts';
import type { NoteInput } from '../contract/notes.ts';
import type { RepositoryInput } from '../contract/repositories.ts';
import type { ThreatModelInput } from '../contract/threat-models.ts';
import type { ThreatInput } from '../contract/threats.ts';

type WithId<T> = T & { id: string; metadata?: Metadata[] | null };

export type DiagramDoc = WithId<Omit<DfdDiagramInput, 'cells' | 'metadata'> & { cells: CellJson[] }>;
export type ThreatDoc = WithId<ThreatInput>;
/** (The contract builds the asset type union from a list, which TypeScript widens; narrowed here.) */
export type AssetDoc = WithId<Omit<Static<typeof AssetInput>, 'type'> & { type: (typeof ASSET_TYPES)[number] }>;
export type NoteDoc = WithId<Static<typeof NoteInput>>;
export type DocumentDoc = WithId<Omit<Static<typeof DocumentInput>, 'picker_registration'>>;
export type RepositoryDoc = WithId<Static<typeof RepositoryInput>>;

/**
 * A whole threat model: the writable fields of ThreatModelInput (access control is never imported:
 * `authorization` and `is_confidential` stay with the server) and every child collection.
 */
export type ModelDocument = Omit<ThreatModelInput, 'authorization' | 'is_confidential'> & {
  diagrams: DiagramDoc[];
  threats: ThreatDoc[];
  assets: AssetDoc[];
  notes: NoteDoc[];
  documents: DocumentDoc[];
  repositories: RepositoryDoc[];
};

export type FormatId = 'tmi-json' | 'threat-dragon-v1' | 'threat-dragon-v2' | 'otm' | 'tm7' | 'threagile';

export const FORMAT_NAMES: Record<FormatId, string> = {
  'tmi-json': 'TMI threat model JSON',
  'threat-dragon-v1': 'OWASP Threat Dragon v1 JSON',
  'threat-dragon-v2': 'OWASP Threat Dragon v2 JSON',
  otm: 'Open Threat Model (OTM)',
  tm7: 'Microsoft Threat Modeling Tool (.tm7)',
  threagile: 'Threagile YAML',
};

export interface Counts {
  diagrams: number;
  /** Actors, processes and stores (external entities, components, technical assets). */
  elements: number;
  flows: number;
  boundaries: number;
  threats: number;
  assets: number;
}

export type ItemKind = 'diagram' | 'element' | 'flow' | 'boundary' | 'threat' | 'asset' | 'other';

export interface Unmapped {
  kind: ItemKind;
  /** Where it is in the source: an id, a name or a path. */
  source: string;
  reason: string;
}

export interface ImportReport {
  format: FormatId;
  /** What the source holds, counted as docs/formats.md says per format. */
  found: Counts;
  /** What the document holds after the import. */
  imported: Counts;
  /** Everything found but not imported, one entry each; found = imported + unmapped, per kind. */
  unmapped: Unmapped[];
  /** Mapped, but not one-to-one: approximations, defaults and adjustments, with how often. */
  notes: string[];
}

export interface ImportResult {
  document: ModelDocument;
  report: ImportReport;
}

export interface ExportResult {
  /** The file's text. */
  text: string;
  /** What the target format could not carry. */
  notes: string[];
  omitted: Unmapped[];
}

export type ImportErrorCode = 'too_large' | 'too_deep' | 'invalid_syntax' | 'unsafe_content' | 'unrecognised_format' | 'invalid_model';

/** An import refused as a whole: the message says why, for a person. */
export class ImportError extends Error {
  constructor(
    readonly code: ImportErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

export const zeroCounts = (): Counts => ({ diagrams: 0, elements: 0, flows: 0, boundaries: 0, threats: 0, assets: 0 });

/** Counts what a document holds: diagrams, nodes by kind, flows, threats, assets. */
export function countDocument(doc: ModelDocument): Counts {
  const c = zeroCounts();
  c.diagrams = doc.diagrams.length;
  for (const d of doc.diagrams) {
    for (const cell of d.cells) {
      if (cell.shape === 'actor' || cell.shape === 'process' || cell.shape === 'store') c.elements += 1;
      else if (cell.shape === 'flow') c.flows += 1;
      else if (cell.shape === 'security-boundary') c.boundaries += 1;
    }
  }
  c.threats = doc.threats.length;
  c.assets = doc.assets.length;
  return c;
}

/** Collects what an importer could not map and the notes on what it mapped approximately. */
export class Reporter {
  readonly unmapped: Unmapped[] = [];
  private readonly tallies = new Map<string, number>();

  skip(kind: ItemKind, source: string, reason: string): void {
    this.unmapped.push({ kind, source, reason });
  }

  /** A note counted by its text: "3 x boundary lines became boxes". */
  note(text: string, times = 1): void {
    this.tallies.set(text, (this.tallies.get(text) ?? 0) + times);
  }

  report(format: FormatId, found: Counts, document: ModelDocument): ImportReport {
    const notes = [...this.tallies].map(([text, n]) => (n > 1 ? `${text} (${n} times)` : text)).sort();
    return { format, found, imported: countDocument(document), unmapped: this.unmapped, notes };
  }
}

/** An empty document named `name`. */
export function emptyDocument(name: string): ModelDocument {
  return { name, description: null, threat_model_framework: 'STRIDE', metadata: [], diagrams: [], threats: [], assets: [], notes: [], documents: [], repositories: [] };
}
