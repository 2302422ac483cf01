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
import { CREDENTIAL_SESSION_PREFIX, SERVICE_ACCOUNT_PREFIX, type AuthenticatedClient } from './client-credentials.ts';
import { securityEvent, signInFailed } from '../security-events.ts';
import { recordSystemAudit } from '../admin/system-audit.ts';

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
  async signIn(identity: ProviderIdentity): Promise<TokenGrant & { user: UserRecord; sessionId: string }> {
    const who = { provider: identity.provider, provider_id: identity.providerUserId };
    const user = await this.users.signIn(identity).catch((err: unknown) => {
      throw signInFailed(err, who);
    });
    await this.users.applyConfiguredAdministrator(this.config.auth.administrators, user);
    if (this.config.auth.autoPromoteFirstUser) await this.users.promoteIfFirst(user);
    // The token names the account's own provider, and a provider's group names only ever match
    // access entries of that provider: groups asserted through a linked identity of another
    // provider are not carried.
    const groups = identity.provider === user.provider ? identity.groups : [];
    const { session, refreshToken } = await this.sessions.start(user.internal_uuid, groups);
    const grant = await this.mint(session, refreshToken);
    metrics.signIn(identity.provider, 'success');
    securityEvent('auth.signin.success', { ...who, user_uuid: user.internal_uuid, session_id: session.sessionId });
    if (await this.users.isAdministrator(user.internal_uuid, groups, user.provider, this.config.auth.administrators)) {
      // An administrator's sign-in is part of the system audit log (issue 14).
      await recordSystemAudit(this.users.db, {
        actor: { userUuid: user.internal_uuid, email: user.email, provider: user.provider, providerId: user.provider_user_id ?? '', name: user.name },
        action: 'admin.signed_in',
        method: 'POST',
        path: '/oauth2/token',
        targetType: 'user',
        targetId: user.internal_uuid,
        fieldPath: `users.${user.internal_uuid}.sign_in`,
        after: { provider: identity.provider, session_id: session.sessionId },
        summary: `Administrator ${user.email || user.name} signed in with ${identity.provider}`,
      });
    }
    return { ...grant, user, sessionId: session.sessionId };
  }

  /**
   * An access token for a client credential: the owner's identity without the administrator
   * role, the reference's `sa:` subject, and no refresh token (the client authenticates again).
   */
  async serviceAccountGrant(client: AuthenticatedClient): Promise<TokenGrant> {
    const { credential, owner } = client;
    const m = await this.users.builtInMemberships(owner.internal_uuid);
    const remaining = credential.expires_at ? Math.floor((new Date(credential.expires_at).getTime() - Date.now()) / 1000) : undefined;
    const { token, claims } = await this.tokens.sign(
      {
        provider: owner.provider,
        providerUserId: `${SERVICE_ACCOUNT_PREFIX}${credential.id}:${owner.provider_user_id}`,
        email: owner.email,
        emailVerified: false,
        name: `[Service Account] ${credential.name}`,
        groups: [],
        isAdministrator: false,
        isSecurityReviewer: m.isSecurityReviewer,
      },
      { sessionId: `${CREDENTIAL_SESSION_PREFIX}${credential.id}`, authTime: Math.floor(Date.now() / 1000), ttlSeconds: remaining },
    );
    return { accessToken: token, refreshToken: '', expiresIn: claims.exp - claims.iat! };
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
    return {
      provider: user.provider,
      providerUserId: user.provider_user_id,
      email: user.email,
      emailVerified: user.email_verified,
      name: user.name,
      // The provider's groups only: TMI's own memberships are read from the database per request
      // (Principal.tmiGroupIds), so a provider cannot grant them by naming them.
      groups: idpGroups,
      isAdministrator: m.isAdministrator,
      isSecurityReviewer: m.isSecurityReviewer,
    };
  }
}
