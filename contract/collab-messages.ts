// The collaboration protocol's messages, both directions, as schemas: what a client may send on
// the diagram socket (ClientMessage), what the server sends on it (ServerMessage), and what it
// sends on /ws/notifications (NotificationMessage); each a union keyed by `message_type`. The
// server checks every client message against its schema on arrival and builds its own through
// typed constructors (server/collab/protocol.ts); the AsyncAPI document (/asyncapi.json) is
// generated from these schemas; the web app uses their types.
//
// The wire is the reference's as its client (tmi-ux) really uses it, which differs from the
// reference's AsyncAPI document in places (docs/compatibility.md, Collaboration): `participants_update` carries
// `initiating_user`, `history_operation` exists, error codes are the ones the server emits.
// Client messages are open (extra fields are ignored, as the reference does); server messages are
// closed (a client can rely on their exact shape).
import { Type, type Static, type TProperties } from 'typebox';
import { DateTime, Literals, Nullable, Uuid } from './common.ts';
import { ColorPaletteEntry, type CellJson } from './diagrams.ts';
import { Participant, WsUser } from './collab.ts';
import { EDGE_SHAPE, MAX_CELL_OPS, NODE_SHAPES } from './limits.ts';

const closed = { additionalProperties: false } as const;

/** A message schema: `message_type` fixed to `type`, then its own fields. */
function message<const T extends string, P extends TProperties>(type: T, properties: P, options: { description: string; closed?: boolean }) {
  return Type.Object({ message_type: Type.Literal(type), ...properties }, { description: options.description, ...(options.closed ? closed : {}) });
}

// ---- shared parts ---------------------------------------------------------------------------------

/** A whole cell (a Node or an Edge, as in the REST diagram); the server checks it with the REST cell rules. */
export const WireCell = Type.Unsafe<CellJson>(
  Type.Object(
    { id: Uuid, shape: Type.String({ description: `${NODE_SHAPES.join(', ')} (nodes) or ${EDGE_SHAPE} (edges)` }) },
    { additionalProperties: true, description: 'An X6 cell: a Node or an Edge as in the REST diagram' },
  ),
);

export const CELL_OPERATIONS = ['add', 'update', 'remove'] as const;

/** One cell's change: `add` and `update` carry the whole cell (no deltas), `remove` only the id. */
export const CellOperation = Type.Object({
  id: Uuid,
  operation: Literals(CELL_OPERATIONS),
  data: Type.Optional(WireCell),
});
export type CellOperation = Static<typeof CellOperation>;

/** A batch of cell changes, applied in order, all or nothing. */
export const CellPatch = Type.Object({
  type: Type.Literal('patch'),
  cells: Type.Array(CellOperation, { minItems: 1, maxItems: MAX_CELL_OPS }),
});

/**
 * A participant named by another one (the host's presenter and removal requests): matched on
 * `provider_id` (and `provider` when given) among the connected users; an `email` that does not
 * match the connected user's is refused as a spoof.
 */
export const UserRef = Type.Object({
  principal_type: Type.Optional(Type.Literal('user')),
  provider: Type.Optional(Type.String({ maxLength: 100 })),
  provider_id: Type.String({ maxLength: 500 }),
  email: Type.Optional(Type.String({ maxLength: 254 })),
  display_name: Type.Optional(Type.String({ maxLength: 256 })),
});
export type UserRef = Static<typeof UserRef>;

export const CursorPosition = Type.Object({ x: Type.Number(), y: Type.Number() }, { description: 'Graph coordinates' });
export const SelectedCells = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10_000, description: 'Cell ids; empty clears the selection' });

// ---- client to server -----------------------------------------------------------------------------

