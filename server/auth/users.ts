// Users and the built-in groups they belong to (administrators, security reviewers).
import { randomUUID } from 'node:crypto';
import type { AdministratorEntry } from '../config.ts';
import type { Db, Queryable } from '../store/db.ts';
import { ApiError } from '../http/errors.ts';

export const BUILT_IN_GROUPS = {
  everyone: '00000000-0000-0000-0000-000000000000',
  securityReviewers: '00000000-0000-0000-0000-000000000001',
  administrators: '00000000-0000-0000-0000-000000000002',
  confidentialProjectReviewers: '00000000-0000-0000-0000-000000000003',
  tmiAutomation: '00000000-0000-0000-0000-000000000004',
} as const;

export interface UserRecord {
  internal_uuid: string;
  provider: string;
  provider_user_id: string | null;
  email: string;
  name: string;
  email_verified: boolean;
}

export interface IdentityFromProvider {
  provider: string;
  providerUserId: string;
  email: string;
  name: string;
  emailVerified: boolean;
}

const USER_COLUMNS = 'internal_uuid, provider, provider_user_id, email, name, email_verified';

export class UserService {
  /** (provider, provider_user_id) -> user; ids never change, so a small cache saves a query per request. */
  private readonly cache = new Map<string, { user: UserRecord; at: number }>();
  private static readonly CACHE_MS = 60_000;
  private static readonly CACHE_MAX = 10_000;

  constructor(private readonly db: Db) {}

