// The reference's own JSON: a ThreatModel with its children embedded (diagrams with cells, threats,
// assets, notes, documents, repositories, metadata), as GET /threat_models/{id} returns it with every
// collection filled in. Export writes the document as it is; import keeps the writable fields of
// each object (server-owned ones such as owner, alias or timestamps are dropped) and checks every
// object against the same contract schemas the server uses, reporting the ones it must leave out.
import { AssetInput } from '../contract/assets.ts';
import { Metadata } from '../contract/common.ts';
import { DfdDiagramInput, Edge, Node } from '../contract/diagrams.ts';
import { DocumentInput } from '../contract/documents.ts';
import { NoteInput } from '../contract/notes.ts';
import { RepositoryInput } from '../contract/repositories.ts';
import { ThreatInput } from '../contract/threats.ts';
import type { CellJson } from '../contract/diagrams.ts';
import { ImportError, Reporter, zeroCounts, type ExportResult, type ImportResult, type ItemKind, type ModelDocument } from './document.ts';
import { isUuid } from './ids.ts';
import { DEFAULT_LIMITS, parseJson, type Limits } from './limits.ts';
import { compileOnFirstUse } from '../contract/validator.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const checkers = {
  threat: compileOnFirstUse(ThreatInput),
  asset: compileOnFirstUse(AssetInput),
  note: compileOnFirstUse(NoteInput),
  document: compileOnFirstUse(DocumentInput),
  repository: compileOnFirstUse(RepositoryInput),
  metadata: compileOnFirstUse(Metadata),
  node: compileOnFirstUse(Node),
  edge: compileOnFirstUse(Edge),
  diagram: compileOnFirstUse(DfdDiagramInput),
};

const TOP_FIELDS = ['name', 'description', 'threat_model_framework', 'issue_uri'] as const;

function pick(src: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (src[k] !== undefined) out[k] = src[k];
  return out;
}

