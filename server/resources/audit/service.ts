// The audit trail of a threat model (cursor pages, filters), of one object (offset pages), one
// entry, rollback to a recorded state, and restore of a deleted threat model with its children.
import type { Db } from '../../store/db.ts';
import type { Principal } from '../../auth/authenticate.ts';
import { ApiError, badRequest, conflict, notFound } from '../../http/errors.ts';
import { CHANGE_TYPES, OBJECT_TYPES, type AuditEntry, type ThreatModelAuditQuery } from '../../../contract/audit.ts';
import { lowerSnake, type ObjectType } from '../../../contract/limits.ts';
import { actorOf, type ThreatModelService } from '../threat-models/service.ts';
import * as tmStore from '../threat-models/store.ts';
import { recordAudit } from '../common/audit.ts';
import { findItem } from '../common/items.ts';
import { KINDS, kindOfObjectType, type Kind, type KindRegistry } from '../kinds.ts';
import * as store from './store.ts';

export function presentEntry(r: store.AuditRow): AuditEntry {
  return {
    id: r.id,
    threat_model_id: r.threat_model_id,
    object_type: r.object_type,
    object_id: r.object_id,
    version: r.version,
    change_type: r.change_type,
    actor: { email: r.actor_email, provider: r.actor_provider, provider_id: r.actor_provider_id, display_name: r.actor_display_name },
    change_summary: r.change_summary,
    created_at: new Date(r.created_at).toISOString(),
  };
}

/** Opaque cursor: the position of an entry and the direction to read from it. */
function encodeCursor(r: store.AuditRow, direction: store.Position['direction']): string {
  return Buffer.from(JSON.stringify({ t: new Date(r.created_at).toISOString(), i: r.id, d: direction === 'older' ? 'o' : 'n' })).toString('base64url');
}

function decodeCursor(cursor: string): store.Position {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { t: string; i: string; d: string };
    const at = new Date(v.t);
    if (Number.isNaN(at.getTime()) || !/^[0-9a-f-]{36}$/.test(v.i) || (v.d !== 'o' && v.d !== 'n')) throw new Error('bad cursor');
    return { at, id: v.i, direction: v.d === 'o' ? 'older' : 'newer' };
  } catch {
    throw badRequest('Invalid cursor', 'invalid_input');
  }
}

function enumFilter(name: string, value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  const v = lowerSnake(value);
  if (!allowed.includes(v)) throw badRequest(`Invalid ${name} '${value}'; expected one of ${allowed.join(', ')}`);
  return v;
}

