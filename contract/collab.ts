// Collaboration on the wire over REST: the session body, the ticket and the socket's query. The
// WebSocket messages are in collab-messages.ts.
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

/** The reference client expects a bare array, not the spec's envelope (docs/compatibility.md). */
export const MySessions = Type.Array(CollaborationSession);

export const TicketQuery = Type.Object({ session_id: Uuid });
export const TicketResponse = Type.Object({ ticket: Type.String() });
export type TicketResponse = Static<typeof TicketResponse>;

/** The query of the diagram socket's URL (checked before the upgrade, server/collab/routes.ts). */
export const WsQuery = Type.Object({
  session_id: Type.Optional(Uuid),
  ticket: Type.Optional(Type.String({ maxLength: 256 })),
  /** Our extension: resume after this sequence number instead of receiving diagram_state. */
  last_sequence: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
});
export type WsQuery = Static<typeof WsQuery>;

export { CLOSE } from './limits.ts';
