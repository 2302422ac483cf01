// The audit trail of what lives outside threat models: teams, projects, survey templates and
// survey responses. One row per change: who, when, what, and the state after the change.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../store/db.ts';
import type { Actor } from './audit.ts';

export type ReviewEntity = 'team' | 'project' | 'team_note' | 'project_note' | 'survey' | 'survey_response';

export interface ReviewAuditRecord {
  entityType: ReviewEntity;
  entityId: string;
  changeType: 'created' | 'updated' | 'patched' | 'deleted' | 'status_changed' | 'note_added' | 'threat_model_created' | 'metadata_changed';
  actor: Actor;
  summary: string;
  snapshot?: unknown;
}

export async function recordReviewAudit(q: Queryable, r: ReviewAuditRecord, at = new Date()): Promise<void> {
  await q.query(
    `INSERT INTO review_audit (id, entity_type, entity_id, change_type, actor_email, actor_provider, actor_provider_id, actor_display_name, summary, snapshot, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      randomUUID(),
      r.entityType,
      r.entityId,
      r.changeType,
      r.actor.email,
      r.actor.provider,
      r.actor.providerId,
      r.actor.name,
      r.summary.slice(0, 1000),
      r.snapshot === undefined ? null : JSON.stringify(r.snapshot),
      at,
    ],
  );
}

/** A users row aliased `alias` as the wire's User, in SQL (null when the column is null). */
export const userJsonSql = (alias: string) =>
  `CASE WHEN ${alias}.internal_uuid IS NULL THEN NULL ELSE json_build_object('principal_type', 'user', 'provider', ${alias}.provider,
     'provider_id', coalesce(${alias}.provider_user_id, ${alias}.email), 'display_name', ${alias}.name, 'email', ${alias}.email) END`;

export const iso = (d: Date | string | null | undefined): string | null => (d === null || d === undefined ? null : new Date(d).toISOString());
