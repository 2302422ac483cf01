// Live access of open sockets: a socket is bound to the credential that opened it and to its user's
// read access on the threat model. Revoking the credential closes it with 4401, losing read access
// with 4403; a changed role changes its permissions. Checked when the store announces a change
// (revocation, a threat model's access list) and again on every ping, should an announcement have
// been lost.
import type { AppContext } from '../context.ts';
import type { Role } from '../authz/index.ts';
import { CLOSE } from '../../contract/collab.ts';
import type { Connection } from './session.ts';
import { permissionsOf, principalOf, type Credential } from './tickets.ts';

/**
 * How many models recheckAll checks at a time (and how many notification sockets the heartbeat
 * does). Each takes a pooled database connection (and the revocation store), and all of an
 * instance's sockets are checked on every ping: run all at once, they took every connection of the
 * pool, the pool opened new ones (cold, slow to plan their first queries), and a live edit arriving
 * then waited 100-200 ms for a connection (bench:collab, the slowest 1%; docs/performance.md). Two
 * at a time was too few: with 500 sockets an instance (bench:sessions), a round of checks took up
 * to 4.4 s and live edits' p50 rose to 70-1,100 ms from 16-45 ms; eight measured 23-46 ms.
 */
export const CHECKS_AT_ONCE = 8;

/** What a check found: the credential revoked, and the user's role on the model (null: none; 'unknown': could not tell). */
interface Verdict {
  revoked: boolean;
  role: Role | null | 'unknown';
}

export class LiveAccess {
  constructor(private readonly ctx: Pick<AppContext, 'sessions' | 'threatModels'>) {}

  /** False when the revocation store cannot answer: the socket stays until a check succeeds. */
  credentialRevoked(credential: Credential): Promise<boolean> {
    return this.ctx.sessions.isRevoked(credential.jti, credential.sid).catch(() => false);
  }

  /**
   * Re-checks one socket: credential revoked → close 4401, read access lost → close 4403, both at
   * once; role changed → new permissions. A check that cannot be made leaves the socket as it is.
   */
  recheck(c: Connection): Promise<void> {
    return this.recheckAll([c]);
  }

  /**
   * Re-checks many sockets as recheck does: per model, one read of its access list for all the
   * sockets open on it, and one look at the revocation store per credential and user (a user's
   * tabs share it); CHECKS_AT_ONCE models at a time.
   */
  async recheckAll(conns: Iterable<Connection>): Promise<void> {
    const models = new Map<string, Map<string, Connection[]>>();
    for (const c of conns) {
      if (c.closed) continue;
      const { credential, userUuid, provider, providerId, email, idpGroups, tmiGroupIds } = c.claims;
      const key = JSON.stringify([credential.jti, credential.sid, userUuid, provider, providerId, email, idpGroups, tmiGroupIds]);
      let callers = models.get(c.session.tmId);
      if (!callers) models.set(c.session.tmId, (callers = new Map()));
      const same = callers.get(key);
      if (same) same.push(c);
      else callers.set(key, [c]);
    }
    await forEachAtMost([...models], CHECKS_AT_ONCE, async ([tmId, callers]) => {
      const groups = [...callers.values()];
      const [roles, revoked] = await Promise.all([
        this.ctx.threatModels.rolesAmong(tmId, groups, (g) => principalOf(g[0]!.claims)).catch((): 'unknown'[] => groups.map(() => 'unknown')),
        Promise.all(groups.map((g) => this.credentialRevoked(g[0]!.claims.credential))),
      ]);
      await Promise.all(groups.flatMap((g, i) => g.map((c) => this.apply(c, { revoked: revoked[i]!, role: roles[i]! }))));
    });
  }

  private async apply(c: Connection, { revoked, role }: Verdict): Promise<void> {
    if (c.closed) return;
    if (revoked) return c.drop(CLOSE.sessionRevoked, 'session revoked');
    if (role === 'unknown') return;
    if (role === null) return c.drop(CLOSE.accessRevoked, 'access revoked');
    const permissions = permissionsOf(role);
    if (permissions !== c.permissions) {
      await c.session.setPermissions(c, permissions);
      await c.session.announceParticipants();
    }
  }
}

/** Runs `work` on each item, at most `atOnce` at a time. */
export async function forEachAtMost<T>(items: readonly T[], atOnce: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, worker));
}

/** Whether a revoked token id or sign-in session id is the one `credential` was opened with. */
export const openedWith = (credential: Credential, revokedId: string) => credential.jti === revokedId || credential.sid === revokedId;
