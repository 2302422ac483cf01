// Diagram use cases: create, list, read, replace, patch, delete, restore, minimal model; and the
// diagrams' KindItems, which let the threat model embed them and the audit trail roll them back.
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../store/db.ts';
import type { Principal } from '../../auth/authenticate.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import type { JsonPatchDocument } from '../../../contract/common.ts';
import { DfdDiagramInput as DfdDiagramInputSchema, type CellJson, type CreateDiagramRequest, type DfdDiagramInput, type ListDiagramsQuery, type MinimalDiagramModel } from '../../../contract/diagrams.ts';
import type { ThreatModelService } from '../threat-models/service.ts';
import { actorOf } from '../threat-models/service.ts';
import { checkPrecondition, type Precondition } from '../common/if-match.ts';
import { applyJsonPatch } from '../common/json-patch.ts';
import { recordAudit, type ChangeType } from '../common/audit.ts';
import { authorizeListDeleted } from '../../authz/index.ts';
import { partyOf, securityEvent } from '../../security-events.ts';
import type { KindItems } from '../kinds.ts';
import { replaceEntries } from '../metadata/store.ts';
import { CellError, labelText, normalizeCells } from './cells.ts';
import * as store from './store.ts';
import { compileOnFirstUse } from '../../../contract/validator.ts';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

const SVG_B64 = /^[A-Za-z0-9+/]*=*$/;

export type DiagramJson = Record<string, unknown> & { id: string; version: number; update_vector: number };

function imageOf(row: store.DiagramRow): Record<string, unknown> {
  if (row.svg_image === null) return {};
  return {
    svg: Buffer.from(row.svg_image, 'utf8').toString('base64'),
    ...(row.image_update_vector !== null ? { update_vector: row.image_update_vector } : {}),
  };
}

/** The diagram's fields other than cells, in the reference's order. */
function fieldsOf(row: store.DiagramRow): Record<string, unknown> {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    description: row.description,
    created_at: iso(row.created_at),
    modified_at: iso(row.modified_at),
    metadata: row.metadata,
    update_vector: row.update_vector,
    image: imageOf(row),
    include_in_report: row.include_in_report,
    timmy_enabled: row.timmy_enabled,
    color_palette: row.color_palette ?? [],
    auto_generated: row.auto_generated,
    alias: row.alias,
    version: row.version,
    ...(row.deleted_at ? { deleted_at: iso(row.deleted_at) } : {}),
  };
}

export function presentDiagram(row: store.DiagramRow, cells: CellJson[]): DiagramJson {
  const f = fieldsOf(row);
  return { id: f.id, name: f.name, type: f.type, description: f.description, created_at: f.created_at, modified_at: f.modified_at, cells, ...f } as unknown as DiagramJson;
}

/** The response text built around the stored cells text, so big diagrams are not re-serialised. */
export function diagramText(row: store.DiagramRow, cellsText: string): string {
  return `{"cells":${cellsText},${JSON.stringify(fieldsOf(row)).slice(1)}`;
}

function listItem(row: store.DiagramRow) {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    description: row.description,
    created_at: iso(row.created_at)!,
    modified_at: iso(row.modified_at)!,
    image: imageOf(row),
    include_in_report: row.include_in_report,
    timmy_enabled: row.timmy_enabled,
    alias: row.alias,
    ...(row.deleted_at ? { deleted_at: iso(row.deleted_at) } : {}),
  };
}

const PatchedDiagram = compileOnFirstUse(DfdDiagramInputSchema);

function firstError(value: unknown): string {
  const e = [...PatchedDiagram.Errors(value)][0];
  return e ? `${e.instancePath || '/'} ${e.message}` : 'invalid';
}

function cellsOrBadRequest(raw: unknown[]): CellJson[] {
  try {
    return normalizeCells(raw);
  } catch (err) {
    if (err instanceof CellError) throw badRequest(`Invalid cell: ${err.message}`);
    throw err;
  }
}

/** #RGB / #RRGGBB to lowercase #rrggbb, sorted by position; a position used twice is 400. */
function normalizePalette(p: { position: number; color: string }[] | null | undefined) {
  if (!p) return null;
  const seen = new Set<number>();
  const out = p.map(({ position, color }) => {
    if (seen.has(position)) throw badRequest(`color_palette: position ${position} is used twice`);
    seen.add(position);
    const hex = color.slice(1).toLowerCase();
    return { position, color: `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}` };
  });
  return out.sort((a, b) => a.position - b.position);
}

function decodeSvg(b64: string): string {
  if (!SVG_B64.test(b64)) throw badRequest('image.svg must be base64');
  const bytes = Buffer.from(b64, 'base64');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badRequest('image.svg must be base64 of UTF-8 text');
  }
  return text;
}

