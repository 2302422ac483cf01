// Metadata use cases for a threat model and for each of its children: list, create (409 when the
// key exists), get, update (404 when absent), delete, and bulk create / replace / upsert.
import type { Db, Queryable } from '../../store/db.ts';
import type { Principal } from '../../auth/authenticate.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import type { Metadata } from '../../../contract/common.ts';
import type { ObjectType } from '../../../contract/limits.ts';
import { actorOf, type ThreatModelService } from '../threat-models/service.ts';
import { recordAudit } from '../common/audit.ts';
import { findItem } from '../common/items.ts';
import type { Kind, KindRegistry } from '../kinds.ts';
import { currentVersion, latestSnapshot } from '../audit/store.ts';
import { isUnsafeText } from '../common/text-safety.ts';
import * as store from './store.ts';

/** What carries the entries: an item of a kind, or (null) the threat model itself. */
export type Carrier = Kind | null;

const objectTypeOf = (kind: Carrier): ObjectType => kind?.objectType ?? 'threat_model';
/** The reference's bulk limit: 20 for the threat model, per kind otherwise. */
export const bulkLimitOf = (kind: Carrier): number => kind?.metadataBulkLimit ?? 20;

/** A bulk body: at most `limit` entries, no key twice, each value acceptable. */
export function checkMetadataEntries(items: Metadata[], limit: number): void {
  if (items.length > limit) throw badRequest(`Too many metadata entries in one request (at most ${limit})`);
  const seen = new Set<string>();
  for (const m of items) {
    if (seen.has(m.key)) throw badRequest(`Duplicate metadata key found: ${m.key}`);
    seen.add(m.key);
    checkMetadataValue(m.key, m.value);
  }
}

/** A value: at most 1024 bytes, no markup that could run script. */
export function checkMetadataValue(key: string, value: string): void {
  if (Buffer.byteLength(value, 'utf8') > 1024) throw badRequest(`Metadata value for key '${key}' is longer than 1024 bytes`);
  if (isUnsafeText(value)) throw badRequest(`Field 'value' contains potentially unsafe content`);
}

export class MetadataService {
  constructor(
    private readonly db: Db,
    private readonly threatModels: ThreatModelService,
    private readonly kinds: KindRegistry,
  ) {}

  /**
   * Metadata is part of its entity, so a change is an `updated` entry of that entity with its new
   * state (rollback can bring metadata back). A threat model's state is its last recorded one with
   * the new metadata: its other fields did not change.
   */
  private async audit(q: Queryable, p: Principal, kind: Carrier, tmId: string, id: string, summary: string): Promise<void> {
    let snapshot: Record<string, unknown> | null;
    if (kind) {
      snapshot = await this.kinds.of(kind).load(q, tmId, id);
    } else {
      const last = await latestSnapshot(q, tmId, 'threat_model', tmId);
      snapshot = last ? { ...last, metadata: await store.listEntries(q, 'threat_model', id) } : null;
    }
    await recordAudit(
      q,
      {
        threatModelId: tmId,
        objectType: objectTypeOf(kind),
        objectId: id,
        version: await currentVersion(q, kind?.table ?? 'threat_models', id),
        changeType: 'updated',
        actor: actorOf(p),
        summary,
        snapshot: snapshot ?? undefined,
      },
      new Date(),
    );
  }

  /** Role check on the threat model first, then the item must be live in that model. */
  private async entity(q: Queryable, p: Principal, kind: Carrier, tmId: string, itemId: string | null, action: 'read' | 'write'): Promise<string> {
    await this.threatModels.accessTo(p, tmId, action, { q });
    if (!kind || !itemId) return tmId;
    const item = await findItem(q, kind, tmId, itemId);
    if (!item || item.deleted) throw notFound(`${kind.label} not found`);
    return itemId;
  }

  /** What a write checks before its body: the role, the entity, and the key when one is named (PUT does not create). */
  async checkWritable(p: Principal, kind: Carrier, tmId: string, itemId: string | null, key?: string): Promise<void> {
    const id = await this.entity(this.db, p, kind, tmId, itemId, 'write');
    if (key !== undefined && !(await store.getEntry(this.db, objectTypeOf(kind), id, key))) throw notFound('Metadata entry not found');
  }

