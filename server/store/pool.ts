// The pool of PostgreSQL connections. It replaces pg's own (pg-pool) for one thing pg-pool cannot
// do: open a connection ahead of demand. A connection in use as the end of its lifetime
// (TMI_DB_CONN_MAX_LIFETIME) nears is renewed in the background: its replacement is opened and
// plans the pool's busiest statements while the old one still serves, and takes its place once
// ready. With pg-pool the replacement was opened when a request next needed one, and that request
// waited for a new backend (10-20 ms on this machine) and then for its first statements to load
// the catalog caches (5-25 ms each): with a lifetime of 3 s a paced live edit's p99 was 40 ms
// against 13 ms without one, and is 21 ms with this pool (docs/performance.md).
import type pg from 'pg';

/** Up to this share of a connection's lifetime is taken off it at random (connectionDeadline). */
const LIFETIME_JITTER = 0.1;

/**
 * When a connection opened at `now` must no longer be used: its lifetime, shortened at random.
 * Connections opened together (a burst, a start) would otherwise all end together and be replaced
 * together, every lifetime (HikariCP takes off up to 2.5% for the same reason; with a pool of 20
 * opened at once and 240 s, 10% ends about one every 1.2 s).
 */
export function connectionDeadline(now: number, lifetimeMs: number, random: () => number = Math.random): number {
  return now + lifetimeMs * (1 - LIFETIME_JITTER * random());
}

/**
 * How long before its deadline a connection in use is renewed: a quarter of its lifetime, at most
 * 10 s (so 10 s at the default 240 s). Opening and warming a replacement takes tens of milliseconds,
 * and hundreds on a loaded machine; with a short lifetime a twentieth of it (50 ms at 1 s) was
 * too short for that, and the old connection expired first. A connection not used within this
 * window is idle, and is closed at its deadline without a replacement.
 */
const renewalWindow = (lifetimeMs: number) => Math.min(lifetimeMs / 4, 10_000);

/**
 * Idle connections are closed at most one per second. Connections opened together (a burst of
 * requests) also go idle together, and their idle timeouts ran out together: in bench:collab,
 * seventeen closed within 0.2 s, and as their PostgreSQL backends exited every process on the
 * machine stalled, TMI's for up to 58 ms at a time and a round of live edits to 172 ms at p99.
 */
const IDLE_CLOSE_SPACING_MS = 1000;

/**
 * A request waited acquireTimeoutMs for a connection and none came free: every one the pool may
 * open was busy. Answered with 503 like an outage (server/store/db.ts), but not logged as one: the
 * database answers, and what runs out is connections (slow statements, a database that stopped
 * answering queries on open connections, or more load than TMI_DB_MAX_OPEN_CONNS serves).
 */
export class PoolExhaustedError extends Error {
  constructor(
    readonly waitedMs: number,
    readonly open: number,
  ) {
    super(`no database connection came free within ${waitedMs} ms: all ${open} were busy`);
    this.name = 'PoolExhaustedError';
  }
}

export interface PoolOptions {
  /** A new, not yet connected client (its own connect timeout set). */
  newClient: () => pg.Client;
  /** Connections open at most, busy or idle. */
  max: number;
  /** Idle connections kept at most; one given back beyond them is closed unless someone waits (TMI_DB_MAX_IDLE_CONNS). */
  maxIdle: number;
  /** An idle connection is closed after this long unused (and at least idleCloseSpacingMs after the last one closed so). */
  idleTimeoutMs: number;
  /** Tests: instead of IDLE_CLOSE_SPACING_MS. */
  idleCloseSpacingMs?: number;
  /** How long a request waits for a connection before it fails with PoolExhaustedError. */
  acquireTimeoutMs: number;
  /** A connection is not handed out past this age (less its jitter); 0: no limit. */
  lifetimeMs: number;
  /** Prepares a replacement before it takes over; it may fail (the replacement then serves cold). */
  warmUp?: (client: pg.Client) => Promise<void>;
  /** A connection broke, idle or busy (an outage, most likely). */
  onError: (err: Error) => void;
}

interface Connection {
  readonly client: pg.Client;
  /** When its lifetime ends (Infinity without one); now, once its replacement is ready. */
  deadline: number;
  /** Its replacement is being opened (renew). */
  renewing: boolean;
  /** It reported an error or ended: it never serves again. */
  broken: boolean;
  /** Closes it once it has been idle for idleTimeoutMs (while it is idle). */
  idleTimer?: NodeJS.Timeout;
}

interface Waiter {
  give(c: Connection): void;
  fail(err: Error): void;
}

export class ConnectionPool {
  /** Every connection open or opening, busy or idle. */
  private readonly open = new Map<pg.Client, Connection>();
  /** Idle connections, the one given back last at the end: it is handed out first, so the busiest stay warm and the rest time out. */
  private readonly idle: Connection[] = [];
  private readonly waiters: Waiter[] = [];
  private ending = false;
  private ended?: () => void;
  /** When the next idle connection may be closed for its idle timeout (IDLE_CLOSE_SPACING_MS). */
  private nextIdleClose = 0;

  constructor(private readonly options: PoolOptions) {}

