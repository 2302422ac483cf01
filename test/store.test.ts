// The store: PGlite's data-folder lock (a second open refuses clearly; a stale lock is taken over),
// the shared key-value store and bus on whichever back end the suite runs on, and on PostgreSQL the
// named statements and the connection pool.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, openDb, pageSizeLiteral, statementName, type Db } from '../server/store/db.ts';
import { isPgConnectionFailure, StoreUnavailableError } from '../server/store/availability.ts';
import { connectionDeadline, ConnectionPool, PoolExhaustedError, type PoolOptions } from '../server/store/pool.ts';
import { openSharedState, type SharedState } from '../server/store/shared-state.ts';
import { LogCapture } from './support/log-capture.ts';
import { seedDataFolder } from './support/process.ts';
import { sleep, until } from './support/until.ts';

const folder = () => mkdtempSync(path.join(tmpdir(), 'tmi-store-'));
/** A data folder holding the migrated template database (the lock does not care what is in it). */
const seededFolder = () => {
  const dir = folder();
  seedDataFolder({ TMI_DATA_DIR: dir });
  return dir;
};

// Opening a fresh PGlite folder (on the PostgreSQL pass, without a template) initialises a cluster:
// seconds on an idle machine, far more on a busy one.
const PGLITE_INIT_TIMEOUT = 180_000;

describe('PGlite data folder lock', () => {
  it('refuses a second open of the same folder with a clear message, and releases the lock on close', async () => {
    const dir = seededFolder();
    const db = await openDb({ dataDir: dir });
    try {
      const lock = path.join(dir, 'tmi.lock');
      expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
      await db.query('CREATE TABLE kept (v text)');
      await db.query('INSERT INTO kept VALUES ($1)', ['survives a restart']);
      const second = openDb({ dataDir: dir });
      await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(second).rejects.toThrow(`the data folder ${dir} is already open in this TMI process; set TMI_DATA_DIR to another folder`);
    } finally {
      await db.close();
    }
    expect(existsSync(path.join(dir, 'tmi.lock'))).toBe(false);
    const again = await openDb({ dataDir: dir });
    try {
      expect(await again.query('SELECT v FROM kept')).toEqual([{ v: 'survives a restart' }]);
    } finally {
      await again.close();
    }
  }, PGLITE_INIT_TIMEOUT);

  it('refuses a folder locked by another live process, naming its pid', async () => {
    const dir = folder();
    // The parent of this test process is alive for as long as the test runs.
    writeFileSync(path.join(dir, 'tmi.lock'), String(process.ppid));
    const attempt = openDb({ dataDir: dir });
    await expect(attempt).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(attempt).rejects.toThrow(
      `the data folder ${dir} is in use by another TMI process (pid ${process.ppid}); stop it, or set TMI_DATA_DIR to another folder`,
    );
    expect(readFileSync(path.join(dir, 'tmi.lock'), 'utf8')).toBe(String(process.ppid));
  }, PGLITE_INIT_TIMEOUT);

  it('takes over a stale lock left by a process that died', async () => {
    // A new folder (the one test here that initialises and migrates one, as a first start does).
    const dir = folder();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(path.join(dir, 'tmi.lock'), String(dead));
    const db = await openDb({ dataDir: dir });
    try {
      expect(readFileSync(path.join(dir, 'tmi.lock'), 'utf8')).toBe(String(process.pid));
      expect(await db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
    expect(existsSync(path.join(dir, 'tmi.lock'))).toBe(false);
  }, PGLITE_INIT_TIMEOUT);
});

describe(`shared state (${process.env.TMI_TEST_REDIS_URL ? 'Redis' : 'database + in-process bus'})`, () => {
  let db: Db;
  let a: SharedState;
  let b: SharedState;
  beforeAll(async () => {
    db = process.env.TMI_TEST_DATABASE_URL
      ? await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 2 })
      : await openDb({ loadDump: new Blob([readFileSync(process.env.TMI_TEST_PGLITE_TEMPLATE!)]) });
    const keyPrefix = `tmi-test:${randomBytes(6).toString('hex')}:`;
    a = await openSharedState({ redisUrl: process.env.TMI_TEST_REDIS_URL, db, keyPrefix });
    b = await openSharedState({ redisUrl: process.env.TMI_TEST_REDIS_URL, db, keyPrefix });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.close();
  });

  it('hands a value to exactly one taker, across instances', async () => {
    await a.kv.set('code:1', 'v', 60);
    const results = await Promise.all([a.kv.take('code:1'), b.kv.take('code:1'), a.kv.take('code:1')]);
    expect(results.filter((r) => r === 'v')).toHaveLength(1);
    expect(await b.kv.get('code:1')).toBeNull();
  });

  it('sets only when absent, and expired values count as absent', async () => {
    expect(await a.kv.setIfAbsent('state:1', 'first', 60)).toBe(true);
    expect(await b.kv.setIfAbsent('state:1', 'second', 60)).toBe(false);
    expect(await b.kv.get('state:1')).toBe('first');
    await a.kv.set('short', 'x', 1);
    expect(await b.kv.get('short')).toBe('x');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await b.kv.get('short')).toBeNull();
    expect(await b.kv.take('short')).toBeNull();
    expect(await a.kv.setIfAbsent('short', 'again', 60)).toBe(true);
    await a.kv.del('short');
    expect(await b.kv.get('short')).toBeNull();
  });

  it('delivers published messages to subscribers, and stops after unsubscribe', async () => {
    const got: string[] = [];
    const listener = b.kind === 'redis' ? b : a; // the in-process bus reaches only its own process
    const off = await listener.bus.subscribe('chan', (m) => got.push(m));
    await a.bus.publish('chan', 'one');
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await off();
    await a.bus.publish('chan', 'two');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['one']);
  });
});