export const SESSION_CONFLICT = 'Cannot modify diagram while collaboration session is active; end the session or make the change through it';

export class DiagramService {
  constructor(
    private readonly db: Db,
    private readonly threatModels: ThreatModelService,
  ) {}

  private async liveRow(q: Queryable, tmId: string, id: string, forUpdate = false): Promise<store.DiagramRow> {
    const row = await store.findDiagram(q, tmId, id, { forUpdate });
    if (!row || row.deleted_at) throw notFound('Diagram not found');
    return row;
  }

  /** What a write checks before its body: the writer role on the model, then the diagram when one is named. */
  async checkWritable(p: Principal, tmId: string, id?: string): Promise<void> {
    await this.threatModels.accessTo(p, tmId, 'write');
    if (id !== undefined) await this.liveRow(this.db, tmId, id);
  }

  async create(p: Principal, tmId: string, input: CreateDiagramRequest): Promise<string> {
    await this.threatModels.accessTo(p, tmId, 'write');
    const id = randomUUID();
    const at = new Date();
    await this.db.tx(async (q) => {
      const alias = await store.nextAlias(q, tmId);
      await store.insertDiagram(q, { id, tmId, alias, name: input.name, autoGenerated: false, at });
      const row = (await store.findDiagram(q, tmId, id))!;
      await this.audit(q, p, row, [], 'created', at);
    });
    return id;
  }

  async list(p: Principal, tmId: string, query: ListDiagramsQuery, isAdministrator: () => Promise<boolean>) {
    const { role } = await this.threatModels.accessTo(p, tmId, 'read');
    if (query.include_deleted && (await authorizeListDeleted(role, isAdministrator)) === 'administrator') {
      securityEvent('admin.children.include_deleted', { ...partyOf(p), threat_model_id: tmId, kind: 'diagrams' });
    }
    const limit = query.limit ?? 20;
    const offset = query.offset ?? 0;
    const { rows, total } = await store.listDiagrams(this.db, tmId, Boolean(query.include_deleted), limit, offset);
    return { diagrams: rows.map(listItem), total, limit, offset };
  }

  /** The diagram as response text, and its version for the ETag. */
  async getText(p: Principal, tmId: string, id: string): Promise<{ text: string; version: number }> {
    await this.threatModels.accessTo(p, tmId, 'read');
    const row = await this.liveRow(this.db, tmId, id);
    return { text: diagramText(row, await store.cellsJson(this.db, id)), version: row.version };
  }

  async replace(p: Principal, tmId: string, id: string, input: DfdDiagramInput, pre: Precondition) {
    await this.threatModels.accessTo(p, tmId, 'write');
    return this.write(p, tmId, id, pre, 'updated', async () => {
      const svg = input.image?.svg !== undefined ? decodeSvg(input.image.svg) : null;
      return {
        fields: {
          name: input.name,
          description: input.description ?? null,
          colorPalette: normalizePalette(input.color_palette),
          svgImage: svg,
          imageUpdateVector: svg === null ? null : (input.image?.update_vector ?? null),
          includeInReport: input.include_in_report ?? true,
          timmyEnabled: input.timmy_enabled ?? true,
        },
        cells: cellsOrBadRequest(input.cells as unknown[]),
        metadata: input.metadata ?? [],
      };
    });
  }

  async patch(p: Principal, tmId: string, id: string, ops: JsonPatchDocument, pre: Precondition) {
    await this.threatModels.accessTo(p, tmId, 'write');
    return this.write(p, tmId, id, pre, 'patched', async (q, row) => {
      const current = presentDiagram(row, await store.cells(q, id));
      const patched = applyJsonPatch(current as Record<string, unknown>, ops, {
        writable: ['name', 'description', 'cells', 'metadata', 'image', 'include_in_report', 'timmy_enabled', 'color_palette', 'type'],
      });
      const candidate: Record<string, unknown> = {
        name: patched.name,
        type: patched.type,
        cells: patched.cells,
        description: patched.description ?? null,
        metadata: patched.metadata ?? [],
        image: patched.image ?? null,
        include_in_report: patched.include_in_report,
        timmy_enabled: patched.timmy_enabled,
        color_palette: patched.color_palette ?? null,
      };
      for (const k of ['include_in_report', 'timmy_enabled']) if (candidate[k] === undefined) delete candidate[k];
      if (!PatchedDiagram.Check(candidate)) throw badRequest(`The patched diagram is invalid: ${firstError(candidate)}`, 'validation_failed');
      const input = candidate as DfdDiagramInput;
      const cells = cellsOrBadRequest(input.cells as unknown[]);
      const image = input.image ?? null;
      const svgChanged = ops.some((op) => op.path.startsWith('/image') || op.from?.startsWith('/image'));
      const svg = image?.svg !== undefined ? decodeSvg(image.svg) : null;
      return {
        fields: {
          name: input.name,
          description: input.description ?? null,
          colorPalette: normalizePalette(input.color_palette),
          svgImage: svg,
          imageUpdateVector: svg === null ? null : svgChanged ? (image?.update_vector ?? null) : row.image_update_vector,
          includeInReport: input.include_in_report ?? true,
          timmyEnabled: input.timmy_enabled ?? true,
        },
        cells,
        metadata: input.metadata ?? [],
      };
    });
  }

