// Refresh sessions and revocation, kept in the shared key-value store (Redis or the database).
// Refresh tokens are opaque random strings stored only as SHA-256 hashes, single use (rotated).
// Presenting a token that was already rotated is treated as theft: the whole session is revoked,
// which also rejects every access token minted for it (they carry the session id as `sid`).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { KeyValueStore } from '../store/shared-state.ts';

export interface RefreshSession {
  userUuid: string;
  sessionId: string;
  /** Unix seconds when the user signed in interactively. */
  authTime: number;
  /** Unix seconds when the session began; bounds its absolute lifetime. */
  createdAt: number;
  /** Groups the identity provider reported at sign-in; kept for tokens minted on refresh. */
  idpGroups?: string[];
}

export type RotateResult = { ok: true; session: RefreshSession; refreshToken: string } | { ok: false; reason: 'unknown' | 'reused' | 'expired' | 'revoked' };

const hash = (token: string) => createHash('sha256').update(token).digest('hex');
const now = () => Math.floor(Date.now() / 1000);

export class SessionService {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly refreshTtlSeconds: number,
    private readonly sessionLifetimeSeconds: number,
    private readonly accessTtlSeconds: number,
  ) {}

  /** Starts a session at interactive sign-in and returns its first refresh token. */
  async start(userUuid: string, idpGroups: string[] = []): Promise<{ session: RefreshSession; refreshToken: string }> {
    const t = now();
    const session: RefreshSession = { userUuid, sessionId: randomUUID(), authTime: t, createdAt: t, idpGroups };
    return { session, refreshToken: await this.issueRefresh(session) };
  }

  private async issueRefresh(session: RefreshSession): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const remaining = session.createdAt + this.sessionLifetimeSeconds - now();
    await this.kv.set(`refresh:${hash(token)}`, JSON.stringify(session), Math.max(1, Math.min(this.refreshTtlSeconds, remaining)));
    return token;
  }

  async rotate(refreshToken: string): Promise<RotateResult> {
    if (!refreshToken || refreshToken.length > 512) return { ok: false, reason: 'unknown' };
    const h = hash(refreshToken);
    const stored = await this.kv.take(`refresh:${h}`);
    if (!stored) {
      const rotatedFrom = await this.kv.get(`refresh_used:${h}`);
      if (rotatedFrom) {
        await this.revokeSession(rotatedFrom);
        return { ok: false, reason: 'reused' };
      }
      return { ok: false, reason: 'unknown' };
    }
    const session = JSON.parse(stored) as RefreshSession;
    // Remember the spent token for as long as it could have been valid, to detect reuse.
    await this.kv.set(`refresh_used:${h}`, session.sessionId, this.refreshTtlSeconds);
    if (await this.kv.get(`session_revoked:${session.sessionId}`)) return { ok: false, reason: 'revoked' };
    if (now() - session.createdAt >= this.sessionLifetimeSeconds) return { ok: false, reason: 'expired' };
    return { ok: true, session, refreshToken: await this.issueRefresh(session) };
  }

  /** Looks a refresh token up without spending it (RFC 7009 revocation by refresh token). */
  async peek(refreshToken: string): Promise<RefreshSession | null> {
    if (!refreshToken || refreshToken.length > 512) return null;
    const stored = await this.kv.get(`refresh:${hash(refreshToken)}`);
    return stored ? (JSON.parse(stored) as RefreshSession) : null;
  }

  async revokeRefreshToken(refreshToken: string): Promise<void> {
    const session = await this.peek(refreshToken);
    if (session) await this.revokeSession(session.sessionId);
  }

  /** Ends a session: its refresh tokens stop working and so do its access tokens. */
  async revokeSession(sessionId: string): Promise<void> {
    await this.kv.set(`session_revoked:${sessionId}`, '1', this.sessionLifetimeSeconds);
  }

  async revokeAccessToken(jti: string, exp: number): Promise<void> {
    const ttl = exp - now();
    if (ttl > 0) await this.kv.set(`revoked_jti:${jti}`, '1', Math.min(ttl, this.accessTtlSeconds + 60));
  }

  /** True when the access token (by jti) or its session was revoked. */
  async isRevoked(jti: string, sessionId: string | undefined): Promise<boolean> {
    // One round trip: this runs on every authenticated request.
    const keys = [`revoked_jti:${jti}`];
    if (sessionId) keys.push(`session_revoked:${sessionId}`);
    return (await this.kv.getMany(keys)).some((v) => v !== null);
  }
}