  private static check(items: Metadata[], limit: number): void {
    checkMetadataEntries(items, limit);
  }

  private static checkValue(key: string, value: string): void {
    checkMetadataValue(key, value);
  }

  async list(p: Principal, kind: Carrier, tmId: string, itemId: string | null): Promise<Metadata[]> {
    const id = await this.entity(this.db, p, kind, tmId, itemId, 'read');
    return store.listEntries(this.db, objectTypeOf(kind), id);
  }

  async get(p: Principal, kind: Carrier, tmId: string, itemId: string | null, key: string): Promise<Metadata> {
    const id = await this.entity(this.db, p, kind, tmId, itemId, 'read');
    const entry = await store.getEntry(this.db, objectTypeOf(kind), id, key);
    if (!entry) throw notFound('Metadata entry not found');
    return entry;
  }

  async create(p: Principal, kind: Carrier, tmId: string, itemId: string | null, m: Metadata): Promise<Metadata> {
    return this.db.tx(async (q) => {
      const id = await this.entity(q, p, kind, tmId, itemId, 'write');
      MetadataService.checkValue(m.key, m.value);
      if ((await store.existingKeys(q, objectTypeOf(kind), id, [m.key])).length) throw conflict(`Metadata key already exists: ${m.key}`);
      await store.upsertEntries(q, objectTypeOf(kind), id, [m], new Date());
      await this.audit(q, p, kind, tmId, id, `Metadata key '${m.key}' added`);
      return { key: m.key, value: m.value };
    });
  }

  /** `bodyKey` is the key a full entry in the body names (assets); it must be the path's. */
  async update(p: Principal, kind: Carrier, tmId: string, itemId: string | null, key: string, value: string, bodyKey?: string): Promise<Metadata> {
    return this.db.tx(async (q) => {
      const id = await this.entity(q, p, kind, tmId, itemId, 'write');
      if (!(await store.getEntry(q, objectTypeOf(kind), id, key))) throw notFound('Metadata entry not found');
      if (bodyKey !== undefined && bodyKey !== key) throw badRequest('The key in the body must match the key in the path');
      MetadataService.checkValue(key, value);
      if (!(await store.updateValue(q, objectTypeOf(kind), id, key, value, new Date()))) throw notFound('Metadata entry not found');
      await this.audit(q, p, kind, tmId, id, `Metadata key '${key}' updated`);
      return { key, value };
    });
  }

  async remove(p: Principal, kind: Carrier, tmId: string, itemId: string | null, key: string): Promise<void> {
    await this.db.tx(async (q) => {
      const id = await this.entity(q, p, kind, tmId, itemId, 'write');
      if (!(await store.deleteEntry(q, objectTypeOf(kind), id, key))) throw notFound('Metadata entry not found');
      await this.audit(q, p, kind, tmId, id, `Metadata key '${key}' deleted`);
    });
  }

  /** mode 'create': any existing key is 409; 'replace': the list becomes exactly `items`; 'upsert': merge. */
  async bulk(p: Principal, kind: Carrier, tmId: string, itemId: string | null, items: Metadata[], mode: 'create' | 'replace' | 'upsert'): Promise<Metadata[]> {
    return this.db.tx(async (q) => {
      const id = await this.entity(q, p, kind, tmId, itemId, 'write');
      MetadataService.check(items, bulkLimitOf(kind));
      if (mode !== 'replace' && items.length === 0) throw badRequest('No metadata entries provided');
      if (mode === 'create') {
        const existing = await store.existingKeys(q, objectTypeOf(kind), id, items.map((m) => m.key));
        if (existing.length) throw conflict(`Metadata keys already exist: ${existing.join(', ')}`);
      }
      if (mode === 'replace') await store.replaceEntries(q, objectTypeOf(kind), id, items, new Date());
      else await store.upsertEntries(q, objectTypeOf(kind), id, items, new Date());
      const verb = { create: 'added', replace: 'replaced', upsert: 'set' }[mode];
      await this.audit(q, p, kind, tmId, id, `Metadata ${verb}: ${items.map((m) => m.key).join(', ') || 'all keys removed'}`.slice(0, 1000));
      return store.listEntries(q, objectTypeOf(kind), id);
    });
  }
}
