// Admission to the diagram socket, before the upgrade: the single-use ticket from /ws/ticket (the
// only credential a browser socket can carry), the read access it needs, and the connection caps.
import type { Principal } from '../auth/authenticate.ts';
import { newSecretToken } from '../auth/secret-token.ts';
import type { CollabSettings } from '../config.ts';
import type { AppContext } from '../context.ts';
import { ApiError } from '../http/errors.ts';
import type { Participant } from '../../contract/collab.ts';
import * as store from './store.ts';

/**
 * The access token (`jti`) and sign-in session (`sid`) a live connection was opened with: revoking
 * either ends the connection.
 */
export interface Credential {
  jti: string;
  sid?: string;
}

export const credentialOf = (p: Principal): Credential => ({ jti: p.claims.jti, ...(p.claims.sid ? { sid: p.claims.sid } : {}) });

/** What a ticket binds: the user (with their groups when it was issued), the credential and the session. */
export interface TicketClaims extends Pick<Principal, 'userUuid' | 'provider' | 'providerId' | 'email' | 'name' | 'idpGroups' | 'tmiGroupIds'> {
  credential: Credential;
  sessionId: string;
}

export type Permissions = Participant['permissions'];

/** A Principal for access checks from a ticket (only identity and groups are consulted). */
export function principalOf(c: TicketClaims): Principal {
  const { userUuid, provider, providerId, email, name, idpGroups, tmiGroupIds } = c;
  return { userUuid, provider, providerId, email, name, idpGroups, tmiGroupIds, claims: {} as Principal['claims'], token: '' };
}

export const permissionsOf = (role: string): Permissions => (role === 'reader' ? 'reader' : 'writer');

export type CapRefusal = 'too_many_connections' | 'session_full';

export class Tickets {
  constructor(
    private readonly ctx: Pick<AppContext, 'db' | 'shared' | 'sessions' | 'threatModels'>,
    private readonly settings: CollabSettings,
  ) {}

  async issue(claims: TicketClaims): Promise<string> {
    const ticket = newSecretToken();
    await this.ctx.shared.kv.set(`ws_ticket:${ticket}`, JSON.stringify(claims), this.settings.ticketSeconds);
    return ticket;
  }

  /** The ticket's claims, used up; null when unknown, spent, expired, or its credential was revoked since. */
  async redeem(ticket: string): Promise<TicketClaims | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(ticket)) return null;
    const raw = await this.ctx.shared.kv.take(`ws_ticket:${ticket}`);
    if (!raw) return null;
    const claims = JSON.parse(raw) as TicketClaims;
    if (!claims.credential?.jti) return null;
    return (await this.ctx.sessions.isRevoked(claims.credential.jti, claims.credential.sid)) ? null : claims;
  }

  /** The socket's permissions on the threat model: 403/404 without read access. */
  async permissionsOn(claims: TicketClaims, tmId: string): Promise<Permissions> {
    const { role } = await this.ctx.threatModels.accessTo(principalOf(claims), tmId, 'read');
    return permissionsOf(role);
  }

  /**
   * Refusals before the upgrade (HTTP 429), as the reference's connection caps. The join checks
   * again atomically as it registers the socket, for joins that race past this check together.
   */
  async checkCaps(claims: TicketClaims): Promise<void> {
    const refused = await store.capRefusal(this.ctx.db, claims.userUuid, claims.sessionId, this.settings);
    if (refused) throw new ApiError(429, refused, this.capMessage(refused), { 'retry-after': refused === 'too_many_connections' ? '60' : '30' });
  }

  capMessage(refused: CapRefusal): string {
    return refused === 'too_many_connections'
      ? `At most ${this.settings.maxSocketsPerUser} collaboration connections per user`
      : `This session already has ${this.settings.maxParticipants} participants`;
  }
}
