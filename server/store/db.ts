// One SQL dialect (PostgreSQL) on two back ends: PGlite (embedded default) and pooled `pg`.
// Every query is parameterised; nothing in this module builds SQL from values.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { PGlite as PGliteType } from '@electric-sql/pglite';
import type pg from 'pg';
import { OutageWatch, StoreUnavailableError, isPgConnectionFailure, type OutageLogger } from './availability.ts';
import { ConnectionPool, PoolExhaustedError, type PoolOptions } from './pool.ts';
import { MAX_PAGE_SIZE } from '../../contract/limits.ts';
import { appPath } from '../app-root.ts';

export interface Queryable {
  /**
   * `prepared`: a name under which PostgreSQL keeps the statement parsed (and, once it has seen
   * enough executions, planned) on each connection — for the few statements on hot paths.
   */
  query<T = Record<string, unknown>>(text: string, params?: unknown[], prepared?: string): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/** The bound values of a statement built in parts: `bind(v)` adds a value and answers its placeholder. */
export class Params {
  readonly values: unknown[] = [];
  readonly bind = (value: unknown): string => {
    this.values.push(value);
    return `$${this.values.length}`;
  };
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs fn in one transaction; rolls back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Connections of the PostgreSQL pool (metrics); PGlite has no pool. */
  poolStats?(): { total: number; idle: number; waiting: number };
}

/** Shared buffers of the embedded PostgreSQL (a constant: it is written into SQL below). */
const PGLITE_SHARED_BUFFERS = '16MB';

/**
 * A Db whose every query and transaction runs in `q` (an open transaction): services built on it
 * write into the caller's transaction, so a use case made of several of them commits or rolls
 * back as one (import of a whole model).
 */
export function joinedDb(q: Queryable, kind: Db['kind']): Db {
  return {
    kind,
    query: (text, params, prepared) => q.query(text, params, prepared),
    exec: (script) => q.exec(script),
    tx: (fn) => fn(q),
    close: async () => undefined,
  };
}

/**
 * A name for a statement built at run time from a bounded set of fragments (a list query with the
 * filters given): the same text gets the same name, so PostgreSQL parses and plans it once per
 * connection instead of once per request. Names are kept for at most MAX_NAMED_STATEMENTS texts;
 * past that a text runs unnamed, so a text that varies with values cannot fill a connection's
 * memory with statements.
 */
export function statementName(text: string): string | undefined {
  const known = statementNames.get(text);
  if (known !== undefined || statementNames.size >= MAX_NAMED_STATEMENTS) return known;
  const name = `tmi_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
  statementNames.set(text, name);
  return name;
}
const MAX_NAMED_STATEMENTS = 256;

/**
 * A page size written into a named statement's text (statementName) instead of passed as a
 * parameter. PostgreSQL reuses a plan made without the parameters' values (a generic plan) only
 * when it costs no more than planning with them; it costs an unknown LIMIT as a tenth of the rows,
 * so for a caller who can see many models the generic plan of the list looked dearer, and every
 * list was planned again: 1 ms of a 3 ms list at 10,000 models (docs/performance.md, scale of
 * data). With the size in the text the generic plan is costed for the page it returns, and reused.
 * Page sizes are bounded (MAX_PAGE_SIZE), and so are the texts.
 */
export function pageSizeLiteral(n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) throw new RangeError(`page size out of range: ${n}`);
  return String(n);
}
const statementNames = new Map<string, string>();

/** PostgreSQL's refusal of a prepared statement whose result columns changed under it (0A000). */
const isStalePlan = (err: unknown): boolean =>
  (err as { code?: string }).code === '0A000' && /cached plan must not change result type/.test((err as Error).message ?? '');

/** The statement failed on unique index or constraint `name` (23505), on either back end; it wrote nothing. */
export const violatesUnique = (err: unknown, name: string): boolean => {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === name;
};

/** How long a query waits for a pooled connection (or to open one) before it answers 503. */
const CONNECT_TIMEOUT_MS = 10_000;

const MIGRATIONS_DIR = appPath('server/store/migrations');

/** The `pg` driver, loaded when a PostgreSQL database is opened (the embedded default never needs it). */
async function loadPg(): Promise<typeof pg> {
  const { default: driver } = await import('pg');
  // bigint (int8) and numeric come back as strings from `pg`; our ids are UUIDs and our counters
  // fit in a double, so parse them as numbers: both back ends then hand the same values to the code.
  driver.types.setTypeParser(20, (v) => Number(v));
  driver.types.setTypeParser(1700, (v) => Number(v));
  return driver;
}

/**
 * A connection that replaces one past its lifetime plans this many of the named statements run most
 * since the start before it serves (ConnectionPool's warmUp): the statements of the hot paths, whose
 * first run on a new backend would otherwise load the catalog caches while a request waits.
 */
const WARMED_STATEMENTS = 8;

/** The highest `$n` in a statement: how many values it takes. */
function parameterCount(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/\$(\d+)/g)) n = Math.max(n, Number(m[1]));
  return n;
}

class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  /** The named statements run so far, and how often: the busiest are planned by replacement connections. */
  private readonly named = new Map<string, { text: string; runs: number }>();
  private readonly pool: ConnectionPool;

  constructor(
    /** PostgreSQL cannot be reached, or a connection broke. */
    private readonly outage: OutageWatch,
    /** Every connection busy: requests waited for one in vain (PoolExhaustedError). */
    private readonly exhaustion: OutageWatch,
    pool: Omit<PoolOptions, 'warmUp'>,
  ) {
    this.pool = new ConnectionPool({ ...pool, warmUp: (client) => this.warmUp(client) });
  }

  /**
   * Plans the busiest named statements on a new connection, without running them: EXPLAIN with
   * every value null opens their tables and indexes and fills the caches their first run would
   * fill. Nothing is written and no row is locked. A statement that cannot be planned so is skipped.
   */
  private async warmUp(client: pg.Client): Promise<void> {
    const busiest = [...this.named.values()].sort((a, b) => b.runs - a.runs).slice(0, WARMED_STATEMENTS);
    for (const s of busiest) await client.query(`EXPLAIN ${s.text}`, new Array(parameterCount(s.text)).fill(null)).catch(() => undefined);
  }

  private counted(config: pg.QueryConfig | string): pg.QueryConfig | string {
    if (typeof config !== 'string' && config.name) {
      const seen = this.named.get(config.name);
      if (seen) seen.runs++;
      else this.named.set(config.name, { text: config.text, runs: 1 });
    }
    return config;
  }

  /**
   * A connection failure, or a wait for a connection in vain, becomes StoreUnavailableError (503),
   * each logged as what it is; anything else is passed on as it is.
   */
  private failure(err: unknown): unknown {
    if (err instanceof PoolExhaustedError) this.exhaustion.failed(err);
    else if (isPgConnectionFailure(err)) this.outage.failed(err);
    else return err;
    return new StoreUnavailableError('database', err);
  }

  /** A statement was answered: an outage or an exhaustion logged before is over. */
  private answered(): void {
    this.outage.recovered();
    this.exhaustion.recovered();
  }

  async query<T>(text: string, params: unknown[] = [], prepared?: string): Promise<T[]> {
    try {
      const res = await this.statement(text, params, prepared);
      this.answered();
      return res.rows as T[];
    } catch (err) {
      throw this.failure(err);
    }
  }

  /**
   * One statement on a connection of the pool. The connection goes back to the pool after a plain
   * SQL error (a unique violation, a check): `pool.query` closes it after any error, so every
   * refused write — a re-sent live edit, a burst of conflicting requests — cost PostgreSQL a new
   * backend. It is closed when it broke, or when the tables under a named statement changed since
   * it was prepared (another instance migrated them): PostgreSQL then refuses that statement on
   * that connection for good, and the query runs again unnamed.
   */
  private async statement(text: string, values: unknown[], name?: string): Promise<pg.QueryResult> {
    const client = await this.pool.acquire();
    try {
      const res = await client.query(this.counted(name ? { text, values, name } : { text, values }));
      this.pool.release(client);
      return res;
    } catch (err) {
      const stale = name !== undefined && isStalePlan(err);
      this.pool.release(client, stale || isPgConnectionFailure(err));
      if (!stale) throw err;
    }
    return this.statement(text, values);
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    let client: pg.Client;
    try {
      client = await this.pool.acquire();
    } catch (err) {
      throw this.failure(err);
    }
    /** The connection broke, or could not roll back: it must not go back to the pool. */
    let discard = false;
    const run = async (config: pg.QueryConfig | string) => {
      try {
        return await client.query(this.counted(config));
      } catch (err) {
        // A statement prepared before another instance migrated its tables fails on this
        // connection for good: close it (the caller's retry gets a fresh one).
        if (isPgConnectionFailure(err) || isStalePlan(err)) discard = true;
        throw this.failure(err);
      }
    };
    try {
      await run('BEGIN');
      const result = await fn({
        query: async <R>(text: string, params: unknown[] = [], prepared?: string) => (await run({ text, values: params, ...(prepared ? { name: prepared } : {}) })).rows as R[],
        exec: async (script: string) => {
          await run(script);
        },
      });
      // A COMMIT cut off by an outage leaves the outcome unknown here: the caller gets 503, so the
      // write is not acknowledged, though it may be there when the caller retries.
      await run('COMMIT');
      this.answered();
      return result;
    } catch (err) {
      if (!discard) await client.query('ROLLBACK').catch(() => (discard = true));
      throw err;
    } finally {
      this.pool.release(client, discard);
    }
  }

  async exec(script: string): Promise<void> {
    try {
      const client = await this.pool.acquire();
      try {
        await client.query(script);
        this.pool.release(client);
      } catch (err) {
        this.pool.release(client, isPgConnectionFailure(err));
        throw err;
      }
    } catch (err) {
      throw this.failure(err);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  poolStats() {
    return this.pool.stats();
  }
}

class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  constructor(
    private readonly pglite: PGliteType,
    private readonly releaseLock: () => void,
  ) {}

  async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const res = await this.pglite.query<T>(text, params);
    return res.rows;
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.pglite.transaction(async (t) =>
      fn({
        query: async <R>(text: string, params: unknown[] = []) => (await t.query<R>(text, params)).rows,
        exec: async (script: string) => {
          await t.exec(script);
        },
      }),
    );
  }

  async exec(script: string): Promise<void> {
    await this.pglite.exec(script);
  }

  async close(): Promise<void> {
    try {
      await this.pglite.close();
    } finally {
      this.releaseLock();
    }
  }

  /** A gzip dump of the whole database, used by the tests' migrated template. */
  async dump(): Promise<Blob> {
    return (await this.pglite.dumpDataDir('gzip')) as Blob;
  }
}

export class DataDirLockedError extends Error {}

/** Whether a process with this id lives (EPERM: it does, as another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders this process holds, so a second open in the same process is refused too. */
const heldDataDirs = new Set<string>();

/** PGlite has no lock of its own: two processes on one folder would corrupt it. */
function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const key = path.resolve(dir);
  const lockFile = path.join(dir, 'tmi.lock');
  if (heldDataDirs.has(key)) {
    throw new DataDirLockedError(`the data folder ${dir} is already open in this TMI process; set TMI_DATA_DIR to another folder`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldDataDirs.add(key);
      return () => {
        heldDataDirs.delete(key);
        // Remove the lock only while it is still ours.
        try {
          if (Number(readFileSync(lockFile, 'utf8').trim()) === process.pid) rmSync(lockFile, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lockFile, 'utf8').trim());
      // Our own pid in a lock we do not hold is stale: a container restarted with the same pid.
      if (holder && holder !== process.pid && pidAlive(holder)) {
        throw new DataDirLockedError(
          `the data folder ${dir} is in use by another TMI process (pid ${holder}); stop it, or set TMI_DATA_DIR to another folder`,
        );
      }
      rmSync(lockFile, { force: true }); // stale lock from a process that died
    }
  }
  throw new DataDirLockedError(`could not lock the data folder ${dir}`);
}

export interface OpenOptions {
  databaseUrl?: string;
  poolMax?: number;
  /** How long a pooled connection may stay idle before it is closed (seconds). */
  poolIdleSeconds?: number;
  /** At most this many idle connections are kept: one given back beyond them is closed (default: poolMax). */
  poolMaxIdle?: number;
  /**
   * A connection is not used once this old (seconds, less up to a tenth at random). One in use is
   * renewed in the background before then; an idle one is closed when next met (server/store/pool.ts).
   * 0: no limit, the default.
   */
  poolMaxLifetimeSeconds?: number;
  /** How long a query waits for a pooled connection before it answers 503 (default CONNECT_TIMEOUT_MS; tests). */
  poolAcquireTimeoutMs?: number;
  /** PGlite folder; ignored with databaseUrl. Omit for an in-memory database (tests). */
  dataDir?: string;
  /** A PGlite dump to start from (tests' migrated template). */
  loadDump?: Blob;
  /** Where the start and the end of a PostgreSQL outage are reported. */
  log?: OutageLogger;
  /** TLS to PostgreSQL beyond what the URL says (server/store/tls.ts). */
  ssl?: pg.ClientConfig['ssl'];
  /** false: only check that every migration has been applied (they run as another role). */
  migrate?: boolean;
}

export async function openDb(opts: OpenOptions): Promise<Db> {
  let db: Db;
  if (opts.databaseUrl) {
    const driver = await loadPg();
    const outage = new OutageWatch('database', opts.log);
    const exhaustion = new OutageWatch('database', opts.log, {
      down: 'database connection pool exhausted: requests that wait for a connection get 503 until one comes free',
      up: 'database connection pool serves again',
    });
    db = new PostgresDb(outage, exhaustion, {
      newClient: () =>
        new driver.Client({
          connectionString: opts.databaseUrl,
          // A request does not wait forever for a connection while the server is away; an idle
          // connection to a peer that vanished without closing it is probed (TCP keepalive) and dropped.
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
          keepAlive: true,
          keepAliveInitialDelayMillis: 10_000,
          ...(opts.ssl ? { ssl: opts.ssl } : {}),
        }),
      max: opts.poolMax ?? 10,
      maxIdle: opts.poolMaxIdle ?? opts.poolMax ?? 10,
      // pg's default is 10 s: under steady light load (a live session's edits) the pool kept
      // closing connections and opening new ones for the next burst, whose first statements on a
      // new backend are planned and its caches filled while an edit waits (docs/performance.md).
      idleTimeoutMs: (opts.poolIdleSeconds ?? 30) * 1000,
      acquireTimeoutMs: opts.poolAcquireTimeoutMs ?? CONNECT_TIMEOUT_MS,
      lifetimeMs: (opts.poolMaxLifetimeSeconds ?? 0) * 1000,
      // A connection that breaks, idle or busy: the query running on it (if any) fails as well and
      // is answered with 503; the broken connection leaves the pool; new ones are opened when the
      // server is back.
      onError: (err) => outage.failed(err),
    });
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const pgDir = opts.dataDir ? path.join(opts.dataDir, 'pglite') : undefined;
    const release = opts.dataDir ? lockDataDir(opts.dataDir) : () => undefined;
    try {
      const fresh = pgDir !== undefined && !existsSync(path.join(pgDir, 'PG_VERSION'));
      let instance = new PGlite({ dataDir: pgDir, loadDataDir: opts.loadDump });
      await instance.waitReady;
      // PostgreSQL's default 128 MB of shared buffers live in the WebAssembly heap, resident for
      // good; the embedded store is small and the operating system caches its files anyway. The
      // setting is stored in the folder (postgresql.auto.conf) and takes effect on the next start.
      const buffers = pgDir === undefined ? PGLITE_SHARED_BUFFERS : (await instance.query<{ v: string }>(`SELECT current_setting('shared_buffers') AS v`)).rows[0]!.v;
      if (buffers !== PGLITE_SHARED_BUFFERS) await instance.exec(`ALTER SYSTEM SET shared_buffers = '${PGLITE_SHARED_BUFFERS}'`);
      if (fresh || buffers !== PGLITE_SHARED_BUFFERS) {
        // Initialising a new folder leaves a WebAssembly heap of about 750 MiB behind, and a
        // WebAssembly memory never shrinks; a new instance on the initialised folder starts at
        // about a third of that.
        await instance.close();
        instance = new PGlite({ dataDir: pgDir });
        await instance.waitReady;
      }
      db = new PgliteDb(instance, release);
    } catch (err) {
      release();
      throw err;
    }
  }
  try {
    if (opts.migrate === false) await assertMigrated(db);
    else await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

export async function dumpPglite(db: Db): Promise<Blob> {
  if (!(db instanceof PgliteDb)) throw new Error('only a PGlite database can be dumped');
  return db.dump();
}

function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort();
}

export class MigrationsPendingError extends Error {}

/** For a server whose role may not change the schema: refuse to run on an out-of-date one. */
export async function assertMigrated(db: Db): Promise<void> {
  let done: Set<string>;
  try {
    done = new Set((await db.query<{ id: string }>('SELECT id FROM schema_migrations')).map((r) => r.id));
  } catch {
    done = new Set();
  }
  const pending = migrationFiles().filter((f) => !done.has(f));
  if (pending.length) {
    throw new MigrationsPendingError(
      `the database schema is not current (pending: ${pending.join(', ')}); run the migrations first (npm run migrate, as the migration role) or set TMI_DATABASE_MIGRATE=true`,
    );
  }
}

/**
 * Forward-only SQL migrations, the pending ones applied in file-name order in one transaction (a
 * failing one leaves none of them applied), under an advisory lock that serialises instances.
 */
export async function migrate(db: Db): Promise<void> {
  const files = migrationFiles();
  await db.tx(async (q) => {
    // Several instances may start at once against one PostgreSQL: serialise their migrations.
    await q.query('SELECT pg_advisory_xact_lock(74627301)');
    await q.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await q.query<{ id: string }>('SELECT id FROM schema_migrations')).map((r) => r.id));
    for (const file of files) {
      if (done.has(file)) continue;
      await q.exec(readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8'));
      await q.query('INSERT INTO schema_migrations (id) VALUES ($1)', [file]);
    }
  });
}
