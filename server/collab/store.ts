// SQL for collaboration: sessions, connections (per instance, with heartbeats), the deny list, and
// the durable operation log. Every statement is parameterised.
import { violatesUnique, type Db, type Queryable } from '../store/db.ts';
import type { Change, StoredCell } from './engine.ts';
import { writeCellRows } from '../resources/diagrams/store.ts';
import type { WsUser } from '../../contract/collab.ts';

export type WireUser = WsUser;

const userJson = (u: string) =>
  `json_build_object('principal_type', 'user', 'provider', ${u}.provider, 'provider_id', coalesce(${u}.provider_user_id, ${u}.email),
     'email', ${u}.email, 'display_name', ${u}.name)`;

export interface SessionRow {
  id: string;
  diagram_id: string;
  threat_model_id: string;
  host_uuid: string;
  presenter_uuid: string | null;
  state: 'active' | 'ended';
  seq: number;
  created_at: Date;
  last_activity: Date;
  host: WireUser;
  presenter: WireUser | null;
  diagram_name: string;
  threat_model_name: string;
}

const SESSION_SELECT = `
  SELECT s.id, s.diagram_id, s.threat_model_id, s.host_uuid, s.presenter_uuid, s.state, s.seq, s.created_at, s.last_activity,
         ${userJson('h')} AS host, CASE WHEN p.internal_uuid IS NULL THEN NULL ELSE ${userJson('p')} END AS presenter,
         d.name AS diagram_name, tm.name AS threat_model_name
  FROM collab_sessions s
  JOIN users h ON h.internal_uuid = s.host_uuid
  LEFT JOIN users p ON p.internal_uuid = s.presenter_uuid
  JOIN diagrams d ON d.id = s.diagram_id
  JOIN threat_models tm ON tm.id = s.threat_model_id`;

export async function activeSessionOfDiagram(q: Queryable, diagramId: string): Promise<SessionRow | null> {
  const rows = await q.query<SessionRow>(`${SESSION_SELECT} WHERE s.diagram_id = $1 AND s.state = 'active'`, [diagramId]);
  return rows[0] ?? null;
}

export async function sessionById(q: Queryable, id: string): Promise<SessionRow | null> {
  const rows = await q.query<SessionRow>(`${SESSION_SELECT} WHERE s.id = $1`, [id]);
  return rows[0] ?? null;
}

/** The session's sequence number: how many operations it has logged (0 when there is no such session). */
export async function sessionSeq(q: Queryable, id: string): Promise<number> {
  const rows = await q.query<{ seq: number }>('SELECT seq FROM collab_sessions WHERE id = $1', [id]);
  return Number(rows[0]?.seq ?? 0);
}

export async function activeSessions(q: Queryable): Promise<SessionRow[]> {
  return q.query<SessionRow>(`${SESSION_SELECT} WHERE s.state = 'active' ORDER BY s.created_at`);
}

/** Creates the diagram's session unless one is active; the diagram row lock orders concurrent POSTs. */
export async function createSession(q: Queryable, s: { id: string; diagramId: string; tmId: string; hostUuid: string; at: Date }): Promise<boolean> {
  await q.query('SELECT 1 FROM diagrams WHERE id = $1 FOR UPDATE', [s.diagramId]);
  const existing = await q.query(`SELECT 1 FROM collab_sessions WHERE diagram_id = $1 AND state = 'active'`, [s.diagramId]);
  if (existing.length > 0) return false;
  await q.query(
    `INSERT INTO collab_sessions (id, diagram_id, threat_model_id, host_uuid, presenter_uuid, created_at, last_activity)
     VALUES ($1, $2, $3, $4, $4, $5, $5)`,
    [s.id, s.diagramId, s.tmId, s.hostUuid, s.at],
  );
  return true;
}

/**
 * Ends a session once, and forgets its connections. When its operations changed the diagram, the
 * diagram's optimistic-lock version advances (an ETag taken before the session no longer matches).
 * Returns what the audit entry needs, or null when this call did not end the session.
 */
export async function endSession(q: Queryable, id: string): Promise<{ seq: number; diagramId: string; tmId: string; hostUuid: string; editors: number } | null> {
  const rows = await q.query<{ seq: number; diagram_id: string; threat_model_id: string; host_uuid: string }>(
    `UPDATE collab_sessions SET state = 'ended', ended_at = now() WHERE id = $1 AND state = 'active' RETURNING seq, diagram_id, threat_model_id, host_uuid`,
    [id],
  );
  await q.query('DELETE FROM collab_connections WHERE session_id = $1', [id]);
  const r = rows[0];
  if (!r) return null;
  let editors = 0;
  if (Number(r.seq) > 0) {
    await q.query('UPDATE diagrams SET version = version + 1 WHERE id = $1', [r.diagram_id]);
    const e = await q.query<{ n: number }>('SELECT count(DISTINCT user_uuid)::int AS n FROM collab_ops WHERE session_id = $1', [id]);
    editors = e[0]!.n;
  }
  return { seq: Number(r.seq), diagramId: r.diagram_id, tmId: r.threat_model_id, hostUuid: r.host_uuid, editors };
}