describe.runIf(Boolean(process.env.TMI_TEST_DATABASE_URL))('named statements on PostgreSQL', () => {
  it('survive a change of the table under them (another instance migrated): the query answers with the new columns', async () => {
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 1 });
    const table = `stale_plan_probe_${randomBytes(4).toString('hex')}`;
    try {
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      await db.query(`INSERT INTO ${table} VALUES (1)`);
      const sql = `SELECT * FROM ${table} ORDER BY id`;
      const name = statementName(sql);
      expect(name).toMatch(/^tmi_/);
      expect(await db.query(sql, [], name)).toEqual([{ id: 1 }]);
      await db.query(`ALTER TABLE ${table} ADD COLUMN label text NOT NULL DEFAULT 'x'`);
      expect(await db.query(sql, [], name)).toEqual([{ id: 1, label: 'x' }]);
      // In a transaction the statement fails once and its connection is closed; the next one works.
      await db.query(`ALTER TABLE ${table} ADD COLUMN n int NOT NULL DEFAULT 7`);
      await db.tx((q) => q.query(sql, [], name)).catch(() => undefined);
      expect(await db.tx((q) => q.query(sql, [], name))).toEqual([{ id: 1, label: 'x', n: 7 }]);
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.close();
    }
  });

  it('keep their connection after a refused statement (a unique violation), named or not; a broken one is replaced', async () => {
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 1 });
    const table = `refusal_probe_${randomBytes(4).toString('hex')}`;
    const backend = async () => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
    try {
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      const insert = `INSERT INTO ${table} VALUES ($1)`;
      await db.query(insert, [1], statementName(insert));
      const pid = await backend();
      await expect(db.query(insert, [1], statementName(insert))).rejects.toMatchObject({ code: '23505' });
      await expect(db.query(insert, [1])).rejects.toMatchObject({ code: '23505' });
      expect(await backend()).toBe(pid);
      // The named statement is still prepared on that connection and runs again.
      await db.query(insert, [2], statementName(insert));
      expect(await db.query(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
      // A connection that broke does not go back to the pool.
      await expect(db.query('SELECT pg_terminate_backend(pg_backend_pid())')).rejects.toThrow();
      expect(await backend()).not.toBe(pid);
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.close();
    }
  });
});

