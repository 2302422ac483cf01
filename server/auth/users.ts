// Users and the TMI groups they belong to (administrators, security reviewers, ...).
//
// Placeholders: sharing a model with someone who never signed in creates a user row for them
// (`last_login` is null) holding what the sharer typed: the provider id, or an e-mail. The row
// becomes that person's account at their sign-in with the same provider, by the provider's subject,
// or by an e-mail the provider vouches for (see emailVouched); placeholders never block anyone's
// sign-in, and an e-mail from another provider never claims them.
import { randomUUID } from 'node:crypto';
import type { AdministratorEntry } from '../config.ts';
import type { Db, Queryable } from '../store/db.ts';
import { ApiError } from '../http/errors.ts';
import { BUILT_IN_GROUPS, isSecurityReviewer, ROLE_RANK, type Role } from '../authz/index.ts';
import { DEV_PROVIDER_ID } from './providers/tmi.ts';
import { securityEvent, type Party } from '../security-events.ts';

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

/** A user a token names, with the TMI groups they belong to. */
export interface TokenUser {
  user: UserRecord;
  /** Ids of the user's TMI groups: database memberships, plus configured grants. */
  tmiGroupIds: string[];
}

const USER_COLUMNS = 'internal_uuid, provider, provider_user_id, email, name, email_verified';

const partyOfUser = (u: UserRecord): Party => ({ provider: u.provider, provider_id: u.provider_user_id ?? u.email, user_uuid: u.internal_uuid });

/**
 * The provider vouches that the e-mail is this user's: it says it verified it, or it is the
 * development provider, whose e-mail is made from the user name (`alice` is `alice@tmi.local`).
 * Only such an e-mail binds a placeholder or finds an account by e-mail.
 */
function emailVouched(identity: IdentityFromProvider): boolean {
  return identity.emailVerified || identity.provider === DEV_PROVIDER_ID;
}
/** emailVouched for a stored row; `$dev` is the parameter holding DEV_PROVIDER_ID. */
const EMAIL_VOUCHED_SQL = (dev: string) => `(email_verified OR provider = ${dev})`;

export class UserService {
  /**
   * (provider, provider_user_id) -> user and TMI groups; ids never change, so a small cache saves
   * a query per request. It also bounds how long a membership change takes to reach live tokens
   * on other instances (this instance forgets at once).
   */
  private readonly cache = new Map<string, { found: TokenUser; at: number }>();
  static readonly CACHE_MS = 60_000;
  private static readonly CACHE_MAX = 10_000;

  constructor(
    readonly db: Db,
    /** Whether every user counts as a security reviewer (a runtime setting: asked on each use). */
    private readonly opts: { everyoneIsAReviewer?: () => Promise<boolean> } = {},
  ) {}

