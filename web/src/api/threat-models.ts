// Threat models: /threat_models, /threat_models/{id} and what the caller may do with one.
import type { JsonPatchDocument } from '../../../contract/common.ts';
import type { ListThreatModelsQuery, ListThreatModelsResponse, ThreatModel, ThreatModelInput, ThreatModelPermissions } from '../../../contract/threat-models.ts';
import { api, query, url } from './client.ts';

export const threatModels = {
  list: (q: ListThreatModelsQuery, signal?: AbortSignal) => api.get<ListThreatModelsResponse>(`/threat_models${query(q)}`, signal),
  get: (id: string, signal?: AbortSignal) => api.get<ThreatModel>(url`/threat_models/${id}`, signal),
  create: (body: ThreatModelInput) => api.post<ThreatModel>('/threat_models', body),
  patch: (id: string, ops: JsonPatchDocument) => api.patch<ThreatModel>(url`/threat_models/${id}`, ops),
  remove: (id: string) => api.del(url`/threat_models/${id}`),
  permissions: (id: string, signal?: AbortSignal) => api.get<ThreatModelPermissions>(url`/threat_models/${id}/permissions`, signal),
};
