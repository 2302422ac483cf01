// Test harness: a real app (in-process, driven with app.inject) on PGlite from the migrated
// template, or on PostgreSQL + Redis when TMI_TEST_DATABASE_URL / TMI_TEST_REDIS_URL are set.
// Each test makes its own users (random names), so files can run in parallel without cleanup.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../server/config.ts';
import { createContext, type AppContext } from '../../server/context.ts';
import { buildApp, type AppOptions } from '../../server/app.ts';
import { openDb } from '../../server/store/db.ts';

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

/**
 * The least a production configuration needs besides its JWT secret: an identity provider (the
 * development one is off there) and Secure cookies (TLS ends at a proxy in front).
 */
export const PRODUCTION_ENV: Record<string, string> = {
  TMI_BUILD_MODE: 'production',
  TMI_COOKIE_SECURE: 'true',
  OAUTH_PROVIDERS_CORP_ENABLED: 'true',
  OAUTH_PROVIDERS_CORP_CLIENT_ID: 'corp-client',
  OAUTH_PROVIDERS_CORP_CLIENT_SECRET: 'corp-client-secret-for-tests',
  OAUTH_PROVIDERS_CORP_AUTHORIZATION_URL: 'https://idp.example.test/authorize',
  OAUTH_PROVIDERS_CORP_TOKEN_URL: 'https://idp.example.test/token',
  OAUTH_PROVIDERS_CORP_USERINFO_URL: 'https://idp.example.test/userinfo',
};

export async function startTestApp(env: Record<string, string> = {}, opts: AppOptions = {}): Promise<TestApp> {
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
    : await openDb({ loadDump: new Blob([readFileSync(process.env.TMI_TEST_PGLITE_TEMPLATE!)]) });
  const redisKeyPrefix = `tmi-test:${randomBytes(6).toString('hex')}:`;
  const ctx = await createContext(config, { db, redisKeyPrefix });
  const app = await buildApp(ctx, opts);
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
    },
  };
}

/** A unique user name accepted by the development provider (3-20 of [a-z0-9-]). */
export function uniqueUser(prefix = 'user'): string {
  return `${prefix.slice(0, 10)}-${randomBytes(4).toString('hex')}`;
}

export const CALLBACK = 'http://localhost:8079/';

export interface SignedIn {
  user: string;
  accessToken: string;
  refreshToken: string;
  email: string;
}

/** Signs in through the development provider with authorization code + PKCE, as a browser would. */
export async function signIn(app: FastifyInstance, user = uniqueUser()): Promise<SignedIn> {
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

/** Asserts the reference's error envelope and returns it. */
export function errorOf(res: Response): { error: string; error_description: string } {
  if (typeof res.body?.error !== 'string' || typeof res.body?.error_description !== 'string') {
    throw new Error(`expected an error envelope, got ${res.status} ${res.text}`);
  }
  return res.body;
}
