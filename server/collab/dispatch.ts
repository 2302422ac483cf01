// Inbound messages of the diagram socket: each frame is decoded and checked (protocol.ts), then
// handled by its type — edits, undo and redo, sync, ping here; the presenter's and the host's in
// presenter.ts. A malformed message is answered without ending the client's session: an operation
// with operation_rejected, anything else with a `validation_error` refusal.
import type { FastifyBaseLogger } from 'fastify';
import { metrics } from '../observability/metrics.ts';
import { CLOSE } from '../../contract/collab.ts';
import type { ClientMessage } from '../../contract/collab-messages.ts';
import { UUID_RE } from '../../contract/common.ts';
import { StoreUnavailableError } from '../store/availability.ts';
import { parseOperation, type Rejection } from './engine.ts';
import type { OpOutcome } from './operations.ts';
import * as presenter from './presenter.ts';
import { decode, diagramStateText, errors, messages, refusal } from './protocol.ts';
import type { Connection } from './session.ts';
import type { BackgroundFailures } from './upkeep.ts';

type OperationRequest = Extract<ClientMessage, { message_type: 'diagram_operation_request' }>;
type RejectionInfo = Pick<Rejection, 'reason' | 'message' | 'affected' | 'requiresResync'>;

export class Dispatcher {
  private readonly report: (err: unknown) => void;

  constructor(
    private readonly opsPerSecond: number,
    private readonly log: FastifyBaseLogger,
    private readonly failures: BackgroundFailures,
  ) {
    this.report = failures.report;
  }

  /** Handles a frame after the socket's earlier ones; a failure is answered, never fatal to the socket. */
  enqueue(c: Connection, data: Buffer, isBinary: boolean): void {
    c.chain = c.chain
      .then(() => (c.closed || this.failures.stopping ? undefined : this.handle(c, data, isBinary)))
      .catch((err: unknown) => {
        // One failed message (e.g. a database hiccup) must not end the socket or the process.
        if (err instanceof StoreUnavailableError) this.report(err);
        else this.log.error({ err, session: c.session.id }, 'collaboration message failed');
        c.send(errors.messageFailed());
      });
  }

  private async handle(c: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    const decoded = decode(data, isBinary);
    if (decoded.kind === 'refused') return c.send(decoded.answer);
    if (decoded.kind === 'invalid') {
      if (decoded.type === 'diagram_operation_request') return this.refuseOperation(c, decoded.raw, decoded.problem);
      return c.send(refusal('invalid_message', decoded.problem));
    }
    const m = decoded.message;
    switch (m.message_type) {
      case 'ping':
        return c.send(messages.pong());
      case 'diagram_operation_request':
        return this.onOperation(c, m);
      case 'undo_request':
        return this.onHistory(c, 'undo');
      case 'redo_request':
        return this.onHistory(c, 'redo');
      case 'sync_status_request':
        return c.send(messages.syncStatus(await c.session.currentVector()));
      case 'sync_request':
        return this.onSync(c, m.update_vector);
      case 'presenter_request':
        return presenter.requestPresenter(c);
      case 'change_presenter_request':
        return presenter.changePresenter(c, m.new_presenter);
      case 'presenter_denied_request':
        return presenter.denyPresenter(c, m.denied_user);
      case 'remove_participant_request':
        return presenter.removeParticipant(c, m.removed_user);
      case 'presenter_cursor':
      case 'presenter_selection':
        return presenter.relay(c, m);
    }
  }

  /** The checks every operation request passes first, valid or not: a writer, within the rate. */
  private async admitOperation(c: Connection, operationId: string): Promise<boolean> {
    if (c.permissions !== 'writer') {
      c.send(messages.authorizationDenied(operationId));
      return false;
    }
    if (!c.allowOperation()) {
      await this.reject(c, operationId, { reason: 'rate_limited', message: `More than ${this.opsPerSecond} operations per second; slow down`, affected: [], requiresResync: true });
      return false;
    }
    return true;
  }

  private async reject(c: Connection, operationId: string, r: RejectionInfo, updateVector?: number): Promise<void> {
    c.send(messages.operationRejected({ operationId, updateVector: updateVector ?? (await c.session.currentVector()), ...r }));
  }

  /** An operation request that does not match its schema: rejected with the most specific reason. */
  private async refuseOperation(c: Connection, raw: Record<string, unknown>, problem: string): Promise<void> {
    // A UUID, as the protocol says; anything else (a NUL, say) must not be echoed or logged.
    const operationId = typeof raw.operation_id === 'string' && UUID_RE.test(raw.operation_id) ? raw.operation_id : '';
    if (!(await this.admitOperation(c, operationId))) return;
    if (!operationId) return this.reject(c, '', { reason: 'validation_failed', message: 'operation_id is required (a UUID)', affected: [], requiresResync: false });
    const parsed = parseOperation(raw.operation);
    if ('ok' in parsed) return this.reject(c, operationId, parsed);
    return this.reject(c, operationId, { reason: 'validation_failed', message: problem, affected: [], requiresResync: false });
  }

  private async onOperation(c: Connection, m: OperationRequest): Promise<void> {
    const operationId = m.operation_id;
    if (!(await this.admitOperation(c, operationId))) return;
    // The cells against the REST cell rules (and normalised as REST stores them).
    const parsed = parseOperation(m.operation);
    if ('ok' in parsed) return this.reject(c, operationId, parsed);
    // Not awaited: the client's next messages are read while this edit waits for its transaction.
    // The session's queue is FIFO, so a client's edits still apply in the order it sent them.
    void c.session
      .submitEdit({ actor: { userUuid: c.userUuid, user: c.user }, operationId, ops: parsed.ops })
      .then((out) => this.onEditOutcome(c, operationId, out))
      .catch((err: unknown) => {
        this.report(err);
        c.send(errors.operationNotStored());
      });
  }

  private async onEditOutcome(c: Connection, operationId: string, out: OpOutcome): Promise<void> {
    metrics.collabOperation(out.kind);
    switch (out.kind) {
      case 'applied':
        return c.session.announce(out.event);
      case 'duplicate':
        // Already applied (a re-send after reconnect): acknowledged to the sender only.
        return c.send(out.event);
      case 'noop':
        return;
      case 'rejected':
        return this.reject(c, operationId, out.rejection, out.updateVector);
      case 'ended':
        c.send(errors.sessionEnded());
        return c.drop(CLOSE.normal, 'Session terminated');
    }
  }

  private async onHistory(c: Connection, which: 'undo' | 'redo'): Promise<void> {
    if (c.permissions !== 'writer') return c.send(messages.authorizationDenied(''));
    if (!c.allowOperation()) return c.send(messages.history(which, 'rate_limited'));
    const out = await c.session.history({ userUuid: c.userUuid, user: c.user }, which);
    if (out.kind === 'empty') return c.send(messages.history(which, which === 'undo' ? 'no_operations_to_undo' : 'no_operations_to_redo'));
    if (out.kind === 'ended') return c.drop(CLOSE.normal, 'Session terminated');
    c.session.announce(out.event);
  }

  /** The full state, unless the client says it has the current update_vector. */
  private async onSync(c: Connection, updateVector: number | null | undefined): Promise<void> {
    const snap = await c.session.snapshot();
    if (updateVector === snap.updateVector) return c.send(messages.syncStatus(snap.updateVector));
    c.hasUpTo(snap.seq);
    c.send(diagramStateText(c.session.diagramId, snap.updateVector, snap.cellsText, snap.colorPalette));
  }
}
