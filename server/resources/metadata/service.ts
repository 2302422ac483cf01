// Metadata use cases for a threat model and for each of its children: list, create (409 when the
// key exists), get, update (404 when absent), delete, and bulk create / replace / upsert.
import type { Db, Queryable } from '../../store/db.ts';
import type { Principal } from '../../auth/authenticate.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import type { Metadata } from '../../../contract/common.ts';
import { actorOf, type ThreatModelService } from '../threat-models/service.ts';
import { recordAudit, type AuditObjectType } from '../common/audit.ts';
import type { FamilyRegistry } from '../families.ts';
import { currentVersion, latestSnapshot } from '../audit/store.ts';
import { isUnsafeText } from '../common/text-safety.ts';
import { assetSpec } from '../assets/family.ts';
import { documentSpec } from '../documents/family.ts';
import { noteSpec } from '../notes/family.ts';
import { repositorySpec } from '../repositories/family.ts';
import { threatSpec } from '../threats/family.ts';
import * as store from './store.ts';

/** What carries metadata under a threat model: the model itself or one child family. */
export interface MetadataTarget {
  segment: string | null;
  table: string;
  entityType: string;
  idParam: string;
  label: string;
  /** Bulk limit of the reference: 20, or 100 for notes and assets. */
  bulkLimit: number;
  /** PUT .../metadata/{key} takes a full Metadata entry (assets) instead of {value}. */
  putTakesEntry: boolean;
  tag: string;
}

const fromSpec = (s: typeof threatSpec): MetadataTarget => ({
  segment: s.segment,
  table: s.table,
  entityType: s.objectType,
  idParam: s.idParam,
  label: s.label,
  bulkLimit: s.metadataBulkLimit,
  putTakesEntry: s.segment === 'assets',
  tag: s.tag,
});

export const THREAT_MODEL_TARGET: MetadataTarget = {
  segment: null,
  table: 'threat_models',
  entityType: 'threat_model',
  idParam: 'threat_model_id',
  label: 'Threat model',
  bulkLimit: 20,
  putTakesEntry: false,
  tag: 'Threat Models',
};

/** Every child family, diagrams included (their routes are another module's; their table is in 0002). */
export const CHILD_TARGETS: MetadataTarget[] = [
  fromSpec(threatSpec),
  { segment: 'diagrams', table: 'diagrams', entityType: 'diagram', idParam: 'diagram_id', label: 'Diagram', bulkLimit: 20, putTakesEntry: false, tag: 'Diagrams' },
  fromSpec(assetSpec),
  fromSpec(documentSpec),
  fromSpec(noteSpec),
  fromSpec(repositorySpec),
];

export class MetadataService {
  constructor(
    private readonly db: Db,
    private readonly threatModels: ThreatModelService,
    private readonly families: FamilyRegistry,
  ) {}

  /**
   * Metadata is part of its entity, so a change is an `updated` entry of that entity with its new
   * state (rollback can bring metadata back). A threat model's state is its last recorded one with
   * the new metadata: its other fields did not change.
   */
  private async audit(q: Queryable, p: Principal, t: MetadataTarget, tmId: string, id: string, summary: string): Promise<void> {
    let snapshot: Record<string, unknown> | null;
    if (t.segment) {
      snapshot = (await this.families.get(t.segment)?.load(q, tmId, id)) ?? null;
    } else {
      const last = await latestSnapshot(q, tmId, 'threat_model', tmId);
      snapshot = last ? { ...last, metadata: await store.listEntries(q, t.entityType, id) } : null;
    }
    await recordAudit(
      q,
      {
        threatModelId: tmId,
        objectType: t.entityType as AuditObjectType,
        objectId: id,
        version: await currentVersion(q, t.table, id),
        changeType: 'updated',
        actor: actorOf(p),
        summary,
        snapshot: snapshot ?? undefined,
      },
      new Date(),
    );
  }

  /** Role check on the threat model first, then the child must be live in that model. */
  private async entity(q: Queryable, p: Principal, t: MetadataTarget, tmId: string, childId: string | null, action: 'read' | 'write'): Promise<string> {
    await this.threatModels.accessTo(p, tmId, action, { q });
    if (!t.segment || !childId) return tmId;
    if (!(await store.liveChildExists(q, t.table, tmId, childId))) throw notFound(`${t.label} not found`);
    return childId;
  }

  /** What a write checks before its body: the role, the entity, and the key when one is named (PUT does not create). */
  async checkWritable(p: Principal, t: MetadataTarget, tmId: string, childId: string | null, key?: string): Promise<void> {
    const id = await this.entity(this.db, p, t, tmId, childId, 'write');
    if (key !== undefined && !(await store.getEntry(this.db, t.entityType, id, key))) throw notFound('Metadata entry not found');
  }

