// Access decisions, in one place and free of I/O. A threat model's children inherit its access list.
//
// Rules (reference TMI, with the fixes in docs/security.md):
// - the owner of a threat model always has the owner role;
// - otherwise the highest role among matching entries wins: a user entry matches the user; a group
//   entry matches when it is the `everyone` pseudo-group; a group of provider `tmi` (the built-in
//   groups and other TMI groups) matches only members TMI itself records (`tmiGroupIds`: database
//   memberships and configuration), never a group name an identity provider sent; any other group
//   matches the provider's group names (`idpGroups`) of callers of that same provider;
// - each action needs a minimum role (ACTION_ROLES); a few abilities need more (BEYOND_ROLES), and
//   the fields that decide access or workflow need one of them (FIELD_GUARDS).
// The services ask these functions; the web app gets their answers (GET /threat_models/{id}/permissions)
// instead of deciding again.
import { forbidden } from '../http/errors.ts';
import { EVERYONE_GROUP, TMI_GROUP_PROVIDER } from '../../contract/limits.ts';
import type { Ability } from '../../contract/threat-models.ts';

export type { Ability };

export type Role = 'reader' | 'writer' | 'owner';

export const ROLE_RANK: Record<Role, number> = { reader: 1, writer: 2, owner: 3 };

/** The provider of TMI's own groups (and of the development identity provider, which has no groups). */
export const TMI_PROVIDER = TMI_GROUP_PROVIDER;

export const EVERYONE = { provider: TMI_PROVIDER, groupName: EVERYONE_GROUP } as const;

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

/** Members of the built-in `tmi-automation` group are automation; what they create is marked auto_generated. */
/** A member of the built-in `confidential-project-reviewers` group. */
export function isConfidentialProjectReviewer(who: Pick<AccessSubject, 'tmiGroupIds'>): boolean {
  return who.tmiGroupIds.includes(BUILT_IN_GROUPS.confidentialProjectReviewers);
}

/** Whether TMI records the caller as a member of the group (built-in or TMI-managed; never from a token's claims). */
export function isTmiGroupMember(who: Pick<AccessSubject, 'tmiGroupIds'>, groupUuid: string): boolean {
  return who.tmiGroupIds.includes(groupUuid);
}

export function isAutomation(who: Pick<AccessSubject, 'tmiGroupIds'>): boolean {
  return who.tmiGroupIds.includes(BUILT_IN_GROUPS.tmiAutomation);
}

/** The ids of the models an access entry gives the caller (see READABLE_BY_CALLER_SQL), by the access indexes. */
const SHARED_WITH_CALLER_IDS = `SELECT a.threat_model_id FROM threat_model_access a WHERE a.user_uuid = $1 AND NOT a.owner_entry
    UNION ALL
    SELECT a.threat_model_id FROM threat_model_access a
    WHERE a.group_uuid = ANY(ARRAY(
      SELECT g.internal_uuid FROM groups g
      WHERE (g.provider = '${TMI_PROVIDER}' AND g.group_name = '${EVERYONE.groupName}')
         OR (g.provider = '${TMI_PROVIDER}' AND g.internal_uuid = ANY($4::uuid[]))
         OR (g.provider <> '${TMI_PROVIDER}' AND g.provider = $2 AND g.group_name = ANY($3::text[]))))`;

/**
 * SQL conditions on threat model `tm`, in two disjoint parts whose union is what the caller ($1
 * user id, $2 provider, $3 IdP group names, $4 TMI group ids) can read: `owned`, their own models,
 * and `shared`, the others an access entry gives them (their user entries and the entries of the
 * groups they match). The same rules as `entryMatches` and `effectiveRole`, for lists, which cannot
 * decide row by row; change both together.
 *
 * A list selects each part on its own (UNION ALL), so it costs what the caller can see, not what
 * the database holds (one condition tested on every model read every model and every access entry;
 * docs/performance.md, scale of data): `owned` by the owner index; `shared` as the ids the access
 * indexes find (a model named twice is harmless in `= ANY`), looked up by primary key;
 * `= ANY(ARRAY(...))` keeps the planner to that lookup. `sharedAmongOwners` is `shared` for a list
 * already narrowed to some owners' models by the owner index: their entries there are tested
 * against the set of ids (a hash), which spares a primary-key lookup per model shared with the
 * caller. The caller's own models are left to `owned`: the entry naming a model's owner is marked
 * `owner_entry` (kept by trigger, migration 0100) and skipped by its own index, so a person with
 * many models does not read an entry per own model.
 */
export const READABLE_BY_CALLER_SQL = {
  owned: 'tm.owner_uuid = $1',
  shared: `tm.owner_uuid <> $1 AND tm.id = ANY(ARRAY(${SHARED_WITH_CALLER_IDS}))`,
  sharedAmongOwners: `tm.owner_uuid <> $1 AND tm.id IN (${SHARED_WITH_CALLER_IDS})`,
} as const;

/** The parameters READABLE_BY_CALLER_SQL expects, in order. */
export const readableByCallerParams = (who: AccessSubject): unknown[] => [who.userUuid, who.provider, who.idpGroups, who.tmiGroupIds];