export async function setPresenter(q: Queryable, id: string, userUuid: string | null): Promise<void> {
  await q.query('UPDATE collab_sessions SET presenter_uuid = $2 WHERE id = $1', [id, userUuid]);
}

export async function touchSession(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE collab_sessions SET last_activity = now() WHERE id = $1', [id]);
}

// ---- connections and instances ----

/** Heartbeats older than this mark an instance as gone (killed or partitioned). */
export const INSTANCE_TTL_SECONDS = 15;
const LIVE_INSTANCE = `c.instance_id IN (SELECT id FROM collab_instances WHERE heartbeat > now() - make_interval(secs => ${INSTANCE_TTL_SECONDS}))`;

export async function heartbeat(q: Queryable, instanceId: string): Promise<void> {
  await q.query(
    `INSERT INTO collab_instances (id, heartbeat) VALUES ($1, now()) ON CONFLICT (id) DO UPDATE SET heartbeat = EXCLUDED.heartbeat`,
    [instanceId],
  );
}

export async function removeInstance(q: Queryable, instanceId: string): Promise<void> {
  await q.query('DELETE FROM collab_connections WHERE instance_id = $1', [instanceId]);
  await q.query('DELETE FROM collab_instances WHERE id = $1', [instanceId]);
}

/** Removes the connections of instances that stopped heartbeating; returns their sessions. */
export async function sweepDeadInstances(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ session_id: string }>(
    `DELETE FROM collab_connections c WHERE NOT ${LIVE_INSTANCE} RETURNING c.session_id`,
  );
  await q.query(`DELETE FROM collab_instances WHERE heartbeat < now() - make_interval(secs => ${INSTANCE_TTL_SECONDS * 4})`);
  return [...new Set(rows.map((r) => r.session_id))];
}

export interface ConnectionRow {
  id: string;
  user_uuid: string;
  user_json: WireUser;
  permissions: 'reader' | 'writer';
  last_activity: Date;
}

export async function liveConnections(q: Queryable, sessionId: string): Promise<ConnectionRow[]> {
  return q.query<ConnectionRow>(
    `SELECT c.id, c.user_uuid, c.user_json, c.permissions, c.last_activity FROM collab_connections c
     WHERE c.session_id = $1 AND ${LIVE_INSTANCE} ORDER BY c.connected_at, c.id`,
    [sessionId],
  );
}

