// Short-lived state that every server instance must see (OAuth state, PKCE codes, refresh sessions,
// revocations, tickets) and the pub/sub bus. Redis when TMI_REDIS_URL is set; otherwise the
// database (so the embedded default keeps sessions across restarts) and an in-process bus.
import { EventEmitter } from 'node:events';
import type { ConnectionOptions } from 'node:tls';
import type { Redis, RedisOptions } from 'ioredis';
import type { Db } from './db.ts';
import { OutageWatch, StoreUnavailableError, isRedisConnectionFailure, type OutageLogger } from './availability.ts';

export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  /** Several keys in one round trip; null for each absent or expired one. */
  getMany(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Sets only when absent; true when it was set. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Adds one to a counter that lives `ttlSeconds` from its first increment (a fixed window);
   * returns the new count and the seconds until the window ends.
   */
  increment(key: string, ttlSeconds: number): Promise<{ count: number; resetSeconds: number }>;
  /** Reads and deletes in one step, so a value can be consumed once only. */
  take(key: string): Promise<string | null>;
  del(key: string): Promise<void>;
  close(): Promise<void>;
}

export type BusHandler = (message: string) => void;

export interface Bus {
  publish(channel: string, message: string): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(channel: string, handler: BusHandler): Promise<() => Promise<void>>;
  /** How many subscribers `channel` has, this one included (an instance subscribes a channel once). */
  subscribers(channel: string): Promise<number>;
  close(): Promise<void>;
}

export interface SharedState {
  kv: KeyValueStore;
  bus: Bus;
  kind: 'redis' | 'embedded';
  close(): Promise<void>;
}

