// A collaboration session as one instance holds it: the sockets connected here (Connection), the
// session's state in the store and on the bus, read and changed through the session object
// (LocalSession), and the registry of the sessions this instance has sockets in (LocalSessions).
// Everything but the sockets lives in the store (participants, presenter, deny list, sequence,
// operation log), so any instance can serve any session.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../store/db.ts';
import type { Bus } from '../store/shared-state.ts';
import { StoreUnavailableError } from '../store/availability.ts';
import { CLOSE, type Participant, type WsUser } from '../../contract/collab.ts';
import type { DiagramOperationEvent, ServerMessage, ServerMessageOf } from '../../contract/collab-messages.ts';
import { recordSessionAudit } from './audit.ts';
import { OrderedDelivery, sessionChannel, type BusMessage, type SessionChannel } from './delivery.ts';
import { SessionEditor, applyHistory, eventOf, type Actor, type EditRequest, type HistoryOutcome, type OpOutcome } from './operations.ts';
import { errors, messages } from './protocol.ts';
import type { Permissions, TicketClaims } from './tickets.ts';
import * as store from './store.ts';

/** A socket whose client cannot keep up is closed beyond this much unsent data (it can resume). */
const MAX_BUFFERED = 8 * 1024 * 1024;
/** Edits committed together at most (group commit). */
const MAX_BATCH = 64;
/**
 * Batches of a session sent before the ones before them committed, at most. The second waits on the
 * session row inside PostgreSQL and commits right after the first, rather than a round trip later;
 * a third would wait behind both and gain nothing more.
 */
const MAX_IN_FLIGHT = 2;
/**
 * How long this instance trusts its copy of who presents. Changes arrive over the bus at once; the
 * copy is re-read after this long in case such a message was lost (a dropped bus link). The relay
 * that finds it expired still goes by it while it is re-read, so no pointer waits for the store.
 */
const PRESENTER_TRUST_MS = 1000;
/**
 * How long this instance trusts what it last learnt of whether other instances listen on a
 * session's channel (the presenter's pointer goes over the bus only then). A change of
 * participants anywhere is announced on the channel and makes it ask again at once.
 */
const LISTENERS_TRUST_MS = 1000;

/**
 * An answer this instance keeps and trusts for a while (its copy of who presents, whether other
 * instances listen). Once it is no longer trusted it still answers while it is asked for again in
 * the background, so nothing waits for the store or the bus; an answer announced meanwhile (over
 * the bus) wins over one asked for before it.
 */
class KeptAnswer<T> {
  private kept: { value: T; until: number } | null = null;
  private announced = 0;
  private asking = false;

  constructor(
    private readonly ask: () => Promise<T>,
    private readonly trustMs: number,
    private readonly report: (err: unknown) => void,
  ) {}

  /** The kept answer (asked for again in the background once it is not trusted); with none yet, asks and waits. */
  get(): T | Promise<T> {
    const kept = this.kept;
    if (!kept) return this.askNow();
    if (kept.until <= Date.now() && !this.asking) {
      this.asking = true;
      void this.askNow()
        .catch(this.report)
        .finally(() => (this.asking = false));
    }
    return kept.value;
  }

  /** An answer announced: trusted from now on, or (`trusted` false) kept only until asked again. */
  announce(value: T, trusted = true): void {
    this.announced++;
    this.kept = { value, until: trusted ? Date.now() + this.trustMs : 0 };
  }

  private async askNow(): Promise<T> {
    const announced = this.announced;
    const value = await this.ask();
    if (announced === this.announced) this.kept = { value, until: Date.now() + this.trustMs };
    return value;
  }
}

/** One socket of this instance in a session. */
export class Connection {
  readonly id = randomUUID();
  /** False until diagram_state (or the resumed operations) went out; events queue meanwhile. */
  ready = false;
  closed = false;
  /** The socket's messages, handled one after another. */
  chain: Promise<void> = Promise.resolve();
  private queue: DiagramOperationEvent[] = [];
  /** The last sequence number this client has. */
  private lastSeq = 0;
  private tokens: number;
  private tokensAt = Date.now();