  /** A connection for one request; give it back with release(). */
  async acquire(): Promise<pg.Client> {
    if (this.ending) throw new Error('the connection pool is closed');
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      clearTimeout(c.idleTimer);
      if (this.expired(c)) this.close(c);
      else return c.client;
    }
    // A new connection for a request that waits is not warmed: the request would wait for every
    // hot statement's planning instead of for its own.
    if (this.open.size < this.options.max) return (await this.connect()).client;
    return new Promise<pg.Client>((resolve, reject) => {
      let settled = false;
      const settle = () => {
        settled = true;
        clearTimeout(timer);
      };
      const timer = setTimeout(() => {
        remove(this.waiters, waiter);
        settle();
        reject(new PoolExhaustedError(this.options.acquireTimeoutMs, this.open.size));
      }, this.options.acquireTimeoutMs);
      const waiter: Waiter = {
        // A connection opened for a request that stopped waiting meanwhile goes to the next one.
        give: (c) => {
          if (settled) return this.release(c.client);
          settle();
          resolve(c.client);
        },
        fail: (err) => {
          if (settled) return;
          settle();
          reject(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Gives a connection back: to the first request waiting, or to the idle ones. It is closed when
   * `discard` (it broke, or holds a state it must not pass on), when it broke on its own, when
   * the pool is closing, when its lifetime is over (and replaced, if that is not under way), or when
   * maxIdle connections are idle already. Near the end of its lifetime its renewal begins.
   */
  release(client: pg.Client, discard = false): void {
    const c = this.open.get(client);
    if (!c) return;
    if (discard || c.broken || this.ending) return this.close(c);
    if (this.expired(c)) return c.renewing ? this.close(c) : this.renew(c);
    if (!c.renewing && Date.now() >= c.deadline - renewalWindow(this.options.lifetimeMs)) this.renew(c);
    const waiter = this.waiters.shift();
    if (waiter) return waiter.give(c);
    if (this.idle.length >= this.options.maxIdle) return this.close(c);
    this.closeWhenIdleFor(c, this.options.idleTimeoutMs);
    this.idle.push(c);
  }

  stats(): { total: number; idle: number; waiting: number } {
    return { total: this.open.size, idle: this.idle.length, waiting: this.waiters.length };
  }

  /** Fails every waiting request, closes the idle connections, and resolves once the busy ones were given back. */
  async end(): Promise<void> {
    this.ending = true;
    for (const w of this.waiters.splice(0)) w.fail(new Error('the connection pool is closed'));
    for (const c of this.idle.splice(0)) this.close(c);
    if (this.open.size === 0) return;
    await new Promise<void>((resolve) => (this.ended = resolve));
  }

  /** Closes an idle connection after `ms`, or later if another was closed so within IDLE_CLOSE_SPACING_MS. */
  private closeWhenIdleFor(c: Connection, ms: number): void {
    c.idleTimer = setTimeout(() => {
      const now = Date.now();
      if (now < this.nextIdleClose) return this.closeWhenIdleFor(c, this.nextIdleClose - now);
      this.nextIdleClose = now + (this.options.idleCloseSpacingMs ?? IDLE_CLOSE_SPACING_MS);
      remove(this.idle, c);
      this.close(c);
    }, ms);
    c.idleTimer.unref();
  }

  private expired(c: Connection): boolean {
    return Date.now() >= c.deadline;
  }

  /** Opens a connection; it counts against `max` from the start. */
  private async connect(): Promise<Connection> {
    const client = this.options.newClient();
    const lifetime = this.options.lifetimeMs;
    const c: Connection = { client, deadline: lifetime > 0 ? connectionDeadline(Date.now(), lifetime) : Infinity, broken: false, renewing: false };
    this.open.set(client, c);
    // Without a listener an 'error' event ends the process. A busy connection's query fails as
    // well, and release() closes it; an idle one is closed now.
    client.on('error', (err) => {
      this.options.onError(err);
      this.broke(c);
    });
    client.on('end', () => this.broke(c));
    try {
      await client.connect();
    } catch (err) {
      this.close(c);
      throw err;
    }
    return c;
  }

  private broke(c: Connection): void {
    c.broken = true;
    if (remove(this.idle, c)) this.close(c);
  }

  /** Closes a connection; false when it was closed already or the pool is closing. */
  private drop(c: Connection): boolean {
    if (!this.open.delete(c.client)) return false;
    clearTimeout(c.idleTimer);
    c.client.end().catch(() => undefined);
    if (this.ending && this.open.size === 0) this.ended?.();
    return !this.ending;
  }

  /** Closes a connection and frees its place: the first request waiting, if any, opens a new one in it. */
  private close(c: Connection): void {
    if (!this.drop(c)) return;
    const waiter = this.waiters.shift();
    if (waiter) this.connect().then(waiter.give, waiter.fail);
  }

  /**
   * Opens a replacement for a connection near or past the end of its lifetime, in the background,
   * and warms it (warmUp). Once it is ready it takes the old one's place: the old one is closed if
   * idle, or when given back. One past its lifetime is closed at once (its place goes to the
   * replacement); one near it serves meanwhile, and is renewed only if the pool has room for both.
   */
  private renew(old: Connection): void {
    if (this.expired(old)) {
      if (!this.drop(old)) return;
    } else if (this.open.size >= this.options.max) return;
    old.renewing = true;
    void this.connect().then(
      async (fresh) => {
        if (this.options.warmUp) await this.options.warmUp(fresh.client).catch(() => undefined);
        old.deadline = 0;
        if (remove(this.idle, old)) this.close(old);
        this.release(fresh.client);
      },
      // It could not be opened: an outage, which the next request to need a connection meets and
      // reports. The old connection, if still open, is renewed again when next given back.
      () => (old.renewing = false),
    );
  }
}

/** Removes `item` from `list`; whether it was there. */
function remove<T>(list: T[], item: T): boolean {
  const at = list.indexOf(item);
  if (at < 0) return false;
  list.splice(at, 1);
  return true;
}
