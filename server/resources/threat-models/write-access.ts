// Who may write a model, as this instance last decided it (issue 11, "Writes"). A create checked
// the caller's role with a query of its own before writing; each positive decision is now kept
// with the snapshot it was read in (its stamp), and the create's first statement, which takes the
// alias, vouches for it in the database: it takes the alias only while no change that could alter
// a decision about the model (owner, tombstone, access list, a group's name: migration 0104) has
// committed since the stamp, and otherwise the role is checked afresh. A decision is never used
// without that check, so what another instance changes counts alike; it is kept as long as its
// stamp is trusted (STAMP_TRUST_MS).
import type { AccessSubject } from '../../authz/index.ts';
import { STAMP_TRUST_MS } from './store.ts';

/** About 150 bytes each: at most a few MiB per instance. */
const MAX_DECISIONS = 20_000;

export class WriteAccessMemo {
  private readonly decisions = new Map<string, { stamp: string; at: number }>();

  private static key(who: AccessSubject, tmId: string): string {
    return JSON.stringify([tmId, who.userUuid, who.provider, who.idpGroups, who.tmiGroupIds]);
  }

  /** `who` may write model `tmId` as of the snapshot `stamp`. */
  remember(who: AccessSubject, tmId: string, stamp: string): void {
    const key = WriteAccessMemo.key(who, tmId);
    // Most recently decided last: the Map's order is the eviction order.
    this.decisions.delete(key);
    this.decisions.set(key, { stamp, at: Date.now() });
    if (this.decisions.size > MAX_DECISIONS) this.decisions.delete(this.decisions.keys().next().value!);
  }

  /** The stamp of the kept decision that `who` may write `tmId`, if there is one still to be vouched for. */
  recall(who: AccessSubject, tmId: string): string | undefined {
    const key = WriteAccessMemo.key(who, tmId);
    const d = this.decisions.get(key);
    if (!d) return undefined;
    if (Date.now() - d.at > STAMP_TRUST_MS) {
      this.decisions.delete(key);
      return undefined;
    }
    return d.stamp;
  }
}
