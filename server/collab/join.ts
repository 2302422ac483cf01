// A socket joining its session after the upgrade (its ticket, access and the caps were checked
// before it): the session's checks (the ticket's session, still active, the user not removed),
// the connection row within the caps, then the client's initial state — the whole diagram, or the
// operations it missed when it resumes — and the participant list for everyone.
import type { WebSocket } from 'ws';
import type { Db } from '../store/db.ts';
import type { CollabSettings } from '../config.ts';
import { CLOSE } from '../../contract/collab.ts';
import type { ServerMessage } from '../../contract/collab-messages.ts';
import { eventOf } from './operations.ts';
import { diagramStateText, errors } from './protocol.ts';
import { Connection, type LocalSession, type LocalSessions } from './session.ts';
import type { CapRefusal, Permissions, TicketClaims } from './tickets.ts';
import * as store from './store.ts';

export interface JoinServices {
  db: Db;
  settings: CollabSettings;
  instanceId: string;
  sessions: LocalSessions;
  capMessage: (refused: CapRefusal) => string;
  /** The socket's credential and access, looked at again once it can receive announcements. */
  recheck: (c: Connection) => Promise<void>;
  /** Wires the socket's messages and its close. */
  listen: (c: Connection) => void;
  /** Finishes leaving the session (rows, presenter, participant list). */
  leave: (c: Connection) => Promise<void>;
  report: (err: unknown) => void;
}

/** Before the socket is live (no back-pressure check needed yet). */
function sendRaw(ws: WebSocket, m: ServerMessage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
}

/** Joins an upgraded socket whose ticket and access (`permissions`) were checked before the upgrade. */
export async function join(
  j: JoinServices,
  ws: WebSocket,
  claims: TicketClaims,
  permissions: Permissions,
  where: { tmId: string; diagramId: string; resumeFrom: number | undefined },
): Promise<void> {
  const s = await store.sessionById(j.db, claims.sessionId);
  if (!s || s.diagram_id !== where.diagramId || s.threat_model_id !== where.tmId) {
    ws.close(CLOSE.normal, 'Session ID mismatch');
    return;
  }
  if (s.state !== 'active') {
    sendRaw(ws, errors.sessionEnded());
    ws.close(CLOSE.normal, 'Session terminated');
    return;
  }
  if (await store.isDenied(j.db, s.id, claims.userUuid)) {
    sendRaw(ws, errors.deniedRejoin());
    ws.close(CLOSE.policy, 'removed from session');
    return;
  }
  const user = (await store.wireUser(j.db, claims.userUuid)) ?? { principal_type: 'user' as const, provider: claims.provider, provider_id: claims.providerId, email: claims.email, display_name: claims.name };
  const session = await j.sessions.open(s.id, where.tmId, where.diagramId);
  const conn = new Connection(ws, session, claims, user, permissions, j.settings.opsPerSecond, (c) => void j.leave(c).catch(j.report));
  session.conns.add(conn);
  try {
    await register(j, conn, where.resumeFrom);
  } catch (err) {
    // Half-joined (the store failed on the way): forget the socket here and, if it got that far,
    // in the store; the caller closes it.
    conn.detach();
    await store.deleteConnection(j.db, conn.id).catch(() => undefined);
    await j.sessions.releaseIfUnused(session);
    throw err;
  }
}

/** The rest of the join: listeners, the connection row within the caps, the state, the announcement. */
async function register(j: JoinServices, conn: Connection, resumeFrom: number | undefined): Promise<void> {
  const session = conn.session;
  j.listen(conn);
  // From here every revocation and access change reaches this socket; one that landed while it
  // was being admitted is caught by looking again.
  await j.recheck(conn);
  if (conn.closed) return j.sessions.releaseIfUnused(session);
  const refused = await store.insertConnectionWithinCaps(
    j.db,
    { id: conn.id, sessionId: session.id, userUuid: conn.userUuid, user: conn.user, permissions: conn.permissions, instanceId: j.instanceId },
    j.settings,
  );
  if (refused) {
    // Another join took the last place between the check before the upgrade and this one.
    conn.detach();
    sendRaw(conn.ws, errors.capReached(refused, j.capMessage(refused)));
    conn.ws.close(CLOSE.tryAgainLater, refused);
    return j.sessions.releaseIfUnused(session);
  }
  await sendInitialState(conn, session, resumeFrom);
  conn.markReady();
  // The others learn of the newcomer; with the bus away, the sweep announces it once it is back.
  await session.announceParticipants().catch(j.report);
  if (conn.closed) await j.leave(conn);
}

/** The operations missed after `resumeFrom` when the log still has them all; else the whole diagram. */
async function sendInitialState(conn: Connection, session: LocalSession, resumeFrom: number | undefined): Promise<void> {
  if (resumeFrom !== undefined) {
    const snap = await session.snapshot();
    if (resumeFrom <= snap.seq) {
      const ops = await session.opsSince(resumeFrom);
      if (ops.length === snap.seq - resumeFrom) {
        for (const op of ops) sendRaw(conn.ws, eventOf(op));
        conn.hasUpTo(snap.seq);
        return;
      }
    }
  }
  const snap = await session.snapshot();
  if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(diagramStateText(session.diagramId, snap.updateVector, snap.cellsText, snap.colorPalette));
  conn.hasUpTo(snap.seq);
}