async function countUserConnections(q: Queryable, userUuid: string): Promise<number> {
  const rows = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM collab_connections c WHERE c.user_uuid = $1 AND ${LIVE_INSTANCE}`, [userUuid]);
  return rows[0]!.n;
}

async function countSessionUsers(q: Queryable, sessionId: string, exceptUser: string): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `SELECT count(DISTINCT c.user_uuid)::int AS n FROM collab_connections c WHERE c.session_id = $1 AND c.user_uuid <> $2 AND ${LIVE_INSTANCE}`,
    [sessionId, exceptUser],
  );
  return rows[0]!.n;
}

/**
 * Registers a socket unless that would pass a cap; returns which cap refused it, or null. The caps
 * are also checked before the upgrade (HTTP 429), but only here atomically: advisory locks on the
 * user and then the session serialise simultaneous joins across instances, so a burst cannot
 * exceed them.
 */
export async function insertConnectionWithinCaps(
  db: Db,
  c: { id: string; sessionId: string; userUuid: string; user: WireUser; permissions: string; instanceId: string },
  caps: { maxSocketsPerUser: number; maxParticipants: number },
): Promise<'too_many_connections' | 'session_full' | null> {
  return db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`collab-user:${c.userUuid}`]);
    await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`collab-session:${c.sessionId}`]);
    const refused = await capRefusal(q, c.userUuid, c.sessionId, caps);
    if (refused) return refused;
    await insertConnection(q, c);
    return null;
  });
}

/** Which cap a new socket of this user in this session would pass, if any. */
export async function capRefusal(
  q: Queryable,
  userUuid: string,
  sessionId: string,
  caps: { maxSocketsPerUser: number; maxParticipants: number },
): Promise<'too_many_connections' | 'session_full' | null> {
  if ((await countUserConnections(q, userUuid)) >= caps.maxSocketsPerUser) return 'too_many_connections';
  if ((await countSessionUsers(q, sessionId, userUuid)) >= caps.maxParticipants) return 'session_full';
  return null;
}

async function insertConnection(
  q: Queryable,
  c: { id: string; sessionId: string; userUuid: string; user: WireUser; permissions: string; instanceId: string },
): Promise<void> {
  await q.query(
    `INSERT INTO collab_connections (id, session_id, user_uuid, user_json, permissions, instance_id, connected_at, last_activity)
     VALUES ($1, $2, $3, $4, $5, $6, now(), now())`,
    [c.id, c.sessionId, c.userUuid, JSON.stringify(c.user), c.permissions, c.instanceId],
  );
}

/**
 * Makes the store's rows of one instance match its open sockets: rows of `ready` sockets swept
 * while its heartbeat lapsed come back (unless their session ended); rows of sockets that closed
 * meanwhile go. Rows of sockets still joining (`joining`) are left to their join.
 */
export async function restoreConnections(
  db: Db,
  instanceId: string,
  ready: { id: string; sessionId: string; userUuid: string; user: WireUser; permissions: string }[],
  joining: string[],
): Promise<void> {
  await db.tx(async (q) => {
    await q.query('DELETE FROM collab_connections WHERE instance_id = $1 AND NOT (id = ANY($2::uuid[]))', [instanceId, [...ready.map((c) => c.id), ...joining]]);
    for (const c of ready) {
      await q.query(
        `INSERT INTO collab_connections (id, session_id, user_uuid, user_json, permissions, instance_id, connected_at, last_activity)
         SELECT $1, $2, $3, $4, $5, $6, now(), now() WHERE EXISTS (SELECT 1 FROM collab_sessions WHERE id = $2 AND state = 'active')
         ON CONFLICT (id) DO NOTHING`,
        [c.id, c.sessionId, c.userUuid, JSON.stringify(c.user), c.permissions, instanceId],
      );
    }
  });
}

export async function deleteConnection(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM collab_connections WHERE id = $1', [id]);
}

export async function setConnectionPermissions(q: Queryable, id: string, permissions: string): Promise<void> {
  await q.query('UPDATE collab_connections SET permissions = $2 WHERE id = $1', [id, permissions]);
}

/** Sessions nobody has been connected to for `idleSeconds`. */
export async function idleSessions(q: Queryable, idleSeconds: number): Promise<{ id: string; threat_model_id: string }[]> {
  return q.query(
    `SELECT s.id, s.threat_model_id FROM collab_sessions s
     WHERE s.state = 'active' AND s.last_activity < now() - make_interval(secs => $1)
       AND NOT EXISTS (SELECT 1 FROM collab_connections c WHERE c.session_id = s.id AND ${LIVE_INSTANCE})`,
    [idleSeconds],
  );
}

export async function deny(q: Queryable, sessionId: string, userUuid: string): Promise<void> {
  await q.query('INSERT INTO collab_denied (session_id, user_uuid) VALUES ($1, $2) ON CONFLICT DO NOTHING', [sessionId, userUuid]);
}

export async function isDenied(q: Queryable, sessionId: string, userUuid: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM collab_denied WHERE session_id = $1 AND user_uuid = $2', [sessionId, userUuid])).length > 0;
}

export async function wireUser(q: Queryable, userUuid: string): Promise<WireUser | null> {
  const rows = await q.query<{ u: WireUser }>(`SELECT ${userJson('u')} AS u FROM users u WHERE u.internal_uuid = $1`, [userUuid]);
  return rows[0]?.u ?? null;
}

// ---- the operation path (a few statements per operation, several operations per transaction) ----

export interface OpContext {
  seq: number;
  state: string;
  diagramId: string;
  updateVector: number;
  nextCellOrd: number;
  /** Sequence number of an earlier edit with the same operation_id, if any. */
  dupSeq: number | null;
  cells: Map<string, StoredCell>;
}

/**
 * Locks the session row (the total order of its operations across instances), then reads what an
 * edit needs — counters, an earlier use of the operation id, and only the cells the edit names.
 * Two statements, on purpose: a lock that waited for another instance's write sees that write in
 * the locked row only, while the rest of its statement reads the snapshot taken before the wait
 * (a stale update_vector and stale cells, which the guarded write then refuses); the second
 * statement takes its snapshot after the lock is held. Null when the session is gone or its
 * diagram deleted.
 */
export async function readForEdit(q: Queryable, sessionId: string, operationId: string, cellIds: string[]): Promise<OpContext | null> {
  if (!(await lockSession(q, sessionId))) return null;
  const rows = await q.query<{ seq: number; state: string; diagram_id: string; update_vector: number; next_cell_ord: number; dup_seq: number | null; cells: { id: string; ord: number; data: StoredCell['data'] }[] }>(
    `WITH s AS (SELECT seq, state, diagram_id FROM collab_sessions WHERE id = $1)
     SELECT s.seq, s.state, s.diagram_id, d.update_vector, d.next_cell_ord,
       (SELECT o.seq FROM collab_ops o WHERE o.session_id = $1 AND o.operation_id = $2 AND o.kind = 'op') AS dup_seq,
       coalesce((SELECT json_agg(json_build_object('id', c.cell_id, 'ord', c.ord, 'data', c.data)) FROM diagram_cells c
                 WHERE c.diagram_id = s.diagram_id AND c.cell_id = ANY($3::uuid[])), '[]'::json) AS cells
     FROM s JOIN diagrams d ON d.id = s.diagram_id AND d.deleted_at IS NULL`,
    [sessionId, operationId, [...new Set(cellIds.map((i) => i.toLowerCase()))]],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    seq: Number(r.seq),
    state: r.state,
    diagramId: r.diagram_id,
    updateVector: Number(r.update_vector),
    nextCellOrd: Number(r.next_cell_ord),
    dupSeq: r.dup_seq === null ? null : Number(r.dup_seq),
    cells: new Map(r.cells.map((c) => [c.id.toLowerCase(), { ord: Number(c.ord), data: c.data }])),
  };
}

/**
 * One statement, which is also its own transaction when run outside one: writes the touched cells,
 * advances update_vector and the session sequence, clears the redo stack and appends the edit to
 * the log — only if the session is still active at sequence `expectSeq`, the diagram still at
 * `expectVector`, and the operation id not used before. It returns null otherwise and writes
 * nothing: the caller's view of the diagram was stale (another instance, an undo) or the edit is a
 * re-send. That check is what lets an instance validate an edit against its own copy of the cells
 * and store it in a single round trip.
 */
export async function writeEdit(
  q: Queryable,
  e: { sessionId: string; diagramId: string; expectSeq: number; expectVector: number; changes: Change[]; nextCellOrd: number; operationId: string; userUuid: string; user: WireUser; patch: unknown[] },
): Promise<{ seq: number; updateVector: number } | null> {
  const removed = e.changes.filter((c) => c.after === null).map((c) => c.id);
  const written = e.changes.filter((c) => c.after !== null).map((c) => ({ id: c.id, ord: c.after!.ord, data: c.after!.data }));
  // Every write below depends on `s`: when the guard fails, `s` is empty and nothing changes.
  const rows = await q.query<{ seq: number; update_vector: number }>(
    `WITH s AS (UPDATE collab_sessions SET seq = seq + 1, last_activity = now()
                WHERE id = $5 AND seq = $11 AND state = 'active'
                  AND (SELECT update_vector FROM diagrams WHERE id = $1) = $12
                  AND NOT EXISTS (SELECT 1 FROM collab_ops WHERE session_id = $5 AND operation_id = $6 AND kind = 'op')
                RETURNING seq),
     del AS (DELETE FROM diagram_cells WHERE diagram_id = $1 AND cell_id = ANY($2::uuid[]) AND EXISTS (SELECT 1 FROM s)),
     ups AS (INSERT INTO diagram_cells (diagram_id, cell_id, ord, data)
             SELECT $1, (x->>'id')::uuid, (x->>'ord')::bigint, x->'data' FROM s, jsonb_array_elements($3::jsonb) AS x
             ON CONFLICT (diagram_id, cell_id) DO UPDATE SET ord = EXCLUDED.ord, data = EXCLUDED.data),
     d AS (UPDATE diagrams SET update_vector = update_vector + 1, next_cell_ord = $4, modified_at = now()
           WHERE id = $1 AND EXISTS (SELECT 1 FROM s) RETURNING update_vector),
     redo AS (UPDATE collab_ops SET status = 'discarded' WHERE session_id = $5 AND kind = 'op' AND status = 'undone' AND EXISTS (SELECT 1 FROM s)),
     log AS (INSERT INTO collab_ops (session_id, seq, kind, operation_id, user_uuid, initiating_user, patch, inverse, update_vector, created_at)
             SELECT $5, s.seq, 'op', $6, $7, $8::jsonb, $9::jsonb, $10::jsonb, d.update_vector, now() FROM s, d)
     SELECT s.seq, d.update_vector FROM s, d`,
    [e.diagramId, removed, JSON.stringify(written), e.nextCellOrd, e.sessionId, e.operationId, e.userUuid, JSON.stringify(e.user), JSON.stringify(e.patch), JSON.stringify({ changes: e.changes }), e.expectSeq, e.expectVector],
    'collab_write_edit', // once per edit: parsed once per connection
  );
  const r = rows[0];
  return r ? { seq: Number(r.seq), updateVector: Number(r.update_vector) } : null;
}

/** One edit of a batch written by writeEdits, in the order it applies. */
export interface BatchedEdit {
  changes: Change[];
  operationId: string;
  userUuid: string;
  user: WireUser;
  patch: unknown[];
}

/**
 * Several edits of one session in ONE statement (group commit without a round trip per edit):
 * sequence numbers expectSeq+1.. and update vectors expectVector+1.. in batch order, one log row
 * each (its own patch and inverse, for undo, resume and audit), and the cells in their state after
 * the last edit. Nothing is written unless the session is still active at expectSeq, the diagram
 * still at expectVector, none of the operation ids was applied before, and — when `expectHead` is
 * given — the session's last logged edit is `expectHead`. The caller makes sure the batch has no
 * operation id twice. Returns the last edit's numbers, or null.
 *
 * The statement may be sent while the session's previous batch is still committing (SessionEditor):
 * it then waits on the session row, and runs on once that batch committed, with the snapshot it
 * started with. So the guard of such a batch (GUARD_BEHIND) reads the session and diagram rows FOR
 * UPDATE, which waits for that batch and returns the rows as it left them; a plain read, or an
 * UPDATE's own WHERE, would judge the versions the snapshot shows, from before it. The cells that batch
 * inserted are invisible to this statement's scans, hence the upsert (which finds them through
 * the index) and no removal in a batch sent early.
 */
export async function writeEdits(
  q: Queryable,
  b: { sessionId: string; diagramId: string; expectSeq: number; expectVector: number; expectHead: string | null; nextCellOrd: number; edits: BatchedEdit[] },
): Promise<{ seq: number; updateVector: number } | null> {
  const final = new Map<string, Change['after']>();
  for (const e of b.edits) for (const c of e.changes) final.set(c.id.toLowerCase(), c.after);
  const removed = [...final].filter(([, after]) => after === null).map(([id]) => id);
  const written = [...final].filter(([, after]) => after !== null).map(([id, after]) => ({ id, ord: after!.ord, data: after!.data }));
  const log = b.edits.map((e) => ({ operation_id: e.operationId, user_uuid: e.userUuid, initiating_user: e.user, patch: e.patch, inverse: { changes: e.changes } }));
  const n = b.edits.length;
  // A re-sent operation id is refused by the log's unique index (collab_ops_operation_id_key), which
  // fails the whole statement. A NOT EXISTS over the ids (as writeEdit has for one) left the plan
  // to the statistics: on a generic plan PostgreSQL scanned every logged operation of the session
  // for each batch. Likewise the removal is skipped outright when the batch removes nothing, rather
  // than left to a plan that may scan the diagram's cells to find none.
  // The statement ends as its guard says (GUARD_ALONE / GUARD_BEHIND), which decides how a refused
  // batch ends: with no row (committing nothing), or by failing (a division by zero), so that its
  // transaction rolls back.
  let rows: { seq: number; update_vector: number }[];
  try {
    rows = await q.query<{ seq: number; update_vector: number }>(
      `WITH ${b.expectHead === null ? GUARD_ALONE : GUARD_BEHIND},
       del AS (DELETE FROM diagram_cells WHERE cardinality($2::uuid[]) > 0 AND diagram_id = $1 AND cell_id = ANY($2::uuid[]) AND EXISTS (SELECT 1 FROM d)),
       ups AS (INSERT INTO diagram_cells (diagram_id, cell_id, ord, data)
               SELECT $1, (x->>'id')::uuid, (x->>'ord')::bigint, x->'data' FROM d, jsonb_array_elements($3::jsonb) AS x
               ON CONFLICT (diagram_id, cell_id) DO UPDATE SET ord = EXCLUDED.ord, data = EXCLUDED.data),
       redo AS (UPDATE collab_ops SET status = 'discarded' WHERE session_id = $5 AND kind = 'op' AND status = 'undone' AND EXISTS (SELECT 1 FROM d)),
       log AS (INSERT INTO collab_ops (session_id, seq, kind, operation_id, user_uuid, initiating_user, patch, inverse, update_vector, created_at)
               SELECT $5, s.seq - $8 + x.i, 'op', x.e->>'operation_id', (x.e->>'user_uuid')::uuid, x.e->'initiating_user', x.e->'patch', x.e->'inverse', d.update_vector - $8 + x.i, now()
               FROM s, d, jsonb_array_elements($9::jsonb) WITH ORDINALITY AS x(e, i))
       ${b.expectHead === null ? END_ALONE : END_BEHIND}`,
      [b.diagramId, removed, JSON.stringify(written), b.nextCellOrd, b.sessionId, b.expectSeq, b.expectVector, n, JSON.stringify(log), b.expectHead, b.edits.at(-1)!.operationId],
      b.expectHead === null ? 'collab_write_edits' : 'collab_write_edits_behind',
    );
  } catch (err) {
    if (violatesUnique(err, 'collab_ops_operation_id_key') || (err as { code?: unknown }).code === DIVISION_BY_ZERO) return null;
    throw err;
  }
  const r = rows[0];
  return r ? { seq: Number(r.seq), updateVector: Number(r.update_vector) } : null;
}

/**
 * writeEdits' guard with no batch of the session in flight before it: it judges the rows as its
 * snapshot shows them, and a batch that finds another instance's write there fails at once. `$10`
 * (the head expected) is always null here; it stays in the statement because both variants take
 * one parameter list, and PostgreSQL refuses a parameter it cannot type.
 */
const GUARD_ALONE = `s AS (UPDATE collab_sessions SET seq = seq + $8, last_activity = now(), head_operation_id = $11
                  WHERE id = $5 AND seq = $6 AND state = 'active' AND ($10::text IS NULL OR head_operation_id = $10)
                    AND (SELECT update_vector FROM diagrams WHERE id = $1) = $7
                  RETURNING seq),
       d AS (UPDATE diagrams SET update_vector = update_vector + $8, next_cell_ord = $4, modified_at = now()
             WHERE id = $1 AND EXISTS (SELECT 1 FROM s) RETURNING update_vector)`;

/**
 * How writeEdits ends after GUARD_ALONE: no row when the guard refused. Such a refusal has mostly
 * locked nothing (the UPDATE's WHERE judged the row as the snapshot shows it), and its empty commit
 * is then free. Not a failure: where two instances write one session, refusals are frequent, and
 * PostgreSQL logs every failed statement with its text (bench:sessions: 20,756 of them in a minute,
 * 39 MB of server log, and the p50 ten times as long).
 */
const END_ALONE = `SELECT s.seq, (SELECT update_vector FROM d) AS update_vector, 1 / (SELECT count(*) FROM d)::int AS guarded FROM s`;

/**
 * writeEdits' guard behind a batch in flight: the rows are read FOR UPDATE, which waits for that
 * batch and returns them as it left them. Not for every batch: where two instances write one
 * session, a batch that loses the race then waits for the winner before it fails, and the p50 of
 * bench:sessions rose by half (docs/performance.md).
 */
const GUARD_BEHIND = `cur AS (SELECT seq, state, head_operation_id FROM collab_sessions WHERE id = $5 FOR UPDATE),
       s AS (UPDATE collab_sessions c SET seq = c.seq + $8, last_activity = now(), head_operation_id = $11
             FROM cur WHERE c.id = $5 AND cur.seq = $6 AND cur.state = 'active' AND ($10::text IS NULL OR cur.head_operation_id = $10)
             RETURNING c.seq),
       dcur AS (SELECT update_vector FROM diagrams WHERE id = $1 AND EXISTS (SELECT 1 FROM s) FOR UPDATE),
       d AS (UPDATE diagrams g SET update_vector = g.update_vector + $8, next_cell_ord = $4, modified_at = now()
             FROM dcur WHERE g.id = $1 AND dcur.update_vector = $7 RETURNING g.update_vector)`;

/**
 * How writeEdits ends after GUARD_BEHIND: a failure (the division by zero) whenever a guard refused,
 * so that the transaction rolls back. That guard locks the session row before it judges it. Sent
 * early, it can reach the row before the batch it follows, and refuse: committed, that lock waited
 * for a flush of the log to disk, and the batch it follows waited behind the lock for the same flush
 * (traced in bench:collab: among the slowest 1% of live edits, docs/performance.md); rolled back, it
 * is released at once. And when the diagram guard fails after the session guard passed (a write
 * from outside the session moved the diagram), the session row is already updated.
 */
const END_BEHIND = `SELECT (SELECT seq FROM s) AS seq, (SELECT update_vector FROM d) AS update_vector, 1 / (SELECT count(*) FROM d)::int AS guarded`;

/** SQLSTATE 22012: a guard of writeEdits refused the batch (END_BEHIND; after GUARD_ALONE, only when the diagram row is gone). */
const DIVISION_BY_ZERO = '22012';

/** A session's diagram as an editor keeps it: every cell, and the counters it reflects. */
export interface EditState {
  diagramId: string;
  seq: number;
  updateVector: number;
  nextCellOrd: number;
  cells: Map<string, StoredCell>;
}

/** One statement (one snapshot): the whole diagram of an active session; null otherwise. */
export async function loadEditState(q: Queryable, sessionId: string): Promise<EditState | null> {
  const rows = await q.query<{ diagram_id: string; seq: number; update_vector: number; next_cell_ord: number; cells: { id: string; ord: number; data: StoredCell['data'] }[] }>(
    `SELECT s.diagram_id, s.seq, d.update_vector, d.next_cell_ord,
       coalesce((SELECT json_agg(json_build_object('id', c.cell_id, 'ord', c.ord, 'data', c.data)) FROM diagram_cells c WHERE c.diagram_id = d.id), '[]'::json) AS cells
     FROM collab_sessions s JOIN diagrams d ON d.id = s.diagram_id AND d.deleted_at IS NULL
     WHERE s.id = $1 AND s.state = 'active'`,
    [sessionId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    diagramId: r.diagram_id,
    seq: Number(r.seq),
    updateVector: Number(r.update_vector),
    nextCellOrd: Number(r.next_cell_ord),
    cells: new Map(r.cells.map((c) => [c.id.toLowerCase(), { ord: Number(c.ord), data: c.data }])),
  };
}

/** At most this many logged operations are replayed into a copy; one further behind reloads. */
const MAX_REPLAY = 1000;

/**
 * One statement (one snapshot): what happened to an active session's diagram after sequence
 * `afterSeq` — the counters now and the cell changes of the next (at most MAX_REPLAY) logged
 * operations, in order — and which of `operationIds` were applied before. Null when the session is
 * no longer active.
 */
export async function editsSince(
  q: Queryable,
  sessionId: string,
  afterSeq: number,
  operationIds: string[],
): Promise<{ seq: number; updateVector: number; nextCellOrd: number; ops: { updateVector: number; changes: Change[] | null }[]; applied: string[] } | null> {
  const rows = await q.query<{ seq: number; update_vector: number; next_cell_ord: number; ops: { v: number; c: { changes: Change[] } | null }[]; applied: string[] }>(
    `SELECT s.seq, d.update_vector, d.next_cell_ord,
       coalesce((SELECT json_agg(json_build_object('v', o.update_vector, 'c', o.inverse) ORDER BY o.seq) FROM collab_ops o
                 WHERE o.session_id = s.id AND o.seq > $2 AND o.seq <= $2 + $4), '[]'::json) AS ops,
       coalesce((SELECT array_agg(o.operation_id) FROM collab_ops o
                 WHERE o.session_id = s.id AND o.kind = 'op' AND o.operation_id = ANY($3::text[])), '{}') AS applied
     FROM collab_sessions s JOIN diagrams d ON d.id = s.diagram_id AND d.deleted_at IS NULL
     WHERE s.id = $1 AND s.state = 'active'`,
    [sessionId, afterSeq, operationIds, MAX_REPLAY],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    seq: Number(r.seq),
    updateVector: Number(r.update_vector),
    nextCellOrd: Number(r.next_cell_ord),
    ops: r.ops.map((o) => ({ updateVector: Number(o.v), changes: o.c?.changes ?? null })),
    applied: r.applied,
  };
}

// ---- undo/redo (rare; plainer statements) ----

/** Locks the session row: the one serialisation point of a session's operations, across instances. */
export async function lockSession(q: Queryable, id: string): Promise<{ seq: number; state: string; diagram_id: string } | null> {
  const rows = await q.query<{ seq: number; state: string; diagram_id: string }>('SELECT seq, state, diagram_id FROM collab_sessions WHERE id = $1 FOR UPDATE', [id]);
  return rows[0] ?? null;
}

export async function diagramCounters(q: Queryable, diagramId: string): Promise<{ update_vector: number; next_cell_ord: number } | null> {
  const rows = await q.query<{ update_vector: number; next_cell_ord: number }>(
    'SELECT update_vector, next_cell_ord FROM diagrams WHERE id = $1 AND deleted_at IS NULL',
    [diagramId],
  );
  return rows[0] ?? null;
}

/** The stored state of just these cells (absent ids are missing from the map). */
export async function loadCells(q: Queryable, diagramId: string, ids: string[]): Promise<Map<string, StoredCell>> {
  const rows = await q.query<{ cell_id: string; ord: number; data: StoredCell['data'] }>(
    'SELECT cell_id, ord, data FROM diagram_cells WHERE diagram_id = $1 AND cell_id = ANY($2::uuid[])',
    [diagramId, [...new Set(ids.map((i) => i.toLowerCase()))]],
  );
  return new Map(rows.map((r) => [r.cell_id.toLowerCase(), { ord: Number(r.ord), data: r.data }]));
}

/** Writes the transitions: deletes and upserts of the touched cells only. */
export async function writeChanges(q: Queryable, diagramId: string, changes: Change[]): Promise<void> {
  const removed = changes.filter((c) => c.after === null).map((c) => c.id);
  const written = changes.filter((c) => c.after !== null).map((c) => ({ id: c.id, ord: c.after!.ord, data: c.after!.data }));
  await writeCellRows(q, diagramId, removed, written);
}

/** Advances the diagram's update_vector (and its next cell slot); returns the new vector. */
export async function bumpDiagram(q: Queryable, diagramId: string, nextCellOrd: number): Promise<number> {
  const rows = await q.query<{ update_vector: number }>(
    `UPDATE diagrams SET update_vector = update_vector + 1, next_cell_ord = $2, modified_at = now() WHERE id = $1 RETURNING update_vector`,
    [diagramId, nextCellOrd],
  );
  return Number(rows[0]!.update_vector);
}

export async function nextSeq(q: Queryable, sessionId: string): Promise<number> {
  const rows = await q.query<{ seq: number }>('UPDATE collab_sessions SET seq = seq + 1, last_activity = now() WHERE id = $1 RETURNING seq', [sessionId]);
  return Number(rows[0]!.seq);
}

export interface OpRow {
  seq: number;
  kind: 'op' | 'undo' | 'redo';
  operation_id: string;
  initiating_user: WireUser;
  patch: unknown[];
  inverse: { changes: Change[] } | null;
  update_vector: number;
}

export async function insertOp(
  q: Queryable,
  o: { sessionId: string; seq: number; kind: OpRow['kind']; operationId: string; userUuid: string; user: WireUser; patch: unknown[]; changes: Change[] | null; updateVector: number },
): Promise<void> {
  await q.query(
    `INSERT INTO collab_ops (session_id, seq, kind, operation_id, user_uuid, initiating_user, patch, inverse, update_vector, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())`,
    [o.sessionId, o.seq, o.kind, o.operationId, o.userUuid, JSON.stringify(o.user), JSON.stringify(o.patch), o.changes ? JSON.stringify({ changes: o.changes }) : null, o.updateVector],
  );
}

/** A new edit clears the redo stack. */
export async function discardRedo(q: Queryable, sessionId: string): Promise<void> {
  await q.query(`UPDATE collab_ops SET status = 'discarded' WHERE session_id = $1 AND kind = 'op' AND status = 'undone'`, [sessionId]);
}

export async function opByOperationId(q: Queryable, sessionId: string, operationId: string): Promise<OpRow | null> {
  const rows = await q.query<OpRow>(
    `SELECT seq, kind, operation_id, initiating_user, patch, NULL AS inverse, update_vector FROM collab_ops
     WHERE session_id = $1 AND operation_id = $2 AND kind = 'op'`,
    [sessionId, operationId],
  );
  return rows[0] ?? null;
}

/** The most recent applied edit (undo) or the most recently undone one (redo). */
export async function historyCandidate(q: Queryable, sessionId: string, which: 'undo' | 'redo'): Promise<OpRow | null> {
  const rows = await q.query<OpRow>(
    which === 'undo'
      ? `SELECT seq, kind, operation_id, initiating_user, patch, inverse, update_vector FROM collab_ops
         WHERE session_id = $1 AND kind = 'op' AND status = 'applied' ORDER BY seq DESC LIMIT 1`
      : `SELECT seq, kind, operation_id, initiating_user, patch, inverse, update_vector FROM collab_ops
         WHERE session_id = $1 AND kind = 'op' AND status = 'undone' ORDER BY undone_at DESC LIMIT 1`,
    [sessionId],
  );
  return rows[0] ?? null;
}

export async function markHistory(q: Queryable, sessionId: string, seq: number, status: 'applied' | 'undone', at: number | null): Promise<void> {
  await q.query('UPDATE collab_ops SET status = $3, undone_at = $4 WHERE session_id = $1 AND seq = $2', [sessionId, seq, status, at]);
}

export async function opsSince(q: Queryable, sessionId: string, afterSeq: number, limit = 10_000): Promise<OpRow[]> {
  return q.query<OpRow>(
    `SELECT seq, kind, operation_id, initiating_user, patch, NULL AS inverse, update_vector FROM collab_ops
     WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [sessionId, afterSeq, limit],
  );
}

/** The whole diagram state and the session position it corresponds to, read consistently. */
export async function snapshot(q: Queryable, sessionId: string, diagramId: string) {
  // Shares the session lock with writers: no operation commits between these reads.
  const s = await q.query<{ seq: number }>('SELECT seq FROM collab_sessions WHERE id = $1 FOR SHARE', [sessionId]);
  const d = await q.query<{ update_vector: number; color_palette: unknown; cells: string }>(
    `SELECT d.update_vector, d.color_palette,
       coalesce((SELECT json_agg(c.data ORDER BY c.ord)::text FROM diagram_cells c WHERE c.diagram_id = d.id), '[]') AS cells
     FROM diagrams d WHERE d.id = $1`,
    [diagramId],
  );
  return { seq: Number(s[0]?.seq ?? 0), updateVector: Number(d[0]?.update_vector ?? 0), colorPalette: d[0]?.color_palette ?? null, cellsText: d[0]?.cells ?? '[]' };
}

export async function currentVector(q: Queryable, diagramId: string): Promise<number> {
  const rows = await q.query<{ update_vector: number }>('SELECT update_vector FROM diagrams WHERE id = $1', [diagramId]);
  return Number(rows[0]?.update_vector ?? 0);
}
