// Every TMI_* setting in one typed object, read once at start and validated with readable errors.
// docs/configuration.md documents each one; keep the two in step.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type BuildMode = 'dev' | 'test' | 'production';
export type SigningMethod = 'HS256' | 'RS256' | 'ES256';

export interface OAuthProviderConfig {
  id: string;
  name: string;
  icon: string;
  clientId: string;
  clientSecret: string;
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
  /** Optional second userinfo endpoint (GitHub's /user/emails). */
  userinfoSecondaryUrl: string;
  issuer: string;
  jwksUrl: string;
  scopes: string[];
  acceptHeader: string;
  claims: { subject: string; email: string; name: string; emailVerified: string; groups: string };
  secondaryEmailClaim: string;
}

export interface AdministratorEntry {
  provider: string;
  providerId?: string;
  email?: string;
  groupName?: string;
  subjectType: 'user' | 'group';
}

export interface Config {
  buildMode: BuildMode;
  version: string;
  server: {
    port: number;
    interface: string;
    baseUrl: string;
    tls: { enabled: boolean; certFile: string; keyFile: string; subjectName: string };
    httpToHttpsRedirect: boolean;
    httpRedirectPort: number;
    bodyLimitBytes: number;
    requireIfMatch: boolean;
    trustProxy: boolean;
    shutdownGraceMs: number;
  };
  jwt: {
    signingMethod: SigningMethod;
    /** HS256 secret; empty for asymmetric methods. Secret: never logged. */
    secret: string;
    privateKeyFile: string;
    publicKeyFile: string;
    keyId: string;
    expirationSeconds: number;
    refreshTokenDays: number;
    sessionLifetimeDays: number;
  };
  oauth: {
    callbackUrl: string;
    clientCallbackAllowlist: string[];
    allowLoopbackCallbacks: boolean;
    providers: OAuthProviderConfig[];
  };
  auth: {
    devProviderEnabled: boolean;
    autoPromoteFirstUser: boolean;
    everyoneIsAReviewer: boolean;
    administrators: AdministratorEntry[];
  };
  cors: { allowedOrigins: string[]; reflectAnyOrigin: boolean };
  cookie: { enabled: boolean; domain: string; secure: boolean };
  rateLimit: {
    /** Sign-in endpoints (authorize, callback, token, refresh, introspect) are limited. */
    authFlowEnabled: boolean;
    /** Discovery documents (/.well-known/*) are limited per client IP. */
    publicEnabled: boolean;
    authUserPerMinute: number;
    authIpPerMinute: number;
    publicPerMinute: number;
  };
  log: { level: string; dir: string };
  database: { url: string; poolMax: number };
  redis: { url: string };
  dataDir: string;
  /** Running it in production: metrics, traces, log rotation, data-store TLS, migrations. */
  operations: OperationsConfig;
}

