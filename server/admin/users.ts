// Administration of users: list and read them, change their name, e-mail, administrator role and
// whether the account is active, move what one owns to another, delete an account. The rules the
// reference lacks (tmi-admin-review-notes §3.8):
// - the last active administrator can be neither demoted, deactivated nor deleted (checked under
//   one advisory lock, so two administrators demoting each other cannot both succeed);
// - deleting an account never orphans a model: each model it owns goes to a named user, or to the
//   first other user with an owner entry on it (in access-list order), or, with neither, is
//   deleted; the plan is computed by the same code that carries it out, and shown first;
// - every change is in one transaction with its system audit entry.
import type { Db, Queryable } from '../store/db.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { BUILT_IN_GROUPS, type Role } from '../authz/index.ts';
import type { UserRecord, UserService } from '../auth/users.ts';
import type { ThreatModelService } from '../resources/threat-models/service.ts';
import { findThreatModel, replaceAccess, type ResolvedEntry } from '../resources/threat-models/store.ts';
import { recordAccessChange } from '../resources/threat-models/access-audit.ts';
import type { AdminUser, AdminUserListQuery, DeletionPlan, TransferOwnershipResult, UpdateAdminUser } from '../../contract/admin.ts';
import { recordSystemAudit, type AuditActor } from './system-audit.ts';
import { securityEvent } from '../security-events.ts';
import { deleteAllEntries } from '../resources/metadata/store.ts';
import { likeContains } from '../store/like.ts';

/** The advisory lock every change of who administers the server takes (shared with promoteIfFirst). */
export const ADMIN_LOCK = 74627302;

/** Throws 409 unless someone other than `uuid` stays an active administrator (call under ADMIN_LOCK). */
export async function keepAnAdministrator(q: Queryable, uuid: string, what: string): Promise<void> {
  const others = await q.query(
    `SELECT 1 FROM group_members m JOIN users u ON u.internal_uuid = m.user_uuid
     WHERE m.group_uuid = $1 AND m.user_uuid <> $2 AND u.active LIMIT 1`,
    [BUILT_IN_GROUPS.administrators, uuid],
  );
  if (!others.length) throw conflict(`Cannot ${what} the last active administrator`, 'last_administrator');
}

interface UserRow extends UserRecord {
  created_at: Date;
  modified_at: Date;
  last_login: Date | null;
  automation: boolean;
  active: boolean;
  is_admin: boolean;
  groups: string[];
  active_threat_models: number;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

const SELECT_USER = `
  SELECT u.internal_uuid, u.provider, u.provider_user_id, u.email, u.name, u.email_verified, u.created_at, u.modified_at,
         u.last_login, u.automation, u.active,
         EXISTS (SELECT 1 FROM group_members m WHERE m.user_uuid = u.internal_uuid AND m.group_uuid = '${BUILT_IN_GROUPS.administrators}') AS is_admin,
         ARRAY(SELECT g.group_name FROM group_members m JOIN groups g ON g.internal_uuid = m.group_uuid WHERE m.user_uuid = u.internal_uuid ORDER BY g.group_name) AS groups,
         (SELECT count(*)::int FROM threat_models t WHERE t.owner_uuid = u.internal_uuid) AS active_threat_models
  FROM users u`;

export function presentUser(r: UserRow): AdminUser {
  return {
    internal_uuid: r.internal_uuid,
    provider: r.provider,
    provider_user_id: r.provider_user_id ?? '',
    email: r.email,
    name: r.name,
    email_verified: r.email_verified,
    created_at: iso(r.created_at)!,
    modified_at: iso(r.modified_at)!,
    last_login: iso(r.last_login),
    is_admin: r.is_admin,
    groups: r.groups,
    automation: r.automation,
    active_threat_models: r.active_threat_models,
    active: r.active,
  };
}

const SORT_COLUMNS = { created_at: 'u.created_at', last_login: 'u.last_login', email: 'lower(u.email)', name: 'lower(u.name)' } as const;

/** Who made a change, and through which route (for the system audit log). */
export interface ChangeContext {
  actor: AuditActor;
  method: string;
  path: string;
}

export class AdminUserService {
  constructor(
    private readonly db: Db,
    private readonly users: UserService,
    private readonly threatModels: ThreatModelService,
  ) {}

