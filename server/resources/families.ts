// The children of a threat model (threats, diagrams, assets, documents, notes, repositories) as
// one registry, so that cross-cutting features — embedding in the threat model, metadata, audit
// trail, restore, rollback, cascade — are written once and work for every family.
import type { Queryable } from '../store/db.ts';
import type { AuditObjectType } from './common/audit.ts';

export interface ChildFamily {
  /** URL segment under /threat_models/{id}/: 'threats', 'diagrams', ... */
  segment: string;
  /** Table holding the rows (columns id, threat_model_id, deleted_at at least). */
  table: string;
  /** Audit object type and metadata entity type: 'threat', 'diagram', ... */
  objectType: AuditObjectType;
  /** For messages: 'Threat' gives "Threat not found". */
  label: string;
  /** Key of the embedded array in a ThreatModel response, when the family is embedded there. */
  embedKey?: 'threats' | 'diagrams' | 'documents' | 'repositories' | 'notes' | 'assets';
  /** Live (not deleted) children of a threat model in their wire form, for embedding. */
  embed?(q: Queryable, threatModelId: string): Promise<unknown[]>;
  /** One child in its wire form, deleted or not; null when absent from this threat model. */
  load(q: Queryable, threatModelId: string, id: string): Promise<Record<string, unknown> | null>;
  /** Writes a state recorded in the audit trail back (rollback); re-creates the row if needed. */
  writeSnapshot?(q: Queryable, threatModelId: string, id: string, snapshot: Record<string, unknown>): Promise<void>;
}

export class FamilyRegistry {
  private readonly bySegment = new Map<string, ChildFamily>();

  register(family: ChildFamily): void {
    if (this.bySegment.has(family.segment)) throw new Error(`family ${family.segment} registered twice`);
    this.bySegment.set(family.segment, family);
  }

  get(segment: string): ChildFamily | undefined {
    return this.bySegment.get(segment);
  }

  byObjectType(type: string): ChildFamily | undefined {
    return [...this.bySegment.values()].find((f) => f.objectType === type);
  }

  all(): ChildFamily[] {
    return [...this.bySegment.values()];
  }

  /** Tables of the families embedded in a ThreatModel response. */
  embeddedTables(): string[] {
    return this.all()
      .filter((f) => f.embedKey && f.embed)
      .map((f) => f.table);
  }

  /**
   * The embedded collections of a ThreatModel response. With `liveTables` (the tables known to
   * hold live rows for this model), empty families answer [] without a query of their own.
   */
  async embedded(q: Queryable, threatModelId: string, liveTables?: ReadonlySet<string>): Promise<Record<string, unknown[]>> {
    const out: Record<string, unknown[]> = {};
    for (const f of this.all()) if (f.embedKey && f.embed && liveTables && !liveTables.has(f.table)) out[f.embedKey] = [];
    await Promise.all(
      this.all()
        .filter((f) => f.embedKey && f.embed && (!liveTables || liveTables.has(f.table)))
        .map(async (f) => {
          out[f.embedKey!] = await f.embed!(q, threatModelId);
        }),
    );
    return out;
  }
}
