// Collaboration on the wire: the REST session body, the ticket, and the WebSocket messages of the
// reference protocol (tmi-asyncapi.yml as corrected by tmi-collab-notes.md).
import { Type, type Static } from 'typebox';
import { DateTime, Uuid } from './common.ts';

export const WsUser = Type.Object({
  principal_type: Type.Literal('user'),
  provider: Type.String(),
  provider_id: Type.String(),
  email: Type.String(),
  display_name: Type.String(),
});
export type WsUser = Static<typeof WsUser>;

export const Participant = Type.Object(
  {
    user: WsUser,
    last_activity: DateTime,
    permissions: Type.Union([Type.Literal('reader'), Type.Literal('writer')]),
  },
  { additionalProperties: false },
);
export type Participant = Static<typeof Participant>;

export const CollaborationSession = Type.Object(
  {
    session_id: Uuid,
    host: WsUser,
    presenter: Type.Optional(WsUser),
    threat_model_id: Uuid,
    threat_model_name: Type.String(),
    diagram_id: Uuid,
    diagram_name: Type.String(),
    participants: Type.Array(Participant),
    websocket_url: Type.String(),
  },
  { additionalProperties: false },
);
export type CollaborationSession = Static<typeof CollaborationSession>;

/** The reference client expects a bare array (tmi-collab-notes §1.3), not the spec's envelope. */
export const MySessions = Type.Array(CollaborationSession);

export const TicketQuery = Type.Object({ session_id: Uuid });
export const TicketResponse = Type.Object({ ticket: Type.String() });
export type TicketResponse = Static<typeof TicketResponse>;

export const WsQuery = Type.Object({
  session_id: Type.Optional(Uuid),
  ticket: Type.Optional(Type.String({ maxLength: 256 })),
  /** Our extension: resume after this sequence number instead of receiving diagram_state. */
  last_sequence: Type.Optional(Type.Integer({ minimum: 0 })),
});

/** Message types a client may send (anything else is answered with a non-fatal error). */
export const CLIENT_MESSAGE_TYPES = [
  'diagram_operation_request',
  'undo_request',
  'redo_request',
  'sync_status_request',
  'sync_request',
  'presenter_request',
  'change_presenter_request',
  'presenter_denied_request',
  'remove_participant_request',
  'presenter_cursor',
  'presenter_selection',
  'ping',
] as const;

/** Types only the server sends; a client sending one gets `invalid_message_type`. */
export const SERVER_MESSAGE_TYPES = [
  'diagram_state',
  'participants_update',
  'diagram_operation_event',
  'operation_rejected',
  'authorization_denied',
  'sync_status_response',
  'history_operation',
  'presenter_request_event',
  'presenter_denied_event',
  'error',
  'pong',
] as const;

/**
 * `error` codes tmi-ux treats as non-fatal (it ends its session on any other code), used for
 * refusals that should not end a client's session (tmi-collab-notes §2.3).
 */
export const NON_FATAL_ERROR = 'validation_error';

export { CLOSE } from './limits.ts';
