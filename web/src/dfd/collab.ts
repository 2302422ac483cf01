// The collaboration client (the protocol of contract/collab-messages.ts, whose types it uses): join
// or start the diagram's session over REST, open the WebSocket with a single-use ticket, send
// operations, and hand every server message to the editor. A lost connection is retried with
// back-off and resumes after the last operation it saw (or from a fresh diagram_state). A socket
// closed because the user's sign-in ended (4401) or their access went (4403) is not retried.
import type { CollaborationSession as SessionInfo, Participant } from '../../../contract/collab.ts';
import type { CellOperation, ClientMessage, ErrorMessage, ServerMessage } from '../../../contract/collab-messages.ts';
import type { User } from '../../../contract/common.ts';
import { CLOSE } from '../../../contract/limits.ts';
import { ApiError } from '../api/client.ts';
import { collaboration } from '../api/collaboration.ts';
import type { ApiCell, CellOp } from './cells.ts';

export type { Participant };

export type CollabStatus = 'connecting' | 'live' | 'reconnecting' | 'unavailable' | 'ended' | 'signed-out';

export interface CollabHandlers {
  onStatus(status: CollabStatus, detail?: string): void;
  onState(cells: ApiCell[], updateVector: number): void;
  onOperation(ops: CellOp[], by: User | undefined): void;
  onParticipants(p: Participant[], host: User | undefined, presenter: User | null): void;
  onCursor(pos: { x: number; y: number }): void;
  onSelection(ids: string[]): void;
  onPresenterRequest(user: User): void;
  onNotice(text: string): void;
  /** The server refused an operation: the editor reloads the diagram's state. */
  onRejected(text: string): void;
}

const sameUser = (a?: User | null, b?: User | null) => !!a && !!b && a.provider === b.provider && a.provider_id === b.provider_id;
export { sameUser };

/** What becomes of the session after a failure: try again, stop for good, or tell the user and go on. */
export type Outcome =
  | { kind: 'retry'; detail?: string }
  | { kind: 'stop'; status: 'ended' | 'signed-out'; detail: string }
  | { kind: 'notice'; text: string };

export const SIGNED_OUT = 'Your sign-in session has ended (you signed out, here or in another window, or it was revoked). Sign in again to go on editing.';

/** After the socket closed with `code`: 4401 and 4403 end the session here; anything else is retried. */
export function afterClose(code: number): Outcome {
  if (code === CLOSE.sessionRevoked) return { kind: 'stop', status: 'signed-out', detail: SIGNED_OUT };
  if (code === CLOSE.accessRevoked) return { kind: 'stop', status: 'ended', detail: 'Your access to this threat model was removed.' };
  return { kind: 'retry' };
}

/** After joining failed (the REST calls before the socket): 401 means signed out, 403 no access. */
export function afterFailure(err: unknown): Outcome {
  if (err instanceof ApiError && err.status === 401) return { kind: 'stop', status: 'signed-out', detail: SIGNED_OUT };
  if (err instanceof ApiError && err.status === 403) return { kind: 'stop', status: 'ended', detail: err.message };
  return { kind: 'retry' };
}

/** After an `error` message: removal and refused access end the session here; most are notices. */
export function afterError(m: ErrorMessage): Outcome {
  switch (m.error) {
    // The session ended: a new one may start (the socket closes next and is retried).
    case 'session_terminated':
      return { kind: 'retry', detail: m.message };
    case 'removed_from_session':
    case 'access_denied':
    case 'unauthorized':
      return { kind: 'stop', status: 'ended', detail: m.message };
    default:
      return { kind: 'notice', text: m.message };
  }
}

export class CollabClient {
  private ws?: WebSocket;
  private stopped = false;
  private attempt = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private sent = new Set<string>();
  private ready = false;
  /** The last sequence number seen in this session, to resume after it on reconnect. */
  private lastSeq?: { session: string; seq: number };
  updateVector = 0;
  session?: SessionInfo;

  constructor(
    private readonly tmId: string,
    private readonly diagramId: string,
    private readonly canStart: boolean,
    private readonly h: CollabHandlers,
  ) {}