describe.runIf(Boolean(process.env.TMI_TEST_DATABASE_URL))('the pool on PostgreSQL (TMI_DB_MAX_IDLE_CONNS, TMI_DB_CONN_MAX_LIFETIME)', () => {
  const backend = async (db: Db) => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
  /** `n` queries at once; the backends that answered them. */
  const busy = async (db: Db, n: number) =>
    (await Promise.all(Array.from({ length: n }, () => db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)')))).map((r) => r[0]!.pid);

  it('keeps at most the idle connections it is told to, and hands a connection to whoever waits rather than closing it', async () => {
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 3, poolMaxIdle: 1 });
    try {
      await busy(db, 3);
      expect(db.poolStats!()).toEqual({ total: 1, idle: 1, waiting: 0 });
      // Six at once on three connections: three waited, and got the connections given back, not new ones.
      expect(new Set(await busy(db, 6)).size).toBe(3);
      expect(db.poolStats!()).toEqual({ total: 1, idle: 1, waiting: 0 });
    } finally {
      await db.close();
    }
    const none = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 2, poolMaxIdle: 0 });
    try {
      const first = await backend(none);
      expect(none.poolStats!().total).toBe(0);
      expect(await backend(none)).not.toBe(first);
    } finally {
      await none.close();
    }
  });

  it('uses no connection past its lifetime: idle ones are closed when met, one held past it is replaced in the background', async () => {
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 3, poolMaxLifetimeSeconds: 1 });
    try {
      const first = new Set(await busy(db, 3));
      expect(db.poolStats!()).toMatchObject({ total: 3, idle: 3 });
      await sleep(1100);
      // All three are past their lifetime, idle: handing one out closes them, and opens one.
      const second = await backend(db);
      expect(first.has(second)).toBe(false);
      expect(db.poolStats!()).toMatchObject({ total: 1, idle: 1 });
      // One held past its lifetime is closed when given back, and its replacement opened at once.
      const held = await db.tx(async (q) => (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(1.1)'))[0]!.pid);
      expect(held).toBe(second);
      expect(db.poolStats!()).toMatchObject({ total: 1, idle: 0 });
      await until(() => db.poolStats!().idle === 1, 5000, 'the replacement idle');
      expect(await backend(db)).not.toBe(held);
    } finally {
      await db.close();
    }
  });

  it('renews a connection in use before its lifetime ends: the replacement is opened while the old one still serves', async () => {
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 2, poolMaxLifetimeSeconds: 1 });
    try {
      type Use = { pid: number; started: number; at: number };
      const uses: Use[] = [];
      const stop = Date.now() + 2500;
      while (Date.now() < stop) {
        const [use] = await db.query<Use>(
          `SELECT pid, extract(epoch FROM backend_start) * 1000 AS started, extract(epoch FROM clock_timestamp()) * 1000 AS at
           FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
        );
        uses.push(use!);
        expect(db.poolStats!().total).toBeLessThanOrEqual(2);
        await sleep(5);
      }
      // One query at a time, each on a connection younger than its lifetime; each backend served
      // one stretch, and the next was started before the last query on the one it replaced (on a
      // machine too slow to open one within the renewal window, 250 ms here, not every time).
      for (const u of uses) expect(u.at - u.started).toBeLessThan(1000);
      const changes = uses.flatMap((u, i) => (i > 0 && u.pid !== uses[i - 1]!.pid ? [{ next: u, last: uses[i - 1]! }] : []));
      expect(changes.length).toBeGreaterThanOrEqual(2);
      expect(new Set(uses.map((u) => u.pid)).size).toBe(changes.length + 1);
      expect(changes.some(({ next, last }) => next.started < last.at)).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('answers 503 when every connection stays busy, and logs that as the pool exhausted, not the database unreachable', async () => {
    const capture = new LogCapture();
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 1, poolAcquireTimeoutMs: 200, log: capture.logger() });
    try {
      const busy = db.tx((q) => q.query('SELECT pg_sleep(0.6)'));
      const refused = await db.query('SELECT 1 AS one').catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(StoreUnavailableError);
      expect((refused as Error).cause).toBeInstanceOf(PoolExhaustedError);
      await busy;
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(capture.lines.map((l) => l.msg)).toEqual([
        'database connection pool exhausted: requests that wait for a connection get 503 until one comes free',
        'database connection pool serves again',
      ]);
      expect(capture.lines[0]).toMatchObject({ store: 'database', reason: 'no database connection came free within 200 ms: all 1 were busy' });
    } finally {
      await db.close();
    }
  });

  it('plans the busiest named statements on a replacement before it serves, without a request waiting for it', async () => {
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL, poolMax: 2, poolMaxLifetimeSeconds: 1 });
    const table = `warm_probe_${randomBytes(4).toString('hex')}`;
    const holder = new pg.Client({ connectionString: process.env.TMI_TEST_DATABASE_URL });
    await holder.connect();
    try {
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      const busiest = `SELECT id FROM ${table} WHERE id = $1`;
      for (let i = 0; i < 3; i++) await db.query(busiest, [i], statementName(busiest));
      // Planning the statement needs a lock on its table; while another connection holds the table,
      // the warm-up of the replacement for a connection held past its lifetime waits, in plain view,
      // and requests meanwhile do not wait with it.
      await holder.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      await db.tx((q) => q.query('SELECT pg_sleep(1.1)'));
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      const planning = async () =>
        (await holder.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query = $1`, [`EXPLAIN ${busiest}`])).rowCount === 1;
      await until(planning, 5000, 'the replacement plans the busiest statement');
      await holder.query('COMMIT');
      await until(async () => !(await planning()) && db.poolStats!().idle === 2, 5000, 'the replacement idle once planned');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.close();
    }
  });

});

