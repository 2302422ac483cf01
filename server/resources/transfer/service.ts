// Use cases: export a whole threat model in a file format, and import a file as a new model owned
// by the caller. formats/ does the reading and writing of files; the writes go through the same
// services as the REST API (threat model, diagrams, children, metadata), inside one transaction,
// so an import creates everything or nothing, with the audit trail, versions and events of any
// other write.
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../../http/errors.ts';
import { joinedDb } from '../../store/db.ts';
import { partyOf, securityEvent } from '../../security-events.ts';
import { AssetInput } from '../../../contract/assets.ts';
import { DfdDiagramInput } from '../../../contract/diagrams.ts';
import { DocumentInput } from '../../../contract/documents.ts';
import { NoteInput } from '../../../contract/notes.ts';
import { RepositoryInput } from '../../../contract/repositories.ts';
import { ThreatModelInput } from '../../../contract/threat-models.ts';
import { ThreatInput } from '../../../contract/threats.ts';
import type { ExportFormatName, ImportFormatName, ImportReport } from '../../../contract/transfer.ts';
import type { ModelDocument, Unmapped } from '../../../formats/index.ts';
import { ChildService } from '../children/service.ts';
import type { GenericKind } from '../children/kind.ts';
import { DiagramService } from '../diagrams/service.ts';
import { MetadataService } from '../metadata/service.ts';
import { assetKind } from '../assets/kind.ts';
import { documentKind } from '../documents/kind.ts';
import { noteKind } from '../notes/kind.ts';
import { repositoryKind } from '../repositories/kind.ts';
import { threatKind } from '../threats/kind.ts';
import { fileStem } from '../reports/service.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import { compileOnFirstUse } from '../../../contract/validator.ts';

type Obj = Record<string, unknown>;

const checks = {
  model: compileOnFirstUse(ThreatModelInput),
  diagram: compileOnFirstUse(DfdDiagramInput),
  threats: compileOnFirstUse(ThreatInput),
  assets: compileOnFirstUse(AssetInput),
  notes: compileOnFirstUse(NoteInput),
  documents: compileOnFirstUse(DocumentInput),
  repositories: compileOnFirstUse(RepositoryInput),
};

const firstError = (check: { Errors(v: unknown): Iterable<{ instancePath: string; message: string; keyword: string }> }, v: unknown) => {
  const e = [...check.Errors(v)].find((x) => x.keyword !== 'boolean');
  return e ? `${e.instancePath || '/'} ${e.message}` : 'is invalid';
};

/** Refusals that look like an attack rather than a wrong file: worth a security event. */
const HOSTILE = new Set(['too_large', 'too_deep', 'unsafe_content']);

export const EXPORT_FILE: Record<ExportFormatName, { suffix: string; mediaType: string }> = {
  'tmi-json': { suffix: 'tmi.json', mediaType: 'application/json; charset=utf-8' },
  'threat-dragon': { suffix: 'threat-dragon.json', mediaType: 'application/json; charset=utf-8' },
  otm: { suffix: 'otm.json', mediaType: 'application/json; charset=utf-8' },
};

/** The importers and exporters (with their XML parser), loaded with the first import or export, not with the server. */
const formats = () => import('../../../formats/index.ts');

export class TransferService {
  constructor(private readonly ctx: AppContext) {}

  async export(p: Principal, id: string, format: ExportFormatName) {
    const tm = await this.ctx.threatModels.get(p, id);
    const { exportModel, importTmiJson } = await formats();
    // The model as the portable document: the API's ThreatModel read back through the TMI JSON importer.
    const out = exportModel(importTmiJson(JSON.stringify(tm)).document, format);
    return { text: out.text, fileName: `${fileStem(tm.name)}.${EXPORT_FILE[format].suffix}`, mediaType: EXPORT_FILE[format].mediaType, omitted: out.omitted.length };
  }

