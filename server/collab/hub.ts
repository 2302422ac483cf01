// The collaboration hub of one server instance. It holds only what cannot leave the process — the
// sockets connected here — and keeps everything else (sessions, participants, presenter, deny list,
// sequence, history) in the store. Instances talk through the bus:
//   collab:<session id>  operation events, participant lists, relays, direct messages, session end
//   tm-events            threat-model changes (access re-checks, notifications)
// Operation events carry the session's sequence number; each instance delivers them to its sockets
// strictly in sequence order, filling any gap from the durable log, so every client sees every
// operation once and in the same order whichever instance it is connected to.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../context.ts';
import type { Principal } from '../auth/authenticate.ts';
import type { ThreatModelEvent } from '../resources/threat-models/service.ts';
import { ApiError } from '../http/errors.ts';
import { CLIENT_MESSAGE_TYPES, CLOSE, NON_FATAL_ERROR, SERVER_MESSAGE_TYPES, type CollaborationSession, type Participant } from '../../contract/collab.ts';
import { parseOperation } from './engine.ts';
import { SessionEditor, applyHistory, eventOf, type EditRequest, type OperationEvent, type OpOutcome } from './operations.ts';
import type { CollabSettings } from './settings.ts';
import * as store from './store.ts';
import { metrics } from '../observability/metrics.ts';
import { recordSessionAudit } from './audit.ts';
import { newSecretToken } from '../auth/secret-token.ts';

/**
 * The access token (`jti`) and sign-in session (`sid`) a live connection was opened with: revoking
 * either ends the connection.
 */
export interface Credential {
  jti: string;
  sid?: string;
}

export const credentialOf = (p: Principal): Credential => ({ jti: p.claims.jti, ...(p.claims.sid ? { sid: p.claims.sid } : {}) });

/** What a ticket binds: the user (with the groups of their token), the credential and the session. */
export interface TicketClaims {
  userUuid: string;
  provider: string;
  providerId: string;
  email: string;
  name: string;
  groups: string[];
  credential: Credential;
  sessionId: string;
}

export type Permissions = 'reader' | 'writer';

interface Conn {
  id: string;
  ws: WebSocket;
  session: LocalSession;
  claims: TicketClaims;
  user: store.WireUser;
  permissions: Permissions;
  /** False until diagram_state (or the resumed operations) went out; events queue meanwhile. */
  ready: boolean;
  queue: OperationEvent[];
  lastSeq: number;
  chain: Promise<void>;
  tokens: number;
  tokensAt: number;
  closed: boolean;
}

interface LocalSession {
  id: string;
  tmId: string;
  diagramId: string;
  conns: Set<Conn>;
  /** Highest sequence number delivered here, in order. */
  delivered: number;
  pending: Map<number, OperationEvent>;
  filling: boolean;
  unsubscribe: () => Promise<void>;
  /** Stores this session's edits, keeping this instance's copy of its cells. */
  editor: SessionEditor;
  /** Edits waiting for the next write of this session (group commit). */
  edits: { request: EditRequest; resolve: (o: OpOutcome) => void; reject: (e: unknown) => void }[];
  committing: boolean;
  /** Settles when the queued edits are committed (undo/redo wait for it, to keep a client's order). */
  commitLoop: Promise<void>;
}

type BusMessage =
  | { t: 'op'; event: OperationEvent }
  | { t: 'participants'; msg: Record<string, unknown> }
  | { t: 'relay'; except: string; msg: Record<string, unknown> }
  | { t: 'user'; userUuid: string; msg: Record<string, unknown>; close?: { code: number; reason: string }; deny?: boolean }
  | { t: 'end'; reason: string };

interface NotificationConn {
  ws: WebSocket;
  principal: Principal;
  credential: Credential;
}

const now = () => new Date().toISOString();
const MAX_BUFFERED = 8 * 1024 * 1024;
/** How often a session with local clients re-reads the operation log for anything pub/sub missed. */
const CATCH_UP_MS = 1000;

/** A Principal for access checks from a ticket (only identity and groups are consulted). */
function principalOf(c: TicketClaims): Principal {
  return { userUuid: c.userUuid, provider: c.provider, providerId: c.providerId, email: c.email, name: c.name, groups: c.groups, claims: {} as Principal['claims'], token: '' };
}

export class CollabHub {
  readonly instanceId = `${process.pid}-${randomUUID()}`;
  private readonly sessions = new Map<string, LocalSession>();
  private readonly opening = new Map<string, Promise<LocalSession>>();
  private readonly notifications = new Set<NotificationConn>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribeTm?: () => Promise<void>;
  private stopRevocations?: () => void;
  private closing = false;

  constructor(
    private readonly ctx: AppContext,
    readonly settings: CollabSettings,
    private readonly log: FastifyBaseLogger,
  ) {}

