// Housekeeping of collaboration, and what background work does when a store is away: this
// instance's heartbeat, the connections of instances that stopped heartbeating, sessions nobody is
// connected to, and — after an outage of PostgreSQL or Redis — putting this instance's connection
// rows and participant lists right again.
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../store/db.ts';
import { StoreUnavailableError, type StoreName } from '../store/availability.ts';
import type { LocalSessions } from './session.ts';
import * as store from './store.ts';

/**
 * Failures of background work (timers, bus handlers, work not awaited). A store outage is logged
 * once when first met, not again on every tick; after shutdown began, failures are expected and
 * quiet.
 */
export class BackgroundFailures {
  /** Stores found unreachable since the sweep last ran clean. */
  private readonly outages = new Set<StoreName>();
  private stopped = false;

  constructor(private readonly log: FastifyBaseLogger) {}

  readonly report = (err: unknown): void => {
    if (this.stopped) return;
    if (!(err instanceof StoreUnavailableError)) {
      this.log.error({ err }, 'collaboration background task failed');
    } else if (!this.outages.has(err.store)) {
      this.outages.add(err.store);
      this.log.warn({ store: err.store, reason: err.message }, 'collaboration: store unavailable; sockets stay open, edits it cannot store are refused');
    }
  };

  stop(): void {
    this.stopped = true;
  }

  get stopping(): boolean {
    return this.stopped;
  }

  get inOutage(): boolean {
    return this.outages.size > 0;
  }

  /** The stores that were away, forgotten from now on. */
  recovered(): StoreName[] {
    const stores = [...this.outages];
    this.outages.clear();
    return stores;
  }
}

export class Upkeep {
  constructor(
    private readonly db: Db,
    private readonly instanceId: string,
    private readonly idleSeconds: number,
    private readonly sessions: LocalSessions,
    private readonly failures: BackgroundFailures,
    private readonly log: FastifyBaseLogger,
    private readonly announceParticipants: (sessionId: string) => Promise<void>,
    private readonly endSession: (sessionId: string, reason: string) => Promise<boolean>,
  ) {}

  heartbeat(): Promise<void> {
    return store.heartbeat(this.db, this.instanceId);
  }

  async sweep(): Promise<void> {
    await this.heartbeat();
    if (this.failures.inOutage) {
      // The other instances could not heartbeat during the outage either: judge none of them dead
      // (nor their sessions idle) before they have had a sweep of their own to say they live.
      await this.resync();
      return;
    }
    for (const sessionId of await store.sweepDeadInstances(this.db)) await this.announceParticipants(sessionId);
    for (const s of await store.idleSessions(this.db, this.idleSeconds)) await this.endSession(s.id, 'no participants');
  }

  /**
   * After an outage: while this instance could not heartbeat, another may have swept its connection
   * rows as those of a dead instance, and sockets that closed meanwhile could not remove theirs; and
   * participant lists published meanwhile were lost. Put the rows right and announce the lists
   * again. Throws (and runs again on the next sweep) while a store is still away.
   */
  private async resync(): Promise<void> {
    const open = this.sessions.connections().filter((c) => !c.closed);
    const ready = open.filter((c) => c.ready);
    await store.restoreConnections(
      this.db,
      this.instanceId,
      ready.map((c) => ({ id: c.id, sessionId: c.session.id, userUuid: c.userUuid, user: c.user, permissions: c.permissions })),
      open.filter((c) => !c.ready).map((c) => c.id),
    );
    for (const id of this.sessions.ids()) await this.announceParticipants(id);
    this.log.info({ stores: this.failures.recovered(), sockets: ready.length }, 'collaboration: stores reachable again; connections and participant lists restored');
  }

  removeInstance(): Promise<void> {
    return store.removeInstance(this.db, this.instanceId);
  }
}
