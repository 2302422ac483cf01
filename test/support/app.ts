// Test harness: a real app (in-process, driven with app.inject) on PGlite from the migrated
// template, or on PostgreSQL + Redis when TMI_TEST_DATABASE_URL / TMI_TEST_REDIS_URL are set.
// Each test makes its own users (random names), so files can run in parallel without cleanup; for
// the same reason the apps of one worker process share one PGlite database (loaded once from the
// template, as all files share the one PostgreSQL database), unless a test asks for a fresh one.
// Users and tokens: test/support/factories.ts.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../server/config.ts';
import { createContext, type AppContext } from '../../server/context.ts';
import { buildApp, type AppOptions } from '../../server/app.ts';
import { openDb, type Db, type Queryable } from '../../server/store/db.ts';
import { signInAs, uniqueUser, type SignedIn } from './factories.ts';

export { uniqueUser, type SignedIn };

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  config: Config;
  /** The settings the config was loaded from (a second instance loads its own from them). */
  env: Record<string, string>;
  /** Prefix of this app's Redis keys; a second instance on the same prefix shares its flows. */
  redisKeyPrefix: string;
  close(): Promise<void>;
}

export const usingPostgres = Boolean(process.env.TMI_TEST_DATABASE_URL);

/** An upstream OAuth provider ("corp") at a host that does not exist: its sign-in never completes. */
export const UNREACHABLE_PROVIDER_ENV: Record<string, string> = {
  OAUTH_PROVIDERS_CORP_ENABLED: 'true',
  OAUTH_PROVIDERS_CORP_CLIENT_ID: 'corp-client',
  OAUTH_PROVIDERS_CORP_CLIENT_SECRET: 'corp-client-secret-for-tests',
  OAUTH_PROVIDERS_CORP_AUTHORIZATION_URL: 'https://idp.example.test/authorize',
  OAUTH_PROVIDERS_CORP_TOKEN_URL: 'https://idp.example.test/token',
  OAUTH_PROVIDERS_CORP_USERINFO_URL: 'https://idp.example.test/userinfo',
};

/**
 * The least a production configuration needs besides its JWT secret: an identity provider (the
 * development one is off there) and Secure cookies (TLS ends at a proxy in front).
 */
export const PRODUCTION_ENV: Record<string, string> = {
  TMI_BUILD_MODE: 'production',
  TMI_COOKIE_SECURE: 'true',
  ...UNREACHABLE_PROVIDER_ENV,
};

export interface TestAppOptions extends AppOptions {
  /**
   * A database of its own, copied from the template (PGlite only; with PostgreSQL give the app its
   * own TMI_DATABASE_URL): for behaviour that depends on an empty users table.
   */
  freshDatabase?: boolean;
  /** How long a runtime setting changed elsewhere may stay cached (a second instance without a shared bus). */
  settingsCacheMs?: number;
}

/** The worker's PGlite database, loaded from the migrated template on first use. */
let workerDb: Promise<Db> | undefined;

function templateDb(): Promise<Db> {
  return openDb({ loadDump: new Blob([readFileSync(process.env.TMI_TEST_PGLITE_TEMPLATE!)]) });
}

/**
 * A handle on the worker's database that one app may close: its own queries fail from then on (as
 * on a closed database: the readiness tests close it under the app), the database stays open for
 * the other apps of the worker.
 */
function borrow(db: Db): Db {
  let closed = false;
  const open = () => {
    if (closed) throw new Error('PGlite is closed');
  };
  return {
    kind: db.kind,
    async query(text, params, prepared) {
      open();
      return db.query(text, params, prepared);
    },
    async exec(script) {
      open();
      return db.exec(script);
    },
    async tx(fn) {
      open();
      return db.tx(fn);
    },
    async close() {
      closed = true;
    },
  };
}

/** The app a test's token factories mint through (test/support/factories.ts). */
const contexts = new WeakMap<FastifyInstance, AppContext>();
export const contextOf = (app: FastifyInstance): AppContext | undefined => contexts.get(app);