  async start(): Promise<void> {
    await store.heartbeat(this.ctx.db, this.instanceId);
    this.unsubscribeTm = await this.ctx.shared.bus.subscribe('tm-events', (m) => void this.onThreatModelEvent(JSON.parse(m) as ThreatModelEvent | CollabNotice).catch((err) => this.failed(err)));
    this.ctx.threatModels.onChange((e) => void this.ctx.shared.bus.publish('tm-events', JSON.stringify(e)).catch(() => undefined));
    this.stopRevocations = this.ctx.sessions.onRevoked((id) => this.onCredentialRevoked(id));
    const sweep = setInterval(() => void this.sweep().catch((err) => this.failed(err)), this.settings.sweepMs);
    const ping = setInterval(() => void this.pingAndRecheck().catch((err) => this.failed(err)), this.settings.pingSeconds * 1000);
    // Pub/sub may lose a message (an instance killed mid-publish, a dropped subscriber link); a gap
    // is otherwise noticed only when a later operation arrives. The durable log is the truth, so
    // each session with local clients catches up from it regularly.
    const catchUp = setInterval(() => {
      for (const local of this.sessions.values()) if (local.conns.size > 0) void this.fillGap(local).catch((err) => this.failed(err));
    }, CATCH_UP_MS);
    sweep.unref();
    ping.unref();
    catchUp.unref();
    this.timers = [sweep, ping, catchUp];
  }

  /** Background work that failed; after shutdown began, failures are expected and quiet. */
  private failed(err: unknown): void {
    if (!this.closing) this.log.error({ err }, 'collaboration background task failed');
  }

  async stop(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    this.stopRevocations?.();
    const chains: Promise<void>[] = [];
    for (const s of this.sessions.values()) {
      chains.push(s.commitLoop);
      for (const c of s.conns) {
        chains.push(c.chain);
        c.ws.close(1001, 'server shutting down');
      }
      await s.unsubscribe().catch(() => undefined);
    }
    // Let messages in flight finish their transaction (bounded), so none is cut mid-way.
    await Promise.race([Promise.allSettled(chains), new Promise((r) => setTimeout(r, 2000).unref())]);
    for (const n of this.notifications) n.ws.close(1001, 'server shutting down');
    await this.unsubscribeTm?.().catch(() => undefined);
    await store.removeInstance(this.ctx.db, this.instanceId).catch(() => undefined);
  }

  // ---- REST side ----

  websocketUrl(tmId: string, diagramId: string, sessionId: string): string {
    const base = this.ctx.config.server.baseUrl.replace(/^http/, 'ws');
    return `${base}/threat_models/${tmId}/diagrams/${diagramId}/ws?session_id=${sessionId}`;
  }

  /** The REST body of a session; `caller` is listed even when not connected, as the reference. */
  async describe(s: store.SessionRow, caller?: Principal): Promise<CollaborationSession> {
    const participants = await this.participants(s.id);
    if (caller && !participants.some((p) => p.user.provider === caller.provider && p.user.provider_id === caller.providerId)) {
      const role = await this.ctx.threatModels.accessTo(caller, s.threat_model_id, 'read').then((a) => a.role).catch(() => null);
      if (role) {
        participants.push({
          user: { principal_type: 'user', provider: caller.provider, provider_id: caller.providerId, email: caller.email, display_name: caller.name },
          last_activity: now(),
          permissions: role === 'reader' ? 'reader' : 'writer',
        });
      }
    }
    return {
      session_id: s.id,
      host: s.host,
      ...(s.presenter ? { presenter: s.presenter } : {}),
      threat_model_id: s.threat_model_id,
      threat_model_name: s.threat_model_name,
      diagram_id: s.diagram_id,
      diagram_name: s.diagram_name,
      participants,
      websocket_url: this.websocketUrl(s.threat_model_id, s.diagram_id, s.id),
    };
  }

  async issueTicket(claims: TicketClaims): Promise<string> {
    const ticket = newSecretToken();
    await this.ctx.shared.kv.set(`ws_ticket:${ticket}`, JSON.stringify(claims), this.settings.ticketSeconds);
    return ticket;
  }

