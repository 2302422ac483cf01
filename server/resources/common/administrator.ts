// Whether the caller administers this server (built-in group membership or configuration), asked
// only when a rule needs it (authz: listing deleted items).
import type { Principal } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';

export const administratorCheck = (ctx: AppContext, p: Principal) => () => ctx.users.isAdministrator(p.userUuid, p.idpGroups, p.provider, ctx.config.auth.administrators);
