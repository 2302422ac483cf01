// Refresh sessions and revocation, kept in the shared key-value store (Redis or the database).
// Refresh tokens are opaque random strings stored only as SHA-256 hashes, single use (rotated).
// Presenting a token that was already rotated is treated as theft: the whole session is revoked,
// which also rejects every access token minted for it (they carry the session id as `sid`).
import { createHash, randomUUID } from 'node:crypto';
import type { Bus, KeyValueStore } from '../store/shared-state.ts';
import { newSecretToken } from './secret-token.ts';
import { securityEvent } from '../security-events.ts';

const REVOCATION_CHANNEL = 'auth:revoked';

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
  /**
   * Revocation, as every instance learns it: token ids and session ids revoked (announced on the
   * bus), and tokens recently found valid in the shared store. A known revocation wins at once;
   * a token found valid is not looked up again for VALID_CACHE_MS. Should a bus message be lost,
   * another instance accepts the revoked token for at most that long.
   */
  private readonly revokedHere = new Map<string, number>();
  private readonly validUntil = new Map<string, number>();
  private static readonly VALID_CACHE_MS = 2000;
  private static readonly CACHE_MAX = 100_000;
  private bus: Bus | undefined;
  private readonly revocationListeners = new Set<(id: string) => void>();

  constructor(
    private readonly kv: KeyValueStore,
    private readonly refreshTtlSeconds: number,
    private readonly sessionLifetimeSeconds: number,
    private readonly accessTtlSeconds: number,
  ) {}

  /** Learns revocations made by other instances (call once at start). */
  async listen(bus: Bus): Promise<void> {
    this.bus = bus;
    await bus.subscribe(REVOCATION_CHANNEL, (id) => this.learn(id));
  }

  /**
   * Calls `listener` with each access-token id or session id revoked, here or on another instance,
   * as soon as this instance learns it (live connections end with it). An id may come more than
   * once. The listener must not throw. Returns a function that stops the calls.
   */
  onRevoked(listener: (id: string) => void): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  private learn(id: string): void {
    this.remember(id);
    for (const l of this.revocationListeners) l(id);
  }

  private remember(id: string): void {
    if (this.revokedHere.size >= SessionService.CACHE_MAX) {
      // Forgetting is safe: the shared store stays authoritative; only the shortcut is lost.
      this.revokedHere.clear();
      this.validUntil.clear();
    }
    // An access token lives at most accessTtl, so after that a revoked id needs no memory here.
    this.revokedHere.set(id, Date.now() + (this.accessTtlSeconds + 60) * 1000);
    this.validUntil.delete(id);
  }

  private async announce(id: string): Promise<void> {
    this.learn(id);
    await this.bus?.publish(REVOCATION_CHANNEL, id).catch(() => undefined);
  }

  private knownRevoked(id: string | undefined): boolean {
    if (!id) return false;
    const until = this.revokedHere.get(id);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.revokedHere.delete(id);
    return false;
  }

  /** Starts a session at interactive sign-in and returns its first refresh token. */
  async start(userUuid: string, idpGroups: string[] = []): Promise<{ session: RefreshSession; refreshToken: string }> {
    const t = now();
    const session: RefreshSession = { userUuid, sessionId: randomUUID(), authTime: t, createdAt: t, idpGroups };
    return { session, refreshToken: await this.issueRefresh(session) };
  }

  private async issueRefresh(session: RefreshSession): Promise<string> {
    const token = newSecretToken();
    const remaining = session.createdAt + this.sessionLifetimeSeconds - now();
    await this.kv.set(`refresh:${hash(token)}`, JSON.stringify(session), Math.max(1, Math.min(this.refreshTtlSeconds, remaining)));
    return token;
  }

  async rotate(refreshToken: string): Promise<RotateResult> {
    const refused = (reason: 'unknown' | 'expired' | 'revoked', ids: { user_uuid?: string; session_id?: string } = {}) => {
      securityEvent('auth.refresh.failure', { reason, ...ids });
      return { ok: false, reason } as const;
    };
    if (!refreshToken || refreshToken.length > 512) return refused('unknown');
    const h = hash(refreshToken);
    const stored = await this.kv.take(`refresh:${h}`);
    if (!stored) {
      const rotatedFrom = await this.kv.get(`refresh_used:${h}`);
      if (rotatedFrom) {
        // "<session id> <user uuid>"; entries written before the user was kept have the id only.
        const [sessionId, userUuid] = rotatedFrom.split(' ') as [string, string | undefined];
        await this.revokeSession(sessionId);
        securityEvent('auth.refresh.reuse', { user_uuid: userUuid, revoked_session_id: sessionId });
        return { ok: false, reason: 'reused' };
      }
      return refused('unknown');
    }
    const session = JSON.parse(stored) as RefreshSession;
    const ids = { user_uuid: session.userUuid, session_id: session.sessionId };
    // Remember the spent token for as long as it could have been valid, to detect reuse.
    await this.kv.set(`refresh_used:${h}`, `${session.sessionId} ${session.userUuid}`, this.refreshTtlSeconds);
    if (await this.kv.get(`session_revoked:${session.sessionId}`)) return refused('revoked', ids);
    if (now() - session.createdAt >= this.sessionLifetimeSeconds) return refused('expired', ids);
    const next = await this.issueRefresh(session);
    securityEvent('auth.refresh.success', ids);
    return { ok: true, session, refreshToken: next };
  }

  /** Looks a refresh token up without spending it (RFC 7009 revocation by refresh token). */
  async peek(refreshToken: string): Promise<RefreshSession | null> {
    if (!refreshToken || refreshToken.length > 512) return null;
    const stored = await this.kv.get(`refresh:${hash(refreshToken)}`);
    return stored ? (JSON.parse(stored) as RefreshSession) : null;
  }

  /** Revokes the session of a live refresh token; returns its id, or null when there was none. */
  async revokeRefreshToken(refreshToken: string): Promise<string | null> {
    const session = await this.peek(refreshToken);
    if (session) await this.revokeSession(session.sessionId);
    return session?.sessionId ?? null;
  }

  /** Ends a session: its refresh tokens stop working and so do its access tokens. */
  async revokeSession(sessionId: string): Promise<void> {
    await this.kv.set(`session_revoked:${sessionId}`, '1', this.sessionLifetimeSeconds);
    await this.announce(sessionId);
  }

  async revokeAccessToken(jti: string, exp: number): Promise<void> {
    const ttl = exp - now();
    if (ttl > 0) await this.kv.set(`revoked_jti:${jti}`, '1', Math.min(ttl, this.accessTtlSeconds + 60));
    await this.announce(jti);
  }

  /** True when the access token (by jti) or its session was revoked. */
  async isRevoked(jti: string, sessionId: string | undefined): Promise<boolean> {
    if (this.knownRevoked(jti) || this.knownRevoked(sessionId)) return true;
    const t = Date.now();
    if ((this.validUntil.get(jti) ?? 0) > t) return false;
    // One round trip: this runs on every authenticated request the shortcut does not answer.
    const keys = [`revoked_jti:${jti}`];
    if (sessionId) keys.push(`session_revoked:${sessionId}`);
    const revoked = (await this.kv.getMany(keys)).some((v) => v !== null);
    if (revoked) {
      this.remember(jti);
    } else if (!this.knownRevoked(jti) && !this.knownRevoked(sessionId)) {
      if (this.validUntil.size >= SessionService.CACHE_MAX) this.validUntil.clear();
      this.validUntil.set(jti, t + SessionService.VALID_CACHE_MS);
    }
    return revoked;
  }
}
