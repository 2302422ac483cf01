// Access decisions, in one place and free of I/O. A threat model's children inherit its access list.
//
// Rules (reference TMI, tmi-domain-notes §3, with the fixes in docs/security.md):
// - the owner of a threat model always has the owner role;
// - otherwise the highest role among matching entries wins: a user entry matches the user; a group
//   entry matches when it is the `everyone` pseudo-group; a group of provider `tmi` (the built-in
//   groups and other TMI groups) matches only members TMI itself records (`tmiGroupIds`: database
//   memberships and configuration), never a group name an identity provider sent; any other group
//   matches the provider's group names (`idpGroups`) of callers of that same provider;
// - each action needs a minimum role (ACTION_ROLES).
import { forbidden } from '../http/errors.ts';

export type Role = 'reader' | 'writer' | 'owner';

export const ROLE_RANK: Record<Role, number> = { reader: 1, writer: 2, owner: 3 };

/** The provider of TMI's own groups (and of the development identity provider, which has no groups). */
export const TMI_PROVIDER = 'tmi';

export const EVERYONE = { provider: TMI_PROVIDER, groupName: 'everyone' } as const;

/** The reference's built-in groups (provider `tmi`) with its well-known ids. */
export const BUILT_IN_GROUPS = {
  everyone: '00000000-0000-0000-0000-000000000000',
  securityReviewers: '00000000-0000-0000-0000-000000000001',
  administrators: '00000000-0000-0000-0000-000000000002',
  confidentialProjectReviewers: '00000000-0000-0000-0000-000000000003',
  tmiAutomation: '00000000-0000-0000-0000-000000000004',
} as const;

export interface AccessEntry {
  subject_type: 'user' | 'group';
  /** Internal id of a user entry. */
  user_uuid?: string | null;
  /** Internal id of a group entry. */
  group_uuid?: string | null;
  /** Provider of the user or group. */
  provider: string;
  /** Group name for groups; the provider's user id for users. */
  provider_id: string;
  role: Role;
}

export interface AccessSubject {
  userUuid: string;
  provider: string;
  /** Group names the caller's identity provider asserted; they name groups of that provider only. */
  idpGroups: readonly string[];
  /** Ids of the TMI groups the caller belongs to, as TMI records them. */
  tmiGroupIds: readonly string[];
}

export interface AccessControlled {
  owner_uuid: string;
  access: readonly AccessEntry[];
}

export function entryMatches(entry: AccessEntry, who: AccessSubject): boolean {
  if (entry.subject_type === 'user') return entry.user_uuid === who.userUuid;
  if (entry.provider !== TMI_PROVIDER) return entry.provider === who.provider && who.idpGroups.includes(entry.provider_id);
  if (entry.provider_id === EVERYONE.groupName) return true;
  return typeof entry.group_uuid === 'string' && who.tmiGroupIds.includes(entry.group_uuid);
}

export function effectiveRole(tm: AccessControlled, who: AccessSubject): Role | null {
  if (tm.owner_uuid === who.userUuid) return 'owner';
  let best: Role | null = null;
  for (const entry of tm.access) {
    if (entryMatches(entry, who) && (!best || ROLE_RANK[entry.role] > ROLE_RANK[best])) best = entry.role;
  }
  return best;
}

/** Membership of the built-in group that TMI consults beyond roles (status, reviewer assignment). */
export function isSecurityReviewer(who: Pick<AccessSubject, 'tmiGroupIds'>): boolean {
  return who.tmiGroupIds.includes(BUILT_IN_GROUPS.securityReviewers);
}

/**
 * The minimum role on the threat model for each action of the API.
 *
 * Who changes access: only the owner. `share` covers every change that decides who has which role
 * on a model: the access list (PUT or PATCH `authorization`), the `owner`, and the
 * `security_reviewer` field, because assigning a reviewer gives that person an owner entry and
 * clearing one lifts the protection of that entry. Assigning a reviewer further needs membership
 * of `security-reviewers` (the reference's rule); clearing does not. A writer, a reader, or a
 * security reviewer who is only a writer or reader on the model can change none of these, for
 * anyone, themselves included. Setting `status` needs `write` and membership of
 * `security-reviewers`.
 */
export const ACTION_ROLES = {
  read: 'reader',
  collaborate: 'reader',
  write: 'writer',
  /** Deleting a threat model or a diagram. */
  delete: 'owner',
  /** Changing who has access: authorization, owner, security reviewer. */
  share: 'owner',
  restore: 'owner',
  rollback: 'owner',
  /** Listing soft-deleted children. */
  include_deleted: 'owner',
} as const satisfies Record<string, Role>;

export type Action = keyof typeof ACTION_ROLES;

export function can(role: Role | null, action: Action): boolean {
  return role !== null && ROLE_RANK[role] >= ROLE_RANK[ACTION_ROLES[action]];
}

/** Throws 403 unless the role allows the action. */
export function authorize(role: Role | null, action: Action): void {
  if (!can(role, action)) throw forbidden();
}
