// Whether the caller administers this server (built-in group membership or configuration), asked
// only when a rule needs it (authz: listing deleted items, teams and projects, surveys).
import type { Principal } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import type { AdministratorEntry } from '../../config.ts';
import type { Queryable } from '../../store/db.ts';
import { BUILT_IN_GROUPS } from '../../authz/index.ts';

export const administratorCheck = (ctx: AppContext, p: Principal) => () => ctx.users.isAdministrator(p.userUuid, p.idpGroups, p.provider, ctx.config.auth.administrators);

/**
 * The same decision on a given connection: inside a transaction (on PGlite a query on another
 * connection would wait for the transaction forever).
 */
export async function isAdministratorOn(q: Queryable, p: Principal, adminEntries: readonly AdministratorEntry[]): Promise<boolean> {
  if (adminEntries.some((e) => e.subjectType === 'group' && e.provider === p.provider && e.groupName && p.idpGroups.includes(e.groupName))) return true;
  const rows = await q.query('SELECT 1 FROM group_members WHERE group_uuid = $1 AND user_uuid = $2', [BUILT_IN_GROUPS.administrators, p.userUuid]);
  return rows.length > 0;
}