export async function startTestApp(env: Record<string, string> = {}, opts: TestAppOptions = {}): Promise<TestApp> {
  const { freshDatabase, settingsCacheMs, ...appOptions } = opts;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tmi-test-'));
  const fullEnv: Record<string, string> = {
    TMI_BUILD_MODE: 'test',
    TMI_JWT_SECRET: randomBytes(32).toString('hex'),
    TMI_DATA_DIR: dataDir,
    TMI_LOG_LEVEL: 'silent',
    TMI_AUTH_AUTO_PROMOTE_FIRST_USER: 'false',
    ...(process.env.TMI_TEST_DATABASE_URL ? { TMI_DATABASE_URL: process.env.TMI_TEST_DATABASE_URL } : {}),
    ...(process.env.TMI_TEST_REDIS_URL ? { TMI_REDIS_URL: process.env.TMI_TEST_REDIS_URL } : {}),
    ...env,
  };
  const config = loadConfig(fullEnv);
  const db = config.database.url
    ? await openDb({ databaseUrl: config.database.url, poolMax: 4 })
    : freshDatabase
      ? await templateDb()
      : borrow(await (workerDb ??= templateDb()));
  const redisKeyPrefix = `tmi-test:${randomBytes(6).toString('hex')}:`;
  const ctx = await createContext(config, { db, redisKeyPrefix, settingsCacheMs });
  const app = await buildApp(ctx, appOptions);
  contexts.set(app, ctx);
  return {
    app,
    ctx,
    config,
    env: fullEnv,
    redisKeyPrefix,
    async close() {
      await app.close();
      await ctx.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A second instance beside `t`, sharing its store and its Redis keys, as another process behind
 * the same load balancer: on PostgreSQL with a pool of its own; PGlite is one process per data
 * folder, so there it shares the handle.
 */
export async function startSecondInstance(t: TestApp): Promise<{ app: FastifyInstance; ctx: AppContext; close(): Promise<void> }> {
  const db = usingPostgres ? await openDb({ databaseUrl: t.config.database.url, poolMax: 2 }) : null;
  const ctx = await createContext(t.config, { db: db ?? t.ctx.db, redisKeyPrefix: t.redisKeyPrefix });
  const app = await buildApp(ctx);
  return {
    app,
    ctx,
    async close() {
      await app.close();
      await ctx.close();
      await db?.close();
    },
  };
}

/**
 * Runs `write` in a transaction on a connection of its own and, while that transaction is still
 * open (written, not committed), runs `meanwhile`; then commits. PostgreSQL only: PGlite has one
 * connection, so no transaction runs beside another there.
 */
export async function whileWriteOpen(t: TestApp, write: (q: Queryable) => Promise<unknown>, meanwhile: () => Promise<void>): Promise<void> {
  const other = await openDb({ databaseUrl: t.config.database.url, poolMax: 1 });
  try {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let written!: () => void;
    const wrote = new Promise<void>((r) => (written = r));
    const tx = other.tx(async (q) => {
      await write(q);
      written();
      await held;
    });
    await wrote;
    try {
      await meanwhile();
    } finally {
      release();
      await tx;
    }
  } finally {
    await other.close();
  }
}

export const CALLBACK = 'http://localhost:8079/';


/**
 * A signed-in user of the development provider. For an app made by startTestApp the tokens are
 * minted through the sign-in service (test/support/factories.ts: the same account, session and
 * claims as the browser flow, without its two requests); only the sign-in tests need the flow itself
 * (signInWithPkce).
 */
export async function signIn(app: FastifyInstance, user = uniqueUser()): Promise<SignedIn> {
  const ctx = contexts.get(app);
  if (!ctx) return signInWithPkce(app, user);
  const { user: name, accessToken, refreshToken, email } = await signInAs(ctx, user);
  return { user: name, accessToken, refreshToken, email };
}

/** Signs in through the development provider with authorization code + PKCE, as a browser would. */
export async function signInWithPkce(app: FastifyInstance, user = uniqueUser()): Promise<SignedIn> {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorize = await app.inject({
    method: 'GET',
    url: '/oauth2/authorize',
    query: { idp: 'tmi', login_hint: user, client_callback: CALLBACK, scope: 'openid profile email', state: 'st', code_challenge: challenge, code_challenge_method: 'S256' },
  });
  if (authorize.statusCode !== 302) throw new Error(`authorize failed: ${authorize.statusCode} ${authorize.body}`);
  const code = new URL(authorize.headers.location as string).searchParams.get('code')!;
  const token = await app.inject({
    method: 'POST',
    url: '/oauth2/token?idp=tmi',
    payload: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK },
  });
  if (token.statusCode !== 200) throw new Error(`token failed: ${token.statusCode} ${token.body}`);
  const body = token.json() as { access_token: string; refresh_token: string };
  return { user, accessToken: body.access_token, refreshToken: body.refresh_token, email: `${user}@tmi.local` };
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Raw body text (malformed JSON tests). */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Response {
  status: number;
  body: any;
  headers: LightMyRequestResponse['headers'];
  text: string;
}

/** One request through the whole pipeline (hooks, auth, validation, handlers, serialization). */
export async function call(app: FastifyInstance, method: string, url: string, o: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let payload: string | undefined;
  if (o.raw !== undefined) payload = o.raw;
  else if (o.body !== undefined) payload = JSON.stringify(o.body);
  if (payload !== undefined) headers['content-type'] ??= o.contentType ?? 'application/json';
  const res = await app.inject({ method: method as 'GET', url, headers, payload });
  let body: unknown = undefined;
  try {
    body = res.body ? JSON.parse(res.body) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.statusCode, body, headers: res.headers, text: res.body };
}

/**
 * Requests to `app` as `who` that must succeed (a status below 300), for the steps of a test that
 * are not what it checks; each answers the body and throws with the answer otherwise.
 */
export const succeeding = (app: FastifyInstance, who: SignedIn) => async (method: string, url: string, body?: unknown, contentType?: string) => {
  const res = await call(app, method, url, { token: who.accessToken, body, contentType });
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${res.text}`);
  return res.body;
};

/** Asserts the reference's error envelope and returns it. */
export function errorOf(res: Response): { error: string; error_description: string } {
  if (typeof res.body?.error !== 'string' || typeof res.body?.error_description !== 'string') {
    throw new Error(`expected an error envelope, got ${res.status} ${res.text}`);
  }
  return res.body;
}
