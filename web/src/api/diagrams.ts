// Diagrams of a threat model: /threat_models/{id}/diagrams.
import type { CellJson, CreateDiagramRequest, DfdDiagram, ListDiagramsResponse } from '../../../contract/diagrams.ts';
import { DIAGRAM_TYPE, MAX_PAGE_SIZE } from '../../../contract/limits.ts';
import { api, query, url } from './client.ts';

export const diagrams = {
  /** The first page (as many as the API gives at once). */
  list: async (tmId: string, signal?: AbortSignal) => (await api.get<ListDiagramsResponse>(`${url`/threat_models/${tmId}/diagrams`}${query({ limit: MAX_PAGE_SIZE })}`, signal)).diagrams,
  get: (tmId: string, id: string, signal?: AbortSignal) => api.get<DfdDiagram>(url`/threat_models/${tmId}/diagrams/${id}`, signal),
  create: (tmId: string, name: string) => api.post<DfdDiagram>(url`/threat_models/${tmId}/diagrams`, { name, type: DIAGRAM_TYPE } satisfies CreateDiagramRequest),
  /** Saves the whole drawing (when nobody edits live). */
  replaceCells: (tmId: string, id: string, cells: CellJson[]) => api.patch<DfdDiagram>(url`/threat_models/${tmId}/diagrams/${id}`, [{ op: 'replace', path: '/cells', value: cells }]),
  remove: (tmId: string, id: string) => api.del(url`/threat_models/${tmId}/diagrams/${id}`),
};
