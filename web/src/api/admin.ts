// Administration and the caller's own account (server/admin): users, groups, the system audit log,
// organisation rule packs (server/resources/suggestions), preferences, account deletion.
import type { Static } from 'typebox';
import type {
  AdminGroup,
  AdminUser,
  DeletionChallenge,
  DeletionPlan,
  GroupMember,
  MyGroupList,
  ReencryptResult,
  SystemSetting,
  SystemSettingUpdate,
  TransferOwnershipResult,
} from '../../../contract/admin.ts';
import type { RulePackDetail as RulePackDetailSchema, RulePackSummary } from '../../../contract/suggestions.ts';
import { api, query, request, url } from './client.ts';

export type { AdminUser, AdminGroup, DeletionPlan, GroupMember, ReencryptResult, RulePackSummary, SystemSetting, SystemSettingUpdate };
export type RulePackDetail = Static<typeof RulePackDetailSchema>;
export type Challenge = Static<typeof DeletionChallenge>;

export interface SystemAuditEntry {
  id: string;
  actor: { email: string; provider: string; provider_id: string; display_name: string };
  http_method: string;
  http_path: string;
  field_path: string;
  old_value_redacted: string | null;
  new_value_redacted: string | null;
  change_summary: string | null;
  created_at: string;
  action?: string;
  target_type?: string;
  target_id?: string | null;
}

export const admin = {
  users: (q: { q?: string; is_admin?: boolean; active?: boolean; limit?: number; offset?: number }, signal?: AbortSignal) =>
    api.get<{ users: AdminUser[]; total: number; limit: number; offset: number }>(`/admin/users${query({ ...q, sort_by: 'name', sort_order: 'asc' })}`, signal),
  user: (id: string, signal?: AbortSignal) => api.get<AdminUser>(url`/admin/users/${id}`, signal),
  updateUser: (id: string, body: { name?: string; is_admin?: boolean; active?: boolean }) => request<AdminUser>('PATCH', url`/admin/users/${id}`, { body }),
  deletionPlan: (id: string, transferTo?: string, signal?: AbortSignal) => api.get<DeletionPlan>(url`/admin/users/${id}/deletion_plan` + query({ transfer_to: transferTo }), signal),
  deleteUser: (id: string, transferTo?: string) => api.del(url`/admin/users/${id}` + query({ transfer_to: transferTo })),
  transfer: (id: string, target: string) => api.post<TransferOwnershipResult>(url`/admin/users/${id}/transfer`, { target_user_id: target }),
  groups: (q: { group_name?: string }, signal?: AbortSignal) => api.get<{ groups: AdminGroup[]; total: number }>(`/admin/groups${query({ ...q, limit: 200 })}`, signal),
  createGroup: (body: { group_name: string; name: string; description?: string }) => api.post<AdminGroup>('/admin/groups', body),
  deleteGroup: (id: string) => api.del(url`/admin/groups/${id}`),
  members: (id: string, signal?: AbortSignal) => api.get<{ members: GroupMember[]; total: number }>(url`/admin/groups/${id}/members` + query({ limit: 200 }), signal),
  addMember: (id: string, user: string) => api.post<GroupMember>(url`/admin/groups/${id}/members`, { user_internal_uuid: user }),
  removeMember: (id: string, user: string) => api.del(url`/admin/groups/${id}/members/${user}`),
  audit: (q: { actor_email?: string; path_prefix?: string; field_path?: string; action?: string; cursor?: string }, signal?: AbortSignal) =>
    api.get<{ entries: SystemAuditEntry[]; total: number; next_cursor: string | null }>(`/admin/audit/system${query({ ...q, limit: 50 })}`, signal),
  /** Runtime settings; secret values come back as <configured> / <not configured>. */
  settings: (signal?: AbortSignal) => api.get<SystemSetting[]>('/admin/settings', signal),
  saveSetting: (key: string, body: SystemSettingUpdate) => api.put<SystemSetting>(url`/admin/settings/${key}`, body),
  deleteSetting: (key: string) => api.del(url`/admin/settings/${key}`),
  /** Seals every stored setting with the current key (no body: the server refuses one). */
  reencryptSettings: () => request<ReencryptResult>('POST', '/admin/settings/reencrypt'),
  rulePacks: (signal?: AbortSignal) => api.get<{ rule_packs: RulePackSummary[]; total: number }>('/admin/rule_packs', signal),
  rulePack: (id: string, signal?: AbortSignal) => api.get<RulePackDetail>(url`/admin/rule_packs/${id}`, signal),
  /** The pack as parsed JSON; the server validates it in full (400 `invalid_rule_pack` lists every problem). */
  uploadRulePack: (pack: unknown) => api.post<RulePackDetail>('/admin/rule_packs', pack),
  replaceRulePack: (id: string, pack: unknown) => api.put<RulePackDetail>(url`/admin/rule_packs/${id}`, pack),
  deleteRulePack: (id: string) => api.del(url`/admin/rule_packs/${id}`),
};

export type Theme = 'light' | 'dark' | 'auto';
/** This app's entry in /me/preferences (other clients keep theirs). */
export const PREFERENCES_CLIENT = 'tmi-ts';

export const account = {
  preferences: (signal?: AbortSignal) => api.get<Record<string, Record<string, unknown>>>('/me/preferences', signal),
  savePreferences: (prefs: Record<string, Record<string, unknown>>) => api.put<Record<string, Record<string, unknown>>>('/me/preferences', prefs),
  groups: (signal?: AbortSignal) => api.get<Static<typeof MyGroupList>>('/me/groups', signal),
  askDeletion: (transferTo?: string) => request<Challenge>('DELETE', '/me' + query({ transfer_to: transferTo })),
  confirmDeletion: (challenge: string, transferTo?: string) => request<void>('DELETE', '/me' + query({ challenge, transfer_to: transferTo })),
};

/** Applies a theme to the page (`auto` follows the system's light or dark setting). */
export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}