  async list(query: AdminUserListQuery) {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (n: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (query.provider !== undefined) add((n) => `u.provider = ${n}`, query.provider);
    if (query.email !== undefined) add((n) => `u.email ILIKE ${n}`, likeContains(query.email));
    if (query.name !== undefined) add((n) => `u.name ILIKE ${n}`, likeContains(query.name));
    if (query.q !== undefined) add((n) => `(u.email ILIKE ${n} OR u.name ILIKE ${n})`, likeContains(query.q));
    if (query.created_after !== undefined) add((n) => `u.created_at >= ${n}::timestamptz`, query.created_after);
    if (query.created_before !== undefined) add((n) => `u.created_at <= ${n}::timestamptz`, query.created_before);
    if (query.last_login_after !== undefined) add((n) => `u.last_login >= ${n}::timestamptz`, query.last_login_after);
    if (query.last_login_before !== undefined) add((n) => `u.last_login <= ${n}::timestamptz`, query.last_login_before);
    if (query.automation === true) where.push('u.automation');
    if (query.automation === false) where.push('NOT u.automation');
    if (query.active !== undefined) where.push(query.active ? 'u.active' : 'NOT u.active');
    if (query.is_admin !== undefined) {
      add((n) => `${query.is_admin ? '' : 'NOT '}EXISTS (SELECT 1 FROM group_members m WHERE m.user_uuid = u.internal_uuid AND m.group_uuid = ${n}::uuid)`, BUILT_IN_GROUPS.administrators);
    }
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    const column = SORT_COLUMNS[query.sort_by ?? 'created_at'];
    const order = query.sort_order === 'asc' ? 'ASC' : 'DESC';
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [count, rows] = await Promise.all([
      this.db.query<{ total: number }>(`SELECT count(*)::int AS total FROM users u ${whereSql}`, params),
      this.db.query<UserRow>(`${SELECT_USER} ${whereSql} ORDER BY ${column} ${order} NULLS LAST, u.internal_uuid LIMIT ${limit} OFFSET ${offset}`, params),
    ]);
    const total = count[0]!.total;
    return { users: rows.map(presentUser), total, limit, offset };
  }

  async get(uuid: string, q: Queryable = this.db): Promise<AdminUser> {
    const row = (await q.query<UserRow>(`${SELECT_USER} WHERE u.internal_uuid = $1`, [uuid]))[0];
    if (!row) throw notFound('User not found');
    return presentUser(row);
  }

  async update(change: ChangeContext, uuid: string, patch: UpdateAdminUser): Promise<AdminUser> {
    const result = await this.db.tx(async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(${ADMIN_LOCK})`);
      const before = await this.get(uuid, q);
      const removesAdmin = before.is_admin && before.active !== false && (patch.is_admin === false || patch.active === false);
      if (removesAdmin) await keepAnAdministrator(q, uuid, patch.active === false ? 'deactivate' : 'remove the administrator role from');
      if (patch.active === false && uuid === change.actor.userUuid) throw conflict('Cannot deactivate your own account', 'self_deactivation');
      if (patch.is_admin === true && before.automation) throw badRequest('Automation accounts cannot be administrators');
      const sets: string[] = [];
      const params: unknown[] = [uuid];
      for (const k of ['email', 'name', 'email_verified', 'active'] as const) {
        if (patch[k] !== undefined && patch[k] !== before[k]) {
          params.push(patch[k]);
          sets.push(`${k} = $${params.length}`);
        }
      }
      if (sets.length) await q.query(`UPDATE users SET ${sets.join(', ')}, modified_at = now() WHERE internal_uuid = $1`, params);
      if (patch.is_admin === true && !before.is_admin) {
        await q.query('INSERT INTO group_members (group_uuid, user_uuid, added_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [BUILT_IN_GROUPS.administrators, uuid, change.actor.userUuid]);
      } else if (patch.is_admin === false && before.is_admin) {
        await q.query('DELETE FROM group_members WHERE group_uuid = $1 AND user_uuid = $2', [BUILT_IN_GROUPS.administrators, uuid]);
      }
      const after = await this.get(uuid, q);
      const changed = (['email', 'name', 'email_verified', 'is_admin', 'active'] as const).filter((k) => before[k] !== after[k]);
      if (changed.length) {
        const pick = (u: AdminUser) => Object.fromEntries(changed.map((k) => [k, u[k]]));
        await recordSystemAudit(q, {
          ...change,
          actor: change.actor,
          action: 'user.updated',
          targetType: 'user',
          targetId: uuid,
          fieldPath: `users.${uuid}`,
          before: pick(before),
          after: pick(after),
          summary: `Changed ${changed.join(', ')} of ${after.email || after.name}`,
        });
      }
      return { before, after, changed };
    });
    // Memberships and the active flag are read per request: this instance forgets them at once.
    this.users.forgetMemberships();
    const party = { provider: change.actor.provider, provider_id: change.actor.providerId, user_uuid: change.actor.userUuid ?? '' };
    if (result.changed.includes('is_admin')) {
      securityEvent(result.after.is_admin ? 'admin.user.admin_granted' : 'admin.user.admin_revoked', { ...party, account_uuid: uuid });
    }
    if (result.changed.includes('active')) {
      securityEvent(result.after.active ? 'admin.user.reactivated' : 'admin.user.deactivated', { ...party, account_uuid: uuid });
    }
    if (result.changed.length) securityEvent('admin.user.updated', { ...party, account_uuid: uuid, fields: result.changed });
    return result.after;
  }

  /**
   * What deleting `uuid` does to each model it owns (tombstoned ones included): moved to `transferTo`
   * when given, else to the first other user holding an owner entry on it, else deleted.
   */
  async deletionPlan(q: Queryable, uuid: string, transferTo?: string): Promise<DeletionPlan> {
    const owned = await q.query<{ id: string; name: string; heir: string | null; heir_email: string | null }>(
      `SELECT t.id, t.name, h.user_uuid AS heir, h.email AS heir_email
       FROM threat_models t
       LEFT JOIN LATERAL (
         SELECT a.user_uuid, u.email FROM threat_model_access a JOIN users u ON u.internal_uuid = a.user_uuid
         WHERE a.threat_model_id = t.id AND a.subject_type = 'user' AND a.role = 'owner' AND a.user_uuid <> $1 AND u.active
         ORDER BY a.position LIMIT 1) h ON true
       WHERE t.owner_uuid = $1 ORDER BY t.created_at, t.id`,
      [uuid],
    );
    let target: { uuid: string; email: string } | null = null;
    if (transferTo) {
      const rows = await q.query<{ internal_uuid: string; email: string }>('SELECT internal_uuid, email FROM users WHERE internal_uuid = $1', [transferTo]);
      target = rows[0] ? { uuid: rows[0].internal_uuid, email: rows[0].email } : null;
    }
    const plan: DeletionPlan = { transferred: [], deleted: [] };
    for (const t of owned) {
      const to = target ?? (t.heir ? { uuid: t.heir, email: t.heir_email ?? '' } : null);
      if (to) plan.transferred.push({ threat_model_id: t.id, name: t.name, new_owner_uuid: to.uuid, new_owner_email: to.email });
      else plan.deleted.push({ threat_model_id: t.id, name: t.name });
    }
    return plan;
  }

  /** Checks a transfer target: it exists, is not the source, and can sign in. */
  private async checkTarget(q: Queryable, source: string, target: string, self: boolean): Promise<void> {
    if (source === target) throw badRequest(self ? 'Cannot transfer ownership to yourself' : 'Cannot transfer ownership to the same user');
    const rows = await q.query<{ active: boolean }>('SELECT active FROM users WHERE internal_uuid = $1', [target]);
    if (!rows[0]) throw notFound(self ? 'Target user not found' : 'Source or target user not found');
    if (!rows[0].active) throw badRequest('The target user is deactivated', 'invalid_target');
  }

  /**
   * Moves one model to `to`: owner column, and an owner entry first in its access list; the
   * model's own entry in the system audit log says who owned it and who had access before and after.
   */
  private async moveModel(change: ChangeContext, q: Queryable, tmId: string, from: string, to: string, fromRole: Role | null): Promise<void> {
    const before = await findThreatModel(q, tmId);
    const access = await q.query<{ subject_type: 'user' | 'group'; user_uuid: string | null; group_uuid: string | null; role: Role }>(
      'SELECT subject_type, user_uuid, group_uuid, role FROM threat_model_access WHERE threat_model_id = $1 ORDER BY position',
      [tmId],
    );
    const entries: ResolvedEntry[] = [{ subjectType: 'user', uuid: to, role: 'owner' }];
    for (const a of access) {
      if (a.subject_type === 'user' && a.user_uuid === to) continue;
      if (a.subject_type === 'user' && a.user_uuid === from) {
        if (fromRole) entries.push({ subjectType: 'user', uuid: from, role: fromRole });
        continue;
      }
      entries.push({ subjectType: a.subject_type, uuid: (a.user_uuid ?? a.group_uuid)!, role: a.role });
    }
    await q.query('UPDATE threat_models SET owner_uuid = $2, modified_at = now() WHERE id = $1', [tmId, to]);
    await replaceAccess(q, tmId, entries);
    await recordAccessChange(q, change, before!, (await findThreatModel(q, tmId))!);
  }

  /**
   * POST /me/transfer and /admin/users/{id}/transfer: every model `source` owns (tombstoned ones
   * included) goes to `target`, who gets the owner entry; `source` keeps a writer entry.
   */
  async transfer(change: ChangeContext, source: string, target: string, self: boolean): Promise<TransferOwnershipResult> {
    let responseIds: string[] = [];
    const ids = await this.db.tx(async (q) => {
      if (!self && !(await q.query('SELECT 1 FROM users WHERE internal_uuid = $1', [source])).length) throw notFound('Source or target user not found');
      await this.checkTarget(q, source, target, self);
      const owned = await q.query<{ id: string }>('SELECT id FROM threat_models WHERE owner_uuid = $1 ORDER BY id FOR UPDATE', [source]);
      for (const t of owned) await this.moveModel(change, q, t.id, source, target, 'writer');
      // Survey responses go with them (their author becomes the target; see docs/review-workflow.md).
      const responses = await q.query<{ id: string }>(
        'UPDATE survey_responses SET owner_uuid = $2, modified_at = now(), version = version + 1 WHERE owner_uuid = $1 RETURNING id',
        [source, target],
      );
      responseIds = responses.map((r) => r.id).sort();
      await recordSystemAudit(q, {
        ...change,
        action: 'user.ownership_transferred',
        targetType: 'user',
        targetId: source,
        fieldPath: `users.${source}.ownership_transfer`,
        before: { owner_uuid: source, threat_model_ids: owned.map((t) => t.id) },
        after: { owner_uuid: target, threat_model_ids: owned.map((t) => t.id) },
        summary: `Transferred ${owned.length} threat model(s) and ${responseIds.length} survey response(s) to ${target}`,
      });
      return owned.map((t) => t.id);
    });
    this.announce(ids);
    const party = { provider: change.actor.provider, provider_id: change.actor.providerId, user_uuid: change.actor.userUuid ?? '' };
    securityEvent('admin.ownership.transferred', { ...party, from_uuid: source, to_uuid: target, threat_model_ids: ids });
    return { threat_models_transferred: { count: ids.length, threat_model_ids: ids }, survey_responses_transferred: { count: responseIds.length, survey_response_ids: responseIds } };
  }

  /**
   * Deletes an account: its models follow the plan, then the account and everything that is only
   * its own (memberships, identities, credentials, preferences, access entries) go.
   */
  async delete(change: ChangeContext, uuid: string, opts: { transferTo?: string; self: boolean }): Promise<DeletionPlan> {
    const plan = await this.db.tx(async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(${ADMIN_LOCK})`);
      const user = (await q.query<{ active: boolean }>('SELECT active FROM users WHERE internal_uuid = $1 FOR UPDATE', [uuid]))[0];
      if (!user) throw notFound('User not found');
      if (!opts.self && uuid === change.actor.userUuid) throw conflict('Cannot delete your own user account', 'self_deletion');
      const isAdmin = (await q.query('SELECT 1 FROM group_members WHERE group_uuid = $1 AND user_uuid = $2', [BUILT_IN_GROUPS.administrators, uuid])).length > 0;
      if (isAdmin && user.active) await keepAnAdministrator(q, uuid, 'delete');
      if (opts.transferTo) await this.checkTarget(q, uuid, opts.transferTo, opts.self);
      await q.query('SELECT id FROM threat_models WHERE owner_uuid = $1 ORDER BY id FOR UPDATE', [uuid]);
      const plan = await this.deletionPlan(q, uuid, opts.transferTo);
      for (const t of plan.transferred) await this.moveModel(change, q, t.threat_model_id, uuid, t.new_owner_uuid, null);
      if (plan.deleted.length) {
        const ids = plan.deleted.map((t) => t.threat_model_id);
        await deleteAllEntries(q, 'threat_model', ids);
        await q.query('DELETE FROM threat_models WHERE id = ANY($1::uuid[])', [ids]);
      }
      // References that must outlive the account: the creator becomes the model's owner, the
      // reviewer is cleared.
      await q.query('UPDATE threat_models SET created_by_uuid = owner_uuid WHERE created_by_uuid = $1', [uuid]);
      await q.query('UPDATE threat_models SET security_reviewer_uuid = NULL WHERE security_reviewer_uuid = $1', [uuid]);
      const deleted = await q.query<{ email: string; provider: string; provider_user_id: string | null }>(
        'DELETE FROM users WHERE internal_uuid = $1 RETURNING email, provider, provider_user_id',
        [uuid],
      );
      await recordSystemAudit(q, {
        ...change,
        action: opts.self ? 'user.self_deleted' : 'user.deleted',
        targetType: 'user',
        targetId: uuid,
        fieldPath: `users.${uuid}`,
        before: { email: deleted[0]!.email, provider: deleted[0]!.provider, provider_user_id: deleted[0]!.provider_user_id },
        after: { transferred: plan.transferred.map((t) => ({ threat_model_id: t.threat_model_id, new_owner_uuid: t.new_owner_uuid })), deleted: plan.deleted.map((t) => t.threat_model_id) },
        summary: `Deleted account ${deleted[0]!.email}: ${plan.transferred.length} model(s) transferred, ${plan.deleted.length} deleted`,
      });
      return plan;
    });
    this.users.forgetMemberships();
    this.announce(plan.transferred.map((t) => t.threat_model_id));
    this.announce(plan.deleted.map((t) => t.threat_model_id), 'deleted');
    const party = { provider: change.actor.provider, provider_id: change.actor.providerId, user_uuid: change.actor.userUuid ?? '' };
    securityEvent('admin.user.deleted', {
      ...party,
      account_uuid: uuid,
      self: opts.self,
      transferred: plan.transferred.map((t) => t.threat_model_id),
      deleted: plan.deleted.map((t) => t.threat_model_id),
    });
    return plan;
  }

  /** Live collaboration and notifications hear that these models changed hands. */
  private announce(ids: string[], type: 'updated' | 'deleted' = 'updated'): void {
    for (const id of ids) this.threatModels.announce({ type, threatModelId: id, name: '', actorEmail: '', accessChanged: true });
  }
}