  /** The common path of PUT and PATCH: lock, check session and version, write, audit. */
  private async write(
    p: Principal,
    tmId: string,
    id: string,
    pre: Precondition,
    change: 'updated' | 'patched',
    plan: (q: Queryable, row: store.DiagramRow) => Promise<{ fields: store.DiagramFields; cells: CellJson[]; metadata: { key: string; value: string }[] }>,
  ): Promise<{ text: string; version: number }> {
    const at = new Date();
    return this.db.tx(async (q) => {
      const row = await this.liveRow(q, tmId, id, true);
      if (await store.hasActiveSession(q, id)) throw conflict(SESSION_CONFLICT);
      checkPrecondition(pre, row.version);
      const { fields, cells, metadata } = await plan(q, row);
      const newText = JSON.stringify(cells);
      const cellsChanged = await store.syncCells(q, id, cells);
      // An SVG written without its vector is stamped with the diagram's vector after this write.
      if (fields.svgImage !== null && fields.imageUpdateVector === null) fields.imageUpdateVector = row.update_vector + (cellsChanged ? 1 : 0);
      await store.updateDiagram(q, id, fields, cellsChanged, at);
      await replaceEntries(q, 'diagram', id, metadata, at);
      const after = (await store.findDiagram(q, tmId, id))!;
      await this.audit(q, p, after, cells, change, at);
      return { text: diagramText(after, newText), version: after.version };
    });
  }

  async remove(p: Principal, tmId: string, id: string): Promise<void> {
    await this.threatModels.accessTo(p, tmId, 'delete');
    const at = new Date();
    await this.db.tx(async (q) => {
      const row = await this.liveRow(q, tmId, id, true);
      if (await store.hasActiveSession(q, id)) throw conflict(SESSION_CONFLICT);
      await store.softDelete(q, id, at);
      await recordAudit(q, { threatModelId: tmId, objectType: 'diagram', objectId: id, version: row.version, changeType: 'deleted', actor: actorOf(p), summary: 'Diagram deleted' }, at);
    });
  }

  async restore(p: Principal, tmId: string, id: string): Promise<{ text: string; version: number }> {
    const { ctx } = await this.threatModels.accessTo(p, tmId, 'restore', { includeDeleted: true });
    const at = new Date();
    return this.db.tx(async (q) => {
      const row = await store.findDiagram(q, tmId, id, { forUpdate: true });
      if (!row) throw notFound('Diagram not found');
      if (ctx.deleted_at) throw conflict('Cannot restore diagram: parent threat model is deleted. Restore the threat model first.');
      if (!row.deleted_at) throw conflict('Entity is not in a deleted state or does not exist');
      await store.restore(q, id);
      const after = (await store.findDiagram(q, tmId, id))!;
      const cellsText = await store.cellsJson(q, id);
      await this.audit(q, p, after, JSON.parse(cellsText) as CellJson[], 'restored', at);
      return { text: diagramText(after, cellsText), version: after.version };
    });
  }

  async model(p: Principal, tmId: string, id: string): Promise<MinimalDiagramModel> {
    await this.threatModels.accessTo(p, tmId, 'read');
    await this.liveRow(this.db, tmId, id);
    const [tm, cells] = await Promise.all([store.modelContext(this.db, tmId), store.cells(this.db, id)]);
    const assetIds = new Set<string>();
    for (const c of cells) for (const a of ((c.data as { data_assets?: string[] } | undefined)?.data_assets ?? [])) assetIds.add(a.toLowerCase());
    const assets = await store.assetsByIds(this.db, tmId, [...assetIds]);
    return buildMinimalModel(tm, cells, assets);
  }