export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly threatModels: ThreatModelService,
    private readonly kinds: KindRegistry,
  ) {}

  async listForModel(p: Principal, tmId: string, query: ThreatModelAuditQuery) {
    await this.threatModels.accessTo(p, tmId, 'read');
    const limit = query.limit ?? 50;
    const filters: store.ModelFilters = {
      objectType: enumFilter('object_type', query.object_type, OBJECT_TYPES),
      changeType: enumFilter('change_type', query.change_type, CHANGE_TYPES),
      actorEmail: query.actor_email,
      createdAfter: query.created_after ? new Date(query.created_after) : undefined,
      createdBefore: query.created_before ? new Date(query.created_before) : undefined,
    };
    const from = query.cursor ? decodeCursor(query.cursor) : undefined;
    const [page, total] = await Promise.all([store.pageForModel(this.db, tmId, filters, limit, from), store.countForModel(this.db, tmId, filters)]);
    const more = page.length > limit;
    let rows = page.slice(0, limit);
    if (from?.direction === 'newer') rows = rows.reverse();
    const first = rows[0];
    const last = rows[rows.length - 1];
    // Reading older: newer entries exist whenever we started from a cursor. Reading newer: older
    // ones exist (the cursor's own entry), newer ones only when the page overflowed.
    const hasOlder = from?.direction === 'newer' ? true : more;
    const hasNewer = from ? (from.direction === 'older' ? true : more) : false;
    return {
      audit_entries: rows.map(presentEntry),
      total,
      limit,
      next_cursor: hasOlder && last ? encodeCursor(last, 'older') : null,
      prev_cursor: hasNewer && first ? encodeCursor(first, 'newer') : null,
    };
  }

  async getEntry(p: Principal, tmId: string, entryId: string): Promise<AuditEntry> {
    await this.threatModels.accessTo(p, tmId, 'read');
    const row = await store.findEntry(this.db, tmId, entryId);
    if (!row) throw notFound('Audit entry not found');
    return presentEntry(row);
  }

  /**
   * Our extension: the object's recorded state before and after an entry, for a diff (`after` is
   * null for a deletion, `before` for a creation or when earlier states were not recorded).
   */
  async diff(p: Principal, tmId: string, entryId: string) {
    await this.threatModels.accessTo(p, tmId, 'read');
    const row = await store.findEntry(this.db, tmId, entryId);
    if (!row) throw notFound('Audit entry not found');
    const before = await store.stateBefore(this.db, row);
    const after = row.change_type === 'deleted' ? null : await store.stateAsOf(this.db, row);
    return { entry: presentEntry(row), before, after };
  }

  /** Entries of one item of a kind, deleted or not; the item must belong to the model. */
  async listForObject(p: Principal, tmId: string, kind: Kind, id: string, limit = 20, offset = 0) {
    await this.threatModels.accessTo(p, tmId, 'read');
    if (!(await findItem(this.db, kind, tmId, id))) throw notFound(`${kind.label} not found`);
    const { rows, total } = await store.pageForObject(this.db, tmId, kind.objectType, id, limit, offset);
    return { audit_entries: rows.map(presentEntry), total, limit, offset };
  }

  async rollback(p: Principal, tmId: string, entryId: string) {
    const at = new Date();
    const result = await this.db.tx(async (q) => {
      await this.threatModels.accessTo(p, tmId, 'rollback', { q });
      const entry = await store.findEntry(q, tmId, entryId);
      if (!entry) throw notFound('Audit entry not found');
      const state = await store.stateAsOf(q, entry);
      if (!state) throw new ApiError(410, 'gone', 'The recorded state of this entry is no longer available; rollback is not possible');
      let restored: Record<string, unknown> | null;
      let table = 'threat_models';
      if (entry.object_type === 'threat_model') {
        await tmStore.writeThreatModelSnapshot(q, tmId, state, at);
        const row = await tmStore.findThreatModel(q, tmId);
        restored = row ? { ...state, version: row.version, modified_at: at.toISOString() } : null;
      } else {
        const kind = kindOfObjectType(entry.object_type);
        if (!kind) throw conflict(`Rollback of a ${entry.object_type} is not supported`);
        const items = this.kinds.of(kind);
        await items.writeSnapshot(q, tmId, entry.object_id, state);
        restored = await items.load(q, tmId, entry.object_id);
        table = kind.table;
      }
      if (!restored) throw notFound('The rolled-back object could not be read back');
      const id = await recordAudit(
        q,
        {
          threatModelId: tmId,
          objectType: entry.object_type as ObjectType,
          objectId: entry.object_id,
          version: await store.currentVersion(q, table, entry.object_id),
          changeType: 'rolled_back',
          actor: actorOf(p),
          summary: entry.version === null ? `Rolled back to the state of entry ${entry.id}` : `Rolled back to version ${entry.version}`,
          snapshot: restored,
        },
        at,
      );
      const audit = await store.findEntry(q, tmId, id);
      return { restored_entity: restored, audit_entry: presentEntry(audit!), isModel: entry.object_type === 'threat_model' };
    });
    if (result.isModel) {
      // The threat model is read outside the transaction (one connection on PGlite), without its children.
      const tm: Record<string, unknown> = { ...(await this.threatModels.get(p, tmId)) };
      for (const k of KINDS) delete tm[k.name];
      result.restored_entity = tm;
    }
    return { restored_entity: result.restored_entity, audit_entry: result.audit_entry };
  }

  /** POST /threat_models/{id}/restore: the model and the children deleted with it come back. */
  async restoreThreatModel(p: Principal, tmId: string) {
    const at = new Date();
    await this.db.tx(async (q) => {
      const { ctx } = await this.threatModels.accessTo(p, tmId, 'restore', { q, includeDeleted: true });
      if (!ctx.deleted_at) throw conflict('Threat model is not deleted');
      await q.query('SELECT 1 FROM threat_models WHERE id = $1 FOR UPDATE', [tmId]);
      await tmStore.restoreThreatModel(q, tmId, ctx.deleted_at, at);
      const row = await tmStore.findThreatModel(q, tmId);
      await recordAudit(
        q,
        { threatModelId: tmId, objectType: 'threat_model', objectId: tmId, version: row!.version, changeType: 'restored', actor: actorOf(p), summary: 'Threat model restored' },
        at,
      );
    });
    return this.threatModels.get(p, tmId);
  }
}
