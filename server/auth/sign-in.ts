// Signing a person in and keeping them signed in: the account for a provider identity, the
// built-in groups that configuration grants, the refresh session, and the tokens minted for it.
// The OAuth routes call it after a provider vouched for the identity; tests call it directly.
import type { Config } from '../config.ts';
import { ApiError } from '../http/errors.ts';
import { metrics } from '../observability/metrics.ts';
import type { ProviderIdentity } from './providers/provider.ts';
import type { RefreshSession, SessionService } from './sessions.ts';
import type { TokenService, TokenSubject } from './tokens.ts';
import type { UserRecord, UserService } from './users.ts';

/** What a successful sign-in or refresh hands to the client. */
export interface TokenGrant {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export class SignInService {
  constructor(
    private readonly config: Config,
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly tokens: TokenService,
  ) {}

  /** Signs in an identity a provider vouched for: account, configured roles, a new session. */
  async signIn(identity: ProviderIdentity): Promise<TokenGrant & { user: UserRecord }> {
    const user = await this.users.signIn(identity);
    await this.users.applyConfiguredAdministrator(this.config.auth.administrators, user);
    if (this.config.auth.autoPromoteFirstUser) await this.users.promoteIfFirst(user.internal_uuid);
    const { session, refreshToken } = await this.sessions.start(user.internal_uuid, identity.groups);
    metrics.signIn(identity.provider, 'success');
    return { ...(await this.mint(session, refreshToken)), user };
  }

  /** Rotates a refresh token; null when it is unknown, spent, revoked or past the session's lifetime. */
  async refresh(refreshToken: string): Promise<TokenGrant | null> {
    const result = await this.sessions.rotate(refreshToken);
    return result.ok ? this.mint(result.session, result.refreshToken) : null;
  }

  private async mint(session: RefreshSession, refreshToken: string): Promise<TokenGrant> {
    const subject = await this.subjectFor(session.userUuid, session.idpGroups ?? []);
    const { token } = await this.tokens.sign(subject, { sessionId: session.sessionId, authTime: session.authTime });
    return { accessToken: token, refreshToken, expiresIn: this.config.jwt.expirationSeconds };
  }

  private async subjectFor(userUuid: string, idpGroups: string[]): Promise<TokenSubject> {
    const user = await this.users.byUuid(userUuid);
    if (!user || !user.provider_user_id) throw new ApiError(400, 'invalid_grant', 'The refresh token is invalid or expired.');
    const m = await this.users.builtInMemberships(userUuid);
    const reviewer = m.isSecurityReviewer || this.config.auth.everyoneIsAReviewer;
    return {
      provider: user.provider,
      providerUserId: user.provider_user_id,
      email: user.email,
      emailVerified: user.email_verified,
      name: user.name,
      groups: [...new Set([...idpGroups, ...m.groups, ...(reviewer ? ['security-reviewers'] : [])])],
      isAdministrator: m.isAdministrator,
      isSecurityReviewer: reviewer,
    };
  }
}
