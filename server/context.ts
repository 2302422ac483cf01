// The long-lived services of one server process, built once from config and shared by the routes.
import type { Config } from './config.ts';
import { openDb, type Db } from './store/db.ts';
import { openSharedState, type SharedState } from './store/shared-state.ts';
import { postgresTls, redisTls } from './store/tls.ts';
import { TokenService } from './auth/tokens.ts';
import { SessionService } from './auth/sessions.ts';
import { UserService } from './auth/users.ts';
import { Authenticator } from './auth/authenticate.ts';
import { SignInService } from './auth/sign-in.ts';
import { ThreatModelService } from './resources/threat-models/service.ts';
import { FamilyRegistry } from './resources/families.ts';

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
  threatModels: ThreatModelService;
  /** Child resources of a threat model; each resource registers itself when its routes are added. */
  families: FamilyRegistry;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Use this database instead of opening one from config (tests). */
  db?: Db;
  /** Prefix for Redis keys and channels, to keep parallel test runs apart. */
  redisKeyPrefix?: string;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<AppContext> {
  const db =
    opts.db ??
    (await openDb(
      config.database.url
        ? { databaseUrl: config.database.url, poolMax: config.database.poolMax, ssl: postgresTls(config.operations.database.tlsCaFile), migrate: config.operations.database.migrate }
        : { dataDir: config.dataDir },
    ));
  let shared: SharedState | undefined;
  try {
    shared = await openSharedState({ redisUrl: config.redis.url || undefined, db, keyPrefix: opts.redisKeyPrefix ?? 'tmi:', tls: redisTls(config.redis.url, config.operations.redis.tlsCaFile) });
    const tokens = await TokenService.create(config);
    const sessions = new SessionService(
      shared.kv,
      config.jwt.refreshTokenDays * 86_400,
      config.jwt.sessionLifetimeDays * 86_400,
      config.jwt.expirationSeconds,
    );
    await sessions.listen(shared.bus);
    const users = new UserService(db);
    const authenticator = new Authenticator(tokens, sessions, users);
    const signIns = new SignInService(config, users, sessions, tokens);
    const families = new FamilyRegistry();
    const threatModels = new ThreatModelService(db, users, families);
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
      threatModels,
      families,
      async close() {
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