export const DiagramOperationRequest = message(
  'diagram_operation_request',
  {
    operation_id: Uuid,
    base_vector: Type.Optional(Type.Integer({ minimum: 0, description: "The client's update_vector when it made the change; advisory (the server orders operations itself)" })),
    operation: CellPatch,
  },
  { description: 'A writer changes cells. Answered with diagram_operation_event to everyone (the sender included, as its acknowledgement), or operation_rejected / authorization_denied to the sender.' },
);
export const UndoRequest = message('undo_request', {}, { description: "A writer undoes the session's last applied operation (whoever made it)." });
export const RedoRequest = message('redo_request', {}, { description: 'A writer re-applies the last undone operation.' });
export const SyncStatusRequest = message('sync_status_request', {}, { description: "Asks for the diagram's current update_vector (sync_status_response)." });
export const SyncRequest = message(
  'sync_request',
  { update_vector: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))) },
  { description: 'Asks for the full state: diagram_state, or sync_status_response when update_vector is given and current.' },
);
export const PresenterRequest = message('presenter_request', {}, { description: 'Asks the host to let the sender present (the host itself becomes presenter at once).' });
export const ChangePresenterRequest = message(
  'change_presenter_request',
  { new_presenter: Type.Optional(Nullable(UserRef)) },
  { description: 'The host makes a connected participant the presenter (others are ignored); naming nobody is answered with error invalid_participant.' },
);
export const PresenterDeniedRequest = message('presenter_denied_request', { denied_user: Type.Optional(Nullable(UserRef)) }, { description: "The host declines a participant's request to present." });
export const RemoveParticipantRequest = message(
  'remove_participant_request',
  { removed_user: Type.Optional(Nullable(UserRef)) },
  { description: 'The host removes a participant, who may not rejoin this session.' },
);
export const PresenterCursorRequest = message('presenter_cursor', { cursor_position: CursorPosition }, { description: "The presenter's pointer, relayed to the others (from anyone else: ignored)." });
export const PresenterSelectionRequest = message('presenter_selection', { selected_cells: SelectedCells }, { description: "The presenter's selection, relayed to the others (from anyone else: ignored)." });
export const Ping = message('ping', {}, { description: 'Our extension: answered with pong.' });

export const ClientMessage = Type.Union([
  DiagramOperationRequest,
  UndoRequest,
  RedoRequest,
  SyncStatusRequest,
  SyncRequest,
  PresenterRequest,
  ChangePresenterRequest,
  PresenterDeniedRequest,
  RemoveParticipantRequest,
  PresenterCursorRequest,
  PresenterSelectionRequest,
  Ping,
]);
export type ClientMessage = Static<typeof ClientMessage>;
export type ClientMessageType = ClientMessage['message_type'];

// ---- server to client -----------------------------------------------------------------------------

export const DiagramState = message(
  'diagram_state',
  {
    diagram_id: Uuid,
    update_vector: Type.Integer({ minimum: 0 }),
    cells: Type.Array(WireCell),
    color_palette: Type.Optional(Type.Array(ColorPaletteEntry)),
  },
  { closed: true, description: 'The whole diagram: first on joining (unless resuming with last_sequence), and in answer to sync_request.' },
);
export const ParticipantsUpdate = message(
  'participants_update',
  {
    initiating_user: Nullable(WsUser),
    participants: Type.Array(Participant),
    host: WsUser,
    current_presenter: Nullable(WsUser),
  },
  { closed: true, description: 'Everyone connected (one entry per user, with their real permissions), the host and the presenter; after every join, leave and presenter change.' },
);
export const DiagramOperationEvent = message(
  'diagram_operation_event',
  {
    initiating_user: WsUser,
    operation_id: Uuid,
    sequence_number: Type.Integer({ minimum: 1, description: "The operation's place in the session; every client receives every operation once, in this order" }),
    update_vector: Type.Integer({ minimum: 0, description: "The diagram's update_vector after the operation" }),
    operation: Type.Object({ type: Type.Literal('patch'), cells: Type.Array(Type.Object({ id: Uuid, operation: Literals(CELL_OPERATIONS), data: Type.Optional(WireCell) }, closed)) }, closed),
  },
  { closed: true, description: 'A committed operation (an edit, an undo or a redo), to everyone in the session.' },
);
/** An operation id as echoed back: the request's, or empty when it had none that was a UUID. */
const EchoedOperationId = Type.Union([Uuid, Type.Literal('')]);
export const OperationRejected = message(
  'operation_rejected',
  {
    operation_id: EchoedOperationId,
    update_vector: Type.Integer({ minimum: 0 }),
    reason: Type.String({ description: 'cell_already_exists, update_nonexistent_cell (conflicts: resync), validation_failed, invalid_operation_type, empty_operation, rate_limited' }),
    message: Type.String(),
    affected_cells: Type.Array(Type.String()),
    requires_resync: Type.Boolean(),
    timestamp: DateTime,
  },
  { closed: true, description: 'The sender\'s operation was not applied; nothing changed.' },
);
export const AuthorizationDenied = message(
  'authorization_denied',
  { original_operation_id: EchoedOperationId, reason: Type.Literal('insufficient_permissions') },
  { closed: true, description: 'A reader tried to change the diagram (an operation, undo or redo).' },
);
export const SyncStatusResponse = message('sync_status_response', { update_vector: Type.Integer({ minimum: 0 }) }, { closed: true, description: "The diagram's current update_vector." });
export const HISTORY_MESSAGES = ['no_operations_to_undo', 'no_operations_to_redo', 'rate_limited'] as const;
export const HistoryOperation = message(
  'history_operation',
  { operation_type: Literals(['undo', 'redo'] as const), message: Literals(HISTORY_MESSAGES) },
  { closed: true, description: 'An undo or redo that did nothing: nothing to undo or redo, or too many requests.' },
);
export const PresenterRequestEvent = message('presenter_request_event', { requesting_user: WsUser }, { closed: true, description: 'To the host: a participant asks to present.' });
export const PresenterDeniedEvent = message('presenter_denied_event', { denied_user: WsUser }, { closed: true, description: 'To a participant: the host declined (or is not connected to answer) their request to present.' });
export const PresenterCursorEvent = message('presenter_cursor', { cursor_position: CursorPosition }, { closed: true, description: "The presenter's pointer." });
export const PresenterSelectionEvent = message('presenter_selection', { selected_cells: SelectedCells }, { closed: true, description: "The presenter's selection." });

