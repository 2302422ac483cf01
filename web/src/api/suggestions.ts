// Threat suggestions of a threat model (our extension): /threat_models/{id}/suggestions.
import type { Static } from 'typebox';
import type { SuggestionList } from '../../../contract/suggestions.ts';
import type { Suggestion } from '../../../contract/suggestions.ts';
import type { Threat } from '../../../contract/threats.ts';
import { api, query, url } from './client.ts';

export type { Suggestion };
export type SuggestionListResponse = Static<typeof SuggestionList>;

export const suggestions = {
  list: (tmId: string, opts: { state?: 'open' | 'dismissed' | 'accepted' | 'all'; diagram_id?: string; cell_id?: string } = {}, signal?: AbortSignal) =>
    api.get<SuggestionListResponse>(`${url`/threat_models/${tmId}/suggestions`}${query(opts)}`, signal),
  dismiss: (tmId: string, id: string) => api.post<Suggestion>(url`/threat_models/${tmId}/suggestions/${id}/dismissal`),
  reopen: (tmId: string, id: string) => api.del(url`/threat_models/${tmId}/suggestions/${id}/dismissal`),
  accept: (tmId: string, id: string) => api.post<Threat>(url`/threat_models/${tmId}/suggestions/${id}/accept`),
};
