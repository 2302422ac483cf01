// The collaboration hub of one server instance: it composes the parts and owns their timers.
//   tickets.ts        admission before the upgrade (tickets, access, caps)
//   join.ts           a socket joining its session, with its initial state
//   session.ts        a session on this instance (its sockets, its state in the store and on the bus)
//   delivery.ts       the session's bus channel and in-order delivery of its operations
//   dispatch.ts       inbound messages; presenter.ts the presenter's and the host's
//   access.ts         live access of open sockets (revocation 4401, lost access 4403)
//   notifications.ts  /ws/notifications
//   upkeep.ts         heartbeat, dead instances, idle sessions, recovery after an outage
// The hub holds only what cannot leave the process — the sockets connected here; everything else
// is in the store, and instances talk through the bus: collab:<session id> per session, and
// tm-events for threat-model changes (access re-checks, notifications) and session starts.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../context.ts';
import type { Principal } from '../auth/authenticate.ts';
import type { CollabSettings } from '../config.ts';
import type { ThreatModelEvent } from '../resources/threat-models/service.ts';
import { CLOSE } from '../../contract/collab.ts';
import { LiveAccess, openedWith } from './access.ts';
import { Dispatcher } from './dispatch.ts';
import { join, type JoinServices } from './join.ts';
import { Notifications, type CollabNotice } from './notifications.ts';
import { announceParticipants, endSession, LocalSessions, type Connection } from './session.ts';
import { Tickets, type Permissions, type TicketClaims } from './tickets.ts';
import { BackgroundFailures, Upkeep } from './upkeep.ts';
import { handOverFrom } from './presenter.ts';
import type * as store from './store.ts';

/** How often a session with local clients re-reads the operation log for anything pub/sub missed. */
const CATCH_UP_MS = 1000;
/** How long shutdown waits for messages in flight to finish their transaction. */
const DRAIN_MS = 2000;

export class CollabHub {
  readonly instanceId = `${process.pid}-${randomUUID()}`;
  readonly tickets: Tickets;
  private readonly failures: BackgroundFailures;
  private readonly sessions: LocalSessions;
  private readonly access: LiveAccess;
  private readonly dispatcher: Dispatcher;
  private readonly notifications: Notifications;
  private readonly upkeep: Upkeep;
  private readonly joining: JoinServices;
  /** Sockets whose leave has begun: it runs once, whether the close or a drop comes first. */
  private readonly left = new WeakSet<Connection>();
  private timers: NodeJS.Timeout[] = [];
  /** Whether the sockets' periodic access checks still run (pingAndRecheck). */
  private rechecking = false;
  private unsubscribeTm?: () => Promise<void>;
  private stopRevocations?: () => void;

  constructor(
    private readonly ctx: AppContext,
    readonly settings: CollabSettings,
    log: FastifyBaseLogger,
  ) {
    this.failures = new BackgroundFailures(log);
    const report = this.failures.report;
    this.sessions = new LocalSessions({ db: ctx.db, bus: ctx.shared.bus, instanceId: this.instanceId, log, report });
    this.tickets = new Tickets(ctx, settings);
    this.access = new LiveAccess(ctx);
    this.dispatcher = new Dispatcher(settings.opsPerSecond, log, this.failures);
    this.notifications = new Notifications(ctx, this.access, report);
    this.upkeep = new Upkeep(ctx.db, this.instanceId, settings.idleSeconds, this.sessions, this.failures, log, (id) => this.announceParticipants(id), (id, reason) => this.endSession(id, reason));
    this.joining = {
      db: ctx.db,
      settings,
      instanceId: this.instanceId,
      sessions: this.sessions,
      capMessage: (refused) => this.tickets.capMessage(refused),
      recheck: (c) => this.access.recheck(c),
      listen: (c) => this.listen(c),
      leave: (c) => this.leave(c),
      report,
    };
  }

  async start(): Promise<void> {
    const report = this.failures.report;
    await this.upkeep.heartbeat();
    this.unsubscribeTm = await this.ctx.shared.bus.subscribe('tm-events', (m) => void this.onThreatModelEvent(JSON.parse(m) as ThreatModelEvent | CollabNotice).catch(report));
    this.ctx.threatModels.onChange((e) => void this.ctx.shared.bus.publish('tm-events', JSON.stringify(e)).catch(() => undefined));
    this.stopRevocations = this.ctx.sessions.onRevoked((id) => this.onCredentialRevoked(id));
    const every = (ms: number, work: () => Promise<void>) => {
      const t = setInterval(() => void work().catch(report), ms);
      t.unref();
      return t;
    };
    this.timers = [
      every(this.settings.sweepMs, () => this.upkeep.sweep()),
      every(this.settings.pingSeconds * 1000, () => this.pingAndRecheck()),
      every(CATCH_UP_MS, async () => {
        for (const s of this.sessions.all()) if (s.conns.size > 0) void s.catchUp().catch(report);
      }),
    ];
  }