  /** The user a token names (provider and subject), with their TMI groups; null when unknown. */
  async forToken(provider: string, providerUserId: string): Promise<TokenUser | null> {
    const key = `${provider}\u0000${providerUserId}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < UserService.CACHE_MS) return this.withEveryoneAReviewer(hit.found);
    const rows = await this.db.query<UserRecord & { group_ids: string[] }>(
      `SELECT ${USER_COLUMNS}, ARRAY(SELECT m.group_uuid::text FROM group_members m WHERE m.user_uuid = u.internal_uuid ORDER BY 1) AS group_ids
       FROM users u WHERE provider = $1 AND provider_user_id = $2 AND active`,
      [provider, providerUserId],
      'user_for_token',
    );
    const row = rows[0];
    if (!row) {
      this.cache.delete(key);
      return null;
    }
    const { group_ids: ids, ...user } = row;
    const found = { user, tmiGroupIds: ids };
    if (this.cache.size >= UserService.CACHE_MAX) this.cache.clear();
    this.cache.set(key, { found, at: Date.now() });
    return this.withEveryoneAReviewer(found);
  }

  /** The reviewers' group added on reading, not in the cache, so a change of the setting applies at once. */
  private async withEveryoneAReviewer(found: TokenUser): Promise<TokenUser> {
    if (isSecurityReviewer(found) || !(await this.everyoneIsAReviewer())) return found;
    return { ...found, tmiGroupIds: [...found.tmiGroupIds, BUILT_IN_GROUPS.securityReviewers] };
  }

  async everyoneIsAReviewer(): Promise<boolean> {
    return (await this.opts.everyoneIsAReviewer?.()) ?? false;
  }

  async byUuid(uuid: string): Promise<UserRecord | null> {
    const rows = await this.db.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE internal_uuid = $1`, [uuid]);
    return rows[0] ?? null;
  }

  /**
   * The account for an identity a provider vouched for:
   * 1. the row with this provider and subject (an account, or a placeholder shared by this id);
   * 2. else a placeholder of this provider named by the e-mail, when the provider vouches for it;
   * 3. else, when an account that signed in with another method has this e-mail: 409 (the
   *    reference's rule; placeholders never count, so sharing cannot lock anyone out);
   * 4. else a new account.
   * Further placeholders of this provider named by the vouched e-mail are merged into the account.
   */
  async signIn(identity: IdentityFromProvider): Promise<UserRecord> {
    let merged = false;
    const user = await this.db.tx(async (q) => {
      // 0. An identity linked to an account signs in to that account, whatever its e-mail says.
      const linked = (
        await q.query<UserRecord & { automation: boolean }>(
          `WITH used AS (
             UPDATE linked_identities SET last_used_at = now(), email = $3, name = $4
             WHERE provider = $1 AND provider_user_id = $2 RETURNING user_uuid)
           UPDATE users u SET last_login = now() FROM used WHERE u.internal_uuid = used.user_uuid
           RETURNING ${USER_COLUMNS.split(', ').map((c) => `u.${c}`).join(', ')}, u.automation`,
          [identity.provider, identity.providerUserId, identity.email, identity.name],
        )
      )[0];
      if (linked) {
        await refuseDeactivated(q, linked.internal_uuid);
        return refuseAutomation(linked);
      }
      let account = (
        await q.query<UserRecord>(
          `UPDATE users SET email = $3, name = $4, email_verified = email_verified OR $5, last_login = now(), modified_at = now()
           WHERE provider = $1 AND provider_user_id = $2 RETURNING ${USER_COLUMNS}, automation`,
          [identity.provider, identity.providerUserId, identity.email, identity.name, identity.emailVerified],
        )
      )[0];
      if (account) account = refuseAutomation(account as UserRecord & { automation: boolean });
      const placeholders =
        identity.email && emailVouched(identity)
          ? (
              await q.query<{ internal_uuid: string }>(
                `SELECT internal_uuid FROM users WHERE provider = $1 AND last_login IS NULL AND lower(email) = lower($2)
                 ORDER BY created_at, internal_uuid`,
                [identity.provider, identity.email],
              )
            ).map((r) => r.internal_uuid)
          : [];
      if (!account && placeholders.length) {
        account = (
          await q.query<UserRecord>(
            `UPDATE users SET provider_user_id = $2, email = $3, name = $4, email_verified = email_verified OR $5, last_login = now(), modified_at = now()
             WHERE internal_uuid = $1 RETURNING ${USER_COLUMNS}`,
            [placeholders.shift(), identity.providerUserId, identity.email, identity.name, identity.emailVerified],
          )
        )[0];
      }
      if (!account) {
        const others = identity.email
          ? await q.query('SELECT 1 FROM users WHERE lower(email) = lower($1) AND last_login IS NOT NULL LIMIT 1', [identity.email])
          : [];
        if (others[0]) {
          throw new ApiError(409, 'account_conflict', 'This email is already linked to a different sign-in method.');
        }
        account = (
          await q.query<UserRecord>(
            `INSERT INTO users (internal_uuid, provider, provider_user_id, email, name, email_verified, last_login)
             VALUES ($1, $2, $3, $4, $5, $6, now())
             ON CONFLICT (provider, provider_user_id) DO UPDATE SET last_login = now()
             RETURNING ${USER_COLUMNS}`,
            [randomUUID(), identity.provider, identity.providerUserId, identity.email, identity.name, identity.emailVerified],
          )
        )[0]!;
      }
      if (placeholders.length) {
        await mergePlaceholders(q, account.internal_uuid, placeholders);
        merged = true;
      }
      await refuseDeactivated(q, account.internal_uuid);
      return account;
    });
    if (merged) this.forgetMemberships();
    return user;
  }

  /**
   * The account an identity signs in to, without writing anything: the account whose primary
   * identity it is, or the owner of the linked identity; null when it would make a new account.
   */
  async accountOf(provider: string, providerUserId: string): Promise<string | null> {
    const rows = await this.db.query<{ internal_uuid: string }>(
      `SELECT user_uuid AS internal_uuid FROM linked_identities WHERE provider = $1 AND provider_user_id = $2
       UNION ALL
       SELECT internal_uuid FROM users WHERE provider = $1 AND provider_user_id = $2 AND last_login IS NOT NULL
       LIMIT 1`,
      [provider, providerUserId],
    );
    return rows[0]?.internal_uuid ?? null;
  }

  /**
   * The user an authorization entry (or owner, or reviewer) names, as the stored id. The provider
   * id is the provider's subject or, as clients often send, an e-mail: an account of that provider
   * with that subject or vouched e-mail wins over placeholders, so no duplicate of an existing user
   * is made; otherwise an existing placeholder, else a new one.
   */
  async resolvePrincipal(q: Queryable, provider: string, providerId: string): Promise<string> {
    const found = await q.query<{ internal_uuid: string }>(
      `SELECT internal_uuid FROM users
       WHERE provider = $1 AND (provider_user_id = $2 OR (lower(email) = lower($2) AND (last_login IS NULL OR ${EMAIL_VOUCHED_SQL('$3')})))
       ORDER BY last_login IS NULL, provider_user_id IS DISTINCT FROM $2, created_at, internal_uuid LIMIT 1`,
      [provider, providerId, DEV_PROVIDER_ID],
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

  /** Membership of the built-in groups TMI consults by itself (configuration included). */
  async builtInMemberships(uuid: string): Promise<{ isAdministrator: boolean; isSecurityReviewer: boolean }> {
    const rows = await this.db.query<{ group_uuid: string }>('SELECT group_uuid FROM group_members WHERE user_uuid = $1', [uuid]);
    const ids = new Set(rows.map((r) => r.group_uuid));
    return {
      isAdministrator: ids.has(BUILT_IN_GROUPS.administrators),
      isSecurityReviewer: ids.has(BUILT_IN_GROUPS.securityReviewers) || (await this.everyoneIsAReviewer()),
    };
  }

  async groupRows(uuid: string): Promise<{ internal_uuid: string; group_name: string; name: string | null }[]> {
    return this.db.query(
      `SELECT g.internal_uuid, g.group_name, g.name FROM group_members m JOIN groups g ON g.internal_uuid = m.group_uuid
       WHERE m.user_uuid = $1 ORDER BY g.group_name`,
      [uuid],
    );
  }

  /** Adds a member; true when they were not one already. */
  async addToGroup(q: Queryable, groupUuid: string, userUuid: string): Promise<boolean> {
    const added = await q.query('INSERT INTO group_members (group_uuid, user_uuid) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1', [groupUuid, userUuid]);
    this.forgetMemberships();
    return added.length > 0;
  }

  /** Membership or account state changed: this instance's next request of any user reads them again. */
  forgetMemberships(): void {
    this.cache.clear();
  }

  /** Development convenience of the reference: the first user to sign in administers the server. */
  async promoteIfFirst(user: UserRecord): Promise<void> {
    const promoted = await this.db.tx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock(74627302)');
      const admins = await q.query('SELECT 1 FROM group_members WHERE group_uuid = $1 LIMIT 1', [BUILT_IN_GROUPS.administrators]);
      if (admins.length) return false;
      await this.addToGroup(q, BUILT_IN_GROUPS.administrators, user.internal_uuid);
      await this.addToGroup(q, BUILT_IN_GROUPS.securityReviewers, user.internal_uuid);
      return true;
    });
    // Again after the commit: a request in between may have cached the memberships before it.
    this.forgetMemberships();
    if (promoted) securityEvent('admin.granted', { ...partyOfUser(user), groups: ['administrators', 'security-reviewers'], via: 'first_user' });
  }

  /** Applies configured administrators when they sign in (users) or at start (groups are named only). */
  async applyConfiguredAdministrator(entries: AdministratorEntry[], user: UserRecord): Promise<void> {
    const match = entries.some(
      (e) =>
        e.subjectType === 'user' &&
        e.provider === user.provider &&
        ((e.providerId && e.providerId === user.provider_user_id) || (e.email && e.email.toLowerCase() === user.email.toLowerCase())),
    );
    if (match && (await this.addToGroup(this.db, BUILT_IN_GROUPS.administrators, user.internal_uuid))) {
      securityEvent('admin.granted', { ...partyOfUser(user), groups: ['administrators'], via: 'configuration' });
    }
  }

  async isAdministrator(uuid: string, idpGroups: string[], provider: string, adminGroups: AdministratorEntry[]): Promise<boolean> {
    const viaGroup = adminGroups.some((e) => e.subjectType === 'group' && e.provider === provider && e.groupName && idpGroups.includes(e.groupName));
    if (viaGroup) return true;
    const rows = await this.db.query('SELECT 1 FROM group_members WHERE group_uuid = $1 AND user_uuid = $2', [BUILT_IN_GROUPS.administrators, uuid]);
    return rows.length > 0;
  }
}