describe.runIf(Boolean(process.env.TMI_TEST_DATABASE_URL))('the connection pool on PostgreSQL', () => {
  const pool = (o: Partial<PoolOptions> = {}) =>
    new ConnectionPool({ newClient: () => new pg.Client({ connectionString: process.env.TMI_TEST_DATABASE_URL }), max: 1, maxIdle: 1, idleTimeoutMs: 30_000, acquireTimeoutMs: 10_000, lifetimeMs: 0, onError: () => undefined, ...o });

  it('fails a request that waited too long for a connection as exhausted, not broken, and serves the next one', async () => {
    const p = pool({ acquireTimeoutMs: 200 });
    try {
      const held = await p.acquire();
      const refused = await p.acquire().catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(PoolExhaustedError);
      expect(refused).toMatchObject({ waitedMs: 200, open: 1 });
      expect(isPgConnectionFailure(refused)).toBe(false);
      expect(p.stats()).toEqual({ total: 1, idle: 0, waiting: 0 });
      p.release(held);
      expect(await p.acquire()).toBe(held);
      p.release(held);
    } finally {
      await p.end();
    }
  });

  it('drops an idle connection that broke, and opens a new one for the next request', async () => {
    const errors: Error[] = [];
    const p = pool({ onError: (err) => errors.push(err) });
    const admin = new pg.Client({ connectionString: process.env.TMI_TEST_DATABASE_URL });
    await admin.connect();
    try {
      const c = await p.acquire();
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      p.release(c);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await until(() => p.stats().total === 0, 5000, 'the broken connection dropped');
      expect(errors.length).toBeGreaterThan(0);
      const next = await p.acquire();
      expect((await next.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid).not.toBe(pid);
      p.release(next);
    } finally {
      await admin.end();
      await p.end();
    }
  });

  it('closes idle connections that timed out together one at a time, spaced, not all at once', async () => {
    const p = pool({ max: 4, maxIdle: 4, idleTimeoutMs: 50, idleCloseSpacingMs: 300 });
    try {
      const held = await Promise.all([p.acquire(), p.acquire(), p.acquire(), p.acquire()]);
      held.forEach((c) => p.release(c));
      // When each close was seen (a close seen late by a slow poll only shortens the gap after it).
      const closes: number[] = [];
      const deadline = Date.now() + 5000;
      while (closes.length < 4 && Date.now() < deadline) {
        await sleep(5);
        for (let open = p.stats().total; 4 - closes.length > open; ) closes.push(Date.now());
      }
      expect(closes).toHaveLength(4);
      for (let i = 1; i < 4; i++) expect(closes[i]! - closes[i - 1]!).toBeGreaterThanOrEqual(200);
    } finally {
      await p.end();
    }
  });

  it('closes once the busy connections are given back, and refuses new requests meanwhile', async () => {
    const p = pool({ max: 2 });
    const busy = await p.acquire();
    const second = await p.acquire();
    p.release(second);
    let closed = false;
    const ending = p.end().then(() => (closed = true));
    await expect(p.acquire()).rejects.toThrow(/closed/);
    await sleep(50);
    expect(closed).toBe(false);
    expect(p.stats()).toEqual({ total: 1, idle: 0, waiting: 0 });
    p.release(busy);
    await ending;
    expect(p.stats().total).toBe(0);
  });
});

describe('a connection\'s lifetime (TMI_DB_CONN_MAX_LIFETIME)', () => {
  it('is shortened by up to a tenth at random, so that connections opened together do not end together', () => {
    const draws = [0, 0.5, 0.999].map((r) => connectionDeadline(1_000, 240_000, () => r));
    [241_000, 229_000, 217_024].forEach((want, i) => expect(draws[i]).toBeCloseTo(want, 3));
    const spread = new Set(Array.from({ length: 20 }, () => connectionDeadline(0, 240_000)));
    expect(spread.size).toBeGreaterThan(1);
    for (const d of spread) expect(d > 216_000 && d <= 240_000).toBe(true);
  });
});

describe('page sizes written into a statement', () => {
  it('are whole numbers within the page bounds, never anything else', () => {
    expect(pageSizeLiteral(1)).toBe('1');
    expect(pageSizeLiteral(100)).toBe('100');
    for (const bad of [0, -1, 101, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '20; DROP TABLE users' as unknown as number]) {
      expect(() => pageSizeLiteral(bad)).toThrow(RangeError);
    }
  });
});
