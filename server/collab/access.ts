// Live access of open sockets: a socket is bound to the credential that opened it and to its user's
// read access on the threat model. Revoking the credential closes it with 4401, losing read access
// with 4403; a changed role changes its permissions. Checked when the store announces a change
// (revocation, a threat model's access list) and again on every ping, should an announcement have
// been lost.
import type { AppContext } from '../context.ts';
import { ApiError } from '../http/errors.ts';
import { CLOSE } from '../../contract/collab.ts';
import type { Connection } from './session.ts';
import { permissionsOf, principalOf, type Credential } from './tickets.ts';

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
  async recheck(c: Connection): Promise<void> {
    if (c.closed) return;
    const [revoked, role] = await Promise.all([
      this.credentialRevoked(c.claims.credential),
      this.ctx.threatModels
        .accessTo(principalOf(c.claims), c.session.tmId, 'read')
        .then((a) => a.role)
        .catch((err: unknown) => (err instanceof ApiError && (err.status === 403 || err.status === 404) ? null : 'unknown')),
    ]);
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

/** Whether a revoked token id or sign-in session id is the one `credential` was opened with. */
export const openedWith = (credential: Credential, revokedId: string) => credential.jti === revokedId || credential.sid === revokedId;
