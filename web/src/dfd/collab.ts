// The collaboration client (issue 4 protocol, tmi-asyncapi.yml as corrected by the collab notes):
// join or start the diagram's session over REST, open the WebSocket with a single-use ticket, send
// operations, and hand every server message to the editor. A lost connection is retried with
// back-off and resumes from the server's diagram_state.
import type { CollaborationSession as SessionInfo, Participant } from '../../../contract/collab.ts';
import type { User } from '../../../contract/common.ts';
import { CLOSE } from '../../../contract/limits.ts';
import { ApiError } from '../api/client.ts';
import { collaboration } from '../api/collaboration.ts';
import type { ApiCell, CellOp } from './cells.ts';

export type { Participant };

export type CollabStatus = 'connecting' | 'live' | 'reconnecting' | 'unavailable' | 'ended';

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
      if (!(err instanceof ApiError) || err.status !== 404) return this.retry(err);
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
        return this.retry(err);
      }
    }
    this.session = session;
    let ticket: string;
    try {
      ticket = (await collaboration.ticket(session.session_id)).ticket;
    } catch (err) {
      return this.retry(err);
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
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(e.data) as Record<string, unknown>;
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.stopped) return;
      if (e.code === CLOSE.accessRevoked) {
        this.h.onStatus('ended', 'Your access to this threat model was removed.');
        return;
      }
      this.retry(new Error(e.reason || 'connection closed'));
    };
  }

  private retry(err: unknown) {
    if (this.stopped) return;
    if (err instanceof ApiError && (err.status === 403 || err.status === 401)) {
      this.h.onStatus('ended', err.message);
      return;
    }
    this.attempt += 1;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    this.h.onStatus('reconnecting', `Retrying in ${Math.round(delay / 1000) || 1} s…`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.start(), delay);
  }

  private handle(m: Record<string, unknown>) {
    switch (m.message_type) {
      case 'diagram_state':
        // A full state carries no sequence number: resume with a full state next time too.
        this.lastSeq = undefined;
        this.updateVector = Number(m.update_vector) || 0;
        this.h.onState(Array.isArray(m.cells) ? (m.cells as ApiCell[]) : [], this.updateVector);
        this.markReady();
        break;
      case 'diagram_operation_event': {
        if (typeof m.update_vector === 'number') this.updateVector = Math.max(this.updateVector, m.update_vector);
        if (typeof m.sequence_number === 'number' && this.session) this.lastSeq = { session: this.session.session_id, seq: Math.max(this.lastSeq?.seq ?? 0, m.sequence_number) };
        const id = String(m.operation_id ?? '');
        // Our own operation echoed back (only undo/redo are sent to the initiator too).
        if (this.sent.has(id)) {
          this.sent.delete(id);
          break;
        }
        const op = m.operation as { cells?: CellOp[] } | undefined;
        if (Array.isArray(op?.cells)) this.h.onOperation(op.cells, m.initiating_user as User | undefined);
        break;
      }
      case 'participants_update':
        this.markReady();
        this.h.onParticipants((m.participants as Participant[]) ?? [], m.host as User | undefined, (m.current_presenter as User | null) ?? null);
        break;
      case 'presenter_cursor':
        if (m.cursor_position && typeof m.cursor_position === 'object') this.h.onCursor(m.cursor_position as { x: number; y: number });
        break;
      case 'presenter_selection':
        if (Array.isArray(m.selected_cells)) this.h.onSelection(m.selected_cells as string[]);
        break;
      case 'presenter_request_event':
        this.h.onPresenterRequest(m.requesting_user as User);
        break;
      case 'presenter_denied_event':
        this.h.onNotice('The host declined your request to present.');
        break;
      case 'operation_rejected':
        this.h.onRejected(`The server did not accept a change (${String(m.reason ?? 'rejected')}); the diagram was reloaded.`);
        if (m.requires_resync !== false) this.send({ message_type: 'sync_request' });
        break;
      case 'authorization_denied':
        this.h.onNotice('You can only view this diagram.');
        break;
      case 'history_operation':
        if (m.message === 'resync_required') this.send({ message_type: 'sync_request' });
        break;
      case 'sync_status_response':
        if (typeof m.update_vector === 'number' && m.update_vector !== this.updateVector) this.send({ message_type: 'sync_request' });
        break;
      case 'error': {
        const code = String(m.error ?? '');
        const text = String(m.message ?? code);
        if (code === 'session_terminated' || code === 'removed_from_session' || code === 'access_denied' || code === 'unauthorized') {
          this.stopped = code !== 'session_terminated';
          this.h.onStatus(code === 'session_terminated' ? 'reconnecting' : 'ended', text);
        } else this.h.onNotice(text);
        break;
      }
      default:
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

  private send(msg: Record<string, unknown>): boolean {
    if (!this.live) return false;
    this.ws!.send(JSON.stringify(msg));
    return true;
  }

  sendOperations(ops: CellOp[]): boolean {
    const operation_id = crypto.randomUUID();
    this.sent.add(operation_id);
    if (this.sent.size > 1000) this.sent.delete(this.sent.values().next().value!);
    return this.send({ message_type: 'diagram_operation_request', operation_id, base_vector: this.updateVector, operation: { type: 'patch', cells: ops } });
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
