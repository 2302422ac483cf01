// The collaboration protocol on the server side: every client frame is decoded and checked against
// its message's schema (contract/collab-messages.ts) on arrival, and every message the server
// sends is built here, typed by its schema. Nothing else in server/collab writes a message literal.
import type { TSchema } from 'typebox';
import {
  ClientMessage,
  ServerMessage,
  type ClientMessageType,
  type DiagramOperationEvent,
  type ErrorCode,
  type ErrorMessage,
  type NotificationMessage,
  type ParticipantsUpdate,
  type RefusalCode,
  type ServerMessageOf,
} from '../../contract/collab-messages.ts';
import type { Participant, WsUser } from '../../contract/collab.ts';
import { compileOnFirstUse } from '../../contract/validator.ts';

export const now = () => new Date().toISOString();

type MessageSchema = TSchema & { properties: { message_type: { const: string } } };
const typeOf = (schema: TSchema) => (schema as MessageSchema).properties.message_type.const;

/** One compiled check per client message type (a union's errors would name every member). */
const clientChecks = new Map((ClientMessage.anyOf as TSchema[]).map((s) => [typeOf(s), compileOnFirstUse(s)]));
/** Types only the server sends (presenter_cursor and presenter_selection go both ways). */
const serverOnly = new Set((ServerMessage.anyOf as TSchema[]).map(typeOf).filter((t) => !clientChecks.has(t)));

export type Decoded =
  | { kind: 'message'; message: ClientMessage }
  /** A client message type whose fields do not match its schema; `problem` says which and how. */
  | { kind: 'invalid'; type: ClientMessageType; raw: Record<string, unknown>; problem: string }
  /** Not a client message at all: the non-fatal answer to send. */
  | { kind: 'refused'; answer: ErrorMessage };

/** A frame as a client message, checked against its schema. */
export function decode(data: Buffer, isBinary: boolean): Decoded {
  const refused = (code: RefusalCode, text: string): Decoded => ({ kind: 'refused', answer: refusal(code, text) });
  if (isBinary) return refused('invalid_message', 'Messages are JSON text frames');
  let m: unknown;
  try {
    m = JSON.parse(data.toString('utf8'));
  } catch {
    return refused('invalid_message', 'Message is not valid JSON');
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m) || typeof (m as { message_type?: unknown }).message_type !== 'string') {
    return refused('invalid_message', 'Message must be a JSON object with a message_type');
  }
  const raw = m as Record<string, unknown> & { message_type: string };
  const type = raw.message_type;
  if (serverOnly.has(type)) return refused('invalid_message_type', `${type} is sent by the server only`);
  const check = clientChecks.get(type);
  if (!check) return refused('unsupported_message_type', `Unknown message_type ${type.slice(0, 64)}`);
  if (check.Check(raw)) return { kind: 'message', message: raw as ClientMessage };
  const e = check.Errors(raw)[0];
  const where = e?.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : type;
  return { kind: 'invalid', type: type as ClientMessageType, raw, problem: `${where} ${e?.message ?? 'is invalid'}`.slice(0, 300) };
}

// ---- what the server sends ----------------------------------------------------------------------

const error = (code: ErrorCode, message: string): ErrorMessage => ({ message_type: 'error', error: code, message, timestamp: now() });

/** A refusal that does not end the client's session (tmi-ux treats only `validation_error` so). */
export const refusal = (code: RefusalCode, message: string): ErrorMessage => ({ message_type: 'error', error: 'validation_error', code, message, timestamp: now() });

/** The `error` messages, one constructor per situation. */
export const errors = {
  sessionEnded: () => error('session_terminated', 'Collaboration session has ended'),
  sessionTerminated: (reason: string) => error('session_terminated', `Collaboration session has been terminated: ${reason}`),
  deniedRejoin: () => error('access_denied', 'You have been removed from this collaboration session and cannot rejoin'),
  capReached: (code: 'too_many_connections' | 'session_full', message: string) => error(code, message),
  removedFromSession: () => error('removed_from_session', 'The host removed you from this collaboration session'),
  hostOnlyRemoval: () => error('unauthorized', 'Only the host can remove participants'),
  presenterNotConnected: () => error('invalid_participant', 'The new presenter is not connected to this session'),
  participantNotConnected: () => error('invalid_participant', 'That user is not connected to this session'),
  hostSelfRemoval: () => error('invalid_request', 'The host cannot remove itself'),
  messageFailed: () => refusal('server_error', 'The message could not be processed; retry'),
  operationNotStored: () => refusal('server_error', 'The operation could not be stored; resync and retry'),
};

