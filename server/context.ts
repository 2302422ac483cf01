// The long-lived services of one server process, built once from config and shared by the routes.
import type { Config } from './config.ts';
import { openDb, type Db } from './store/db.ts';
import { openSharedState, type KeyValueStore, type SharedState } from './store/shared-state.ts';
import type { OutageLogger } from './store/availability.ts';
import { postgresTls, redisTls } from './store/tls.ts';
import { TokenService } from './auth/tokens.ts';
import { SessionService } from './auth/sessions.ts';
import { UserService } from './auth/users.ts';
import { Authenticator } from './auth/authenticate.ts';
import { SignInService } from './auth/sign-in.ts';
import { ClientCredentialService } from './auth/client-credentials.ts';
import { ProviderRegistry } from './auth/providers/registry.ts';
import { ThreatModelService } from './resources/threat-models/service.ts';
import { KindRegistry } from './resources/kinds.ts';
import { newSecretToken } from './auth/secret-token.ts';
import { RuntimeSettings } from './settings/runtime.ts';

const DEV_SECRET_KEY = 'jwt:generated-secret';
/** Kept as long as the store keeps anything (Redis without persistence forgets it on restart, with the sessions it signed). */
const DEV_SECRET_TTL_SECONDS = 10 * 365 * 86_400;

/**
 * Dev and test without TMI_JWT_SECRET: the first instance to start generates the secret and puts
 * it in the shared store; every other instance on that store, and every restart, takes the same
 * one, so tokens minted by one instance verify on all. (Production requires TMI_JWT_SECRET.)
 */
async function generatedSecret(kv: KeyValueStore): Promise<string> {
  await kv.setIfAbsent(DEV_SECRET_KEY, newSecretToken(48), DEV_SECRET_TTL_SECONDS);
  const secret = await kv.get(DEV_SECRET_KEY);
  if (!secret) throw new Error('the shared store did not keep the generated JWT secret');
  return secret;
}

export interface AppContext {
  config: Config;
  db: Db;
  shared: SharedState;
  tokens: TokenService;
  sessions: SessionService;
  users: UserService;
  authenticator: Authenticator;
  /** Accounts, sessions and tokens for identities a provider vouched for. */
  signIns: SignInService;
  /** Service-account credentials (client_credentials grant). */
  clientCredentials: ClientCredentialService;
  /** The configured identity providers (OAuth/OIDC and SAML). */
  providers: ProviderRegistry;
  threatModels: ThreatModelService;
  /** The kinds of a threat model's children; each registers its items when its routes are added. */
  kinds: KindRegistry;
  /** The operational settings administrators change at run time (server/settings/). */
  settings: RuntimeSettings;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Use this database instead of opening one from config (tests). */
  db?: Db;
  /**
   * Prefix for Redis keys and channels, to keep parallel test runs apart; without Redis, for the
   * keys of the database's kv table (test apps share one database).
   */
  redisKeyPrefix?: string;
  /** Where outages of PostgreSQL and Redis are reported (when they begin and when they end). */
  log?: OutageLogger;
  /** How long a runtime setting changed on another instance may stay cached here (tests shorten it). */
  settingsCacheMs?: number;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<AppContext> {
  const db =
    opts.db ??
    (await openDb(
      config.database.url
        ? {
            databaseUrl: config.database.url,
            poolMax: config.database.poolMax,
            poolIdleSeconds: config.database.poolIdleSeconds,
            poolMaxIdle: config.database.poolMaxIdle,
            poolMaxLifetimeSeconds: config.database.poolMaxLifetimeSeconds,
            ssl: postgresTls(config.operations.database.tlsCaFile),
            migrate: config.operations.database.migrate,
            log: opts.log,
          }
        : { dataDir: config.dataDir },
    ));
  let shared: SharedState | undefined;
  try {
    shared = await openSharedState({
      redisUrl: config.redis.url || undefined,
      db,
      keyPrefix: opts.redisKeyPrefix ?? 'tmi:',
      embeddedKeyPrefix: opts.redisKeyPrefix,
      log: opts.log,
      tls: redisTls(config.redis.url, config.operations.redis.tlsCaFile),
    });
    const tokens = await TokenService.create(config, config.jwt.generatedSecret ? await generatedSecret(shared.kv) : config.jwt.secret);
    const sessions = new SessionService(
      shared.kv,
      config.jwt.refreshTokenDays * 86_400,
      config.jwt.sessionLifetimeDays * 86_400,
      config.jwt.expirationSeconds,
    );
    await sessions.listen(shared.bus);
    const settings = new RuntimeSettings(db, shared.bus, config, opts.settingsCacheMs);
    await settings.listen();
    const users = new UserService(db, { everyoneIsAReviewer: () => settings.bool('auth.everyone_is_a_reviewer') });
    const authenticator = new Authenticator(tokens, sessions, users);
    const signIns = new SignInService(config, users, sessions, tokens);
    const clientCredentials = new ClientCredentialService(db, shared.kv, sessions);
    const providers = new ProviderRegistry(config, shared.kv);
    const kinds = new KindRegistry();
    const threatModels = new ThreatModelService(db, users, kinds, config.database.listCacheBytes);
    const sharedState = shared;
    return {
      config,
      db,
      shared,
      tokens,
      sessions,
      users,
      authenticator,
      signIns,
      clientCredentials,
      providers,
      threatModels,
      kinds,
      settings,
      async close() {
        await settings.close();
        await sharedState.close();
        if (!opts.db) await db.close();
      },
    };
  } catch (err) {
    await shared?.close().catch(() => undefined);
    if (!opts.db) await db.close().catch(() => undefined);
    throw err;
  }
}