class DbKeyValueStore implements KeyValueStore {
  private sweeper: NodeJS.Timeout;
  constructor(private readonly db: Db) {
    this.sweeper = setInterval(() => void db.query('DELETE FROM kv WHERE expires_at < now()').catch(() => undefined), 60_000);
    this.sweeper.unref();
  }
  async get(key: string) {
    const rows = await this.db.query<{ value: string }>('SELECT value FROM kv WHERE key = $1 AND expires_at > now()', [key]);
    return rows[0]?.value ?? null;
  }
  async getMany(keys: string[]) {
    const rows = await this.db.query<{ key: string; value: string }>('SELECT key, value FROM kv WHERE key = ANY($1::text[]) AND expires_at > now()', [keys]);
    const found = new Map(rows.map((r) => [r.key, r.value]));
    return keys.map((k) => found.get(k) ?? null);
  }
  async set(key: string, value: string, ttl: number) {
    await this.db.query(
      `INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [key, value, ttl],
    );
  }
  async setIfAbsent(key: string, value: string, ttl: number) {
    const rows = await this.db.query(
      `INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
         WHERE kv.expires_at <= now()
       RETURNING key`,
      [key, value, ttl],
    );
    return rows.length === 1;
  }
  async increment(key: string, ttl: number) {
    const rows = await this.db.query<{ count: number; reset: number }>(
      `INSERT INTO kv (key, value, expires_at) VALUES ($1, '1', now() + make_interval(secs => $2))
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN kv.expires_at <= now() THEN '1' ELSE (kv.value::bigint + 1)::text END,
         expires_at = CASE WHEN kv.expires_at <= now() THEN EXCLUDED.expires_at ELSE kv.expires_at END
       RETURNING value::int AS count, ceil(extract(epoch FROM expires_at - now()))::int AS reset`,
      [key, ttl],
    );
    return { count: rows[0]!.count, resetSeconds: Math.max(1, rows[0]!.reset) };
  }
  async take(key: string) {
    const rows = await this.db.query<{ value: string; live: boolean }>(
      'DELETE FROM kv WHERE key = $1 RETURNING value, expires_at > now() AS live',
      [key],
    );
    return rows[0]?.live ? rows[0].value : null;
  }
  async del(key: string) {
    await this.db.query('DELETE FROM kv WHERE key = $1', [key]);
  }
  async close() {
    clearInterval(this.sweeper);
  }
}

class InProcessBus implements Bus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  async publish(channel: string, message: string) {
    // Deliver asynchronously, as Redis would, so publishers never re-enter their subscribers.
    queueMicrotask(() => this.emitter.emit(channel, message));
  }
  async subscribe(channel: string, handler: BusHandler) {
    this.emitter.on(channel, handler);
    return async () => {
      this.emitter.off(channel, handler);
    };
  }
  async subscribers(channel: string) {
    return this.emitter.listenerCount(channel);
  }
  async close() {
    this.emitter.removeAllListeners();
  }
}

/** A Redis command that could not reach the server fails with StoreUnavailableError (503). */
async function redisCall<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (err) {
    throw isRedisConnectionFailure(err) ? new StoreUnavailableError('redis', err) : err;
  }
}

class RedisKeyValueStore implements KeyValueStore {
  constructor(private readonly redis: Redis) {}
  get(key: string) {
    return redisCall(() => this.redis.get(key));
  }
  getMany(keys: string[]) {
    return keys.length ? redisCall(() => this.redis.mget(keys)) : Promise.resolve([]);
  }
  async set(key: string, value: string, ttl: number) {
    await redisCall(() => this.redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttl))));
  }
  async setIfAbsent(key: string, value: string, ttl: number) {
    return (await redisCall(() => this.redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttl)), 'NX'))) === 'OK';
  }
  async increment(key: string, ttl: number) {
    // One atomic step: the window starts with the first increment and never slides.
    const [count, reset] = (await redisCall(() =>
      this.redis.eval(
        "local c = redis.call('INCR', KEYS[1]) local t = redis.call('TTL', KEYS[1]) if t < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end return {c, t}",
        1,
        key,
        Math.max(1, Math.ceil(ttl)),
      ),
    )) as [number, number];
    return { count, resetSeconds: Math.max(1, reset) };
  }
  take(key: string) {
    return redisCall(() => this.redis.getdel(key));
  }
  async del(key: string) {
    await redisCall(() => this.redis.del(key));
  }
  async close() {}
}

class RedisBus implements Bus {
  private readonly handlers = new Map<string, Set<BusHandler>>();
  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
  ) {
    sub.on('message', (channel: string, message: string) => {
      for (const h of this.handlers.get(channel) ?? []) h(message);
    });
  }
  async publish(channel: string, message: string) {
    await redisCall(() => this.pub.publish(channel, message));
  }
  async subscribe(channel: string, handler: BusHandler) {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      try {
        await redisCall(() => this.sub.subscribe(channel));
      } catch (err) {
        // Forget the channel, so that the next subscriber asks Redis again rather than assume it
        // is subscribed. (Channels subscribed before an outage are renewed by ioredis itself.)
        if (this.handlers.get(channel) === set && set.size === 0) this.handlers.delete(channel);
        throw err;
      }
    }
    set.add(handler);
    return async () => {
      const s = this.handlers.get(channel);
      if (!s) return;
      s.delete(handler);
      if (s.size === 0) {
        this.handlers.delete(channel);
        await this.sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }
  async subscribers(channel: string) {
    const [, count] = (await redisCall(() => this.pub.pubsub('NUMSUB', channel))) as [string, number];
    return Number(count);
  }
  async close() {
    this.handlers.clear();
  }
}

/**
 * Redis connections fail fast while Redis is away (no offline queue: a command that cannot be sent
 * is refused at once, and the request answers 503 rather than wait), and reconnect by themselves
 * at most a second apart; the subscriber renews its channels when it is back.
 */
const REDIS_OPTIONS: RedisOptions = {
  lazyConnect: true,
  maxRetriesPerRequest: 2,
  enableOfflineQueue: false,
  commandTimeout: 5000,
  retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
};

/** Keys under a prefix, for several contexts on one database (tests: as each has its own Redis prefix). */
class PrefixedKeyValueStore implements KeyValueStore {
  constructor(
    private readonly inner: KeyValueStore,
    private readonly prefix: string,
  ) {}
  get = (key: string) => this.inner.get(this.prefix + key);
  getMany = (keys: string[]) => this.inner.getMany(keys.map((k) => this.prefix + k));
  set = (key: string, value: string, ttl: number) => this.inner.set(this.prefix + key, value, ttl);
  setIfAbsent = (key: string, value: string, ttl: number) => this.inner.setIfAbsent(this.prefix + key, value, ttl);
  increment = (key: string, ttl: number) => this.inner.increment(this.prefix + key, ttl);
  take = (key: string) => this.inner.take(this.prefix + key);
  del = (key: string) => this.inner.del(this.prefix + key);
  close = () => this.inner.close();
}

export async function openSharedState(opts: {
  redisUrl?: string;
  db: Db;
  keyPrefix?: string;
  /** Prefix of the keys in the database's kv table (none by default: one server, one database). */
  embeddedKeyPrefix?: string;
  log?: OutageLogger;
  tls?: ConnectionOptions;
}): Promise<SharedState> {
  if (!opts.redisUrl) {
    const table = new DbKeyValueStore(opts.db);
    const kv = opts.embeddedKeyPrefix ? new PrefixedKeyValueStore(table, opts.embeddedKeyPrefix) : table;
    const bus = new InProcessBus();
    return {
      kv,
      bus,
      kind: 'embedded',
      close: async () => {
        await kv.close();
        await bus.close();
      },
    };
  }
  // ioredis loads only when Redis is configured (the embedded default never needs it).
  const { Redis: RedisClient } = await import('ioredis');
  const tls = opts.tls ? { tls: opts.tls } : {};
  const main = new RedisClient(opts.redisUrl, { ...REDIS_OPTIONS, ...tls, keyPrefix: opts.keyPrefix });
  // A subscriber connection cannot run other commands; channels are not prefixed by ioredis, so
  // prefix them ourselves to keep test runs and deployments sharing one Redis apart.
  const sub = new RedisClient(opts.redisUrl, { ...REDIS_OPTIONS, ...tls });
  // Connection errors are reported by ioredis as 'error' events (printed to stderr on every retry
  // when nobody listens); the outage is logged once instead, and its end when both links are back.
  const outage = new OutageWatch('redis', opts.log);
  for (const link of [main, sub]) {
    link.on('error', (err: unknown) => outage.failed(err));
    link.on('ready', () => {
      if (main.status === 'ready' && sub.status === 'ready') outage.recovered();
    });
  }
  // A failed first connection rejects with the cause (a TLS or authentication error says which),
  // not ioredis's generic "Connection is closed", and does not keep retrying in the background.
  // One after the other, so that a failure never leaves the other connection mid-handshake.
  for (const r of [main, sub]) {
    let onError: (err: Error) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => {
      onError = reject;
      r.once('error', onError);
    });
    try {
      await Promise.race([r.connect(), failed]);
    } catch (err) {
      main.disconnect();
      sub.disconnect();
      throw err;
    } finally {
      r.off('error', onError);
    }
  }
  const prefix = opts.keyPrefix ?? '';
  const inner = new RedisBus(main, sub);
  const bus: Bus = {
    publish: (c, m) => inner.publish(prefix + c, m),
    subscribe: (c, h) => inner.subscribe(prefix + c, h),
    subscribers: (c) => inner.subscribers(prefix + c),
    close: () => inner.close(),
  };
  return {
    kv: new RedisKeyValueStore(main),
    bus,
    kind: 'redis',
    close: async () => {
      await bus.close();
      sub.disconnect();
      await main.quit().catch(() => main.disconnect());
    },
  };
}