export const messages = {
  participantsUpdate: (participants: Participant[], host: WsUser, presenter: WsUser | null): ParticipantsUpdate => ({
    message_type: 'participants_update',
    initiating_user: null,
    participants,
    host,
    current_presenter: presenter,
  }),
  operationEvent: (e: { user: WsUser; operationId: string; seq: number; updateVector: number; cells: DiagramOperationEvent['operation']['cells'] }): DiagramOperationEvent => ({
    message_type: 'diagram_operation_event',
    initiating_user: e.user,
    operation_id: e.operationId,
    sequence_number: e.seq,
    update_vector: e.updateVector,
    operation: { type: 'patch', cells: e.cells },
  }),
  operationRejected: (r: { operationId: string; updateVector: number; reason: string; message: string; affected: string[]; requiresResync: boolean }): ServerMessageOf<'operation_rejected'> => ({
    message_type: 'operation_rejected',
    operation_id: r.operationId,
    update_vector: r.updateVector,
    reason: r.reason,
    message: r.message,
    affected_cells: r.affected,
    requires_resync: r.requiresResync,
    timestamp: now(),
  }),
  authorizationDenied: (operationId: string): ServerMessageOf<'authorization_denied'> => ({ message_type: 'authorization_denied', original_operation_id: operationId, reason: 'insufficient_permissions' }),
  syncStatus: (updateVector: number): ServerMessageOf<'sync_status_response'> => ({ message_type: 'sync_status_response', update_vector: updateVector }),
  history: (which: 'undo' | 'redo', message: ServerMessageOf<'history_operation'>['message']): ServerMessageOf<'history_operation'> => ({ message_type: 'history_operation', operation_type: which, message }),
  presenterRequested: (user: WsUser): ServerMessageOf<'presenter_request_event'> => ({ message_type: 'presenter_request_event', requesting_user: user }),
  presenterDenied: (user: WsUser): ServerMessageOf<'presenter_denied_event'> => ({ message_type: 'presenter_denied_event', denied_user: user }),
  presenterCursor: (p: { x: number; y: number }): ServerMessageOf<'presenter_cursor'> => ({ message_type: 'presenter_cursor', cursor_position: { x: p.x, y: p.y } }),
  presenterSelection: (cells: string[]): ServerMessageOf<'presenter_selection'> => ({ message_type: 'presenter_selection', selected_cells: cells }),
  pong: (): ServerMessageOf<'pong'> => ({ message_type: 'pong', timestamp: now() }),
};

/**
 * A diagram_state as text. The cells arrive as the database's JSON text and are spliced in as they
 * are: parsing and re-serialising a large diagram for every join would cost more than the rest.
 */
export function diagramStateText(diagramId: string, updateVector: number, cellsJson: string, colorPalette: unknown): string {
  const palette = colorPalette ? `,"color_palette":${JSON.stringify(colorPalette)}` : '';
  return `{"message_type":"diagram_state","diagram_id":${JSON.stringify(diagramId)},"update_vector":${updateVector},"cells":${cellsJson}${palette}}`;
}

// ---- /ws/notifications ---------------------------------------------------------------------------

type NotificationOf<T extends NotificationMessage['message_type']> = Extract<NotificationMessage, { message_type: T }>;

export const notifications = {
  threatModel: <A extends 'created' | 'updated' | 'deleted' | 'shared'>(action: A, e: { actorEmail: string; threatModelId: string; name: string }) =>
    ({
      message_type: `threat_model_${action}`,
      user_id: e.actorEmail,
      timestamp: now(),
      data: { threat_model_id: e.threatModelId, threat_model_name: e.name, action },
    }) as NotificationOf<`threat_model_${A}`>,
  collaborationStarted: (e: { actorEmail: string; diagramId: string; diagramName: string; threatModelId: string; name: string; sessionId: string }): NotificationOf<'collaboration_started'> => ({
    message_type: 'collaboration_started',
    user_id: e.actorEmail,
    timestamp: now(),
    data: { diagram_id: e.diagramId, diagram_name: e.diagramName, threat_model_id: e.threatModelId, threat_model_name: e.name, session_id: e.sessionId },
  }),
  heartbeat: (): NotificationOf<'heartbeat'> => ({ message_type: 'heartbeat', user_id: 'system', timestamp: now() }),
};
