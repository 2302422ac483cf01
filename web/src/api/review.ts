// The review workflow: teams, projects, survey templates, intake responses and triage.
import type { JsonPatchDocument } from '../../../contract/common.ts';
import type { Project, Team } from '../../../contract/org.ts';
import type { Survey, SurveyInput, SurveyResponse } from '../../../contract/surveys.ts';
import { api, query, url } from './client.ts';

export interface Page<K extends string, T> {
  total: number;
  limit: number;
  offset: number;
  items: T[];
  key: K;
}
type ListOf<K extends string, T> = { [P in K]: T[] } & { total: number; limit: number; offset: number };

export interface TeamItem { id: string; name: string; description?: string | null; status?: string | null; member_count: number; project_count: number; note_count: number; modified_at: string }
export interface ProjectItem { id: string; name: string; description?: string | null; status?: string | null; team_id: string; team_name?: string; note_count: number; modified_at: string }
export interface SurveyItem { id: string; name: string; description?: string | null; version: string; status: string; modified_at: string }
export interface ResponseItem {
  id: string;
  survey_id: string;
  survey_name?: string;
  survey_version?: string;
  status: string;
  is_confidential: boolean;
  owner?: { display_name: string; email: string } | null;
  created_threat_model_id?: string | null;
  created_at: string;
  submitted_at?: string | null;
  modified_at: string;
}
export interface TriageNoteItem { id: number; name: string; created_at: string; created_by: { display_name: string } | null }

export const teams = {
  list: (q: { name?: string; limit?: number; offset?: number }, signal?: AbortSignal) => api.get<ListOf<'teams', TeamItem>>(`/teams${query(q)}`, signal),
  get: (id: string, signal?: AbortSignal) => api.get<Team>(url`/teams/${id}`, signal),
  create: (body: { name: string; description?: string }) => api.post<Team>('/teams', body),
  patch: (id: string, ops: JsonPatchDocument) => api.patch<Team>(url`/teams/${id}`, ops),
  addNote: (id: string, body: { name: string; content: string }) => api.post<{ id: string }>(url`/teams/${id}/notes`, body),
};

export const projects = {
  list: (q: { team_id?: string; name?: string; limit?: number; offset?: number }, signal?: AbortSignal) => api.get<ListOf<'projects', ProjectItem>>(`/projects${query(q)}`, signal),
  get: (id: string, signal?: AbortSignal) => api.get<Project>(url`/projects/${id}`, signal),
  create: (body: { name: string; team_id: string; description?: string }) => api.post<Project>('/projects', body),
};

export const surveys = {
  listActive: (signal?: AbortSignal) => api.get<ListOf<'surveys', SurveyItem>>('/intake/surveys?limit=100', signal),
  getActive: (id: string, signal?: AbortSignal) => api.get<Survey>(url`/intake/surveys/${id}`, signal),
  listAll: (signal?: AbortSignal) => api.get<ListOf<'surveys', SurveyItem>>('/admin/surveys?limit=100', signal),
  get: (id: string, signal?: AbortSignal) => api.get<Survey>(url`/admin/surveys/${id}`, signal),
  create: (body: SurveyInput) => api.post<Survey>('/admin/surveys', body),
  replace: (id: string, body: SurveyInput) => api.put<Survey>(url`/admin/surveys/${id}`, body),
  setStatus: (id: string, status: 'active' | 'inactive' | 'archived') => api.patch<Survey>(url`/admin/surveys/${id}`, [{ op: 'replace', path: '/status', value: status }]),
};

export const intake = {
  mine: (signal?: AbortSignal) => api.get<ListOf<'survey_responses', ResponseItem>>('/intake/survey_responses?limit=100', signal),
  start: (surveyId: string, projectId?: string) => api.post<SurveyResponse>('/intake/survey_responses', { survey_id: surveyId, answers: {}, ...(projectId ? { project_id: projectId } : {}) }),
  get: (id: string, signal?: AbortSignal) => api.get<SurveyResponse>(url`/intake/survey_responses/${id}`, signal),
  save: (id: string, answers: Record<string, unknown>, uiState: Record<string, unknown>) =>
    api.patch<SurveyResponse>(url`/intake/survey_responses/${id}`, [
      { op: 'replace', path: '/answers', value: answers },
      { op: 'replace', path: '/ui_state', value: uiState },
    ]),
  submit: (id: string) => api.patch<SurveyResponse>(url`/intake/survey_responses/${id}`, [{ op: 'replace', path: '/status', value: 'submitted' }]),
  notes: (id: string, signal?: AbortSignal) => api.get<ListOf<'triage_notes', TriageNoteItem>>(url`/intake/survey_responses/${id}/triage_notes`, signal),
};

export const triage = {
  queue: (q: { status?: string; limit?: number; offset?: number }, signal?: AbortSignal) => api.get<ListOf<'survey_responses', ResponseItem>>(`/triage/survey_responses${query(q)}`, signal),
  get: (id: string, signal?: AbortSignal) => api.get<SurveyResponse>(url`/triage/survey_responses/${id}`, signal),
  setStatus: (id: string, status: string, revisionNotes?: string) =>
    api.patch<SurveyResponse>(url`/triage/survey_responses/${id}`, [
      ...(revisionNotes ? [{ op: 'replace' as const, path: '/revision_notes', value: revisionNotes }] : []),
      { op: 'replace', path: '/status', value: status },
    ]),
  assign: (id: string, who: { provider: string; provider_id: string } | null) => api.patch<SurveyResponse>(url`/triage/survey_responses/${id}`, [{ op: 'replace', path: '/reviewed_by', value: who }]),
  notes: (id: string, signal?: AbortSignal) => api.get<ListOf<'triage_notes', TriageNoteItem>>(url`/triage/survey_responses/${id}/triage_notes`, signal),
  note: (id: string, noteId: number, signal?: AbortSignal) => api.get<{ content: string }>(`/triage/survey_responses/${encodeURIComponent(id)}/triage_notes/${noteId}`, signal),
  addNote: (id: string, body: { name: string; content: string }) => api.post<{ id: number }>(url`/triage/survey_responses/${id}/triage_notes`, body),
  createThreatModel: (id: string) => api.post<{ threat_model_id: string; survey_response_id: string }>(url`/triage/survey_responses/${id}/create_threat_model`),
};