  constructor(
    readonly ws: WebSocket,
    readonly session: LocalSession,
    readonly claims: TicketClaims,
    readonly user: WsUser,
    public permissions: Permissions,
    private readonly opsPerSecond: number,
    /** Called once the socket is out of its session, to finish leaving it. */
    private readonly onDropped: (c: Connection) => void,
  ) {
    this.tokens = opsPerSecond * 2;
  }

  get userUuid(): string {
    return this.claims.userUuid;
  }

  /**
   * A message to this client, unless it is closed or cannot keep up: as it is, serialised, or
   * encoded (one frame's bytes for many sockets: see `encodeOnce`). Always a text frame.
   */
  send(m: ServerMessage | string | Buffer): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED) {
      // A client that cannot keep up would hold memory without bound; it can resume later.
      this.drop(CLOSE.tryAgainLater, 'too slow; reconnect and resume');
      return;
    }
    this.ws.send(typeof m === 'string' || Buffer.isBuffer(m) ? m : JSON.stringify(m), { binary: false });
  }

  /** An operation event, in order: queued until the client has its initial state, skipped if it has it. */
  deliver(e: DiagramOperationEvent, encoded?: Buffer): void {
    if (!this.ready) {
      this.queue.push(e);
      return;
    }
    if (e.sequence_number <= this.lastSeq) return;
    this.lastSeq = e.sequence_number;
    this.send(encoded ?? e);
  }

  /** The client now has the session up to `seq` (a diagram_state, or resumed events). */
  hasUpTo(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  /** The initial state went out: live from here, with what queued meanwhile. */
  markReady(): void {
    this.ready = true;
    for (const e of this.queue) this.deliver(e);
    this.queue = [];
  }

  /** Token bucket of diagram operations (and undo/redo): false when over the rate. */
  allowOperation(): boolean {
    const t = Date.now();
    this.tokens = Math.min(this.opsPerSecond * 2, this.tokens + ((t - this.tokensAt) / 1000) * this.opsPerSecond);
    this.tokensAt = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Takes the socket out of its session at once (no further broadcasts), then closes it. */
  drop(code: number, reason: string): void {
    this.detach();
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
    this.onDropped(this);
  }

  /** Out of its session's delivery; the socket itself is left as it is. */
  detach(): void {
    this.closed = true;
    this.session.conns.delete(this);
  }
}

export interface SessionServices {
  db: Db;
  bus: Bus;
  /** This instance, to skip its own relays coming back over the bus. */
  instanceId: string;
  log: FastifyBaseLogger;
  /** Where failures of background work go (store outages are logged once). */
  report: (err: unknown) => void;
}

/**
 * Whether the database's pool is mostly idle: at least half its open connections, and nobody
 * waiting for one (PGlite has no pool). Under load a batch sent early would hold a connection the
 * other sessions need while it waits: with 200 sessions at saturation, sending whenever one
 * connection was idle left queries waiting past the pool's timeout (bench:sessions refused 3,588
 * of 119,041 operations, none without it).
 */
function poolMostlyIdle(db: Db): boolean {
  const pool = db.poolStats?.();
  return pool !== undefined && pool.waiting === 0 && pool.idle > 0 && pool.idle * 2 >= pool.total;
}

/**
 * A message for many sockets, serialised and UTF-8 encoded once. Sent as a string, every socket
 * measured and encoded it again (ws), fifty times an operation in a session of fifty.
 */
const encodeOnce = (m: ServerMessage): Buffer => Buffer.from(JSON.stringify(m));

/** An edit waiting for its batch's outcome. */
interface QueuedEdit {
  request: EditRequest;
  resolve: (o: OpOutcome) => void;
  reject: (e: unknown) => void;
}

/** A batch sent on the fast path, and its outcome to come (SessionEditor.send). */
interface SentBatch {
  batch: QueuedEdit[];
  result: Promise<OpOutcome[] | 'stale'>;
}

/** Hands a settled batch's outcomes (or failure) to its edits; 'stale' when its guard refused it, for the caller to retry. */
async function settleSent(x: SentBatch): Promise<'done' | 'stale'> {
  let outcomes: OpOutcome[] | 'stale';
  try {
    outcomes = await x.result;
  } catch (err) {
    x.batch.forEach((b) => b.reject(err));
    return 'done';
  }
  if (outcomes === 'stale') return 'stale';
  x.batch.forEach((b, i) => b.resolve(outcomes[i]!));
  return 'done';
}

/** One session on this instance: its sockets here, and its state in the store and on the bus. */
export class LocalSession {
  readonly conns = new Set<Connection>();
  private readonly channel: SessionChannel;
  private readonly delivery: OrderedDelivery;
  private unsubscribe: () => Promise<void> = async () => undefined;
  /** Stores this session's edits, keeping this instance's copy of its cells. */
  private readonly editor: SessionEditor;
  /** Edits waiting for the next write of this session (group commit). */
  private edits: QueuedEdit[] = [];
  /** Batches sent on the fast path and not yet settled, oldest first (at most MAX_IN_FLIGHT). */
  private readonly sent: SentBatch[] = [];
  /** Wakes the commit loop when an edit arrives while it waits for a batch in flight. */
  private arrived: (() => void) | null = null;
  private committing = false;
  /** Settles when the queued edits are committed (undo/redo wait for it, to keep a client's order). */
  private commitLoop: Promise<void> = Promise.resolve();
  /** Who presents, as last read or announced. */
  private readonly presenter: KeptAnswer<string | null>;
  /** Whether another instance listens on the session's channel (until first asked: yes). */
  private readonly othersListen: KeptAnswer<boolean>;

  private constructor(
    private readonly services: SessionServices,
    readonly id: string,
    readonly tmId: string,
    readonly diagramId: string,
  ) {
    this.channel = sessionChannel(services.bus, id);
    this.presenter = new KeptAnswer(
      async () => {
        const row = await this.row();
        return row && row.state === 'active' ? row.presenter_uuid : null;
      },
      PRESENTER_TRUST_MS,
      services.report,
    );
    this.othersListen = new KeptAnswer(async () => (await this.channel.listeners()) > 1, LISTENERS_TRUST_MS, services.report);
    this.othersListen.announce(true, false);
    this.editor = new SessionEditor(services.db, id);
    this.delivery = new OrderedDelivery(
      async (afterSeq) => (await store.opsSince(services.db, id, afterSeq, 1000)).map((r) => eventOf(r)),
      (e) => {
        const encoded = encodeOnce(e);
        for (const c of this.conns) c.deliver(e, encoded);
      },
      services.report,
    );
  }

  /** Listens to the session's channel, then reads its position: every later event arrives through the bus. */
  static async open(services: SessionServices, id: string, tmId: string, diagramId: string): Promise<LocalSession> {
    const s = new LocalSession(services, id, tmId, diagramId);
    s.unsubscribe = await s.channel.subscribe((m) => s.onBus(m));
    s.delivery.skipTo(await store.sessionSeq(services.db, id));
    return s;
  }

  async close(): Promise<void> {
    await this.unsubscribe().catch(() => undefined);
  }

  /** Edits in flight (shutdown waits for them, bounded). */
  get pendingWrites(): Promise<void> {
    return this.commitLoop;
  }

  // ---- the session in the store ----

  row(): Promise<store.SessionRow | null> {
    return store.sessionById(this.services.db, this.id);
  }

  liveConnections(): Promise<store.ConnectionRow[]> {
    return store.liveConnections(this.services.db, this.id);
  }

  /** Stores the presenter and tells every instance, so their relay checks need no read. */
  async setPresenter(userUuid: string | null): Promise<void> {
    await store.setPresenter(this.services.db, this.id, userUuid);
    this.presenter.announce(userUuid);
    await this.channel.publish({ t: 'presenter', userUuid });
  }

  /** Who presents (PRESENTER_TRUST_MS). */
  async presenterUuid(): Promise<string | null> {
    return this.presenter.get();
  }

  /**
   * The presenter's pointer or selection: to the sockets here at once, and over the bus to the
   * other instances (which is where their latency goes; this instance skips its own copy) when any
   * listens. A pointer is not stored and the next one follows within moments, so it is not
   * published to a channel nobody else hears: that round trip to Redis for every move was most of
   * the pointer's delay on one instance (docs/performance.md, live edits).
   */
  relay(from: Connection, msg: ServerMessageOf<'presenter_cursor' | 'presenter_selection'>): Promise<void> {
    const encoded = encodeOnce(msg);
    for (const c of this.conns) if (c.ready && c !== from) c.send(encoded);
    // Never waits: the answer is announced at construction, so get() returns it as it stands.
    if (this.othersListen.get() === false) return Promise.resolve();
    return this.channel.publish({ t: 'relay', except: from.id, origin: this.services.instanceId, msg });
  }

  deny(userUuid: string): Promise<void> {
    return store.deny(this.services.db, this.id, userUuid);
  }

  /** The diagram's cells and counters and the session position they correspond to, read consistently. */
  snapshot(): Promise<Awaited<ReturnType<typeof store.snapshot>>> {
    return this.services.db.tx((q) => store.snapshot(q, this.id, this.diagramId));
  }

  currentVector(): Promise<number> {
    return store.currentVector(this.services.db, this.diagramId);
  }

  opsSince(seq: number): Promise<store.OpRow[]> {
    return store.opsSince(this.services.db, this.id, seq);
  }

  async setPermissions(c: Connection, permissions: Permissions): Promise<void> {
    c.permissions = permissions;
    await store.setConnectionPermissions(this.services.db, c.id, permissions);
  }

  /** The socket's row goes; the session counts as active until now (for the idle rule). */
  async removeConnection(c: Connection): Promise<void> {
    await store.deleteConnection(this.services.db, c.id);
    await store.touchSession(this.services.db, this.id);
  }

  // ---- operations ----

  /**
   * Queues an edit for the session's next transaction. While one transaction commits, the edits
   * that arrive meanwhile are sent as the next batch at once (SessionEditor.send), or wait and then
   * commit together: under load the commit (and its flush) is shared, and each edit still gets its
   * own sequence number, checks and log entry.
   */
  submitEdit(request: EditRequest): Promise<OpOutcome> {
    return new Promise((resolve, reject) => {
      this.edits.push({ request, resolve, reject });
      if (this.committing) this.arrived?.();
      else this.commitLoop = this.commitEdits();
    });
  }

  /** Settles the queued edits in order: batches sent early when they can go, the whole way when not. */
  private async commitEdits(): Promise<void> {
    this.committing = true;
    try {
      for (;;) {
        this.sendWhatCan();
        const oldest = this.sent[0];
        if (!oldest) {
          if (this.edits.length === 0) return;
          await this.applyWhole(this.edits.splice(0, MAX_BATCH));
          continue;
        }
        // The oldest batch's outcome, unless an edit arrives first: it may be sent at once.
        const arrival = new Promise<'arrived'>((r) => (this.arrived = () => r('arrived')));
        const first = await Promise.race([oldest.result.then(() => 'settled' as const, () => 'settled' as const), arrival]);
        this.arrived = null;
        if (first === 'arrived') continue;
        this.sent.shift();
        if ((await settleSent(oldest)) === 'stale') {
          // Refused (another instance wrote, say): the batches sent after it are refused too. Once
          // they settled, this one goes the whole way, then they, in order (refused because this
          // one was, not for a copy behind the session).
          const later = this.sent.splice(0);
          await Promise.allSettled(later.map((x) => x.result));
          await this.applyWhole(oldest.batch, true);
          for (const x of later) if ((await settleSent(x)) === 'stale') await this.applyWhole(x.batch);
        }
      }
    } finally {
      this.committing = false;
    }
  }

  /** A batch the whole way (SessionEditor.apply), with nothing in flight; `refused` when sending it just was. */
  private async applyWhole(batch: QueuedEdit[], refused = false): Promise<void> {
    try {
      const outcomes = await this.editor.apply(batch.map((b) => b.request), refused);
      batch.forEach((b, i) => b.resolve(outcomes[i]!));
    } catch (err) {
      batch.forEach((b) => b.reject(err));
    }
  }

  /**
   * Sends the next batches on the fast path while they can go and fewer than MAX_IN_FLIGHT are out.
   * A batch sent early holds a pooled connection while it waits for the one before it, so it goes
   * only while the pool is mostly idle: with many busy sessions the pool is what they all wait for
   * (bench:sessions, docs/performance.md), and PGlite runs one statement at a time anyway.
   */
  private sendWhatCan(): void {
    while (this.edits.length > 0 && this.sent.length < MAX_IN_FLIGHT) {
      if (this.sent.length > 0 && !poolMostlyIdle(this.services.db)) return;
      const batch = this.edits.slice(0, MAX_BATCH);
      const result = this.editor.send(batch.map((b) => b.request));
      if (!result) return;
      this.edits.splice(0, batch.length);
      result.catch(() => undefined); // settled, in order, by the commit loop
      this.sent.push({ batch, result });
    }
  }

  /** Undo or redo, after the edits queued before it. */
  async history(actor: Actor, which: 'undo' | 'redo'): Promise<HistoryOutcome> {
    await this.commitLoop;
    return applyHistory(this.services.db, this.id, actor, which);
  }

  /**
   * Sends a committed operation to the sockets here (the sender's copy is its acknowledgement), then
   * to the other instances, when any listens (see relay). The publish does not wait for the bus's
   * reply, and is skipped while no other instance listens: the operation is already durable, and an
   * instance that misses it (it began listening since this one last asked, a dropped link, this one
   * killed at that moment) reads it from the log on the session's next operation, or at the hub's
   * catch-up within a second. With every socket on one instance, the publish and the bus's echo of
   * it back to this instance were about a tenth of each operation's delay (docs/performance.md).
   */
  announce(e: DiagramOperationEvent): void {
    this.delivery.offer(e);
    if (this.othersListen.get() !== false) {
      void this.channel.publish({ t: 'op', event: e }).catch((err: unknown) =>
        err instanceof StoreUnavailableError ? this.services.report(err) : this.services.log.warn({ err, session: this.id }, 'operation not published; other instances catch up from the log'),
      );
    }
  }

  /** Reads the log for anything the bus lost (see OrderedDelivery.catchUp). */
  catchUp(): Promise<void> {
    return this.delivery.catchUp();
  }

  // ---- the bus ----

  publish(m: BusMessage): Promise<void> {
    return this.channel.publish(m);
  }

  announceParticipants(): Promise<void> {
    return announceParticipants(this.services, this.id);
  }

  private onBus(m: BusMessage): void {
    switch (m.t) {
      case 'op':
        this.delivery.offer(m.event);
        return;
      case 'participants': {
        const encoded = encodeOnce(m.msg);
        for (const c of this.conns) if (c.ready) c.send(encoded);
        // Someone joined or left, perhaps on another instance: relay over the bus until it is known.
        this.othersListen.announce(true, false);
        return;
      }
      case 'relay': {
        if (m.origin === this.services.instanceId) return;
        const encoded = encodeOnce(m.msg);
        for (const c of this.conns) if (c.ready && c.id !== m.except) c.send(encoded);
        return;
      }
      case 'presenter':
        this.presenter.announce(m.userUuid);
        return;
      case 'user':
        for (const c of [...this.conns]) {
          if (c.userUuid !== m.userUuid) continue;
          c.send(m.msg);
          if (m.close) c.drop(m.close.code, m.close.reason);
        }
        return;
      case 'end':
        for (const c of [...this.conns]) {
          c.send(errors.sessionTerminated(m.reason));
          c.drop(CLOSE.normal, 'Session terminated');
        }
        return;
    }
  }
}

/** Who is connected to a session, across instances: one entry per user, writer when any socket is. */
export async function participantsOf(db: Db, sessionId: string): Promise<Participant[]> {
  const byUser = new Map<string, Participant>();
  for (const c of await store.liveConnections(db, sessionId)) {
    const prev = byUser.get(c.user_uuid);
    const p: Participant = { user: c.user_json, permissions: c.permissions, last_activity: new Date(c.last_activity).toISOString() };
    if (!prev || (prev.permissions === 'reader' && p.permissions === 'writer')) byUser.set(c.user_uuid, p);
  }
  return [...byUser.values()];
}

/** Sends a session's participant list to everyone in it, on every instance (also sessions with no sockets here). */
export async function announceParticipants(services: Pick<SessionServices, 'db' | 'bus'>, sessionId: string): Promise<void> {
  const s = await store.sessionById(services.db, sessionId);
  if (!s || s.state !== 'active') return;
  const msg = messages.participantsUpdate(await participantsOf(services.db, sessionId), s.host, s.presenter);
  await sessionChannel(services.bus, sessionId).publish({ t: 'participants', msg });
}

/**
 * Ends a session for everyone, on every instance (host DELETE, idle); true when this call ended it.
 * One audit entry records the session's edits (the reference debounces WebSocket edits too), with
 * the diagram as it is now, so the audit trail and rollback cover live editing.
 */
export async function endSession(services: Pick<SessionServices, 'db' | 'bus'>, sessionId: string, reason: string): Promise<boolean> {
  const ended = await services.db.tx(async (q) => {
    const e = await store.endSession(q, sessionId);
    if (e && e.seq > 0) await recordSessionAudit(q, e, reason);
    return e !== null;
  });
  if (ended) await sessionChannel(services.bus, sessionId).publish({ t: 'end', reason });
  return ended;
}

/** The sessions this instance has sockets in. */
export class LocalSessions {
  private readonly sessions = new Map<string, LocalSession>();
  private readonly opening = new Map<string, Promise<LocalSession>>();

  constructor(private readonly services: SessionServices) {}

  /** The session's local object, opening it (and listening to its channel) on its first socket here. */
  async open(id: string, tmId: string, diagramId: string): Promise<LocalSession> {
    const existing = this.sessions.get(id) ?? this.opening.get(id);
    if (existing) return existing;
    const p = LocalSession.open(this.services, id, tmId, diagramId).then((s) => {
      this.sessions.set(id, s);
      return s;
    });
    this.opening.set(id, p);
    try {
      return await p;
    } finally {
      this.opening.delete(id);
    }
  }

  /** Forgets a session that has no sockets here any more (and stops listening to its channel). */
  async releaseIfUnused(s: LocalSession): Promise<void> {
    if (s.conns.size === 0 && this.sessions.get(s.id) === s) {
      this.sessions.delete(s.id);
      await s.close();
    }
  }

  all(): LocalSession[] {
    return [...this.sessions.values()];
  }

  ids(): string[] {
    return [...this.sessions.keys()];
  }

  /** Every socket of this instance, in every session. */
  connections(): Connection[] {
    return this.all().flatMap((s) => [...s.conns]);
  }
}
