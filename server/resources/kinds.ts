// The kinds of a threat model's children (threats, diagrams, documents, repositories, notes,
// assets): the one list of contract/limits.ts with what the server adds to each, and the registry
// through which cross-cutting features — embedding in the threat model, metadata, audit trail,
// restore, rollback, cascade — reach every kind without naming one.
import type { Queryable } from '../store/db.ts';
import { CHILD_KINDS, type ChildKind, type ChildKindName } from '../../contract/limits.ts';

export type Kind = ChildKind & {
  /** Table holding the items (columns id, threat_model_id, version, deleted_at at least); the kind's name. */
  readonly table: ChildKindName;
  /** OpenAPI tag of the kind's operations: 'Threats'. */
  readonly tag: string;
  /** PUT .../metadata/{key} takes a full Metadata entry (assets' contract) instead of {value}. */
  readonly metadataPutTakesEntry: boolean;
};

const capitalised = (s: string) => s[0]!.toUpperCase() + s.slice(1);

export const KINDS: readonly Kind[] = CHILD_KINDS.map((k) => ({ ...k, table: k.name, tag: capitalised(k.name), metadataPutTakesEntry: k.name === 'assets' }));

export const KIND = Object.fromEntries(KINDS.map((k) => [k.name, k])) as { readonly [N in ChildKindName]: Kind & { readonly name: N } };

/** How the cross-cutting features read and write the items of one kind. */
export interface KindItems {
  /** Live (not deleted) items of a threat model in their wire form, for embedding. */
  embed(q: Queryable, threatModelId: string): Promise<unknown[]>;
  /** One item in its wire form, deleted or not; null when absent from this threat model. */
  load(q: Queryable, threatModelId: string, id: string): Promise<Record<string, unknown> | null>;
  /** Writes a state recorded in the audit trail back (rollback); re-creates the row if needed. */
  writeSnapshot(q: Queryable, threatModelId: string, id: string, snapshot: Record<string, unknown>): Promise<void>;
}

/** Each kind's KindItems, registered by the module that serves the kind when its routes are added. */
export class KindRegistry {
  private readonly items = new Map<ChildKindName, KindItems>();

  register(kind: Kind, items: KindItems): void {
    if (this.items.has(kind.name)) throw new Error(`kind ${kind.name} registered twice`);
    this.items.set(kind.name, items);
  }

  /** The items of a kind; every kind is registered once the routes are. */
  of(kind: Kind): KindItems {
    const items = this.items.get(kind.name);
    if (!items) throw new Error(`kind ${kind.name} is not registered`);
    return items;
  }

  /**
   * The embedded collections of a ThreatModel response. With `liveTables` (the tables known to
   * hold live rows for this model), empty kinds answer [] without a query of their own.
   */
  async embedded(q: Queryable, threatModelId: string, liveTables?: ReadonlySet<string>): Promise<Record<ChildKindName, unknown[]>> {
    const out = {} as Record<ChildKindName, unknown[]>;
    await Promise.all(
      KINDS.map(async (k) => {
        out[k.name] = liveTables && !liveTables.has(k.table) ? [] : await this.of(k).embed(q, threatModelId);
      }),
    );
    return out;
  }
}

/** The kind an audit entry's or a metadata entry's object type names; undefined for the threat model itself. */
export const kindOfObjectType = (type: string): Kind | undefined => KINDS.find((k) => k.objectType === type);