/**
 * `error` codes. All but `validation_error` end the client's collaboration session (tmi-ux treats
 * every other code as fatal), and the server closes the socket after most of them.
 */
export const ERROR_CODES = [
  'session_terminated',
  'access_denied',
  'removed_from_session',
  'too_many_connections',
  'session_full',
  'unauthorized',
  'invalid_participant',
  'invalid_request',
  'validation_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
/** The reasons of a non-fatal refusal (`error: validation_error`), in `code`. */
export const REFUSAL_CODES = ['invalid_message', 'invalid_message_type', 'unsupported_message_type', 'server_error'] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];
export const ErrorMessage = message(
  'error',
  {
    error: Literals(ERROR_CODES),
    code: Type.Optional(Literals(REFUSAL_CODES)),
    message: Type.String(),
    timestamp: DateTime,
  },
  { closed: true, description: 'A refusal (validation_error: the message was not processed; the session goes on) or the end of this client\'s session.' },
);
export const Pong = message('pong', { timestamp: DateTime }, { closed: true, description: 'Our extension: the answer to ping.' });

export const ServerMessage = Type.Union([
  DiagramState,
  ParticipantsUpdate,
  DiagramOperationEvent,
  OperationRejected,
  AuthorizationDenied,
  SyncStatusResponse,
  HistoryOperation,
  PresenterRequestEvent,
  PresenterDeniedEvent,
  PresenterCursorEvent,
  PresenterSelectionEvent,
  ErrorMessage,
  Pong,
]);
export type ServerMessage = Static<typeof ServerMessage>;
export type ServerMessageType = ServerMessage['message_type'];
/** The server message of one type. */
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { message_type: T }>;
export type DiagramOperationEvent = ServerMessageOf<'diagram_operation_event'>;
export type ParticipantsUpdate = ServerMessageOf<'participants_update'>;
export type ErrorMessage = ServerMessageOf<'error'>;

// ---- /ws/notifications (server to client only) --------------------------------------------------

const UserId = Type.String({ description: "The e-mail address of the user who caused the event, or 'system'" });
const notification = <const T extends string, P extends TProperties>(type: T, data: P, description: string) =>
  message(type, { user_id: UserId, timestamp: DateTime, data: Type.Object(data, closed) }, { closed: true, description });

const threatModelData = <const A extends string>(action: A) => ({ threat_model_id: Uuid, threat_model_name: Type.String(), action: Type.Literal(action) });

export const NotificationMessage = Type.Union([
  notification('threat_model_created', threatModelData('created'), 'A threat model the user can read was created.'),
  notification('threat_model_updated', threatModelData('updated'), 'A threat model the user can read changed.'),
  notification('threat_model_deleted', threatModelData('deleted'), 'A threat model the user could read was deleted.'),
  notification('threat_model_shared', threatModelData('shared'), "A threat model's access list changed (sent after threat_model_updated)."),
  notification(
    'collaboration_started',
    { diagram_id: Uuid, diagram_name: Type.String(), threat_model_id: Uuid, threat_model_name: Type.String(), session_id: Uuid },
    'A collaboration session started on a diagram of a threat model the user can read.',
  ),
  message('heartbeat', { user_id: UserId, timestamp: DateTime }, { closed: true, description: 'Sent every TMI_COLLAB_PING_SECONDS.' }),
]);
export type NotificationMessage = Static<typeof NotificationMessage>;