/** A deactivated account signs in no more (an administrator reactivates it). */
async function refuseDeactivated(q: Queryable, uuid: string): Promise<void> {
  const rows = await q.query<{ active: boolean }>('SELECT active FROM users WHERE internal_uuid = $1', [uuid]);
  if (rows[0] && !rows[0].active) throw new ApiError(403, 'account_deactivated', 'This account has been deactivated by an administrator');
}

/** Automation accounts authenticate with client credentials only, never interactively. */
function refuseAutomation(row: UserRecord & { automation: boolean }): UserRecord {
  if (row.automation) throw new ApiError(403, 'forbidden', 'This is an automation account; it signs in with client credentials only');
  const { automation: _automation, ...user } = row;
  return user;
}

/**
 * Moves everything shared with placeholder rows to the account (the higher role wins where both
 * have an entry on a model), then deletes the placeholders. Locks the models first, then the
 * placeholder rows, the order a threat-model write takes them, so a share made at the same moment
 * either lands before the merge (and is moved) or fails on the deleted row instead of being lost.
 */
export async function mergePlaceholders(q: Queryable, account: string, placeholders: string[]): Promise<void> {
  await q.query(
    `SELECT id FROM threat_models
     WHERE owner_uuid = ANY($1::uuid[]) OR security_reviewer_uuid = ANY($1::uuid[]) OR created_by_uuid = ANY($1::uuid[])
        OR id IN (SELECT threat_model_id FROM threat_model_access WHERE user_uuid = ANY($1::uuid[]))
     ORDER BY id FOR UPDATE`,
    [placeholders],
  );
  await q.query('SELECT internal_uuid FROM users WHERE internal_uuid = ANY($1::uuid[]) ORDER BY internal_uuid FOR UPDATE', [placeholders]);
  const entries = await q.query<{ threat_model_id: string; position: number; role: Role }>(
    `SELECT threat_model_id, position, role FROM threat_model_access
     WHERE user_uuid = ANY($1::uuid[]) AND threat_model_id IN (SELECT threat_model_id FROM threat_model_access WHERE user_uuid = ANY($2::uuid[]))
     ORDER BY threat_model_id, position`,
    [[account, ...placeholders], placeholders],
  );
  const best = new Map<string, { position: number; role: Role }>();
  for (const e of entries) {
    // In position order: the merged entry takes the first position and the highest role.
    const kept = best.get(e.threat_model_id);
    if (!kept) best.set(e.threat_model_id, { position: e.position, role: e.role });
    else if (ROLE_RANK[e.role] > ROLE_RANK[kept.role]) kept.role = e.role;
  }
  if (best.size) {
    await q.query('DELETE FROM threat_model_access WHERE user_uuid = ANY($1::uuid[]) AND threat_model_id = ANY($2::uuid[])', [[account, ...placeholders], [...best.keys()]]);
    await q.query(
      `INSERT INTO threat_model_access (threat_model_id, position, subject_type, user_uuid, role)
       SELECT tm, pos, 'user', $1, role FROM unnest($2::uuid[], $3::int[], $4::text[]) AS e(tm, pos, role)`,
      [account, [...best.keys()], [...best.values()].map((b) => b.position), [...best.values()].map((b) => b.role)],
    );
  }
  for (const column of ['owner_uuid', 'security_reviewer_uuid', 'created_by_uuid'] as const) {
    await q.query(`UPDATE threat_models SET ${column} = $1 WHERE ${column} = ANY($2::uuid[])`, [account, placeholders]);
  }
  await q.query(
    'INSERT INTO group_members (group_uuid, user_uuid) SELECT group_uuid, $1 FROM group_members WHERE user_uuid = ANY($2::uuid[]) ON CONFLICT DO NOTHING',
    [account, placeholders],
  );
  // Teams, projects and the review workflow: memberships and parties move (the account's own entry
  // wins), and so does whatever the placeholder authored or reviewed.
  await q.query(
    `INSERT INTO team_members (team_id, user_uuid, position, role, custom_role)
     SELECT team_id, $1, position, role, custom_role FROM team_members WHERE user_uuid = ANY($2::uuid[]) ON CONFLICT DO NOTHING`,
    [account, placeholders],
  );
  await q.query(
    `INSERT INTO responsible_parties (unit_type, unit_id, user_uuid, position, role, custom_role)
     SELECT unit_type, unit_id, $1, position, role, custom_role FROM responsible_parties WHERE user_uuid = ANY($2::uuid[]) ON CONFLICT DO NOTHING`,
    [account, placeholders],
  );
  for (const [table, column] of [
    ['teams', 'created_by_uuid'], ['teams', 'modified_by_uuid'], ['teams', 'reviewed_by_uuid'],
    ['projects', 'created_by_uuid'], ['projects', 'modified_by_uuid'], ['projects', 'reviewed_by_uuid'],
    ['surveys', 'created_by_uuid'], ['survey_responses', 'owner_uuid'], ['survey_responses', 'reviewed_by_uuid'], ['triage_notes', 'created_by_uuid'],
  ] as const) {
    await q.query(`UPDATE ${table} SET ${column} = $1 WHERE ${column} = ANY($2::uuid[])`, [account, placeholders]);
  }
  await q.query('DELETE FROM users WHERE internal_uuid = ANY($1::uuid[])', [placeholders]);
}