  private async audit(q: Queryable, p: Principal, row: store.DiagramRow, cells: CellJson[], change: ChangeType, at: Date) {
    const summary = `Diagram ${change}`;
    await recordAudit(q, { threatModelId: row.threat_model_id, objectType: 'diagram', objectId: row.id, version: row.version, changeType: change, actor: actorOf(p), summary, snapshot: presentDiagram(row, cells) }, at);
  }
}

/** MinimalDiagramModel (reference: diagram_model_transform.go): semantics without styling. */
export function buildMinimalModel(
  tm: { id: string; name: string; description: string | null; metadata: { key: string; value: string }[] },
  cells: CellJson[],
  assets: Record<string, unknown>[],
): MinimalDiagramModel {
  const flat = (items: unknown) => Object.fromEntries(((items as { key: string; value: string }[] | undefined) ?? []).map((m) => [m.key, m.value]));
  const byId = new Map(cells.map((c) => [c.id, c]));
  const children = new Map<string, Set<string>>();
  const addChild = (parent: string, child: string) => {
    if (!children.has(parent)) children.set(parent, new Set());
    children.get(parent)!.add(child);
  };
  for (const c of cells) {
    if (c.shape === 'flow') continue;
    if (typeof c.parent === 'string' && byId.has(c.parent)) addChild(c.parent, c.id);
    for (const ch of (c.children as string[] | undefined) ?? []) addChild(c.id, ch);
  }
  const nodeText = (c: CellJson) => ((c.attrs as { text?: { text?: string } } | undefined)?.text?.text ?? '').trim();
  const out = cells.map((c) => {
    const data = (c.data ?? {}) as { _metadata?: unknown; security_boundary?: boolean; data_assets?: string[] };
    if (c.shape === 'flow') {
      const labels = ((c.labels as unknown[] | undefined) ?? [])
        .map(labelText)
        .filter((t) => t !== '');
      return {
        id: c.id,
        shape: 'flow' as const,
        source: c.source as { cell: string; port?: string | null },
        target: c.target as { cell: string; port?: string | null },
        labels,
        metadata: flat(data._metadata),
        data_asset_ids: data.data_assets ?? [],
      };
    }
    const kids = [...(children.get(c.id) ?? [])];
    const labels = [nodeText(c), ...kids.map((k) => byId.get(k)).filter((k) => k?.shape === 'text-box').map((k) => nodeText(k!))].filter((t) => t !== '');
    return {
      id: c.id,
      shape: c.shape,
      parent: (c.parent as string | null) ?? null,
      children: kids,
      labels,
      metadata: flat(data._metadata),
      security_boundary: c.shape === 'security-boundary' || data.security_boundary === true,
      data_asset_ids: data.data_assets ?? [],
    };
  });
  return { id: tm.id, name: tm.name, description: tm.description ?? '', metadata: flat(tm.metadata), cells: out, assets };
}

/** How the cross-cutting features read and write diagrams (embedding, audit trail, rollback). */
export function diagramItems(): KindItems {
  return {
    async embed(q, tmId) {
      const rows = await store.liveDiagrams(q, tmId);
      return rows.map((r) => presentDiagram(r, r.cells));
    },
    async load(q, tmId, id) {
      const row = await store.findDiagram(q, tmId, id);
      return row ? presentDiagram(row, await store.cells(q, id)) : null;
    },
    async writeSnapshot(q, tmId, id, snap) {
      const at = new Date();
      const existing = await store.findDiagram(q, tmId, id, { forUpdate: true });
      if (!existing) {
        const alias = typeof snap.alias === 'number' ? snap.alias : await store.nextAlias(q, tmId);
        await store.insertDiagram(q, { id, tmId, alias, name: String(snap.name), autoGenerated: snap.auto_generated === true, at });
      }
      if (await store.hasActiveSession(q, id)) throw conflict(SESSION_CONFLICT);
      const image = (snap.image ?? {}) as { svg?: string; update_vector?: number };
      const cells = normalizeCells((snap.cells as unknown[]) ?? []);
      const text = JSON.stringify(cells);
      await store.updateDiagram(
        q,
        id,
        {
          name: String(snap.name),
          description: (snap.description as string | null) ?? null,
          colorPalette: (snap.color_palette as { position: number; color: string }[] | null) ?? null,
          svgImage: image.svg ? Buffer.from(image.svg, 'base64').toString('utf8') : null,
          imageUpdateVector: image.update_vector ?? null,
          includeInReport: snap.include_in_report !== false,
          timmyEnabled: snap.timmy_enabled !== false,
        },
        true,
        at,
      );
      await store.replaceCells(q, id, text, cells.length);
      await replaceEntries(q, 'diagram', id, (snap.metadata as { key: string; value: string }[]) ?? [], at);
      await store.restore(q, id);
    },
  };
}
