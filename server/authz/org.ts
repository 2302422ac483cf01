// Access to teams, projects and their notes and metadata, as data (reference tmi-admin-review-notes
// §1.2, with the fixes of §1.8): administrators may do everything; otherwise each action names who
// may do it. `member`: member of the team (for a project: of the project's team). `creator`: the
// team's creator (for a project: the project's creator or its team's creator). Metadata follows
// the parent (the reference lets anyone write it). Non-sharable notes and the `sharable` flag
// belong to `privileged` callers: administrators and security reviewers.
import { forbidden } from '../http/errors.ts';
import { BUILT_IN_GROUPS } from './index.ts';

export type UnitAction = 'read' | 'update' | 'delete' | 'write_notes' | 'read_metadata' | 'write_metadata' | 'create_project_in';
export type UnitStanding = 'member' | 'creator';

export const UNIT_RULES: Record<UnitAction, UnitStanding> = {
  read: 'member',
  update: 'member',
  delete: 'creator',
  write_notes: 'member',
  read_metadata: 'member',
  write_metadata: 'member',
  create_project_in: 'member',
};

export interface UnitCaller {
  administrator: boolean;
  /** Member of the team (for a project: of its current team). */
  member: boolean;
  /** Created the team (for a project: the project or its team). */
  creator: boolean;
}

export function mayOnUnit(action: UnitAction, c: UnitCaller): boolean {
  if (c.administrator) return true;
  const need = UNIT_RULES[action];
  return need === 'member' ? c.member || c.creator : c.creator;
}

const MESSAGES: Record<UnitAction, string> = {
  read: 'You must be a team member or administrator to view this',
  update: 'You must be a team member or administrator to update this',
  delete: 'You must be the creator or an administrator to delete this',
  write_notes: 'You must be a team member or administrator to change notes',
  read_metadata: 'You must be a team member or administrator to view this',
  write_metadata: 'You must be a team member or administrator to change metadata',
  create_project_in: 'You must be a member of the team to create or move a project in it',
};

export function authorizeUnit(action: UnitAction, c: UnitCaller): void {
  if (!mayOnUnit(action, c)) throw forbidden(MESSAGES[action]);
}

/** Administrators and security reviewers see non-sharable notes and set `sharable`. */
export function isPrivileged(tmiGroupIds: readonly string[], administrator: boolean): boolean {
  return administrator || tmiGroupIds.includes(BUILT_IN_GROUPS.securityReviewers);
}
