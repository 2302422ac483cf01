// Access decisions, in one place and free of I/O. A threat model's children inherit its access list.
//
// Rules (reference TMI, tmi-domain-notes §3):
// - the owner of a threat model always has the owner role;
// - otherwise the highest role among matching entries wins: a user entry matches the user; a group
//   entry matches when it is the `everyone` pseudo-group, or when the group is among the caller's
//   groups and the entry's provider is `tmi` (built-in groups) or the caller's identity provider;
// - each action needs a minimum role (ACTION_ROLES).
import { forbidden } from '../http/errors.ts';

export type Role = 'reader' | 'writer' | 'owner';

export const ROLE_RANK: Record<Role, number> = { reader: 1, writer: 2, owner: 3 };

export const EVERYONE = { provider: 'tmi', groupName: 'everyone' } as const;

export interface AccessEntry {
  subject_type: 'user' | 'group';
  /** Internal id of a user entry. */
  user_uuid?: string | null;
  /** Provider of the user or group. */
  provider: string;
  /** Group name for groups; the provider's user id for users. */
  provider_id: string;
  role: Role;
}

export interface AccessSubject {
  userUuid: string;
  provider: string;
  groups: readonly string[];
}

export interface AccessControlled {
  owner_uuid: string;
  access: readonly AccessEntry[];
}

export function entryMatches(entry: AccessEntry, who: AccessSubject): boolean {
  if (entry.subject_type === 'user') return entry.user_uuid === who.userUuid;
  if (entry.provider === EVERYONE.provider && entry.provider_id === EVERYONE.groupName) return true;
  return who.groups.includes(entry.provider_id) && (entry.provider === 'tmi' || entry.provider === who.provider);
}

export function effectiveRole(tm: AccessControlled, who: AccessSubject): Role | null {
  if (tm.owner_uuid === who.userUuid) return 'owner';
  let best: Role | null = null;
  for (const entry of tm.access) {
    if (entryMatches(entry, who) && (!best || ROLE_RANK[entry.role] > ROLE_RANK[best])) best = entry.role;
  }
  return best;
}

/** The minimum role on the threat model for each action of the API. */
export const ACTION_ROLES = {
  read: 'reader',
  collaborate: 'reader',
  write: 'writer',
  /** Deleting a threat model or a diagram. */
  delete: 'owner',
  /** Changing owner or authorization. */
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