  /** The ticket's claims, used up; null when unknown, spent, expired, or its credential was revoked since. */
  async redeemTicket(ticket: string): Promise<TicketClaims | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(ticket)) return null;
    const raw = await this.ctx.shared.kv.take(`ws_ticket:${ticket}`);
    if (!raw) return null;
    const claims = JSON.parse(raw) as TicketClaims;
    if (!claims.credential?.jti) return null;
    return (await this.ctx.sessions.isRevoked(claims.credential.jti, claims.credential.sid)) ? null : claims;
  }

  /** The socket's permissions on the threat model, checked before the upgrade: 403/404 without read access. */
  async permissionsOn(claims: TicketClaims, tmId: string): Promise<Permissions> {
    const { role } = await this.ctx.threatModels.accessTo(principalOf(claims), tmId, 'read');
    return role === 'reader' ? 'reader' : 'writer';
  }

  /** Ends a session for everyone (host DELETE, idle); true when this call ended it. */
  async endSession(sessionId: string, reason: string): Promise<boolean> {
    const ended = await this.ctx.db.tx(async (q) => {
      const e = await store.endSession(q, sessionId);
      // One audit entry for the session's edits (the reference debounces WebSocket edits too),
      // with the diagram as it is now, so the audit trail and rollback cover live editing.
      if (e && e.seq > 0) await recordSessionAudit(q, e, reason);
      return e !== null;
    });
    if (ended) await this.publish(sessionId, { t: 'end', reason });
    return ended;
  }

  async announceStarted(s: store.SessionRow, actorEmail: string): Promise<void> {
    const notice: CollabNotice = { type: 'collaboration_started', threatModelId: s.threat_model_id, name: s.threat_model_name, actorEmail, diagramId: s.diagram_id, diagramName: s.diagram_name, sessionId: s.id };
    await this.ctx.shared.bus.publish('tm-events', JSON.stringify(notice)).catch(() => undefined);
  }

  /**
   * Refusals before the upgrade (HTTP 429), as the reference's connection caps. join() checks again
   * atomically as it registers the socket, for joins that race past this check together.
   */
  async checkCaps(claims: TicketClaims): Promise<void> {
    const refused = await store.capRefusal(this.ctx.db, claims.userUuid, claims.sessionId, this.settings);
    if (refused) throw new ApiError(429, refused, this.capMessage(refused), { 'retry-after': refused === 'too_many_connections' ? '60' : '30' });
  }

  private capMessage(refused: 'too_many_connections' | 'session_full'): string {
    return refused === 'too_many_connections'
      ? `At most ${this.settings.maxSocketsPerUser} collaboration connections per user`
      : `This session already has ${this.settings.maxParticipants} participants`;
  }

  // ---- sockets ----

  /** Joins an upgraded socket whose ticket and access (`permissions`) were checked before the upgrade. */
  async join(ws: WebSocket, claims: TicketClaims, permissions: Permissions, tmId: string, diagramId: string, resumeFrom: number | undefined): Promise<void> {
    const db = this.ctx.db;
    const send = (m: unknown) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
    const s = await store.sessionById(db, claims.sessionId);
    if (!s || s.diagram_id !== diagramId || s.threat_model_id !== tmId) {
      ws.close(CLOSE.normal, 'Session ID mismatch');
      return;
    }
    if (s.state !== 'active') {
      send({ message_type: 'error', error: 'session_terminated', message: 'Collaboration session has ended', timestamp: now() });
      ws.close(CLOSE.normal, 'Session terminated');
      return;
    }
    if (await store.isDenied(db, s.id, claims.userUuid)) {
      send({ message_type: 'error', error: 'access_denied', message: 'You have been removed from this collaboration session and cannot rejoin', timestamp: now() });
      ws.close(CLOSE.policy, 'removed from session');
      return;
    }
    const user = (await store.wireUser(db, claims.userUuid)) ?? { principal_type: 'user' as const, provider: claims.provider, provider_id: claims.providerId, email: claims.email, display_name: claims.name };
    const local = await this.localSession(s.id, tmId, diagramId);
    const conn: Conn = {
      id: randomUUID(),
      ws,
      session: local,
      claims,
      user,
      permissions,
      ready: false,
      queue: [],
      lastSeq: 0,
      chain: Promise.resolve(),
      tokens: this.settings.opsPerSecond * 2,
      tokensAt: Date.now(),
      closed: false,
    };
    local.conns.add(conn);
    ws.on('message', (data, isBinary) => {
      conn.chain = conn.chain
        .then(() => this.onMessage(conn, data as Buffer, isBinary))
        .catch((err: unknown) => {
          // One failed message (e.g. a database hiccup) must not end the socket or the process.
          this.log.error({ err, session: conn.session.id }, 'collaboration message failed');
          this.send(conn, { message_type: 'error', error: NON_FATAL_ERROR, code: 'server_error', message: 'The message could not be processed; retry', timestamp: now() });
        });
    });
    ws.on('close', () => void this.leave(conn).catch((err) => this.failed(err)));
    ws.on('error', () => ws.terminate());
    // From here every revocation and access change reaches this socket; one that landed while it
    // was being admitted is caught by looking again.
    await this.recheck(conn);
    if (conn.closed) return this.releaseIfUnused(local);
    const refused = await store.insertConnectionWithinCaps(db, { id: conn.id, sessionId: s.id, userUuid: claims.userUuid, user, permissions: conn.permissions, instanceId: this.instanceId }, this.settings);
    if (refused) {
      // Another join took the last place between the check before the upgrade and this one.
      conn.closed = true;
      local.conns.delete(conn);
      send({ message_type: 'error', error: refused, message: this.capMessage(refused), timestamp: now() });
      ws.close(CLOSE.tryAgainLater, refused);
      await this.releaseIfUnused(local);
      return;
    }

    // Resume from the durable log when the client says where it stopped; else the full state.
    let resumed = false;
    if (resumeFrom !== undefined) {
      const snap = await db.tx((q) => store.snapshot(q, s.id, diagramId));
      if (resumeFrom <= snap.seq) {
        const ops = await store.opsSince(db, s.id, resumeFrom);
        if (ops.length === snap.seq - resumeFrom) {
          for (const op of ops) send(eventOf(op));
          conn.lastSeq = snap.seq;
          resumed = true;
        }
      }
    }
    if (!resumed) {
      const snap = await db.tx((q) => store.snapshot(q, s.id, diagramId));
      if (ws.readyState === ws.OPEN) {
        const palette = snap.colorPalette ? `,"color_palette":${JSON.stringify(snap.colorPalette)}` : '';
        ws.send(`{"message_type":"diagram_state","diagram_id":${JSON.stringify(diagramId)},"update_vector":${snap.updateVector},"cells":${snap.cellsText}${palette}}`);
      }
      conn.lastSeq = snap.seq;
    }
    conn.ready = true;
    for (const e of conn.queue) this.sendEvent(conn, e);
    conn.queue = [];
    await this.publishParticipants(s.id, null);
    if (conn.closed) await this.leave(conn);
  }

  private async localSession(id: string, tmId: string, diagramId: string): Promise<LocalSession> {
    const existing = this.sessions.get(id);
    if (existing) return existing;
    const opening = this.opening.get(id);
    if (opening) return opening;
    const p = (async () => {
      const local: LocalSession = { id, tmId, diagramId, conns: new Set(), delivered: 0, pending: new Map(), filling: false, unsubscribe: async () => undefined, editor: new SessionEditor(this.ctx.db, id), edits: [], committing: false, commitLoop: Promise.resolve() };
      // Subscribe first, then read the position: every later event arrives through the bus.
      local.unsubscribe = await this.ctx.shared.bus.subscribe(`collab:${id}`, (m) => this.onBus(local, JSON.parse(m) as BusMessage));
      const row = await this.ctx.db.query<{ seq: number }>('SELECT seq FROM collab_sessions WHERE id = $1', [id]);
      local.delivered = Math.max(local.delivered, Number(row[0]?.seq ?? 0));
      this.sessions.set(id, local);
      return local;
    })();
    this.opening.set(id, p);
    try {
      return await p;
    } finally {
      this.opening.delete(id);
    }
  }

  private async publish(sessionId: string, m: BusMessage): Promise<void> {
    await this.ctx.shared.bus.publish(`collab:${sessionId}`, JSON.stringify(m));
  }

  private onBus(local: LocalSession, m: BusMessage): void {
    switch (m.t) {
      case 'op':
        this.onEvent(local, m.event);
        return;
      case 'participants':
        for (const c of local.conns) if (c.ready) this.send(c, m.msg);
        return;
      case 'relay':
        for (const c of local.conns) if (c.ready && c.id !== m.except) this.send(c, m.msg);
        return;
      case 'user':
        for (const c of [...local.conns]) {
          if (c.claims.userUuid !== m.userUuid) continue;
          this.send(c, m.msg);
          if (m.close) this.drop(c, m.close.code, m.close.reason);
        }
        return;
      case 'end':
        for (const c of [...local.conns]) {
          this.send(c, { message_type: 'error', error: 'session_terminated', message: `Collaboration session has been terminated: ${m.reason}`, timestamp: now() });
          this.drop(c, CLOSE.normal, 'Session terminated');
        }
        return;
    }
  }

  /** In-order delivery of operation events; a gap is filled from the durable log. */
  private onEvent(local: LocalSession, e: OperationEvent): void {
    const seq = e.sequence_number;
    if (seq <= local.delivered) return;
    if (seq === local.delivered + 1) {
      this.deliver(local, e);
      let next: OperationEvent | undefined;
      while ((next = local.pending.get(local.delivered + 1))) {
        local.pending.delete(next.sequence_number);
        this.deliver(local, next);
      }
      return;
    }
    local.pending.set(seq, e);
    void this.fillGap(local).catch((err) => this.failed(err));
  }

  private async fillGap(local: LocalSession): Promise<void> {
    if (local.filling) return;
    local.filling = true;
    try {
      // A higher number was published only after every lower one committed: the log has them.
      const rows = await store.opsSince(this.ctx.db, local.id, local.delivered, 1000);
      for (const r of rows) this.onEvent(local, eventOf(r));
    } finally {
      local.filling = false;
    }
    if (local.pending.size > 0 && [...local.pending.keys()].some((k) => k > local.delivered)) void this.fillGap(local).catch((err) => this.failed(err));
  }

  private deliver(local: LocalSession, e: OperationEvent): void {
    local.delivered = e.sequence_number;
    const text = JSON.stringify(e); // once, not once per socket
    for (const c of local.conns) {
      if (!c.ready) c.queue.push(e);
      else this.sendEvent(c, e, text);
    }
  }

  private sendEvent(c: Conn, e: OperationEvent, text?: string): void {
    if (e.sequence_number <= c.lastSeq) return;
    c.lastSeq = e.sequence_number;
    this.send(c, text ?? e);
  }

  private send(c: Conn, m: unknown): void {
    if (c.closed || c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > MAX_BUFFERED) {
      // A client that cannot keep up would hold memory without bound; it can resume later.
      this.drop(c, CLOSE.tryAgainLater, 'too slow; reconnect and resume');
      return;
    }
    c.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** Takes a socket out of the session at once (no further broadcasts), then closes it. */
  private drop(c: Conn, code: number, reason: string): void {
    if (!c.closed) {
      c.closed = true;
      c.session.conns.delete(c);
    }
    try {
      c.ws.close(code, reason);
    } catch {
      c.ws.terminate();
    }
    void this.leave(c).catch((err) => this.failed(err));
  }

  private leaving = new Set<string>();

  private async leave(c: Conn): Promise<void> {
    c.closed = true;
    c.session.conns.delete(c);
    if (!c.ready || this.closing) return; // join() finishes the leave; at shutdown removeInstance does
    if (this.leaving.has(c.id)) return;
    this.leaving.add(c.id);
    const s = c.session;
    try {
      await store.deleteConnection(this.ctx.db, c.id);
      await store.touchSession(this.ctx.db, s.id);
      const row = await store.sessionById(this.ctx.db, s.id);
      if (row?.state === 'active') {
        const conns = await store.liveConnections(this.ctx.db, s.id);
        if (row.presenter_uuid === c.claims.userUuid && !conns.some((x) => x.user_uuid === c.claims.userUuid)) {
          // The presenter left: the host takes over if connected, else the first writer.
          const next = conns.find((x) => x.user_uuid === row.host_uuid) ?? conns.find((x) => x.permissions === 'writer');
          await store.setPresenter(this.ctx.db, s.id, next?.user_uuid ?? null);
        }
        await this.publishParticipants(s.id, null);
      }
    } finally {
      await this.releaseIfUnused(s);
    }
  }

  /** Forgets a session that has no sockets here any more (and stops listening to its bus channel). */
  private async releaseIfUnused(s: LocalSession): Promise<void> {
    if (s.conns.size === 0 && this.sessions.get(s.id) === s) {
      this.sessions.delete(s.id);
      await s.unsubscribe().catch(() => undefined);
    }
  }

  private async participants(sessionId: string): Promise<Participant[]> {
    const conns = await store.liveConnections(this.ctx.db, sessionId);
    const byUser = new Map<string, Participant>();
    for (const c of conns) {
      const prev = byUser.get(c.user_uuid);
      const p: Participant = { user: c.user_json, permissions: c.permissions, last_activity: new Date(c.last_activity).toISOString() };
      if (!prev || (prev.permissions === 'reader' && p.permissions === 'writer')) byUser.set(c.user_uuid, p);
    }
    return [...byUser.values()];
  }

  async publishParticipants(sessionId: string, initiatingUser: store.WireUser | null): Promise<void> {
    const s = await store.sessionById(this.ctx.db, sessionId);
    if (!s || s.state !== 'active') return;
    const msg = {
      message_type: 'participants_update',
      initiating_user: initiatingUser,
      participants: await this.participants(sessionId),
      host: s.host,
      current_presenter: s.presenter,
    };
    await this.publish(sessionId, { t: 'participants', msg });
  }

  // ---- inbound messages ----

  private async onMessage(c: Conn, data: Buffer, isBinary: boolean): Promise<void> {
    if (c.closed || this.closing) return;
    const invalid = (code: string, message: string) =>
      this.send(c, { message_type: 'error', error: NON_FATAL_ERROR, code, message, timestamp: now() });
    if (isBinary) return invalid('invalid_message', 'Messages are JSON text frames');
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    } catch {
      return invalid('invalid_message', 'Message is not valid JSON');
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m) || typeof m.message_type !== 'string') {
      return invalid('invalid_message', 'Message must be a JSON object with a message_type');
    }
    const type = m.message_type;
    if ((SERVER_MESSAGE_TYPES as readonly string[]).includes(type)) return invalid('invalid_message_type', `${type} is sent by the server only`);
    if (!(CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) return invalid('unsupported_message_type', `Unknown message_type ${type.slice(0, 64)}`);
    const s = c.session;
    switch (type) {
      case 'ping':
        return this.send(c, { message_type: 'pong', timestamp: now() });
      case 'diagram_operation_request':
        return this.onOperation(c, m);
      case 'undo_request':
      case 'redo_request':
        return this.onHistory(c, type === 'undo_request' ? 'undo' : 'redo');
      case 'sync_status_request':
        return this.send(c, { message_type: 'sync_status_response', update_vector: await store.currentVector(this.ctx.db, s.diagramId) });
      case 'sync_request': {
        const snap = await this.ctx.db.tx((q) => store.snapshot(q, s.id, s.diagramId));
        if (typeof m.update_vector === 'number' && m.update_vector === snap.updateVector) {
          return this.send(c, { message_type: 'sync_status_response', update_vector: snap.updateVector });
        }
        const palette = snap.colorPalette ? `,"color_palette":${JSON.stringify(snap.colorPalette)}` : '';
        c.lastSeq = Math.max(c.lastSeq, snap.seq);
        return this.send(c, `{"message_type":"diagram_state","diagram_id":${JSON.stringify(s.diagramId)},"update_vector":${snap.updateVector},"cells":${snap.cellsText}${palette}}`);
      }
      case 'presenter_request':
        return this.onPresenterRequest(c);
      case 'change_presenter_request':
        return this.onChangePresenter(c, m.new_presenter);
      case 'presenter_denied_request':
        return this.onPresenterDenied(c, m.denied_user);
      case 'remove_participant_request':
        return this.onRemoveParticipant(c, m.removed_user);
      case 'presenter_cursor':
      case 'presenter_selection':
        return this.onPresenterRelay(c, type, m);
    }
  }

  private allow(c: Conn): boolean {
    const t = Date.now();
    c.tokens = Math.min(this.settings.opsPerSecond * 2, c.tokens + ((t - c.tokensAt) / 1000) * this.settings.opsPerSecond);
    c.tokensAt = t;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  }

  private async onOperation(c: Conn, m: Record<string, unknown>): Promise<void> {
    const operationId = typeof m.operation_id === 'string' && m.operation_id.length <= 64 ? m.operation_id : '';
    if (c.permissions !== 'writer') {
      return this.send(c, { message_type: 'authorization_denied', original_operation_id: operationId, reason: 'insufficient_permissions' });
    }
    const rejected = async (reason: string, message: string, affected: string[], requiresResync: boolean, updateVector?: number) =>
      this.send(c, {
        message_type: 'operation_rejected',
        operation_id: operationId,
        update_vector: updateVector ?? (await store.currentVector(this.ctx.db, c.session.diagramId)),
        reason,
        message,
        affected_cells: affected,
        requires_resync: requiresResync,
        timestamp: now(),
      });
    if (!this.allow(c)) return rejected('rate_limited', `More than ${this.settings.opsPerSecond} operations per second; slow down`, [], true);
    if (!operationId) return rejected('validation_failed', 'operation_id is required (a UUID)', [], false);
    const parsed = parseOperation(m.operation);
    if ('ok' in parsed) return rejected(parsed.reason, parsed.message, parsed.affected, parsed.requiresResync);
    // Not awaited: the client's next messages are read while this edit waits for its transaction.
    // The session's queue is FIFO, so a client's edits still apply in the order it sent them.
    void this.submitEdit(c.session, { actor: { userUuid: c.claims.userUuid, user: c.user }, operationId, ops: parsed.ops })
      .then((out) => this.onEditOutcome(c, out, rejected))
      .catch((err: unknown) => {
        this.failed(err);
        this.send(c, { message_type: 'error', error: NON_FATAL_ERROR, code: 'server_error', message: 'The operation could not be stored; resync and retry', timestamp: now() });
      });
  }

  private async onEditOutcome(
    c: Conn,
    out: OpOutcome,
    rejected: (reason: string, message: string, affected: string[], requiresResync: boolean, updateVector?: number) => Promise<void>,
  ): Promise<void> {
    metrics.collabOperation(out.kind);
    switch (out.kind) {
      case 'applied':
        return this.announce(c.session, out.event);
      case 'duplicate':
        // Already applied (a re-send after reconnect): acknowledge to the sender only.
        return this.send(c, out.event);
      case 'noop':
        return;
      case 'rejected':
        return rejected(out.rejection.reason, out.rejection.message, out.rejection.affected, out.rejection.requiresResync, out.updateVector);
      case 'ended':
        this.send(c, { message_type: 'error', error: 'session_terminated', message: 'Collaboration session has ended', timestamp: now() });
        return this.drop(c, CLOSE.normal, 'Session terminated');
    }
  }

  /**
   * Queues an edit for the session's next transaction. While one transaction commits, the edits
   * that arrive meanwhile wait and then commit together: under load the commit (and its flush) is
   * shared, and each edit still gets its own sequence number, checks and log entry.
   */
  private submitEdit(local: LocalSession, request: EditRequest): Promise<OpOutcome> {
    return new Promise((resolve, reject) => {
      local.edits.push({ request, resolve, reject });
      if (!local.committing) void this.commitEdits(local);
    });
  }

  private commitEdits(local: LocalSession): Promise<void> {
    local.commitLoop = this.runCommits(local);
    return local.commitLoop;
  }

  private async runCommits(local: LocalSession): Promise<void> {
    local.committing = true;
    try {
      while (local.edits.length > 0) {
        const batch = local.edits.splice(0, 64);
        try {
          const outcomes = await local.editor.apply(batch.map((b) => b.request));
          batch.forEach((b, i) => b.resolve(outcomes[i]!));
        } catch (err) {
          batch.forEach((b) => b.reject(err));
        }
      }
    } finally {
      local.committing = false;
    }
  }

  private async onHistory(c: Conn, which: 'undo' | 'redo'): Promise<void> {
    if (c.permissions !== 'writer') {
      return this.send(c, { message_type: 'authorization_denied', original_operation_id: '', reason: 'insufficient_permissions' });
    }
    if (!this.allow(c)) return this.send(c, { message_type: 'history_operation', operation_type: which, message: 'rate_limited' });
    await c.session.commitLoop;
    const out = await applyHistory(this.ctx.db, c.session.id, { userUuid: c.claims.userUuid, user: c.user }, which);
    if (out.kind === 'empty') return this.send(c, { message_type: 'history_operation', operation_type: which, message: `no_operations_to_${which}` });
    if (out.kind === 'ended') return this.drop(c, CLOSE.normal, 'Session terminated');
    this.announce(c.session, out.event);
  }

  /**
   * Sends a committed operation to the other instances, then to the sockets here (the sender's
   * copy is its acknowledgement). The publish is handed to the bus connection first, in the same
   * turn, without waiting for the bus's reply: that costs a round trip per operation for nothing,
   * since the operation is already durable and an instance that misses the message (a dropped link,
   * this one killed at that moment) reads it from the log within a second anyway.
   */
  private announce(local: LocalSession, e: OperationEvent): void {
    void this.publish(local.id, { t: 'op', event: e }).catch((err: unknown) => this.log.warn({ err, session: local.id }, 'operation not published; other instances catch up from the log'));
    this.onEvent(local, e);
  }

  private matchUser(target: unknown, conns: store.ConnectionRow[]): store.ConnectionRow | null | 'spoof' {
    if (!target || typeof target !== 'object') return null;
    const t = target as Partial<store.WireUser>;
    const found = conns.find((x) => x.user_json.provider_id === t.provider_id && (!t.provider || x.user_json.provider === t.provider));
    if (!found) return null;
    if (t.email && t.email !== found.user_json.email) return 'spoof';
    return found;
  }

  private async onPresenterRequest(c: Conn): Promise<void> {
    const s = await store.sessionById(this.ctx.db, c.session.id);
    if (!s || s.presenter_uuid === c.claims.userUuid) return;
    if (s.host_uuid === c.claims.userUuid) {
      await store.setPresenter(this.ctx.db, s.id, c.claims.userUuid);
      return this.publishParticipants(s.id, null);
    }
    const conns = await store.liveConnections(this.ctx.db, s.id);
    if (!conns.some((x) => x.user_uuid === s.host_uuid)) {
      return this.send(c, { message_type: 'presenter_denied_event', denied_user: c.user });
    }
    await this.publish(s.id, { t: 'user', userUuid: s.host_uuid, msg: { message_type: 'presenter_request_event', requesting_user: c.user } });
  }

  private async onChangePresenter(c: Conn, target: unknown): Promise<void> {
    const s = await store.sessionById(this.ctx.db, c.session.id);
    if (!s || s.host_uuid !== c.claims.userUuid) return; // non-hosts are ignored, as the reference
    const found = this.matchUser(target, await store.liveConnections(this.ctx.db, s.id));
    if (found === 'spoof' || !found) {
      return this.send(c, { message_type: 'error', error: 'invalid_participant', message: 'The new presenter is not connected to this session', timestamp: now() });
    }
    await store.setPresenter(this.ctx.db, s.id, found.user_uuid);
    await this.publishParticipants(s.id, null);
  }

  private async onPresenterDenied(c: Conn, target: unknown): Promise<void> {
    const s = await store.sessionById(this.ctx.db, c.session.id);
    if (!s || s.host_uuid !== c.claims.userUuid) return;
    const found = this.matchUser(target, await store.liveConnections(this.ctx.db, s.id));
    if (!found || found === 'spoof') return this.send(c, { message_type: 'error', error: 'invalid_participant', message: 'That user is not connected to this session', timestamp: now() });
    await this.publish(s.id, { t: 'user', userUuid: found.user_uuid, msg: { message_type: 'presenter_denied_event', denied_user: found.user_json } });
  }

  private async onRemoveParticipant(c: Conn, target: unknown): Promise<void> {
    const s = await store.sessionById(this.ctx.db, c.session.id);
    if (!s) return;
    if (s.host_uuid !== c.claims.userUuid) {
      return this.send(c, { message_type: 'error', error: 'unauthorized', message: 'Only the host can remove participants', timestamp: now() });
    }
    const found = this.matchUser(target, await store.liveConnections(this.ctx.db, s.id));
    if (found === 'spoof' || !found) return this.send(c, { message_type: 'error', error: 'invalid_participant', message: 'That user is not connected to this session', timestamp: now() });
    if (found.user_uuid === c.claims.userUuid) return this.send(c, { message_type: 'error', error: 'invalid_request', message: 'The host cannot remove itself', timestamp: now() });
    await store.deny(this.ctx.db, s.id, found.user_uuid);
    if (s.presenter_uuid === found.user_uuid) await store.setPresenter(this.ctx.db, s.id, s.host_uuid);
    await this.publish(s.id, {
      t: 'user',
      userUuid: found.user_uuid,
      msg: { message_type: 'error', error: 'removed_from_session', message: 'The host removed you from this collaboration session', timestamp: now() },
      close: { code: CLOSE.policy, reason: 'removed from session' },
    });
  }

  private async onPresenterRelay(c: Conn, type: string, m: Record<string, unknown>): Promise<void> {
    const s = await store.sessionById(this.ctx.db, c.session.id);
    if (!s || s.presenter_uuid !== c.claims.userUuid) return; // only the presenter's pointer is shared
    let msg: Record<string, unknown>;
    if (type === 'presenter_cursor') {
      const p = m.cursor_position as { x?: unknown; y?: unknown } | undefined;
      if (!p || typeof p.x !== 'number' || typeof p.y !== 'number') return;
      msg = { message_type: 'presenter_cursor', cursor_position: { x: p.x, y: p.y } };
    } else {
      const cells = m.selected_cells;
      if (!Array.isArray(cells) || cells.length > 10_000 || !cells.every((x) => typeof x === 'string' && x.length <= 64)) return;
      msg = { message_type: 'presenter_selection', selected_cells: cells };
    }
    await this.publish(s.id, { t: 'relay', except: c.id, msg });
  }

  // ---- access re-checks, housekeeping, notifications ----

  /**
   * Re-checks one socket: credential revoked → close 4401, read access lost → close 4403, both at
   * once; role changed → new permissions. A check that cannot be made leaves the socket as it is.
   */
  private async recheck(c: Conn): Promise<void> {
    if (c.closed) return;
    const [revoked, role] = await Promise.all([
      this.credentialRevoked(c.claims.credential),
      this.ctx.threatModels
        .accessTo(principalOf(c.claims), c.session.tmId, 'read')
        .then((a) => a.role)
        .catch((err: unknown) => (err instanceof ApiError && (err.status === 403 || err.status === 404) ? null : 'unknown')),
    ]);
    if (c.closed) return;
    if (revoked) return this.drop(c, CLOSE.sessionRevoked, 'session revoked');
    if (role === 'unknown') return;
    if (role === null) return this.drop(c, CLOSE.accessRevoked, 'access revoked');
    const permissions = role === 'reader' ? 'reader' : 'writer';
    if (permissions !== c.permissions) {
      c.permissions = permissions;
      await store.setConnectionPermissions(this.ctx.db, c.id, permissions);
      await this.publishParticipants(c.session.id, null);
    }
  }

  private async onThreatModelEvent(e: ThreatModelEvent | CollabNotice): Promise<void> {
    if (e.type !== 'collaboration_started') {
      const affected = [...this.sessions.values()].filter((s) => s.tmId === e.threatModelId).flatMap((s) => [...s.conns]);
      await Promise.all(affected.map((c) => this.recheck(c)));
    }
    await Promise.all([...this.notifications].map((n) => this.notify(n, e)));
  }

  private async notify(n: NotificationConn, e: ThreatModelEvent | CollabNotice): Promise<void> {
    const readable = await this.ctx.threatModels
      .accessTo(n.principal, e.threatModelId, 'read', { includeDeleted: e.type === 'deleted' })
      .then(() => true)
      .catch(() => false);
    if (!readable || n.ws.readyState !== n.ws.OPEN) return;
    const base = { user_id: e.actorEmail, timestamp: now() };
    if (e.type === 'collaboration_started') {
      n.ws.send(JSON.stringify({ message_type: 'collaboration_started', ...base, data: { diagram_id: e.diagramId, diagram_name: e.diagramName, threat_model_id: e.threatModelId, threat_model_name: e.name, session_id: e.sessionId } }));
      return;
    }
    const data = { threat_model_id: e.threatModelId, threat_model_name: e.name, action: e.type };
    n.ws.send(JSON.stringify({ message_type: `threat_model_${e.type}`, ...base, data }));
    if (e.type === 'updated' && e.accessChanged) n.ws.send(JSON.stringify({ message_type: 'threat_model_shared', ...base, data: { ...data, action: 'shared' } }));
  }

  addNotificationSocket(ws: WebSocket, principal: Principal): void {
    const n = { ws, principal, credential: credentialOf(principal) };
    this.notifications.add(n);
    ws.on('close', () => this.notifications.delete(n));
    ws.on('error', () => ws.terminate());
    // The channel is server → client; client messages are ignored.
    ws.on('message', () => undefined);
    // A revocation announced between the upgrade's authentication and now is caught here.
    void this.recheckNotificationSocket(n).catch((err) => this.failed(err));
  }

  private async recheckNotificationSocket(n: NotificationConn): Promise<void> {
    if (await this.credentialRevoked(n.credential)) this.dropNotificationSocket(n);
  }

  /** Out of the set at once (no further events), then closed. */
  private dropNotificationSocket(n: NotificationConn): void {
    this.notifications.delete(n);
    n.ws.close(CLOSE.sessionRevoked, 'session revoked');
  }

  /** False when the revocation store cannot answer: the socket stays until a check succeeds. */
  private credentialRevoked(credential: Credential): Promise<boolean> {
    return this.ctx.sessions.isRevoked(credential.jti, credential.sid).catch(() => false);
  }

  /**
   * A token id or session id was revoked (here or, through the bus, on another instance): every
   * socket it opened is taken out of its session or the notification set at once and closed 4401.
   */
  private onCredentialRevoked(id: string): void {
    const opened = (cr: Credential) => cr.jti === id || cr.sid === id;
    for (const s of this.sessions.values()) {
      for (const c of [...s.conns]) if (opened(c.claims.credential)) this.drop(c, CLOSE.sessionRevoked, 'session revoked');
    }
    for (const n of [...this.notifications]) if (opened(n.credential)) this.dropNotificationSocket(n);
  }

  private async pingAndRecheck(): Promise<void> {
    const all = [...this.sessions.values()].flatMap((s) => [...s.conns]);
    for (const c of all) if (c.ws.readyState === c.ws.OPEN) c.ws.ping();
    for (const n of this.notifications) {
      if (n.ws.readyState === n.ws.OPEN) n.ws.send(JSON.stringify({ message_type: 'heartbeat', user_id: 'system', timestamp: now() }));
    }
    // Should a revocation announcement have been lost, the shared store still says so.
    await Promise.all([...all.map((c) => this.recheck(c)), ...[...this.notifications].map((n) => this.recheckNotificationSocket(n))]);
  }

  private async sweep(): Promise<void> {
    await store.heartbeat(this.ctx.db, this.instanceId);
    for (const sessionId of await store.sweepDeadInstances(this.ctx.db)) await this.publishParticipants(sessionId, null);
    for (const s of await store.idleSessions(this.ctx.db, this.settings.idleSeconds)) await this.endSession(s.id, 'no participants');
  }

  /** Number of sessions with sockets on this instance (metrics). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Number of sockets on this instance (tests, metrics). */
  get socketCount(): number {
    return [...this.sessions.values()].reduce((n, s) => n + s.conns.size, 0);
  }
}

export interface CollabNotice {
  type: 'collaboration_started';
  threatModelId: string;
  name: string;
  actorEmail: string;
  diagramId: string;
  diagramName: string;
  sessionId: string;
}