  async byProviderId(provider: string, providerUserId: string): Promise<UserRecord | null> {
    const key = `${provider}\u0000${providerUserId}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < UserService.CACHE_MS) return hit.user;
    const rows = await this.db.query<UserRecord>(
      `SELECT ${USER_COLUMNS} FROM users WHERE provider = $1 AND provider_user_id = $2`,
      [provider, providerUserId],
    );
    const user = rows[0] ?? null;
    if (user) {
      if (this.cache.size >= UserService.CACHE_MAX) this.cache.clear();
      this.cache.set(key, { user, at: Date.now() });
    } else {
      this.cache.delete(key);
    }
    return user;
  }

  async byUuid(uuid: string): Promise<UserRecord | null> {
    const rows = await this.db.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE internal_uuid = $1`, [uuid]);
    return rows[0] ?? null;
  }

  /**
   * The reference's matching tiers at sign-in: provider + subject; then provider + email (fills in
   * the subject of a pre-created user); then a provider-less sparse row by verified email; else a
   * new user. An email already used with another sign-in method is a conflict.
   */
  async signIn(identity: IdentityFromProvider): Promise<UserRecord> {
    return this.db.tx(async (q) => {
      const bySubject = await q.query<UserRecord>(
        `UPDATE users SET email = $3, name = $4, email_verified = email_verified OR $5, last_login = now(), modified_at = now()
         WHERE provider = $1 AND provider_user_id = $2 RETURNING ${USER_COLUMNS}`,
        [identity.provider, identity.providerUserId, identity.email, identity.name, identity.emailVerified],
      );
      if (bySubject[0]) return bySubject[0];
      const byEmail = await q.query<UserRecord>(
        `UPDATE users SET provider_user_id = $2, name = $4, email_verified = email_verified OR $5, last_login = now(), modified_at = now()
         WHERE provider = $1 AND lower(email) = lower($3) AND provider_user_id IS NULL RETURNING ${USER_COLUMNS}`,
        [identity.provider, identity.providerUserId, identity.email, identity.name, identity.emailVerified],
      );
      if (byEmail[0]) return byEmail[0];
      const others = await q.query<{ provider: string }>('SELECT provider FROM users WHERE lower(email) = lower($1) LIMIT 1', [identity.email]);
      if (others[0]) {
        throw new ApiError(409, 'account_conflict', 'This email is already linked to a different sign-in method.');
      }
      const created = await q.query<UserRecord>(
        `INSERT INTO users (internal_uuid, provider, provider_user_id, email, name, email_verified, last_login)
         VALUES ($1, $2, $3, $4, $5, $6, now())
         ON CONFLICT (provider, provider_user_id) DO UPDATE SET last_login = now()
         RETURNING ${USER_COLUMNS}`,
        [randomUUID(), identity.provider, identity.providerUserId, identity.email, identity.name, identity.emailVerified],
      );
      return created[0]!;
    });
  }

  /** Finds a user named in an authorization entry, creating a sparse row completed at first sign-in. */
  async resolvePrincipal(q: Queryable, provider: string, providerId: string): Promise<string> {
    const found = await q.query<{ internal_uuid: string }>(
      `SELECT internal_uuid FROM users WHERE provider = $1 AND (provider_user_id = $2 OR (provider_user_id IS NULL AND lower(email) = lower($2)))
       ORDER BY provider_user_id IS NULL LIMIT 1`,
      [provider, providerId],
    );
    if (found[0]) return found[0].internal_uuid;
    const looksLikeEmail = /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(providerId);
    const rows = await q.query<{ internal_uuid: string }>(
      `INSERT INTO users (internal_uuid, provider, provider_user_id, email, name) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (provider, provider_user_id) DO UPDATE SET modified_at = users.modified_at
       RETURNING internal_uuid`,
      [randomUUID(), provider, providerId, looksLikeEmail ? providerId : '', providerId],
    );
    return rows[0]!.internal_uuid;
  }

  async builtInMemberships(uuid: string): Promise<{ isAdministrator: boolean; isSecurityReviewer: boolean; groups: string[] }> {
    const rows = await this.db.query<{ group_name: string; group_uuid: string }>(
      `SELECT g.group_name, g.internal_uuid AS group_uuid FROM group_members m JOIN groups g ON g.internal_uuid = m.group_uuid
       WHERE m.user_uuid = $1 ORDER BY g.group_name`,
      [uuid],
    );
    const ids = new Set(rows.map((r) => r.group_uuid));
    return {
      isAdministrator: ids.has(BUILT_IN_GROUPS.administrators),
      isSecurityReviewer: ids.has(BUILT_IN_GROUPS.securityReviewers),
      groups: rows.map((r) => r.group_name),
    };
  }

  async groupRows(uuid: string): Promise<{ internal_uuid: string; group_name: string; name: string | null }[]> {
    return this.db.query(
      `SELECT g.internal_uuid, g.group_name, g.name FROM group_members m JOIN groups g ON g.internal_uuid = m.group_uuid
       WHERE m.user_uuid = $1 ORDER BY g.group_name`,
      [uuid],
    );
  }

  async addToGroup(q: Queryable, groupUuid: string, userUuid: string): Promise<void> {
    await q.query('INSERT INTO group_members (group_uuid, user_uuid) VALUES ($1, $2) ON CONFLICT DO NOTHING', [groupUuid, userUuid]);
  }

  /** Development convenience of the reference: the first user to sign in administers the server. */
  async promoteIfFirst(userUuid: string): Promise<void> {
    await this.db.tx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock(74627302)');
      const admins = await q.query('SELECT 1 FROM group_members WHERE group_uuid = $1 LIMIT 1', [BUILT_IN_GROUPS.administrators]);
      if (admins.length) return;
      await this.addToGroup(q, BUILT_IN_GROUPS.administrators, userUuid);
      await this.addToGroup(q, BUILT_IN_GROUPS.securityReviewers, userUuid);
    });
  }

  /** Applies configured administrators when they sign in (users) or at start (groups are named only). */
  async applyConfiguredAdministrator(entries: AdministratorEntry[], user: UserRecord): Promise<void> {
    const match = entries.some(
      (e) =>
        e.subjectType === 'user' &&
        e.provider === user.provider &&
        ((e.providerId && e.providerId === user.provider_user_id) || (e.email && e.email.toLowerCase() === user.email.toLowerCase())),
    );
    if (match) await this.addToGroup(this.db, BUILT_IN_GROUPS.administrators, user.internal_uuid);
  }

  async isAdministrator(uuid: string, idpGroups: string[], provider: string, adminGroups: AdministratorEntry[]): Promise<boolean> {
    const viaGroup = adminGroups.some((e) => e.subjectType === 'group' && e.provider === provider && e.groupName && idpGroups.includes(e.groupName));
    if (viaGroup) return true;
    const rows = await this.db.query('SELECT 1 FROM group_members WHERE group_uuid = $1 AND user_uuid = $2', [BUILT_IN_GROUPS.administrators, uuid]);
    return rows.length > 0;
  }
}
