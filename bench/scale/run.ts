// Scale of data (issue 11): list, filter, sort and paginate with 100 threat models in the database
// (phase A) and with 10,000 models and 200,000 threats (phase B), side by side: phase A's data is
// copied before B grows from it, a server runs on each, and every request is measured on both in
// alternated rounds (as bench:floor does), so the load of other processes falls on both alike; each
// figure is printed with its ratio B/A (goal ≤ 2x), and each server's resident memory after the
// same requests (goal: no growth with the data).
//
//   npm run bench:scale                              (PostgreSQL on 127.0.0.1:5432 + Redis, then PGlite)
//   BENCH_BACKENDS=postgres npm run bench:scale
//   BENCH_ONLY=tm_list,th_deep npm run bench:scale   (some scenarios; keys are printed in the table)
// Env: BENCH_PG_URL (server URL without database), BENCH_REDIS_URL (phase B's server; phase A's uses
// the next database number), BENCH_PORT (B; A on the next port), BENCH_DURATION (s per round, default
// 3), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 4), BENCH_BACKENDS (postgres,pglite),
// BENCH_MODELS (default 10000), BENCH_THREATS (default 200000), BENCH_OWNED (models of the bench
// user in phase B, default 1000), BENCH_KEEP=1 (keep the PostgreSQL database or the PGlite folder for
// EXPLAIN; printed at the end, remove it yourself), BENCH_LIST_CACHE_MB (the server's TMI_LIST_CACHE_MB,
// default 0: lists assembled on every request).
//
// Phase A is made through the API: the bench user owns 70 models (one with 1,000 threats, ten with
// 20), other users own 30, of which 10 share with the bench user by a user entry, 10 by a TMI group
// the bench user is a member of, 5 with everyone, and 5 not at all. Phase B adds models and threats
// by SQL, cloned from rows the server wrote in phase A (access list, metadata, audit entries with
// snapshots, alias counters; the read model of migrations 0070 and 0103 by its own triggers, or for the
// threats by one statement with the same end state), so they are the
// rows the API would have written; the bench user owns BENCH_OWNED of all models and reads 200 more
// by a user entry, 200 by the group and 100 by everyone, the rest are not theirs to see. The model
// with 1,000 threats keeps its size: what grows is the database around it. Both servers are started
// fresh after the seeding (PGlite allows one process on its folder, hence the copy), so their
// resident memory is comparable: a fresh process after the same requests.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon, { type Result } from 'autocannon';
import pg from 'pg';
import { ROOT, run, stop, waitFor, type Child } from '../support/child.ts';
import { signInOverHttp } from '../../test/support/process.ts';
import { api, parallel } from '../support/http.ts';

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/11';
const PORT = Number(process.env.BENCH_PORT ?? 18186);
const DURATION = Number(process.env.BENCH_DURATION ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',');
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const MODELS = Number(process.env.BENCH_MODELS ?? 10_000);
const THREATS = Number(process.env.BENCH_THREATS ?? 200_000);
const OWNED = Number(process.env.BENCH_OWNED ?? 1000);
const KEEP = process.env.BENCH_KEEP === '1';
const BIG_THREATS = 1000;
const OTHER_USERS = 20;

const BUILT_IN = {
  everyone: '00000000-0000-0000-0000-000000000000',
  securityReviewers: '00000000-0000-0000-0000-000000000001',
  tmiAutomation: '00000000-0000-0000-0000-000000000004',
};
const AREAS = ['Payments', 'Checkout', 'Identity', 'Search', 'Reporting', 'Billing', 'Mobile', 'Partner', 'Inventory', 'Messaging'];

