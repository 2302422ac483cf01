// Helpers for the format tests: fixtures, and a check that a document is what the server accepts
// (every object against the same contract schemas the API validates with).
import { readFileSync } from 'node:fs';
import { Compile } from 'typebox/compile';
import { AssetInput } from '../../contract/assets.ts';
import { Metadata } from '../../contract/common.ts';
import { DfdDiagramInput, Edge, Node } from '../../contract/diagrams.ts';
import { DocumentInput } from '../../contract/documents.ts';
import { NoteInput } from '../../contract/notes.ts';
import { RepositoryInput } from '../../contract/repositories.ts';
import { ThreatModelInput } from '../../contract/threat-models.ts';
import { ThreatInput } from '../../contract/threats.ts';
import type { ModelDocument } from '../../formats/index.ts';

export const fixture = (name: string) => readFileSync(new URL(`../fixtures/formats/${name}`, import.meta.url), 'utf8');

const checks = {
  model: Compile(ThreatModelInput),
  diagram: Compile(DfdDiagramInput),
  node: Compile(Node),
  edge: Compile(Edge),
  threat: Compile(ThreatInput),
  asset: Compile(AssetInput),
  note: Compile(NoteInput),
  document: Compile(DocumentInput),
  repository: Compile(RepositoryInput),
  metadata: Compile(Metadata),
};

/** Every way the document would be refused by the API; [] when it would be accepted. */
export function contractProblems(doc: ModelDocument): string[] {
  const out: string[] = [];
  const check = (c: (typeof checks)[keyof typeof checks], v: unknown, where: string) => {
    if (!c.Check(v)) {
      const e = [...c.Errors(v)].find((x) => x.keyword !== 'boolean');
      out.push(`${where}${e?.instancePath ?? ''}: ${e?.message ?? 'invalid'}`);
    }
  };
  const { diagrams, threats, assets, notes, documents, repositories, ...top } = doc;
  check(checks.model, top, 'model');
  const ids = new Set<string>();
  const unique = (id: string, where: string) => {
    if (ids.has(id)) out.push(`${where}: duplicate id ${id}`);
    ids.add(id);
  };
  for (const d of diagrams) {
    unique(d.id, `diagram ${d.name}`);
    const { id: _id, metadata, cells, ...rest } = d;
    check(checks.diagram, { ...rest, cells: [] }, `diagram ${d.name}`);
    for (const m of metadata ?? []) check(checks.metadata, m, `diagram ${d.name} metadata`);
    const cellIds = new Set(cells.map((c) => c.id));
    for (const c of cells) {
      unique(c.id, `cell ${c.id}`);
      check(c.shape === 'flow' ? checks.edge : checks.node, c, `diagram ${d.name} cell ${c.id} (${c.shape})`);
      if (c.shape === 'flow') {
        for (const end of ['source', 'target'] as const) if (!cellIds.has((c[end] as { cell: string }).cell)) out.push(`flow ${c.id}: ${end} not in the diagram`);
      } else if (typeof c.parent === 'string' && !cellIds.has(c.parent)) out.push(`cell ${c.id}: parent not in the diagram`);
      const md = (c.data as { _metadata?: unknown[] } | undefined)?._metadata ?? [];
      for (const m of md) check(checks.metadata, m, `cell ${c.id} metadata`);
      if (md.length > 100) out.push(`cell ${c.id}: more than 100 metadata entries`);
    }
  }
  for (const [list, c, kind] of [
    [threats, checks.threat, 'threat'],
    [assets, checks.asset, 'asset'],
    [notes, checks.note, 'note'],
    [documents, checks.document, 'document'],
    [repositories, checks.repository, 'repository'],
  ] as const) {
    for (const x of list as { id: string; metadata?: unknown[] | null; name?: unknown }[]) {
      unique(x.id, `${kind} ${String(x.name)}`);
      const { id: _id, metadata, ...rest } = x;
      check(c, rest, `${kind} ${String(x.name)}`);
      for (const m of metadata ?? []) check(checks.metadata, m, `${kind} ${String(x.name)} metadata`);
    }
  }
  const cells = new Set(diagrams.flatMap((d) => d.cells.map((c) => c.id)));
  for (const t of threats) if (t.cell_id && !cells.has(t.cell_id)) out.push(`threat ${t.name}: cell ${t.cell_id} not in the model`);
  return out;
}

type Cell = Record<string, unknown>;
/** The cell whose label is `label` (in any diagram). */
export function cellNamed(doc: ModelDocument, label: string): Cell {
  for (const d of doc.diagrams)
    for (const c of d.cells as Cell[]) {
      const l = c.shape === 'flow' ? ((c.labels as { attrs: { text: { text: string } } }[] | undefined)?.[0]?.attrs.text.text ?? '') : ((c.attrs as { text?: { text?: string } } | undefined)?.text?.text ?? '');
      if (l === label) return c;
    }
  throw new Error(`no cell labelled '${label}'`);
}

/** A cell's metadata as a plain object. */
export function metaOf(c: Cell): Record<string, string> {
  return Object.fromEntries(((c.data as { _metadata?: { key: string; value: string }[] } | undefined)?._metadata ?? []).map((m) => [m.key, m.value]));
}