export interface OperationsConfig {
  /** Prometheus metrics on their own port (0: off) and/or at /metrics behind a bearer token. */
  metrics: { port: number; interface: string; /** Secret. */ token: string };
  /** OpenTelemetry traces over OTLP (endpoint from the SDK's own OTEL_EXPORTER_OTLP_* variables). */
  tracing: { enabled: boolean; samplingRate: number };
  logRotation: { maxSizeMb: number; maxFiles: number };
  database: {
    /** PEM CA bundle for TLS to PostgreSQL: turns on certificate and host name verification. */
    tlsCaFile: string;
    /** false: the server only checks that the schema is current (migrations run as another role). */
    migrate: boolean;
  };
  redis: { /** PEM CA bundle for rediss:// */ tlsCaFile: string };
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Collects problems instead of stopping at the first, so one start shows them all. */
class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string, fallback = ''): string {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  }
  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }
  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (/^(true|1|yes|on)$/i.test(v)) return true;
    if (/^(false|0|no|off)$/i.test(v)) return false;
    this.problems.push(`${name}: expected true or false, got "${v}"`);
    return fallback;
  }
  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.problems.push(`${name}: expected an integer from ${min} to ${max}, got "${v}"`);
      return fallback;
    }
    return Number(v);
  }
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name}: expected one of ${allowed.join(' | ')}, got "${v}"`);
      return fallback;
    }
    return v as T;
  }
  list(name: string): string[] {
    return this.str(name)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  url(name: string, fallback: string, schemes = ['http:', 'https:']): string {
    const v = this.str(name, fallback);
    if (v === '') return v;
    try {
      const u = new URL(v);
      if (!schemes.includes(u.protocol)) throw new Error('scheme');
    } catch {
      this.problems.push(`${name}: expected an absolute ${schemes.join(' or ')} URL, got "${v}"`);
    }
    return v;
  }
}

const KNOWN_PROVIDER_DEFAULTS: Record<string, Partial<OAuthProviderConfig>> = {
  github: {
    name: 'GitHub',
    icon: 'fa-brands fa-github',
    authorizationUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    userinfoUrl: 'https://api.github.com/user',
    userinfoSecondaryUrl: 'https://api.github.com/user/emails',
    scopes: ['read:user', 'user:email'],
    acceptHeader: 'application/json',
    claims: { subject: 'id', email: 'email', name: 'name', emailVerified: 'email_verified', groups: '' },
    secondaryEmailClaim: '[0].email',
  },
  google: {
    name: 'Google',
    icon: 'fa-brands fa-google',
    issuer: 'https://accounts.google.com',
    jwksUrl: 'https://www.googleapis.com/oauth2/v3/certs',
    authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    userinfoUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
    scopes: ['openid', 'profile', 'email'],
  },
  microsoft: {
    name: 'Microsoft',
    icon: 'fa-brands fa-microsoft',
    authorizationUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    userinfoUrl: 'https://graph.microsoft.com/oidc/userinfo',
    scopes: ['openid', 'profile', 'email'],
  },
};

/** Providers are configured as in the reference: OAUTH_PROVIDERS_<ID>_ENABLED=true plus _CLIENT_ID etc. */
function readProviders(r: Reader, env: Env): OAuthProviderConfig[] {
  const ids = new Set<string>();
  for (const key of Object.keys(env)) {
    const m = /^OAUTH_PROVIDERS_([A-Z0-9_]+?)_ENABLED$/.exec(key);
    if (m && r.bool(key, false)) ids.add(m[1]);
  }
  const out: OAuthProviderConfig[] = [];
  for (const ID of ids) {
    const id = ID.toLowerCase().replace(/_/g, '-');
    if (id === 'tmi') continue; // the development provider is built in, see auth.devProviderEnabled
    const p = (s: string) => `OAUTH_PROVIDERS_${ID}_${s}`;
    const d = KNOWN_PROVIDER_DEFAULTS[id] ?? {};
    const dc = d.claims ?? { subject: 'sub', email: 'email', name: 'name', emailVerified: 'email_verified', groups: 'groups' };
    const cfg: OAuthProviderConfig = {
      id,
      name: r.str(p('NAME'), d.name ?? id),
      icon: r.str(p('ICON'), d.icon ?? ''),
      clientId: r.str(p('CLIENT_ID')),
      clientSecret: r.str(p('CLIENT_SECRET')),
      authorizationUrl: r.url(p('AUTHORIZATION_URL'), d.authorizationUrl ?? ''),
      tokenUrl: r.url(p('TOKEN_URL'), d.tokenUrl ?? ''),
      userinfoUrl: r.url(p('USERINFO_URL'), d.userinfoUrl ?? ''),
      userinfoSecondaryUrl: r.url(p('USERINFO_SECONDARY_URL'), d.userinfoSecondaryUrl ?? ''),
      issuer: r.url(p('ISSUER'), d.issuer ?? ''),
      jwksUrl: r.url(p('JWKS_URL'), d.jwksUrl ?? ''),
      scopes: r.list(p('SCOPES')).length ? r.list(p('SCOPES')) : (d.scopes ?? ['openid', 'profile', 'email']),
      acceptHeader: r.str(p('ACCEPT_HEADER'), d.acceptHeader ?? 'application/json'),
      claims: {
        subject: r.str(p('USERINFO_CLAIMS_SUBJECT_CLAIM'), dc.subject),
        email: r.str(p('USERINFO_CLAIMS_EMAIL_CLAIM'), dc.email),
        name: r.str(p('USERINFO_CLAIMS_NAME_CLAIM'), dc.name),
        emailVerified: r.str(p('USERINFO_CLAIMS_EMAIL_VERIFIED_CLAIM'), dc.emailVerified),
        groups: r.str(p('USERINFO_CLAIMS_GROUPS_CLAIM'), dc.groups),
      },
      secondaryEmailClaim: r.str(p('USERINFO_SECONDARY_CLAIMS_EMAIL_CLAIM'), d.secondaryEmailClaim ?? ''),
    };
    if (!cfg.clientId) r.problems.push(`${p('CLIENT_ID')}: required when ${p('ENABLED')}=true`);
    if (!cfg.clientSecret) r.problems.push(`${p('CLIENT_SECRET')}: required when ${p('ENABLED')}=true`);
    if (!cfg.issuer && (!cfg.authorizationUrl || !cfg.tokenUrl || !cfg.userinfoUrl)) {
      r.problems.push(`OAuth provider ${id}: set ${p('ISSUER')} (OIDC discovery) or the authorization, token and userinfo URLs`);
    }
    out.push(cfg);
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

function readAdministrators(r: Reader): AdministratorEntry[] {
  const out: AdministratorEntry[] = [];
  // The reference's single bootstrap entry.
  const provider = r.str('TMI_ADMIN_PROVIDER');
  if (provider) {
    const subjectType = r.oneOf('TMI_ADMIN_SUBJECT_TYPE', ['user', 'group'] as const, 'user');
    const entry: AdministratorEntry = {
      provider,
      providerId: r.raw('TMI_ADMIN_PROVIDER_ID'),
      email: r.raw('TMI_ADMIN_EMAIL'),
      groupName: r.raw('TMI_ADMIN_GROUP_NAME'),
      subjectType,
    };
    if (subjectType === 'user' && !entry.providerId && !entry.email) {
      r.problems.push('TMI_ADMIN_PROVIDER_ID or TMI_ADMIN_EMAIL: required when TMI_ADMIN_PROVIDER is set');
    }
    if (subjectType === 'group' && !entry.groupName) r.problems.push('TMI_ADMIN_GROUP_NAME: required for a group administrator');
    out.push(entry);
  }
  // Ours: any number of users as provider:provider_id, comma separated.
  for (const item of r.list('TMI_ADMINISTRATORS')) {
    const i = item.indexOf(':');
    if (i <= 0 || i === item.length - 1) {
      r.problems.push(`TMI_ADMINISTRATORS: expected provider:provider_id entries, got "${item}"`);
      continue;
    }
    out.push({ provider: item.slice(0, i), providerId: item.slice(i + 1), subjectType: 'user' });
  }
  return out;
}

function devSecret(dataDir: string): string {
  // Dev and test start without configuration: keep a generated secret in the data folder so that
  // sessions survive a restart. Production never gets here (it requires TMI_JWT_SECRET).
  const file = path.join(dataDir, 'dev-jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const buildMode = r.oneOf('TMI_BUILD_MODE', ['dev', 'test', 'production'] as const, 'dev');
  const production = buildMode === 'production';
  const tlsEnabled = r.bool('TMI_SERVER_TLS_ENABLED', false);
  const port = r.int('TMI_SERVER_PORT', r.int('PORT', 8080, 0, 65535), 0, 65535);
  const iface = r.str('TMI_SERVER_INTERFACE', production ? '0.0.0.0' : '127.0.0.1');
  const defaultBase = `${tlsEnabled ? 'https' : 'http'}://localhost:${port}`;
  const baseUrl = r.url('TMI_SERVER_BASE_URL', defaultBase).replace(/\/+$/, '');
  const dataDir = path.resolve(r.str('TMI_DATA_DIR', './data'));

  const signingMethod = r.oneOf('TMI_JWT_SIGNING_METHOD', ['HS256', 'RS256', 'ES256'] as const, 'HS256');
  let secret = r.str('TMI_JWT_SECRET');
  const privateKeyFile = r.str('TMI_JWT_PRIVATE_KEY_FILE');
  const publicKeyFile = r.str('TMI_JWT_PUBLIC_KEY_FILE');
  if (signingMethod === 'HS256') {
    if (production) {
      if (!secret) r.problems.push('TMI_JWT_SECRET: required in production');
      else if (secret === 'your-secret-key') r.problems.push('TMI_JWT_SECRET: the example value "your-secret-key" is not a secret');
      else if (Buffer.byteLength(secret) < 32) r.problems.push('TMI_JWT_SECRET: must be at least 32 bytes for HS256 in production');
    } else if (!secret) {
      secret = devSecret(dataDir);
    }
  } else {
    if (!privateKeyFile) r.problems.push(`TMI_JWT_PRIVATE_KEY_FILE: required for ${signingMethod}`);
    else if (!existsSync(privateKeyFile)) r.problems.push(`TMI_JWT_PRIVATE_KEY_FILE: no such file "${privateKeyFile}"`);
    if (publicKeyFile && !existsSync(publicKeyFile)) r.problems.push(`TMI_JWT_PUBLIC_KEY_FILE: no such file "${publicKeyFile}"`);
  }

  const providers = readProviders(r, env);
  const redisUrl = r.url('TMI_REDIS_URL', '', ['redis:', 'rediss:']);
  if (secret) {
    const others = providers.map((p) => p.clientSecret).filter(Boolean);
    try {
      if (redisUrl && new URL(redisUrl).password) others.push(decodeURIComponent(new URL(redisUrl).password));
    } catch {
      /* reported above */
    }
    if (others.includes(secret)) r.problems.push('TMI_JWT_SECRET: must differ from every other configured secret');
  }

  const cors = r.list('TMI_CORS_ALLOWED_ORIGINS').map((o) => o.replace(/\/+$/, ''));
  for (const o of cors) {
    if (o === '*') r.problems.push('TMI_CORS_ALLOWED_ORIGINS: "*" is not allowed; list the origins of your web clients');
    else if (!/^https?:\/\/[^/]+$/.test(o)) r.problems.push(`TMI_CORS_ALLOWED_ORIGINS: "${o}" is not an origin (scheme://host[:port])`);
  }

  const tls = {
    enabled: tlsEnabled,
    certFile: r.str('TMI_SERVER_TLS_CERT_FILE'),
    keyFile: r.str('TMI_SERVER_TLS_KEY_FILE'),
    subjectName: r.str('TMI_SERVER_TLS_SUBJECT_NAME', 'localhost'),
  };
  if (tls.enabled) {
    for (const [name, file] of [
      ['TMI_SERVER_TLS_CERT_FILE', tls.certFile],
      ['TMI_SERVER_TLS_KEY_FILE', tls.keyFile],
    ] as const) {
      if (!file) r.problems.push(`${name}: required when TMI_SERVER_TLS_ENABLED=true`);
      else if (!existsSync(file)) r.problems.push(`${name}: no such file "${file}"`);
    }
  }

  const databaseUrl = r.url('TMI_DATABASE_URL', '', ['postgres:', 'postgresql:']);
  const devProviderEnabled = !production && r.bool('OAUTH_PROVIDERS_TMI_ENABLED', true);

  const config: Config = {
    buildMode,
    version: packageVersion(),
    server: {
      port,
      interface: iface,
      baseUrl,
      tls,
      httpToHttpsRedirect: r.bool('TMI_SERVER_HTTP_TO_HTTPS_REDIRECT', false),
      httpRedirectPort: r.int('TMI_SERVER_HTTP_REDIRECT_PORT', 80, 1, 65535),
      bodyLimitBytes: r.int('TMI_SERVER_MAX_BODY_BYTES', 16 * 1024 * 1024, 1024, 256 * 1024 * 1024),
      requireIfMatch: r.bool('TMI_REQUIRE_IF_MATCH', false),
      trustProxy: r.bool('TMI_TRUST_PROXY', false),
      shutdownGraceMs: r.int('TMI_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    },
    jwt: {
      signingMethod,
      secret,
      privateKeyFile,
      publicKeyFile,
      keyId: r.str('TMI_JWT_KEY_ID'),
      expirationSeconds: r.int('TMI_JWT_EXPIRATION_SECONDS', 3600, 60, 86_400),
      refreshTokenDays: r.int('TMI_REFRESH_TOKEN_DAYS', 7, 1, 365),
      sessionLifetimeDays: r.int('TMI_SESSION_LIFETIME_DAYS', 7, 1, 365),
    },
    oauth: {
      callbackUrl: r.url('TMI_OAUTH_CALLBACK_URL', `${baseUrl}/oauth2/callback`),
      clientCallbackAllowlist: r.list('TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST'),
      allowLoopbackCallbacks: !production,
      providers,
    },
    auth: {
      devProviderEnabled,
      autoPromoteFirstUser: r.bool('TMI_AUTH_AUTO_PROMOTE_FIRST_USER', buildMode === 'dev'),
      everyoneIsAReviewer: r.bool('TMI_AUTH_EVERYONE_IS_A_REVIEWER', false),
      administrators: readAdministrators(r),
    },
    cors: { allowedOrigins: cors, reflectAnyOrigin: buildMode === 'dev' },
    cookie: {
      enabled: r.bool('TMI_COOKIE_ENABLED', true),
      domain: r.str('TMI_COOKIE_DOMAIN'),
      secure: r.bool('TMI_COOKIE_SECURE', tlsEnabled) || tlsEnabled,
    },
    rateLimit: (() => {
      const disabled = r.bool('TMI_DISABLE_RATE_LIMITING', false);
      // Test suites sign in far more often than people do; the reference turns this limit off in test mode too.
      const forced = r.bool('TMI_TEST_FORCE_AUTH_FLOW_RATE_LIMITING', false);
      return {
        authFlowEnabled: !disabled && (buildMode !== 'test' || forced),
        publicEnabled: !disabled,
        authUserPerMinute: r.int('TMI_RATELIMIT_AUTH_USER_PER_MINUTE', 50, 1, 1_000_000),
        authIpPerMinute: r.int('TMI_RATELIMIT_AUTH_IP_PER_MINUTE', 100, 1, 1_000_000),
        publicPerMinute: r.int('TMI_RATELIMIT_PUBLIC_RPM', 10, 1, 1_000_000),
      };
    })(),
    log: {
      level: r.oneOf('TMI_LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, 'info'),
      dir: r.str('TMI_LOG_DIR'),
    },
    database: { url: databaseUrl, poolMax: r.int('TMI_DB_MAX_OPEN_CONNS', 10, 1, 500) },
    redis: { url: redisUrl },
    dataDir,
    operations: readOperations(r, iface, databaseUrl, redisUrl),
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

function readFileSetting(r: Reader, name: string): string {
  const file = r.str(name);
  if (file && !existsSync(file)) r.problems.push(`${name}: no such file "${file}"`);
  return file;
}

function readTracing(r: Reader): OperationsConfig['tracing'] {
  const rate = r.str('TMI_OTEL_SAMPLING_RATE', '1');
  const samplingRate = Number(rate);
  if (!/^\d*\.?\d+$/.test(rate) || samplingRate > 1) r.problems.push(`TMI_OTEL_SAMPLING_RATE: expected a number from 0 to 1, got "${rate}"`);
  return { enabled: r.bool('TMI_OTEL_ENABLED', false), samplingRate: Number.isFinite(samplingRate) ? Math.min(1, samplingRate) : 1 };
}

function readOperations(r: Reader, serverInterface: string, databaseUrl: string, redisUrl: string): OperationsConfig {
  const token = r.str('TMI_METRICS_TOKEN');
  if (token && Buffer.byteLength(token) < 16) r.problems.push('TMI_METRICS_TOKEN: must be at least 16 bytes');
  const database = { tlsCaFile: readFileSetting(r, 'TMI_DATABASE_TLS_CA_FILE'), migrate: r.bool('TMI_DATABASE_MIGRATE', true) };
  if (database.tlsCaFile && /[?&]sslmode=/.test(databaseUrl)) {
    r.problems.push('TMI_DATABASE_TLS_CA_FILE: TMI_DATABASE_URL sets sslmode itself; use one or the other');
  }
  const redis = { tlsCaFile: readFileSetting(r, 'TMI_REDIS_TLS_CA_FILE') };
  if (redis.tlsCaFile && !redisUrl.startsWith('rediss:')) r.problems.push('TMI_REDIS_TLS_CA_FILE: needs a rediss:// TMI_REDIS_URL');
  return {
    metrics: {
      port: r.int('TMI_OTEL_PROMETHEUS_PORT', 0, 0, 65535),
      interface: r.str('TMI_METRICS_INTERFACE', serverInterface),
      token,
    },
    tracing: readTracing(r),
    logRotation: { maxSizeMb: r.int('TMI_LOG_MAX_SIZE_MB', 100, 1, 100_000), maxFiles: r.int('TMI_LOG_MAX_BACKUPS', 10, 1, 1000) },
    database,
    redis,
  };
}

/**
 * Only what the database needs (the `migrate` command runs with a migration role's URL and none of
 * the server's other settings).
 */
export function loadDatabaseConfig(env: Env = process.env): { url: string; tlsCaFile: string } {
  const r = new Reader(env);
  const url = r.url('TMI_DATABASE_URL', '', ['postgres:', 'postgresql:']);
  if (!url) r.problems.push('TMI_DATABASE_URL: required (the PostgreSQL database to migrate)');
  const tlsCaFile = readFileSetting(r, 'TMI_DATABASE_TLS_CA_FILE');
  if (r.problems.length) throw new ConfigError(r.problems);
  return { url, tlsCaFile };
}

export interface SecretSourceConfig {
  provider: 'env' | 'aws' | 'oci';
  aws: { region: string; secretName: string };
  oci: {
    vaultId: string;
    secretName: string;
    auth: 'config_file' | 'instance_principal' | 'resource_principal';
    configFile: string;
    profile: string;
    /** Overrides the regional endpoint (a private endpoint). */
    endpoint: string;
  };
}

/** Where secret settings come from besides the environment (read before everything else). */
export function loadSecretSourceConfig(env: Env = process.env): SecretSourceConfig {
  const r = new Reader(env);
  const provider = r.oneOf('TMI_SECRETS_PROVIDER', ['env', 'aws', 'oci'] as const, 'env');
  const cfg: SecretSourceConfig = {
    provider,
    aws: { region: r.str('TMI_AWS_REGION'), secretName: r.str('TMI_AWS_SECRET_NAME') },
    oci: {
      vaultId: r.str('TMI_OCI_VAULT_ID'),
      secretName: r.str('TMI_OCI_SECRET_NAME'),
      auth: r.oneOf('TMI_OCI_AUTH', ['config_file', 'instance_principal', 'resource_principal'] as const, 'config_file'),
      configFile: r.str('TMI_OCI_CONFIG_FILE'),
      profile: r.str('TMI_OCI_CONFIG_PROFILE', 'DEFAULT'),
      endpoint: r.url('TMI_OCI_SECRETS_ENDPOINT', ''),
    },
  };
  if (provider === 'aws') {
    if (!cfg.aws.secretName) r.problems.push('TMI_AWS_SECRET_NAME: required with TMI_SECRETS_PROVIDER=aws');
    if (!cfg.aws.region) r.problems.push('TMI_AWS_REGION: required with TMI_SECRETS_PROVIDER=aws');
  }
  if (provider === 'oci') {
    if (!cfg.oci.vaultId) r.problems.push('TMI_OCI_VAULT_ID: required with TMI_SECRETS_PROVIDER=oci');
    if (!cfg.oci.secretName) r.problems.push('TMI_OCI_SECRET_NAME: required with TMI_SECRETS_PROVIDER=oci');
  }
  if (r.problems.length) throw new ConfigError(r.problems);
  return cfg;
}

/** The tracing settings alone, for the preload that must start before anything else is imported. */
export function loadTracingConfig(env: Env = process.env): OperationsConfig['tracing'] {
  const r = new Reader(env);
  const tracing = readTracing(r);
  if (r.problems.length) throw new ConfigError(r.problems);
  return tracing;
}

/** The settings that may be shown (start-up banner, debug); secrets are masked. */
export function describeConfig(c: Config): Record<string, unknown> {
  const mask = (s: string) => (s ? '***' : '');
  const maskUrl = (u: string) => (u ? u.replace(/\/\/([^@/]*)@/, '//***@') : '');
  return {
    buildMode: c.buildMode,
    server: { ...c.server },
    jwt: { ...c.jwt, secret: mask(c.jwt.secret) },
    oauth: { ...c.oauth, providers: c.oauth.providers.map((p) => ({ id: p.id, clientId: p.clientId, clientSecret: mask(p.clientSecret) })) },
    auth: c.auth,
    cors: c.cors,
    cookie: c.cookie,
    log: c.log,
    database: { ...c.database, url: maskUrl(c.database.url) || `pglite:${c.dataDir}` },
    redis: { url: maskUrl(c.redis.url) || 'in-process' },
    operations: { ...c.operations, metrics: { ...c.operations.metrics, token: mask(c.operations.metrics.token) } },
  };
}