  /** Reads `text` and creates the model it holds, owned by the caller; answers the model and the report. */
  async import(p: Principal, text: string, opts: { format?: ImportFormatName; fileName?: string }): Promise<{ threatModel: ThreatModel; report: ImportReport }> {
    const { countDocument, FORMAT_NAMES, ImportError, importModel, reassignIds } = await formats();
    let parsed: ReturnType<typeof importModel>;
    try {
      parsed = importModel(text, { format: opts.format, fileName: opts.fileName });
    } catch (err) {
      if (err instanceof ImportError) {
        if (HOSTILE.has(err.code)) securityEvent('model.import.refused', { ...partyOf(p), reason: err.code, bytes: Buffer.byteLength(text, 'utf8') });
        throw badRequest(err.message, err.code);
      }
      // An importer that trips over a file it did not expect: the file is refused, not the server.
      throw badRequest(`The file could not be read as a ${opts.format ? FORMAT_NAMES[opts.format === 'threat-dragon' ? 'threat-dragon-v2' : opts.format] : 'threat model'}: ${(err as Error).message}`, 'invalid_model');
    }
    const { report } = parsed;
    const unmapped: Unmapped[] = [...report.unmapped];
    // Fresh ids throughout: a file exported from this server imports again beside its original.
    const doc = this.admissible(reassignIds(parsed.document, randomUUID), unmapped);

    let id = '';
    const flushes: (() => void)[] = [];
    await this.ctx.db.tx(async (q) => {
      const db = joinedDb(q, this.ctx.db.kind);
      const joined = this.ctx.threatModels.joined(db);
      flushes.push(joined.flush);
      const tms = joined.service;
      const child = (kind: GenericKind) => new ChildService(kind, db, tms);
      const metadata = new MetadataService(db, tms, this.ctx.kinds);
      const created = await tms.create(p, {
        name: doc.name,
        description: doc.description ?? null,
        threat_model_framework: doc.threat_model_framework ?? 'STRIDE',
        ...(doc.issue_uri ? { issue_uri: doc.issue_uri } : {}),
        metadata: doc.metadata ?? [],
      });
      id = created.id;
      const bulk = async (kind: GenericKind, items: Obj[]) => {
        const svc = child(kind);
        const size = kind.bulk?.limit ?? 20;
        for (let i = 0; i < items.length; i += size) await svc.bulkCreate(p, id, items.slice(i, i + size));
        // Kinds whose inputs carry no metadata get it through the metadata service.
        if (!kind.inlineMetadata) {
          const limit = kind.metadataBulkLimit ?? 20;
          for (const item of items) {
            const entries = (item.metadata as { key: string; value: string }[] | null | undefined) ?? [];
            for (let i = 0; i < entries.length; i += limit) await metadata.bulk(p, kind, id, item.id as string, entries.slice(i, i + limit), 'upsert');
          }
        }
      };
      await bulk(assetKind, doc.assets as unknown as Obj[]);
      const diagrams = new DiagramService(db, tms);
      const diagramIds = new Map<string, string>();
      for (const d of doc.diagrams) {
        const newId = await diagrams.create(p, id, { name: d.name, type: 'DFD-1.0.0' });
        diagramIds.set(d.id, newId);
        const { id: _old, ...input } = d;
        await diagrams.replace(p, id, newId, { ...input, type: 'DFD-1.0.0', metadata: d.metadata ?? [] } as DfdDiagramInput, null);
      }
      const threats = doc.threats.map((t) => ({ ...t, diagram_id: t.diagram_id ? (diagramIds.get(t.diagram_id) ?? null) : t.diagram_id }));
      await bulk(threatKind, threats as unknown as Obj[]);
      await bulk(noteKind, doc.notes as unknown as Obj[]);
      await bulk(documentKind, doc.documents as unknown as Obj[]);
      await bulk(repositoryKind, doc.repositories as unknown as Obj[]);
    });
    for (const f of flushes) f();
    const threatModel = await this.ctx.threatModels.get(p, id);
    return {
      threatModel,
      report: { format: report.format, format_name: FORMAT_NAMES[report.format], found: report.found, imported: countDocument(doc), unmapped, notes: report.notes },
    };
  }

  /** The document less what the API would refuse (each left-out object is reported, never a 500 halfway). */
  private admissible(doc: ModelDocument, unmapped: Unmapped[]): ModelDocument {
    const top = { name: doc.name, description: doc.description ?? null, threat_model_framework: doc.threat_model_framework ?? 'STRIDE', issue_uri: doc.issue_uri ?? undefined, metadata: doc.metadata ?? [] };
    if (top.issue_uri === undefined) delete top.issue_uri;
    if (!checks.model.Check(top)) throw badRequest(`The model in the file is not acceptable: ${firstError(checks.model, top)}`, 'invalid_model');
    // Metadata is checked by the metadata service (inputs of most kinds have no metadata field).
    const keep = <T extends { id: string; name?: unknown }>(items: T[], check: (typeof checks)[keyof typeof checks], kind: Unmapped['kind'], what: string, shape?: (x: T) => unknown) =>
      items.filter((item) => {
        const { id: _id, metadata: _m, ...input } = item as T & Obj;
        const value = shape ? shape(item) : input;
        if (check.Check(value)) return true;
        unmapped.push({ kind, source: `${what} '${String(item.name ?? item.id)}'`, reason: `refused by the API: ${firstError(check, value)}` });
        return false;
      });
    const diagrams = keep(doc.diagrams, checks.diagram, 'diagram', 'diagram', (d) => {
      const { id: _id, ...input } = d;
      return { ...input, type: 'DFD-1.0.0' };
    });
    const kept = new Set(diagrams.map((d) => d.id));
    return {
      ...doc,
      diagrams,
      threats: keep(doc.threats, checks.threats, 'threat', 'threat').map((t) => (t.diagram_id && !kept.has(t.diagram_id) ? { ...t, diagram_id: null, cell_id: null } : t)),
      assets: keep(doc.assets, checks.assets, 'asset', 'asset'),
      notes: keep(doc.notes, checks.notes, 'other', 'note'),
      documents: keep(doc.documents, checks.documents, 'other', 'document'),
      repositories: keep(doc.repositories, checks.repositories, 'other', 'repository'),
    };
  }
}