  /** Joins the live session (starting one when allowed); 'unavailable' when there is none to join. */
  async start(): Promise<void> {
    this.stopped = false;
    this.h.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    let session: SessionInfo | undefined;
    try {
      session = await collaboration.session(this.tmId, this.diagramId);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) return this.follow(afterFailure(err));
    }
    if (!session) {
      if (!this.canStart) {
        this.h.onStatus('unavailable', 'Nobody is editing this diagram live right now.');
        return;
      }
      try {
        session = await collaboration.start(this.tmId, this.diagramId);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          this.h.onStatus('unavailable', 'Live collaboration is not available on this server.');
          return;
        }
        return this.follow(afterFailure(err));
      }
    }
    this.session = session;
    let ticket: string;
    try {
      ticket = (await collaboration.ticket(session.session_id)).ticket;
    } catch (err) {
      return this.follow(afterFailure(err));
    }
    if (this.stopped) return;
    this.open(session, ticket);
  }

  private wsUrl(session: SessionInfo, ticket: string): string {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // Absolute ws(s) URLs are used as given; a relative one is joined to this origin.
    const url = /^wss?:\/\//.test(session.websocket_url) ? new URL(session.websocket_url) : new URL(session.websocket_url, `${scheme}//${location.host}`);
    url.searchParams.set('ticket', ticket);
    // This server replays what was missed after `last_sequence` instead of a full diagram_state.
    if (this.lastSeq?.session === session.session_id) url.searchParams.set('last_sequence', String(this.lastSeq.seq));
    return url.href;
  }

  private open(session: SessionInfo, ticket: string) {
    const ws = new WebSocket(this.wsUrl(session, ticket));
    this.ws = ws;
    // Live only once the server's state (diagram_state, or the replay when resuming) is in: the
    // participants_update that follows it. An edit made before would be undone by that state.
    this.ready = false;
    ws.onopen = () => {
      this.attempt = 0;
    };
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      let msg: ServerMessage;
      try {
        // The server sends only messages of ServerMessage (its tests hold it to the schemas).
        msg = JSON.parse(e.data) as ServerMessage;
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.stopped) return;
      this.follow(afterClose(e.code));
    };
  }

  /** Acts on a failure's outcome: a notice, the end of the session here, or a retry with back-off. */
  private follow(outcome: Outcome) {
    if (this.stopped) return;
    if (outcome.kind === 'notice') return this.h.onNotice(outcome.text);
    if (outcome.kind === 'stop') {
      this.stopped = true;
      this.h.onStatus(outcome.status, outcome.detail);
      return;
    }
    this.attempt += 1;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    this.h.onStatus('reconnecting', `Retrying in ${Math.round(delay / 1000) || 1} s…`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.start(), delay);
  }

  private handle(m: ServerMessage) {
    switch (m.message_type) {
      case 'diagram_state':
        // A full state carries no sequence number: resume with a full state next time too.
        this.lastSeq = undefined;
        this.updateVector = m.update_vector;
        this.h.onState(m.cells, this.updateVector);
        this.markReady();
        break;
      case 'diagram_operation_event': {
        this.updateVector = Math.max(this.updateVector, m.update_vector);
        if (this.session) this.lastSeq = { session: this.session.session_id, seq: Math.max(this.lastSeq?.seq ?? 0, m.sequence_number) };
        // The acknowledgement of our own operation: it is on our canvas already. (Undo and redo
        // carry new operation ids, so the undoer applies them like everyone else.)
        if (this.sent.has(m.operation_id)) {
          this.sent.delete(m.operation_id);
          break;
        }
        this.h.onOperation(m.operation.cells, m.initiating_user);
        break;
      }
      case 'participants_update':
        this.markReady();
        this.h.onParticipants(m.participants, m.host, m.current_presenter);
        break;
      case 'presenter_cursor':
        this.h.onCursor(m.cursor_position);
        break;
      case 'presenter_selection':
        this.h.onSelection(m.selected_cells);
        break;
      case 'presenter_request_event':
        this.h.onPresenterRequest(m.requesting_user);
        break;
      case 'presenter_denied_event':
        this.h.onNotice('The host declined your request to present.');
        break;
      case 'operation_rejected':
        this.h.onRejected(`The server did not accept a change (${m.reason}); the diagram was reloaded.`);
        if (m.requires_resync) this.send({ message_type: 'sync_request' });
        break;
      case 'authorization_denied':
        this.h.onNotice('You can only view this diagram.');
        break;
      case 'sync_status_response':
        if (m.update_vector !== this.updateVector) this.send({ message_type: 'sync_request' });
        break;
      case 'error': {
        const outcome = afterError(m);
        // A session that ended is shown as such until the retry finds or starts the next one.
        if (outcome.kind === 'retry') this.h.onStatus('reconnecting', outcome.detail);
        else this.follow(outcome);
        break;
      }
      default:
        // history_operation (nothing to undo), pong: nothing to do.
        break;
    }
  }

  private markReady() {
    if (this.ready) return;
    this.ready = true;
    this.h.onStatus('live');
  }

  get live(): boolean {
    return this.ready && this.ws?.readyState === WebSocket.OPEN;
  }

  private send(msg: ClientMessage): boolean {
    if (!this.live) return false;
    this.ws!.send(JSON.stringify(msg));
    return true;
  }

  sendOperations(ops: CellOp[]): boolean {
    const operation_id = crypto.randomUUID();
    this.sent.add(operation_id);
    if (this.sent.size > 1000) this.sent.delete(this.sent.values().next().value!);
    const cells: CellOperation[] = ops;
    return this.send({ message_type: 'diagram_operation_request', operation_id, base_vector: this.updateVector, operation: { type: 'patch', cells } });
  }

  requestPresenter() {
    this.send({ message_type: 'presenter_request' });
  }
  changePresenter(user: User) {
    this.send({ message_type: 'change_presenter_request', new_presenter: user });
  }
  denyPresenter(user: User) {
    this.send({ message_type: 'presenter_denied_request', denied_user: user });
  }
  cursor(pos: { x: number; y: number }) {
    this.send({ message_type: 'presenter_cursor', cursor_position: { x: Math.round(pos.x), y: Math.round(pos.y) } });
  }
  selection(ids: string[]) {
    this.send({ message_type: 'presenter_selection', selected_cells: ids });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(CLOSE.normal);
    this.ws = undefined;
  }
}