  private static check(items: Metadata[], limit: number): void {
    if (items.length > limit) throw badRequest(`Too many metadata entries in one request (at most ${limit})`);
    const seen = new Set<string>();
    for (const m of items) {
      if (seen.has(m.key)) throw badRequest(`Duplicate metadata key found: ${m.key}`);
      seen.add(m.key);
      MetadataService.checkValue(m.key, m.value);
    }
  }

  private static checkValue(key: string, value: string): void {
    if (Buffer.byteLength(value, 'utf8') > 1024) throw badRequest(`Metadata value for key '${key}' is longer than 1024 bytes`);
    if (isUnsafeText(value)) throw badRequest(`Field 'value' contains potentially unsafe content`);
  }

  async list(p: Principal, t: MetadataTarget, tmId: string, childId: string | null): Promise<Metadata[]> {
    const id = await this.entity(this.db, p, t, tmId, childId, 'read');
    return store.listEntries(this.db, t.entityType, id);
  }

  async get(p: Principal, t: MetadataTarget, tmId: string, childId: string | null, key: string): Promise<Metadata> {
    const id = await this.entity(this.db, p, t, tmId, childId, 'read');
    const entry = await store.getEntry(this.db, t.entityType, id, key);
    if (!entry) throw notFound('Metadata entry not found');
    return entry;
  }

  async create(p: Principal, t: MetadataTarget, tmId: string, childId: string | null, m: Metadata): Promise<Metadata> {
    return this.db.tx(async (q) => {
      const id = await this.entity(q, p, t, tmId, childId, 'write');
      MetadataService.checkValue(m.key, m.value);
      if ((await store.existingKeys(q, t.entityType, id, [m.key])).length) throw conflict(`Metadata key already exists: ${m.key}`);
      await store.upsertEntries(q, t.entityType, id, [m], new Date());
      await this.audit(q, p, t, tmId, id, `Metadata key '${m.key}' added`);
      return { key: m.key, value: m.value };
    });
  }

  /** `bodyKey` is the key a full entry in the body names (assets); it must be the path's. */
  async update(p: Principal, t: MetadataTarget, tmId: string, childId: string | null, key: string, value: string, bodyKey?: string): Promise<Metadata> {
    return this.db.tx(async (q) => {
      const id = await this.entity(q, p, t, tmId, childId, 'write');
      if (!(await store.getEntry(q, t.entityType, id, key))) throw notFound('Metadata entry not found');
      if (bodyKey !== undefined && bodyKey !== key) throw badRequest('The key in the body must match the key in the path');
      MetadataService.checkValue(key, value);
      if (!(await store.updateValue(q, t.entityType, id, key, value, new Date()))) throw notFound('Metadata entry not found');
      await this.audit(q, p, t, tmId, id, `Metadata key '${key}' updated`);
      return { key, value };
    });
  }

  async remove(p: Principal, t: MetadataTarget, tmId: string, childId: string | null, key: string): Promise<void> {
    await this.db.tx(async (q) => {
      const id = await this.entity(q, p, t, tmId, childId, 'write');
      if (!(await store.deleteEntry(q, t.entityType, id, key))) throw notFound('Metadata entry not found');
      await this.audit(q, p, t, tmId, id, `Metadata key '${key}' deleted`);
    });
  }

  /** mode 'create': any existing key is 409; 'replace': the list becomes exactly `items`; 'upsert': merge. */
  async bulk(p: Principal, t: MetadataTarget, tmId: string, childId: string | null, items: Metadata[], mode: 'create' | 'replace' | 'upsert'): Promise<Metadata[]> {
    return this.db.tx(async (q) => {
      const id = await this.entity(q, p, t, tmId, childId, 'write');
      MetadataService.check(items, t.bulkLimit);
      if (mode !== 'replace' && items.length === 0) throw badRequest('No metadata entries provided');
      if (mode === 'create') {
        const existing = await store.existingKeys(q, t.entityType, id, items.map((m) => m.key));
        if (existing.length) throw conflict(`Metadata keys already exist: ${existing.join(', ')}`);
      }
      if (mode === 'replace') await q.query('DELETE FROM metadata WHERE entity_type = $1 AND entity_id = $2', [t.entityType, id]);
      await store.upsertEntries(q, t.entityType, id, items, new Date());
      const verb = { create: 'added', replace: 'replaced', upsert: 'set' }[mode];
      await this.audit(q, p, t, tmId, id, `Metadata ${verb}: ${items.map((m) => m.key).join(', ') || 'all keys removed'}`.slice(0, 1000));
      return store.listEntries(q, t.entityType, id);
    });
  }
}