/**
 * The minimum role on the threat model for each action of the API.
 *
 * Who changes access: only the owner. `share` covers every change that decides who has which role
 * on a model: the access list (PUT or PATCH `authorization`), the `owner`, and the
 * `security_reviewer` field, because assigning a reviewer gives that person an owner entry and
 * clearing one lifts the protection of that entry. A writer, a reader, or a security reviewer who
 * is only a writer or reader on the model can change none of these, for anyone, themselves
 * included.
 */
export const ACTION_ROLES = {
  read: 'reader',
  collaborate: 'reader',
  write: 'writer',
  /** Deleting a threat model or a diagram (writers delete the other kinds of children). */
  delete: 'owner',
  /** Changing who has access: authorization, owner, security reviewer. */
  share: 'owner',
  restore: 'owner',
  rollback: 'owner',
} as const satisfies Partial<Record<Ability, Role>>;

export type Action = keyof typeof ACTION_ROLES;

/**
 * What needs more than a role on the model:
 * - `list_deleted`: listing soft-deleted items (`include_deleted`) needs the owner role on the
 *   threat model they belong to, or an administrator. The list of threat models belongs to no
 *   model, so there it is administrators only.
 * - `change_status`: setting a threat model's `status` needs `write` and membership of
 *   `security-reviewers`.
 * - `assign_security_reviewer`: assigning someone as `security_reviewer` needs `share` and
 *   membership of `security-reviewers` (the reference's rule); clearing one needs `share` only.
 */
export const BEYOND_ROLES = {
  list_deleted: { role: 'owner', orAdministrator: true },
  change_status: { role: 'writer', securityReviewer: true },
  assign_security_reviewer: { role: 'owner', securityReviewer: true },
} as const satisfies Record<Exclude<Ability, Action>, { role: Role; orAdministrator?: true; securityReviewer?: true }>;

/**
 * The threat-model fields a writer may not change alone, and the ability each needs. A change of
 * `security_reviewer` to another person needs `assign_security_reviewer` besides.
 */
export const FIELD_GUARDS = {
  owner: 'share',
  authorization: 'share',
  security_reviewer: 'share',
  status: 'change_status',
} as const satisfies Record<string, Ability>;

export type GuardedField = keyof typeof FIELD_GUARDS;

/** Who asks, as far as the rules beyond roles care. */
export interface Standing {
  securityReviewer: boolean;
  administrator: boolean;
}

const ranks = (role: Role | null, min: Role) => role !== null && ROLE_RANK[role] >= ROLE_RANK[min];

export function can(role: Role | null, action: Action): boolean {
  return ranks(role, ACTION_ROLES[action]);
}

/** Whether a caller with this role (null: none, or no model) and standing has the ability. */
export function may(ability: Ability, role: Role | null, standing: Partial<Standing>): boolean {
  if (Object.hasOwn(ACTION_ROLES, ability)) return can(role, ability as Action);
  const rule: { role: Role; orAdministrator?: true; securityReviewer?: true } = BEYOND_ROLES[ability as Exclude<Ability, Action>];
  if (rule.orAdministrator && standing.administrator) return true;
  return ranks(role, rule.role) && (!rule.securityReviewer || Boolean(standing.securityReviewer));
}

/** Every ability at once (what the server tells a client the caller may do; the contract lists the same). */
export function abilities(role: Role | null, standing: Standing): Record<Ability, boolean> {
  const all = [...Object.keys(ACTION_ROLES), ...Object.keys(BEYOND_ROLES)] as Ability[];
  return Object.fromEntries(all.map((a) => [a, may(a, role, standing)])) as Record<Ability, boolean>;
}

/** Throws 403 unless the role allows the action. */
export function authorize(role: Role | null, action: Action, message?: string): void {
  if (!can(role, action)) throw forbidden(message);
}

/**
 * Throws 403 unless the caller may list deleted items: of the threat model they hold `role` on,
 * or, without `role`, of all threat models. The administrator check is asked only when it matters.
 */
export async function authorizeListDeleted(role: Role | undefined, isAdministrator: () => Promise<boolean>): Promise<'role' | 'administrator'> {
  if (may('list_deleted', role ?? null, {})) return 'role';
  if (await isAdministrator()) return 'administrator';
  throw forbidden(
    role === undefined
      ? 'The include_deleted parameter requires admin role'
      : 'The include_deleted parameter requires the owner role on the threat model or the admin role',
  );
}

const REVIEWER_ONLY = (field: string) => `Field '${field}' may only be modified by a security reviewer or a service account`;

/** Throws 403 unless the caller may change this threat-model field. */
export function authorizeField(field: GuardedField, role: Role | null, standing: Pick<Standing, 'securityReviewer'>): void {
  const ability = FIELD_GUARDS[field];
  if (may(ability, role, standing)) return;
  throw forbidden(ability === 'share' ? `Field '${field}' may only be modified by the resource owner` : REVIEWER_ONLY(field));
}

/** Throws 403 unless the caller may make someone the security reviewer (after `authorizeField`). */
export function authorizeReviewerAssignment(role: Role | null, standing: Pick<Standing, 'securityReviewer'>): void {
  if (!may('assign_security_reviewer', role, standing)) throw forbidden(REVIEWER_ONLY('security_reviewer'));
}