/** Threats that differ in what the list filters and sorts on. */
const threatBody = (i: number) => ({
  name: `${['Spoofing of the session token', 'Tampering with the audit log', 'Repudiation of a payment', 'Disclosure of card data', 'Denial of service on search', 'Elevation through the admin API'][i % 6]} ${i}`,
  description: 'An attacker who obtains a session token can act as the user until the token expires; tokens travel in headers and may be logged by proxies.',
  mitigation: 'Short-lived tokens bound to the client, refresh with rotation, and redaction of Authorization headers in every log.',
  severity: ['Critical', 'High', 'Medium', 'Low', 'Informational', 'Unknown'][i % 6],
  score: ((i * 37) % 100) / 10,
  priority: ['Immediate', 'High', 'Medium', 'Low', 'Deferred'][i % 5],
  mitigated: i % 7 === 0,
  status: ['Open', 'Investigating', 'Mitigation_Planned', 'Mitigated', 'Accepted'][(i * 3) % 5],
  threat_type: [['Spoofing'], ['Tampering', 'Repudiation'], ['Information Disclosure'], ['Denial of Service'], ['Elevation of Privilege', 'Spoofing']][i % 5],
  metadata: [{ key: 'ticket', value: `SEC-${1000 + i}` }],
  cwe_id: ['CWE-287'],
  cvss: [{ vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:N', score: 8.1 }],
});

/** SQL straight on the benchmark's database, with the server stopped (PGlite allows one process). */
interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function openSql(backend: string, target: string): Promise<Sql> {
  if (backend === 'postgres') {
    const c = new pg.Client({ connectionString: target });
    await c.connect();
    return { query: async (t, p = []) => (await c.query(t, p)).rows, close: () => c.end() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite({ dataDir: target });
  await db.waitReady;
  return { query: async <T>(t: string, p: unknown[] = []) => (await db.query<T>(t, p)).rows, close: () => db.close() };
}

/** Phase B by SQL: clones of rows the server wrote in phase A (see the header). */
async function growData(sql: Sql, ids: { bench: string; readers: string; owners: string[]; templateModel: string }): Promise<void> {
  const others = MODELS - (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM threat_models'))[0]!.n;
  const ownedMore = Math.max(0, OWNED - (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM threat_models WHERE owner_uuid = $1', [ids.bench]))[0]!.n);
  const threatsNow = (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM threats'))[0]!.n;
  const perModel = Math.floor((THREATS - threatsNow) / others);
  const extra = THREATS - threatsNow - perModel * others;
  await sql.query('BEGIN');
  // Which model is whose, shared how, when made (a permutation of 10-minute steps back from an hour
  // ago, so visible and invisible models interleave in time and all are older than phase A's).
  await sql.query(
    `CREATE TEMP TABLE seed_models AS
     SELECT n, gen_random_uuid() AS id,
       CASE WHEN n <= $2 THEN $3::uuid ELSE ($4::uuid[])[1 + n % cardinality($4::uuid[])] END AS owner_uuid,
       CASE WHEN n <= $2 THEN 'own' WHEN n <= $2 + 200 THEN 'user' WHEN n <= $2 + 400 THEN 'group' WHEN n <= $2 + 500 THEN 'everyone' ELSE 'none' END AS share,
       date_trunc('milliseconds', now() - interval '1 hour' - make_interval(secs => ((n::bigint * 7919) % $1) * 600)) AS created_at,
       ($5::text[])[1 + n % 10] || ' service ' || n AS name,
       $6::int + CASE WHEN n <= $7 THEN 1 ELSE 0 END AS threats
     FROM generate_series(1, $1::int) n`,
    [others, ownedMore, ids.bench, ids.owners, AREAS, perModel, extra],
  );
  await sql.query(
    `INSERT INTO threat_models (id, name, description, threat_model_framework, issue_uri, status, status_updated, is_confidential,
       owner_uuid, created_by_uuid, created_at, modified_at)
     SELECT m.id, m.name, t.description, t.threat_model_framework, t.issue_uri, t.status, m.created_at, false, m.owner_uuid, m.owner_uuid, m.created_at, m.created_at
     FROM seed_models m, threat_models t WHERE t.id = $1 ORDER BY m.created_at`,
    [ids.templateModel],
  );
  // The access list as the server writes it: the owner first, the shares, then the automatic entries.
  await sql.query(
    `INSERT INTO threat_model_access (threat_model_id, position, subject_type, user_uuid, group_uuid, role)
     SELECT id, 0, 'user', owner_uuid, NULL::uuid, 'owner' FROM seed_models
     UNION ALL SELECT id, 1, 'user', $1::uuid, NULL, 'reader' FROM seed_models WHERE share = 'user'
     UNION ALL SELECT id, 1, 'group', NULL, $2::uuid, 'reader' FROM seed_models WHERE share = 'group'
     UNION ALL SELECT id, 1, 'group', NULL, $3::uuid, 'reader' FROM seed_models WHERE share = 'everyone'
     UNION ALL SELECT id, CASE WHEN share IN ('user', 'group', 'everyone') THEN 2 ELSE 1 END, 'group', NULL, $4::uuid, 'owner' FROM seed_models
     UNION ALL SELECT id, CASE WHEN share IN ('user', 'group', 'everyone') THEN 3 ELSE 2 END, 'group', NULL, $5::uuid, 'writer' FROM seed_models`,
    [ids.bench, ids.readers, BUILT_IN.everyone, BUILT_IN.securityReviewers, BUILT_IN.tmiAutomation],
  );
  await sql.query(
    `INSERT INTO metadata (entity_type, entity_id, key, value, created_at, modified_at)
     SELECT 'threat_model', m.id, md.key, md.value, m.created_at, m.created_at
     FROM seed_models m, metadata md WHERE md.entity_type = 'threat_model' AND md.entity_id = $1`,
    [ids.templateModel],
  );
  const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const userJson = (u: string) =>
    `jsonb_build_object('principal_type', 'user', 'provider', ${u}.provider, 'provider_id', coalesce(${u}.provider_user_id, ${u}.email), 'display_name', ${u}.name, 'email', ${u}.email)`;
  // The creation entry of each model, its snapshot the template's with this model's fields.
  await sql.query(
    `INSERT INTO audit_entries (id, threat_model_id, object_type, object_id, version, change_type, actor_email, actor_provider,
       actor_provider_id, actor_display_name, change_summary, snapshot, created_at)
     SELECT gen_random_uuid(), m.id, 'threat_model', m.id, 1, 'created', u.email, u.provider, coalesce(u.provider_user_id, u.email), u.name,
       a.change_summary,
       a.snapshot || jsonb_build_object('id', m.id, 'name', m.name, 'alias', tm.alias, 'owner', ${userJson('u')}, 'created_by', ${userJson('u')},
         'created_at', ${iso('m.created_at')}, 'modified_at', ${iso('m.created_at')}, 'status_updated', ${iso('m.created_at')},
         'authorization', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('principal_type', x.subject_type, 'provider', coalesce(xu.provider, g.provider),
             'provider_id', coalesce(xu.provider_user_id, xu.email, g.group_name), 'display_name', coalesce(xu.name, g.name, g.group_name),
             'email', xu.email, 'role', x.role)) ORDER BY x.position)
           FROM threat_model_access x LEFT JOIN users xu ON xu.internal_uuid = x.user_uuid LEFT JOIN groups g ON g.internal_uuid = x.group_uuid
           WHERE x.threat_model_id = m.id)),
       m.created_at
     FROM seed_models m JOIN threat_models tm ON tm.id = m.id JOIN users u ON u.internal_uuid = m.owner_uuid,
       audit_entries a WHERE a.threat_model_id = $1 AND a.object_type = 'threat_model' AND a.change_type = 'created'`,
    [ids.templateModel],
  );
  // Threats: the template model's, in turn, a minute apart from the model's creation.
  await sql.query(
    `CREATE TEMP TABLE seed_threats AS
     SELECT gen_random_uuid() AS id, m.id AS threat_model_id, k AS alias, t.id AS template_id,
       m.created_at + make_interval(mins => k) AS created_at
     FROM seed_models m CROSS JOIN LATERAL generate_series(1, m.threats) k
     JOIN (SELECT id, row_number() OVER (ORDER BY alias) AS r, count(*) OVER () AS c FROM threats WHERE threat_model_id = $1) t
       ON t.r = 1 + (k - 1) % t.c`,
    [ids.templateModel],
  );
  // The read model's triggers would record a change per threat and per threat metadata entry
  // (400,000 single-row inserts, most of the seeding time); they are held back for these inserts,
  // and one change per seeded model recorded after them, which is the same end state.
  await sql.query(`SET LOCAL session_replication_role = replica`);
  await sql.query(
    `INSERT INTO threats (id, threat_model_id, alias, name, description, mitigation, diagram_id, cell_id, asset_id, severity, score, priority,
       mitigated, status, threat_type, issue_uri, cwe_id, cvss, ssvc, include_in_report, timmy_enabled, auto_generated, created_at, modified_at)
     SELECT s.id, s.threat_model_id, s.alias, t.name, t.description, t.mitigation, NULL, NULL, NULL, t.severity, t.score, t.priority,
       t.mitigated, t.status, t.threat_type, t.issue_uri, t.cwe_id, t.cvss, t.ssvc, t.include_in_report, t.timmy_enabled, t.auto_generated,
       s.created_at, s.created_at
     FROM seed_threats s JOIN threats t ON t.id = s.template_id ORDER BY s.threat_model_id, s.alias`,
  );
  await sql.query(
    `INSERT INTO alias_counters (parent_id, object_type, next_alias) SELECT id, 'threat', threats + 1 FROM seed_models WHERE threats > 0`,
  );
  await sql.query(
    `INSERT INTO metadata (entity_type, entity_id, key, value, created_at, modified_at)
     SELECT 'threat', s.id, md.key, md.value, s.created_at, s.created_at
     FROM seed_threats s JOIN metadata md ON md.entity_type = 'threat' AND md.entity_id = s.template_id`,
  );
  await sql.query(`SET LOCAL session_replication_role = origin`);
  await sql.query(
    `INSERT INTO threat_model_changes (threat_model_id, xid) SELECT DISTINCT threat_model_id, pg_current_xact_id() FROM seed_threats ON CONFLICT DO NOTHING`,
  );
  await sql.query(
    `INSERT INTO audit_entries (id, threat_model_id, object_type, object_id, version, change_type, actor_email, actor_provider,
       actor_provider_id, actor_display_name, change_summary, snapshot, created_at)
     SELECT gen_random_uuid(), s.threat_model_id, 'threat', s.id, 1, 'created', u.email, u.provider, coalesce(u.provider_user_id, u.email), u.name,
       a.change_summary,
       a.snapshot || jsonb_build_object('id', s.id, 'threat_model_id', s.threat_model_id, 'alias', s.alias,
         'created_at', ${iso('s.created_at')}, 'modified_at', ${iso('s.created_at')}),
       s.created_at
     FROM seed_threats s JOIN seed_models m ON m.id = s.threat_model_id JOIN users u ON u.internal_uuid = m.owner_uuid
     JOIN audit_entries a ON a.object_id = s.template_id AND a.object_type = 'threat' AND a.change_type = 'created'`,
  );
  await sql.query('COMMIT');
  // What autovacuum would have done by the time a real database held this much.
  await sql.query('VACUUM ANALYZE');
}

interface Figures {
  rps: number;
  /** Mean latency (ms, with decimals: p50 and p99 come in whole milliseconds, too coarse for a ratio at 2 ms). */
  mean: number;
  p50: number;
  p99: number;
  bad: number;
}

async function measure(url: string, token: string, duration = DURATION): Promise<Figures> {
  const r: Result = await autocannon({ url, connections: CONNECTIONS, duration, headers: { authorization: `Bearer ${token}` } });
  return { rps: Math.round(r.requests.average), mean: r.latency.mean, p50: r.latency.p50, p99: r.latency.p99, bad: r.errors + r.timeouts + r.non2xx };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/**
 * One request on both servers: a second of warm-up each, then ROUNDS rounds alternated (A B, B A,
 * ...). Mean requests per second, median p50 and p99 of the rounds.
 */
async function measureSideBySide(urlA: string, tokenA: string, urlB: string, tokenB: string): Promise<[Figures, Figures]> {
  await measure(urlA, tokenA, 1);
  await measure(urlB, tokenB, 1);
  const a: Figures[] = [];
  const b: Figures[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      a.push(await measure(urlA, tokenA));
      b.push(await measure(urlB, tokenB));
    } else {
      b.push(await measure(urlB, tokenB));
      a.push(await measure(urlA, tokenA));
    }
  }
  const summary = (fs: Figures[]): Figures => ({
    rps: Math.round(fs.reduce((t, f) => t + f.rps, 0) / fs.length),
    mean: Math.round((fs.reduce((t, f) => t + f.mean, 0) / fs.length) * 100) / 100,
    p50: median(fs.map((f) => f.p50)),
    p99: median(fs.map((f) => f.p99)),
    bad: fs.reduce((t, f) => t + f.bad, 0),
  });
  return [summary(a), summary(b)];
}

function rssMiB(child: Child): number {
  const status = readFileSync(`/proc/${child.proc.pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
}

interface Scenario {
  key: string;
  name: string;
  /** The path (and query) for the data of the server at `base`. */
  path: (base: string) => Promise<string>;
  /**
   * A filter whose matches at A may not fill the default page (the list's key): both phases are
   * then asked for the same number of rows, the fewer they match, so that the ratio measures the
   * finding of the matches, not an answer of 2 rows against one of 20.
   */
  samePage?: string;
}

async function bench(backend: string): Promise<Record<string, unknown>[]> {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'tmi-scale-'));
    dirs.push(d);
    return d;
  };
  let admin: pg.Client | undefined;
  let dbName = '';
  const dataDir = tmp();
  const env: Record<string, string> = {
    TMI_BUILD_MODE: 'test',
    TMI_LOG_LEVEL: 'warn',
    TMI_JWT_SECRET: randomBytes(32).toString('hex'),
    TMI_SERVER_PORT: String(PORT),
    TMI_DATA_DIR: dataDir,
    // What grows with the data is the assembly of a list, which a kept answer would hide (every
    // request here repeats its query): measured with the list read model off unless asked for.
    TMI_LIST_CACHE_MB: process.env.BENCH_LIST_CACHE_MB ?? '0',
  };
  let sqlTarget = path.join(dataDir, 'pglite');
  if (backend === 'postgres') {
    admin = new pg.Client({ connectionString: `${PG_URL}/postgres` });
    await admin.connect();
    dbName = `tmi_scale_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    env.TMI_DATABASE_URL = `${PG_URL}/${dbName}`;
    env.TMI_REDIS_URL = REDIS_URL;
    sqlTarget = `${PG_URL}/${dbName}`;
  }
  const base = `http://127.0.0.1:${PORT}`;
  let server: Child | undefined;
  let serverA: Child | undefined;
  const start = async () => {
    server = run(['server/main.ts'], env);
    await waitFor(`${base}/`, server);
  };
  const withServerStopped = async (fn: (sql: Sql) => Promise<void>) => {
    if (server) await stop(server);
    server = undefined;
    const sql = await openSql(backend, sqlTarget);
    try {
      await fn(sql);
    } finally {
      await sql.close();
    }
    await start();
  };
  const rows: Record<string, unknown>[] = [];
  try {
    await start();
    let t0 = Date.now();
    const token = await signInOverHttp(base, 'bench-user');
    const owners: string[] = [];
    for (let i = 1; i <= OTHER_USERS; i++) owners.push(await signInOverHttp(base, `scale-owner-${i}`));
    const share = (kind: string) =>
      kind === 'user'
        ? [{ principal_type: 'user', provider: 'tmi', provider_id: 'bench-user', role: 'reader' }]
        : kind === 'group'
          ? [{ principal_type: 'group', provider: 'tmi', provider_id: 'bench-readers', role: 'reader' }]
          : kind === 'everyone'
            ? [{ principal_type: 'group', provider: 'tmi', provider_id: 'everyone', role: 'reader' }]
            : [];
    const create = (tok: string, i: number, kind = 'own') =>
      api<{ id: string }>(base, tok, 'POST', '/threat_models', {
        name: `${AREAS[i % 10]} service A${i}`,
        description: 'A threat model created by the scale benchmark.',
        metadata: [{ key: 'team', value: 'scale' }],
        authorization: share(kind),
      });
    const big = await create(token, 0);
    await parallel(BIG_THREATS / 20, 4, (b) =>
      api(base, token, 'POST', `/threat_models/${big.id}/threats/bulk`, Array.from({ length: 20 }, (_, j) => threatBody(b * 20 + j))),
    );
    const small: string[] = [];
    await parallel(69, 4, async (i) => {
      const m = await create(token, i + 1);
      if (i < 10) {
        await api(base, token, 'POST', `/threat_models/${m.id}/threats/bulk`, Array.from({ length: 20 }, (_, j) => threatBody(j)));
        small.push(m.id);
      }
    });
    const kinds = [...Array(10).fill('user'), ...Array(10).fill('group'), ...Array(5).fill('everyone'), ...Array(5).fill('none')] as string[];
    await parallel(kinds.length, 4, (i) => create(owners[i % OTHER_USERS]!, 100 + i, kinds[i]));
    const templateModel = small[0]!;
    let ids = { bench: '', readers: '', owners: [] as string[], templateModel };
    // Membership of the TMI group is TMI's own record (an administrator's act); written here.
    await withServerStopped(async (sql) => {
      const bench = (await sql.query<{ id: string }>(`SELECT internal_uuid AS id FROM users WHERE provider = 'tmi' AND provider_user_id = 'bench-user'`))[0]!.id;
      const readers = (await sql.query<{ id: string }>(`SELECT internal_uuid AS id FROM groups WHERE provider = 'tmi' AND group_name = 'bench-readers'`))[0]!.id;
      await sql.query('INSERT INTO group_members (group_uuid, user_uuid) VALUES ($1, $2)', [readers, bench]);
      const others = await sql.query<{ id: string }>(`SELECT internal_uuid AS id FROM users WHERE provider_user_id LIKE 'scale-owner-%' ORDER BY 1`);
      ids = { bench, readers, owners: others.map((o) => o.id), templateModel };
      await sql.query('VACUUM ANALYZE');
    });
    console.log(`[${backend}] phase A seeded through the API in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // The bench user's token on each server (each signs its own), once both run.
    const tokens = new Map<string, string>();
    const firstOf = async (at: string, url: string, listKey: string) => {
      const r = await api<Record<string, unknown>>(at, tokens.get(at) ?? token, 'GET', url);
      return { total: r.total as number, first: (r[listKey] as { created_at: string }[])[0] };
    };
    const deepOffset = async (at: string, url: string, listKey: string) =>
      Math.max(0, (await firstOf(at, `${url}${url.includes('?') ? '&' : '?'}limit=1`, listKey)).total - 20);
    // The keyset a client of the reference has: the created_at of the last item it saw, sent back
    // as created_before (the lists are newest first); here the page 40 from the end.
    const keyset = async (at: string, url: string, listKey: string) => {
      const total = (await firstOf(at, `${url}?limit=1`, listKey)).total;
      const last = (await firstOf(at, `${url}?limit=1&offset=${Math.max(0, total - 40)}`, listKey)).first!.created_at;
      return `${url}?created_before=${encodeURIComponent(last)}`;
    };
    const bigThreats = `/threat_models/${big.id}/threats`;
    const scenarios: Scenario[] = [
      { key: 'tm_list', name: 'GET /threat_models', path: async () => '/threat_models' },
      { key: 'tm_name', name: 'GET /threat_models?name=payments', path: async () => '/threat_models?name=payments', samePage: 'threat_models' },
      // Every model's description matches: the filter reads and compares each one the caller can see.
      { key: 'tm_description', name: 'GET /threat_models?description=benchmark', path: async () => '/threat_models?description=benchmark', samePage: 'threat_models' },
      { key: 'tm_owner', name: 'GET /threat_models?owner=scale-owner-3', path: async () => '/threat_models?owner=scale-owner-3%40', samePage: 'threat_models' },
      { key: 'tm_deep', name: 'GET /threat_models?offset=total-20', path: async (at: string) => `/threat_models?offset=${await deepOffset(at, '/threat_models', 'threat_models')}` },
      { key: 'tm_keyset', name: 'GET /threat_models?created_before=…', path: (at: string) => keyset(at, '/threat_models', 'threat_models') },
      { key: 'tm_get', name: 'GET /threat_models/{id} (1,000 threats)', path: async () => `/threat_models/${big.id}` },
      { key: 'th_list', name: 'GET …/threats (of 1,000)', path: async () => bigThreats },
      { key: 'th_filter', name: 'GET …/threats?severity=high&name=token', path: async () => `${bigThreats}?severity=high&name=token` },
      ...['name:asc', 'severity:desc', 'score:desc', 'status:asc', 'priority:desc', 'modified_at:desc'].map((s) => ({
        key: `th_sort_${s.split(':')[0]}`,
        name: `GET …/threats?sort=${s}`,
        path: async () => `${bigThreats}?sort=${s}`,
      })),
      { key: 'th_deep', name: 'GET …/threats?offset=980', path: async (at: string) => `${bigThreats}?offset=${await deepOffset(at, bigThreats, 'threats')}` },
      { key: 'th_deep_sort', name: 'GET …/threats?offset=980&sort=severity:desc', path: async (at: string) => `${bigThreats}?sort=severity:desc&offset=${await deepOffset(at, bigThreats, 'threats')}` },
      { key: 'th_keyset', name: 'GET …/threats?created_before=…', path: (at: string) => keyset(at, bigThreats, 'threats') },
    ].filter((s) => !ONLY || ONLY.has(s.key));

    // Phase A's data is copied (with its server stopped) before B grows from it; then a server runs
    // on each, B's on PORT and A's on the next port, with its own Redis database.
    const baseA = `http://127.0.0.1:${PORT + 1}`;
    const envA: Record<string, string> = { ...env, TMI_SERVER_PORT: String(PORT + 1) };
    if (server) await stop(server);
    server = undefined;
    if (admin) {
      await admin.query(`CREATE DATABASE ${dbName}_a TEMPLATE ${dbName}`);
      envA.TMI_DATABASE_URL = `${PG_URL}/${dbName}_a`;
      const redisA = new URL(REDIS_URL);
      redisA.pathname = `/${Number(redisA.pathname.slice(1) || 0) + 1}`;
      envA.TMI_REDIS_URL = redisA.toString();
    } else {
      envA.TMI_DATA_DIR = tmp();
      cpSync(dataDir, envA.TMI_DATA_DIR, { recursive: true });
    }
    t0 = Date.now();
    await withServerStopped((sql) => growData(sql, ids));
    console.log(`[${backend}] phase B seeded by SQL in ${((Date.now() - t0) / 1000).toFixed(1)} s (restart included)`);
    serverA = run(['server/main.ts'], envA);
    await waitFor(`${baseA}/`, serverA);
    tokens.set(baseA, await signInOverHttp(baseA, 'bench-user'));
    tokens.set(base, await signInOverHttp(base, 'bench-user'));

    const visible = { a: (await firstOf(baseA, '/threat_models?limit=1', 'threat_models')).total, b: (await firstOf(base, '/threat_models?limit=1', 'threat_models')).total };
    const out = new Map<string, { a: Figures & { url: string }; b: Figures & { url: string } }>();
    const pages: string[] = [];
    for (const s of scenarios) {
      let urlA = await s.path(baseA);
      let urlB = await s.path(base);
      if (s.samePage) {
        const totalA = (await firstOf(baseA, `${urlA}&limit=1`, s.samePage)).total;
        const totalB = (await firstOf(base, `${urlB}&limit=1`, s.samePage)).total;
        const rows = Math.max(1, Math.min(totalA, totalB, 20));
        urlA += `&limit=${rows}`;
        urlB += `&limit=${rows}`;
        pages.push(`${s.key}: ${rows} rows a page at both (A matches ${totalA}, B ${totalB})`);
      }
      const [fa, fb] = await measureSideBySide(`${baseA}${urlA}`, tokens.get(baseA)!, `${base}${urlB}`, tokens.get(base)!);
      out.set(s.key, { a: { url: urlA, ...fa }, b: { url: urlB, ...fb } });
    }
    const rss = { a: rssMiB(serverA), b: rssMiB(server!) };
    console.log(`[${backend}] ${visible.a} models visible to the bench user in A, ${visible.b} in B; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

    console.log(`\n[${backend}] ${MODELS} models / ${THREATS} threats vs 100 models; ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s each, alternated`);
    console.log(`${'scenario'.padEnd(48)} ${'A p50'.padStart(7)} ${'A p99'.padStart(7)} ${'A req/s'.padStart(8)} | ${'B p50'.padStart(7)} ${'B p99'.padStart(7)} ${'B req/s'.padStart(8)} | B/A mean B/A req/s`);
    for (const s of scenarios) {
      const { a: fa, b: fb } = out.get(s.key)!;
      const meanRatio = Math.round((fb.mean / fa.mean) * 100) / 100;
      const rpsRatio = Math.round((fa.rps / Math.max(fb.rps, 1)) * 100) / 100;
      const flag = meanRatio > 2 || rpsRatio > 2 ? '  > 2x' : '';
      const bad = fa.bad || fb.bad ? `  (non-2xx or errors: A ${fa.bad}, B ${fb.bad})` : '';
      console.log(
        `${`${s.key} ${s.name}`.slice(0, 48).padEnd(48)} ${String(fa.p50).padStart(7)} ${String(fa.p99).padStart(7)} ${String(fa.rps).padStart(8)} | ${String(fb.p50).padStart(7)} ${String(fb.p99).padStart(7)} ${String(fb.rps).padStart(8)} | ${String(meanRatio).padStart(8)} ${String(rpsRatio).padStart(9)}${flag}${bad}`,
      );
      rows.push({ backend, key: s.key, scenario: s.name, a: fa, b: fb, mean_ratio: meanRatio, rps_ratio: rpsRatio });
    }
    console.log(`${'resident memory after the requests (MiB)'.padEnd(48)} ${String(rss.a).padStart(7)} ${''.padStart(16)} | ${String(rss.b).padStart(7)}`);
    console.log(`models visible to the bench user: A ${visible.a}, B ${visible.b}`);
    for (const p of pages) console.log(p);
    console.log('');
    rows.push({ backend, key: 'rss_mib', ...rss, visible });
  } finally {
    if (server) await stop(server);
    if (serverA) await stop(serverA);
    if (admin) {
      if (KEEP) console.log(`[${backend}] kept the databases ${PG_URL}/${dbName} (B) and ${dbName}_a (A)`);
      else for (const name of [dbName, `${dbName}_a`]) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    }
    if (KEEP && backend === 'pglite') console.log(`[${backend}] kept the database folders ${sqlTarget} (B) and the copy of phase A beside it`);
    else for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return rows;
}

async function main() {
  const date = new Date().toISOString();
  const load = loadavg();
  const all: Record<string, unknown>[] = [];
  for (const b of BACKENDS) all.push(...(await bench(b)));
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  const file = path.join(ROOT, 'bench/results', `scale-${date}.json`.replace(/:/g, '-'));
  writeFileSync(
    file,
    `${JSON.stringify({ date, node: process.version, load_at_start: load, load_at_end: loadavg(), duration_s: DURATION, connections: CONNECTIONS, models: MODELS, threats: THREATS, owned: OWNED, scenarios: all }, null, 2)}\n`,
  );
  console.log(`results: ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