function firstError(check: (typeof checkers)[keyof typeof checkers], value: unknown): string {
  const e = [...check.Errors(value)].find((x) => x.keyword !== 'boolean');
  return e ? `${e.instancePath || '/'} ${e.message}` : 'is invalid';
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function exportTmiJson(doc: ModelDocument): ExportResult {
  return { text: `${JSON.stringify(doc, null, 2)}\n`, notes: [], omitted: [] };
}

/** Parses reference JSON (a ThreatModel with embedded children, or a document this module wrote). */
export function importTmiJson(text: string, limits: Limits = DEFAULT_LIMITS): ImportResult {
  const raw = parseJson(text, limits, 'TMI JSON');
  if (!isObj(raw) || typeof raw.name !== 'string') throw new ImportError('invalid_model', 'The TMI JSON file is not a threat model: it has no name.');
  const r = new Reporter();
  const found = zeroCounts();

  const metadata = (v: unknown, where: string) =>
    asArray(v).filter((m) => {
      if (checkers.metadata.Check(m)) return true;
      r.skip('other', where, `metadata entry ${JSON.stringify(m).slice(0, 80)} ${firstError(checkers.metadata, m)}`);
      return false;
    }) as ModelDocument['metadata'] & object;

  // Each child: keep the contract's writable fields, the id and metadata; refuse what the server would.
  const children = <K extends 'threats' | 'assets' | 'notes' | 'documents' | 'repositories'>(key: K, kind: ItemKind, check: (typeof checkers)[keyof typeof checkers], fields: readonly string[]) => {
    const out: Obj[] = [];
    asArray(raw[key]).forEach((item, i) => {
      const where = `${key}[${i}]${isObj(item) && typeof item.name === 'string' ? ` '${item.name}'` : ''}`;
      if (!isObj(item) || !isUuid(item.id)) {
        r.skip(kind, where, 'not an object with a UUID id');
        return;
      }
      const picked = pick(item, fields);
      if (!check.Check(picked)) {
        r.skip(kind, where, firstError(check, picked));
        return;
      }
      const entry: Obj = { id: item.id, ...picked };
      if (item.metadata !== undefined) entry.metadata = item.metadata === null ? null : metadata(item.metadata, `${where}.metadata`);
      out.push(entry);
    });
    return out as ModelDocument[K];
  };

  const diagramFields = Object.keys(DfdDiagramInput.properties).filter((k) => k !== 'cells' && k !== 'metadata');
  const diagrams: ModelDocument['diagrams'] = [];
  asArray(raw.diagrams).forEach((d, i) => {
    found.diagrams += 1;
    const where = `diagrams[${i}]${isObj(d) && typeof d.name === 'string' ? ` '${d.name}'` : ''}`;
    const cellsRaw = isObj(d) ? asArray(d.cells) : [];
    for (const c of cellsRaw) {
      const shape = isObj(c) ? c.shape : undefined;
      if (shape === 'actor' || shape === 'process' || shape === 'store') found.elements += 1;
      else if (shape === 'flow') found.flows += 1;
      else if (shape === 'security-boundary') found.boundaries += 1;
    }
    if (!isObj(d) || !isUuid(d.id)) {
      r.skip('diagram', where, 'not an object with a UUID id');
      return;
    }
    const picked = pick(d, diagramFields);
    if (!checkers.diagram.Check({ ...picked, cells: [] })) {
      r.skip('diagram', where, firstError(checkers.diagram, { ...picked, cells: [] }));
      return;
    }
    const cells: CellJson[] = [];
    const ids = new Set<string>();
    const kindOf = (shape: unknown): ItemKind => (shape === 'flow' ? 'flow' : shape === 'security-boundary' ? 'boundary' : shape === 'text-box' ? 'other' : 'element');
    for (const [j, c] of cellsRaw.entries()) {
      const cw = `${where}.cells[${j}]`;
      const isEdge = isObj(c) && c.shape === 'flow';
      const check = isEdge ? checkers.edge : checkers.node;
      if (!isObj(c) || !check.Check(c)) {
        r.skip(kindOf(isObj(c) ? c.shape : undefined), cw, isObj(c) ? firstError(check, c) : 'not an object');
        continue;
      }
      if (ids.has(c.id as string)) {
        r.skip(kindOf(c.shape), cw, `duplicate cell id ${c.id as string}`);
        continue;
      }
      ids.add(c.id as string);
      cells.push(c as CellJson);
    }
    // A flow whose end was left out cannot stay.
    const kept = cells.filter((c) => {
      if (c.shape !== 'flow') return true;
      const ok = ids.has((c.source as Obj).cell as string) && ids.has((c.target as Obj).cell as string);
      if (!ok) r.skip('flow', `${where} cell ${c.id}`, 'an end of the flow is not in the diagram');
      return ok;
    });
    const entry: Obj = { id: d.id, ...picked, cells: kept };
    if (d.metadata !== undefined) entry.metadata = d.metadata === null ? null : metadata(d.metadata, `${where}.metadata`);
    diagrams.push(entry as ModelDocument['diagrams'][number]);
  });

  const threats = children('threats', 'threat', checkers.threat, Object.keys(ThreatInput.properties));
  const assets = children('assets', 'asset', checkers.asset, Object.keys(AssetInput.properties));
  found.threats = asArray(raw.threats).length;
  found.assets = asArray(raw.assets).length;

  const top = pick(raw, TOP_FIELDS) as Pick<ModelDocument, (typeof TOP_FIELDS)[number]>;
  const document: ModelDocument = {
    ...top,
    ...(raw.metadata !== undefined ? { metadata: raw.metadata === null ? null : metadata(raw.metadata, 'metadata') } : {}),
    diagrams,
    threats,
    assets,
    notes: children('notes', 'other', checkers.note, Object.keys(NoteInput.properties)),
    documents: children('documents', 'other', checkers.document, Object.keys(DocumentInput.properties).filter((k) => k !== 'picker_registration')),
    repositories: children('repositories', 'other', checkers.repository, Object.keys(RepositoryInput.properties)),
  };
  const dropped = ['owner', 'created_by', 'authorization', 'is_confidential', 'security_reviewer', 'status', 'alias', 'version', 'created_at', 'modified_at'].filter((k) => raw[k] !== undefined);
  if (dropped.length) r.note(`server-owned fields are not imported (${dropped.join(', ')}); the importing server sets them`);
  return { document, report: r.report('tmi-json', found, document) };
}
