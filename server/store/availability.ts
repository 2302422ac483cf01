// What an outage of PostgreSQL or Redis looks like to the rest of the server: one error type,
// StoreUnavailableError, that the HTTP layer answers with 503 + Retry-After and background work
// treats as "try again on the next tick"; and one log line when a store becomes unreachable and
// one when it is back, rather than one per failed query.
import type { FastifyBaseLogger } from 'fastify';

export type StoreName = 'database' | 'redis';

export class StoreUnavailableError extends Error {
  constructor(
    readonly store: StoreName,
    cause: unknown,
  ) {
    super(`the ${store} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Socket-level failures: nothing listens, the peer went away, or the network is in the way. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** What `pg` says when a connection breaks or cannot be had; these carry no code. */
const PG_CONNECTION_MESSAGES = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable)/;

/** What ioredis says when a command cannot reach the server (the name covers MaxRetriesPerRequestError). */
const REDIS_CONNECTION_MESSAGES = /^(Connection is closed|Stream isn't writeable|Command timed out|Reached the max retries per request limit|LOADING |MASTERDOWN |TRYAGAIN )/;

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '';
}

/**
 * A PostgreSQL failure that says nothing about the query: the server is down, shutting down
 * (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), or the connection broke
 * (SQLSTATE class 08). Constraint violations and the like are not outages and stay as they are.
 */
export function isPgConnectionFailure(err: unknown): boolean {
  const code = codeOf(err);
  if (NETWORK_CODES.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  return PG_CONNECTION_MESSAGES.test(messageOf(err));
}

export function isRedisConnectionFailure(err: unknown): boolean {
  if ((err as Error | null)?.name === 'MaxRetriesPerRequestError') return true;
  return NETWORK_CODES.has(codeOf(err)) || REDIS_CONNECTION_MESSAGES.test(messageOf(err));
}

export type OutageLogger = Pick<FastifyBaseLogger, 'warn' | 'info'>;

/** What an OutageWatch logs when its condition begins and when it ends. */
export interface OutageWording {
  down: string;
  up: string;
}

/** Logs the start and the end of an outage of one store (or another condition of it), once each. */
export class OutageWatch {
  private since: number | null = null;

  constructor(
    private readonly store: StoreName,
    private readonly log?: OutageLogger,
    private readonly wording: OutageWording = { down: `${store} unreachable: requests that need it get 503 until it is back`, up: `${store} reachable again` },
  ) {}

  failed(err: unknown): void {
    if (this.since !== null) return;
    this.since = Date.now();
    this.log?.warn({ store: this.store, reason: messageOf(err) || String(err) }, this.wording.down);
  }

  recovered(): void {
    if (this.since === null) return;
    const downMs = Date.now() - this.since;
    this.since = null;
    this.log?.info({ store: this.store, down_ms: downMs }, this.wording.up);
  }
}