  async stop(): Promise<void> {
    this.failures.stop();
    for (const t of this.timers) clearInterval(t);
    this.stopRevocations?.();
    const inFlight: Promise<void>[] = [];
    for (const s of this.sessions.all()) {
      inFlight.push(s.pendingWrites);
      for (const c of s.conns) {
        inFlight.push(c.chain);
        c.ws.close(1001, 'server shutting down');
      }
      await s.close();
    }
    // Let messages in flight finish their transaction (bounded), so none is cut mid-way.
    await Promise.race([Promise.allSettled(inFlight), new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
    this.notifications.closeAll();
    await this.unsubscribeTm?.().catch(() => undefined);
    await this.upkeep.removeInstance().catch(() => undefined);
  }

  // ---- the REST side ----

  /** Ends a session for everyone (host DELETE, idle); true when this call ended it. */
  endSession(sessionId: string, reason: string): Promise<boolean> {
    return endSession({ db: this.ctx.db, bus: this.ctx.shared.bus }, sessionId, reason);
  }

  async announceStarted(s: store.SessionRow, actorEmail: string): Promise<void> {
    const notice: CollabNotice = { type: 'collaboration_started', threatModelId: s.threat_model_id, name: s.threat_model_name, actorEmail, diagramId: s.diagram_id, diagramName: s.diagram_name, sessionId: s.id };
    await this.ctx.shared.bus.publish('tm-events', JSON.stringify(notice)).catch(() => undefined);
  }

  // ---- sockets ----

  /** Joins an upgraded socket whose ticket and access (`permissions`) were checked before the upgrade. */
  join(ws: WebSocket, claims: TicketClaims, permissions: Permissions, tmId: string, diagramId: string, resumeFrom: number | undefined): Promise<void> {
    return join(this.joining, ws, claims, permissions, { tmId, diagramId, resumeFrom });
  }

  addNotificationSocket(ws: WebSocket, principal: Principal): void {
    this.notifications.add(ws, principal);
  }

  private listen(c: Connection): void {
    c.ws.on('message', (data, isBinary) => this.dispatcher.enqueue(c, data as Buffer, isBinary));
    c.ws.on('close', () => void this.leave(c).catch(this.failures.report));
    c.ws.on('error', () => c.ws.terminate());
  }

  /** A socket left its session: its row goes, the presenter moves on, the others are told. */
  private async leave(c: Connection): Promise<void> {
    c.detach();
    if (!c.ready || this.failures.stopping) return; // the join finishes the leave; at shutdown removeInstance does
    if (this.left.has(c)) return;
    this.left.add(c);
    const session = c.session;
    try {
      await session.removeConnection(c);
      const row = await session.row();
      if (row?.state === 'active') {
        await handOverFrom(session, row, c.userUuid);
        await session.announceParticipants();
      }
    } finally {
      await this.sessions.releaseIfUnused(session);
    }
  }

  private announceParticipants(sessionId: string): Promise<void> {
    return announceParticipants({ db: this.ctx.db, bus: this.ctx.shared.bus }, sessionId);
  }

  // ---- access ----

  private async onThreatModelEvent(e: ThreatModelEvent | CollabNotice): Promise<void> {
    if (e.type !== 'collaboration_started') {
      await this.access.recheckAll(this.sessions.all().filter((s) => s.tmId === e.threatModelId).flatMap((s) => [...s.conns]));
    }
    await this.notifications.publish(e);
  }

  /**
   * A token id or session id was revoked (here or, through the bus, on another instance): every
   * socket it opened is taken out of its session or the notification set at once and closed 4401.
   */
  private onCredentialRevoked(id: string): void {
    for (const c of this.sessions.connections()) if (openedWith(c.claims.credential, id)) c.drop(CLOSE.sessionRevoked, 'session revoked');
    this.notifications.revoked(id);
  }

  private async pingAndRecheck(): Promise<void> {
    const all = this.sessions.connections();
    for (const c of all) if (c.ws.readyState === c.ws.OPEN) c.ws.ping();
    // Should a revocation announcement have been lost, the shared store still says so. The checks
    // go a few at a time (LiveAccess.recheckAll); the next ping skips them while they still run.
    if (this.rechecking) return;
    this.rechecking = true;
    try {
      await Promise.all([this.access.recheckAll(all), this.notifications.heartbeat()]);
    } finally {
      this.rechecking = false;
    }
  }

  /** Number of sessions with sockets on this instance (metrics). */
  get sessionCount(): number {
    return this.sessions.all().length;
  }

  /** Number of sockets on this instance (tests, metrics). */
  get socketCount(): number {
    return this.sessions.connections().length;
  }
}
