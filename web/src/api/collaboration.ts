// Live collaboration over REST: the diagram's session (join or start) and the single-use ticket
// that opens its WebSocket. The WebSocket messages themselves are handled in dfd/collab.ts.
import type { CollaborationSession, TicketResponse } from '../../../contract/collab.ts';
import { api, query, url } from './client.ts';

const sessionPath = (tmId: string, diagramId: string) => url`/threat_models/${tmId}/diagrams/${diagramId}/collaborate`;

export const collaboration = {
  /** The live session of a diagram; a 404 ApiError when there is none. */
  session: (tmId: string, diagramId: string) => api.get<CollaborationSession>(sessionPath(tmId, diagramId)),
  start: (tmId: string, diagramId: string) => api.post<CollaborationSession>(sessionPath(tmId, diagramId), {}),
  ticket: (sessionId: string) => api.get<TicketResponse>(`/ws/ticket${query({ session_id: sessionId })}`),
};
