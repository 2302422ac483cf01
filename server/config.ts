// Every TMI_* setting in one typed object, read once at start and validated with readable errors.
// docs/configuration.md documents each one; keep the two in step.
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { appPath } from './app-root.ts';
import { BUILTIN_PACK, duplicateRuleIds, PackError, parsePack, type Pack } from '../rules/index.ts';

export type BuildMode = 'dev' | 'test' | 'production';
export type SigningMethod = 'HS256' | 'RS256' | 'ES256';

/** Which built-in knowledge a provider gets: endpoints, claim mapping, step-up strength. */
export type ProviderKind = 'oidc' | 'oauth2' | 'github' | 'google' | 'microsoft';

export interface OAuthProviderConfig {
  id: string;
  kind: ProviderKind;
  name: string;
  icon: string;
  /** Reached at a private address on purpose (an in-house Keycloak): the outbound address policy lets it through. */
  internal: boolean;
  /** Microsoft Entra ID tenant: a tenant id or domain, or common / organizations / consumers. */
  tenant: string;
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

/** A SAML 2.0 identity provider (SAML_PROVIDERS_<ID>_*, as the reference names them). */
export interface SamlProviderConfig {
  id: string;
  name: string;
  icon: string;
  /** Our entity id at this IdP (default <base>/saml/<id>/metadata). */
  entityId: string;
  /** Where the IdP posts assertions (default <base>/saml/acs). */
  acsUrl: string;
  /** Where the IdP sends logout requests (default <base>/saml/slo). */
  sloUrl: string;
  /** PEM key and certificate that sign our requests and logout responses. Secret: the key. */
  spPrivateKey: string;
  spCertificate: string;
  /** The IdP's metadata: fetched from a URL, or given inline (base64 of the XML). */
  idpMetadataUrl: string;
  idpMetadataXml: string;
  allowIdpInitiated: boolean;
  forceAuthn: boolean;
  signRequests: boolean;
  internal: boolean;
  attributes: { nameId: string; email: string; name: string; givenName: string; familyName: string; groups: string };
}

export interface AdministratorEntry {
  provider: string;
  providerId?: string;
  email?: string;
  groupName?: string;
  subjectType: 'user' | 'group';
}

/** Limits and timings of diagram collaboration (TMI_COLLAB_*). */
export interface CollabSettings {
  /** A session nobody is connected to ends after this many seconds. */
  idleSeconds: number;
  /** Largest inbound frame, bytes (bigger frames close the socket with 1009). */
  maxMessageBytes: number;
  /** Diagram operations (and undo/redo) per second per socket; bursts up to twice that. */
  opsPerSecond: number;
  /** Distinct users connected to one session. */
  maxParticipants: number;
  /** Sockets one user may hold across all sessions and instances. */
  maxSocketsPerUser: number;
  /**
   * Seconds between server pings; access and revocation are re-checked on the same tick (which
   * bounds how long a lost revocation announcement goes unnoticed).
   */
  pingSeconds: number;
  /** Seconds a ticket from /ws/ticket stays valid (single use). */
  ticketSeconds: number;
  /** Milliseconds between housekeeping passes (heartbeat, dead instances, idle sessions). */
  sweepMs: number;
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
    /**
     * Which proxies in front may name the client (X-Forwarded-For, -Proto, -Host): a number of
     * hops, or their addresses; false trusts none. Never "any": the left-most X-Forwarded-For is
     * whatever the client wrote.
     */
    trustProxy: false | number | string[];
    shutdownGraceMs: number;
  };
  jwt: {
    signingMethod: SigningMethod;
    /** HS256 secret; empty for asymmetric methods and for a generated one. Secret: never logged. */
    secret: string;
    /**
     * HS256 outside production without TMI_JWT_SECRET: the secret is generated once and kept in
     * the shared store, so every instance on that store and every restart uses the same one.
     */
    generatedSecret: boolean;
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
  saml: {
    enabled: boolean;
    providers: SamlProviderConfig[];
    /** Tolerated difference between the IdP's clock and ours. */
    clockSkewSeconds: number;
    /** An assertion older than this is refused whatever its NotOnOrAfter says. */
    maxAssertionAgeSeconds: number;
  };
  /** The one HTTP client for identity providers (server/auth/outbound.ts). */
  idpHttp: { connectTimeoutMs: number; totalTimeoutMs: number; maxResponseBytes: number };
  auth: {
    devProviderEnabled: boolean;
    /** Administrative writes need an interactive sign-in at most this old (auth_time). */
    stepUpWindowSeconds: number;
    /** Days the system audit log keeps entries (TMI_SYSTEM_AUDIT_RETENTION_DAYS, at least 90). */
    systemAuditRetentionDays: number;
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
    /** The whole API, per signed-in user and per client address; 0 turns a limit off. */
    apiUserPerMinute: number;
    apiUserPerHour: number;
    apiIpPerMinute: number;
  };
  log: { level: string; dir: string };
  /** listCacheBytes: memory for the list answers an instance keeps (read model of lists); 0: off. */
  database: { url: string; poolMax: number; poolIdleSeconds: number; poolMaxIdle: number; poolMaxLifetimeSeconds: number; listCacheBytes: number };
  redis: { url: string };
  collab: CollabSettings;
  dataDir: string;
  /** Organisation rule packs for threat suggestions, from TMI_RULE_PACKS (files, validated at start). */
  rules: { packFiles: string[]; packs: Pack[] };
  /** Running it in production: metrics, traces, log rotation, data-store TLS, migrations. */
  operations: OperationsConfig;
  /**
   * Runtime settings (/admin/settings, server/settings/): the AES-256-GCM keys that encrypt their
   * database values, 64 hex digits each (TMI_SECRET_SETTINGS_ENCRYPTION_KEY, and the key being
   * rotated out, TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY). Secret: never logged. Empty: off.
   */
  settingsEncryption: { key: string; previousKey: string };
  /**
   * The names of the variables the environment set (not their values): a runtime setting that the
   * environment set explicitly wins over the database (server/settings/registry.ts).
   */
  setInEnvironment: ReadonlySet<string>;
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
  /** Every variable read that had a value. */
  readonly set = new Set<string>();
  constructor(private readonly env: Env) {}

  str(name: string, fallback = ''): string {
    return this.raw(name) ?? fallback;
  }
  raw(name: string): string | undefined {
    const v = this.env[name];
    if (v === undefined || v.trim() === '') return undefined;
    this.set.add(name);
    return v.trim();
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
  /** Seconds, as a bare integer or with a unit as Go writes durations (`30s`, `5m`, `1h`). */
  seconds(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const m = /^(\d+)(s|m|h)?$/.exec(v);
    const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'] : NaN;
    if (!(seconds >= min && seconds <= max)) {
      this.problems.push(`${name}: expected seconds from ${min} to ${max} (say 30 or 30s), got "${v}"`);
      return fallback;
    }
    return seconds;
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

const MICROSOFT_AUTHORITY = 'https://login.microsoftonline.com';

/** What a preset fills in; the user sets the client id and secret (and Microsoft's tenant). */
function presetDefaults(id: string, tenant: string, authority: string): Partial<OAuthProviderConfig> | undefined {
  switch (id) {
    case 'github':
      // Plain OAuth 2: no ID token. The subject is the numeric account id (logins can be renamed);
      // the e-mail comes from /user/emails (primary and verified) because /user shows only a public one.
      return {
        kind: 'github',
        name: 'GitHub',
        icon: 'fa-brands fa-github',
        authorizationUrl: 'https://github.com/login/oauth/authorize',
        tokenUrl: 'https://github.com/login/oauth/access_token',
        userinfoUrl: 'https://api.github.com/user',
        userinfoSecondaryUrl: 'https://api.github.com/user/emails',
        scopes: ['read:user', 'user:email'],
        acceptHeader: 'application/vnd.github+json',
        claims: { subject: 'id', email: 'email', name: 'name', emailVerified: '', groups: '' },
      };
    case 'google':
      return {
        kind: 'google',
        name: 'Google',
        icon: 'fa-brands fa-google',
        issuer: 'https://accounts.google.com',
        scopes: ['openid', 'profile', 'email'],
      };
    case 'microsoft':
      // Entra ID v2.0 endpoints of the tenant; the ID token's issuer must be the tenant's
      // (providers/microsoft.ts checks it, also for the multi-tenant aliases).
      return {
        kind: 'microsoft',
        name: 'Microsoft',
        icon: 'fa-brands fa-microsoft',
        issuer: `${authority}/${tenant}/v2.0`,
        authorizationUrl: `${authority}/${tenant}/oauth2/v2.0/authorize`,
        tokenUrl: `${authority}/${tenant}/oauth2/v2.0/token`,
        jwksUrl: `${authority}/${tenant}/discovery/v2.0/keys`,
        userinfoUrl: 'https://graph.microsoft.com/oidc/userinfo',
        scopes: ['openid', 'profile', 'email'],
      };
    default:
      return undefined;
  }
}

/** The endpoint settings of a provider, by the suffix of their variable names. */
const PROVIDER_ENDPOINTS = {
  ISSUER: 'issuer',
  AUTHORIZATION_URL: 'authorizationUrl',
  TOKEN_URL: 'tokenUrl',
  USERINFO_URL: 'userinfoUrl',
  USERINFO_SECONDARY_URL: 'userinfoSecondaryUrl',
  JWKS_URL: 'jwksUrl',
} as const satisfies Record<string, keyof OAuthProviderConfig>;

/**
 * Provider ids switched on by `<PREFIX>_<ID>_ENABLED=true`, each with a function naming its
 * settings. The reference reads `OAUTH_PROVIDERS_<ID>_*` (no TMI_ prefix); `TMI_OAUTH_PROVIDERS_<ID>_*`
 * is accepted too and wins when both are set.
 */
function enabledIds(r: Reader, env: Env, prefix: string): Map<string, (suffix: string) => string> {
  const found = new Map<string, (suffix: string) => string>();
  const re = new RegExp(`^(?:TMI_)?${prefix}_([A-Z0-9_]+?)_ENABLED$`);
  for (const key of Object.keys(env)) {
    const m = re.exec(key);
    if (!m || found.has(m[1]!)) continue;
    const ID = m[1]!;
    const name = (suffix: string) => (r.raw(`TMI_${prefix}_${ID}_${suffix}`) !== undefined ? `TMI_${prefix}_${ID}_${suffix}` : `${prefix}_${ID}_${suffix}`);
    if (r.bool(name('ENABLED'), false)) found.set(ID, name);
  }
  return found;
}

function readProviders(r: Reader, env: Env, production: boolean): OAuthProviderConfig[] {
  const out: OAuthProviderConfig[] = [];
  for (const [ID, p] of enabledIds(r, env, 'OAUTH_PROVIDERS')) {
    const id = ID.toLowerCase().replace(/_/g, '-');
    if (id === 'tmi') continue; // the development provider is built in, see auth.devProviderEnabled
    const tenant = r.str(p('TENANT'), 'common');
    if (!/^[A-Za-z0-9.-]{1,100}$/.test(tenant)) r.problems.push(`${p('TENANT')}: expected a tenant id or domain, got "${tenant}"`);
    const authority = r.url(p('AUTHORITY'), MICROSOFT_AUTHORITY).replace(/\/+$/, '');
    const d = presetDefaults(id, tenant, authority) ?? {};
    const dc = d.claims ?? { subject: 'sub', email: 'email', name: 'name', emailVerified: 'email_verified', groups: 'groups' };
    const issuer = r.url(p('ISSUER'), d.issuer ?? '');
    const cfg: OAuthProviderConfig = {
      id,
      kind: d.kind ?? (issuer ? 'oidc' : 'oauth2'),
      name: r.str(p('NAME'), d.name ?? id),
      icon: r.str(p('ICON'), d.icon ?? ''),
      internal: r.bool(p('INTERNAL'), false),
      tenant,
      clientId: r.str(p('CLIENT_ID')),
      clientSecret: r.str(p('CLIENT_SECRET')),
      authorizationUrl: r.url(p('AUTHORIZATION_URL'), d.authorizationUrl ?? ''),
      tokenUrl: r.url(p('TOKEN_URL'), d.tokenUrl ?? ''),
      userinfoUrl: r.url(p('USERINFO_URL'), d.userinfoUrl ?? ''),
      userinfoSecondaryUrl: r.url(p('USERINFO_SECONDARY_URL'), d.userinfoSecondaryUrl ?? ''),
      issuer,
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
      secondaryEmailClaim: r.str(p('USERINFO_SECONDARY_CLAIMS_EMAIL_CLAIM'), ''),
    };
    if (!cfg.clientId) r.problems.push(`${p('CLIENT_ID')}: required when ${p('ENABLED')}=true`);
    if (!cfg.clientSecret) r.problems.push(`${p('CLIENT_SECRET')}: required when ${p('ENABLED')}=true`);
    if (!cfg.issuer && (!cfg.authorizationUrl || !cfg.tokenUrl || !cfg.userinfoUrl)) {
      r.problems.push(`OAuth provider ${id}: set ${p('ISSUER')} (OIDC discovery) or the authorization, token and userinfo URLs`);
    }
    if (production) {
      // Codes, client secrets and tokens cross these requests.
      for (const [suffix, field] of Object.entries(PROVIDER_ENDPOINTS)) {
        const url = cfg[field];
        if (url.startsWith('http:')) r.problems.push(`${p(suffix)}: production talks to identity providers over https only, got "${url}"`);
      }
    }
    out.push(cfg);
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** A PEM value given inline (\n escapes allowed) or by path (`_PATH`). */
function readPem(r: Reader, name: (suffix: string) => string, suffix: string): string {
  const inline = r.raw(name(suffix));
  if (inline) return inline.replace(/\\n/g, '\n');
  const file = r.raw(name(`${suffix}_PATH`));
  if (!file) return '';
  if (!existsSync(file)) {
    r.problems.push(`${name(`${suffix}_PATH`)}: no such file "${file}"`);
    return '';
  }
  return readFileSync(file, 'utf8');
}

function readSamlProviders(r: Reader, env: Env, production: boolean, baseUrl: string): SamlProviderConfig[] {
  const out: SamlProviderConfig[] = [];
  for (const [ID, p] of enabledIds(r, env, 'SAML_PROVIDERS')) {
    const id = ID.toLowerCase().replace(/_/g, '-');
    const cfg: SamlProviderConfig = {
      id,
      name: r.str(p('NAME'), id),
      icon: r.str(p('ICON'), 'fa-solid fa-key'),
      entityId: r.str(p('ENTITY_ID'), `${baseUrl}/saml/${id}/metadata`),
      acsUrl: r.url(p('ACS_URL'), `${baseUrl}/saml/acs`),
      sloUrl: r.url(p('SLO_URL'), `${baseUrl}/saml/slo`),
      spPrivateKey: readPem(r, p, 'SP_PRIVATE_KEY'),
      spCertificate: readPem(r, p, 'SP_CERTIFICATE'),
      idpMetadataUrl: r.url(p('IDP_METADATA_URL'), ''),
      idpMetadataXml: (() => {
        const b64 = r.raw(p('IDP_METADATA_B64XML'));
        return b64 ? Buffer.from(b64, 'base64').toString('utf8') : '';
      })(),
      allowIdpInitiated: r.bool(p('ALLOW_IDP_INITIATED'), false),
      forceAuthn: r.bool(p('FORCE_AUTHN'), false),
      signRequests: r.bool(p('SIGN_REQUESTS'), true),
      internal: r.bool(p('INTERNAL'), false),
      attributes: {
        nameId: r.str(p('NAME_ID_ATTRIBUTE')),
        email: r.str(p('EMAIL_ATTRIBUTE'), 'email'),
        name: r.str(p('NAME_ATTRIBUTE'), 'name'),
        givenName: r.str(p('GIVEN_NAME_ATTRIBUTE'), 'given_name'),
        familyName: r.str(p('FAMILY_NAME_ATTRIBUTE'), 'family_name'),
        groups: r.str(p('GROUPS_ATTRIBUTE'), 'groups'),
      },
    };
    if (!cfg.idpMetadataUrl && !cfg.idpMetadataXml) r.problems.push(`${p('IDP_METADATA_URL')} or ${p('IDP_METADATA_B64XML')}: required when ${p('ENABLED')}=true`);
    if (cfg.idpMetadataXml && !cfg.idpMetadataXml.includes('EntityDescriptor')) r.problems.push(`${p('IDP_METADATA_B64XML')}: not base64 of SAML metadata XML`);
    // Logout requests and responses are signed (the reference's are not), so a key is always needed.
    if (!cfg.spPrivateKey) r.problems.push(`${p('SP_PRIVATE_KEY')} or ${p('SP_PRIVATE_KEY_PATH')}: required (TMI signs its SAML requests and logout responses)`);
    if (!cfg.spCertificate) r.problems.push(`${p('SP_CERTIFICATE')} or ${p('SP_CERTIFICATE_PATH')}: required (published in TMI's SP metadata)`);
    for (const [name, pem, parse] of [
      [p('SP_PRIVATE_KEY'), cfg.spPrivateKey, createPrivateKey],
      [p('SP_CERTIFICATE'), cfg.spCertificate, (v: string) => new X509Certificate(v)],
    ] as const) {
      if (!pem) continue;
      try {
        parse(pem);
      } catch {
        r.problems.push(`${name}: not a PEM ${name.endsWith('KEY') ? 'private key' : 'certificate'}`);
      }
    }
    if (production && cfg.idpMetadataUrl.startsWith('http:')) r.problems.push(`${p('IDP_METADATA_URL')}: production fetches IdP metadata over https only, got "${cfg.idpMetadataUrl}"`);
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

/** proxy-addr's names for address ranges, accepted in TMI_TRUSTED_PROXIES besides addresses and CIDRs. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrRange(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

function readTrustProxy(r: Reader): false | number | string[] {
  const proxies = r.list('TMI_TRUSTED_PROXIES');
  for (const entry of proxies) {
    if (!isAddressOrRange(entry)) r.problems.push(`TMI_TRUSTED_PROXIES: "${entry}" is not an IP address, a CIDR range or one of ${PROXY_RANGE_NAMES.join(', ')}`);
  }
  const hops = r.raw('TMI_TRUST_PROXY');
  let count = 0;
  if (hops !== undefined && /^(true|yes|on)$/i.test(hops)) {
    r.problems.push(`TMI_TRUST_PROXY: "${hops}" would believe whatever X-Forwarded-For a client sends; set the number of proxies in front of TMI (usually 1) or list them in TMI_TRUSTED_PROXIES`);
  } else if (hops !== undefined && !/^(false|no|off)$/i.test(hops)) {
    count = r.int('TMI_TRUST_PROXY', 0, 0, 10);
  }
  if (count > 0 && proxies.length) r.problems.push('TMI_TRUST_PROXY, TMI_TRUSTED_PROXIES: set one of them, not both');
  if (proxies.length) return proxies;
  return count > 0 ? count : false;
}

/** A secret anyone could guess at a glance: one character repeated, or very few different ones. */
function visiblyLowEntropy(secret: string): boolean {
  return new Set(secret).size < 8;
}

/**
 * A client-callback allow-list entry that would let codes go to hosts nobody chose: "*", a scheme
 * alone ("https://*"), or a prefix that stops inside the host ("https://app.example*" also
 * matches https://app.example.evil.net/).
 */
function callbackEntryProblem(entry: string): string | undefined {
  const prefix = entry.endsWith('*');
  const text = prefix ? entry.slice(0, -1) : entry;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return prefix ? 'is a wildcard over every host; name the scheme, the host and a path (https://app.example/*)' : 'is not an absolute URL';
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !url.host) return 'is not an http(s) URL with a host';
  if (prefix && !text.startsWith(`${url.protocol}//${url.host}/`)) {
    return `is a wildcard over hosts; end the host with a path before the * (${url.protocol}//${url.host}/*)`;
  }
  return undefined;
}

/** RS256/ES256 key files: readable PEM, the method's key type, and a size that is not weak. */
function checkSigningKeys(r: Reader, method: 'RS256' | 'ES256', privateKeyFile: string, publicKeyFile: string): void {
  const keys: [string, (pem: Buffer) => KeyObject, string][] = [['TMI_JWT_PRIVATE_KEY_FILE', createPrivateKey, privateKeyFile]];
  if (publicKeyFile) keys.push(['TMI_JWT_PUBLIC_KEY_FILE', createPublicKey, publicKeyFile]);
  const expected = method === 'RS256' ? 'rsa' : 'ec';
  for (const [name, parse, file] of keys) {
    if (!existsSync(file)) {
      r.problems.push(`${name}: no such file "${file}"`);
      continue;
    }
    let key: KeyObject;
    try {
      key = parse(readFileSync(file));
    } catch {
      r.problems.push(`${name}: "${file}" is not a PEM key`);
      continue;
    }
    const details = key.asymmetricKeyDetails ?? {};
    if (key.asymmetricKeyType !== expected) {
      r.problems.push(`${name}: ${method} needs an ${expected.toUpperCase()} key, got ${String(key.asymmetricKeyType).toUpperCase()}`);
    } else if (method === 'RS256' && (details.modulusLength ?? 0) < 2048) {
      r.problems.push(`${name}: an RSA key of ${details.modulusLength} bits is too weak; RS256 needs at least 2048`);
    } else if (method === 'ES256' && details.namedCurve !== 'prime256v1') {
      r.problems.push(`${name}: ES256 needs a P-256 key, got ${details.namedCurve}`);
    }
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(appPath('package.json'), 'utf8')) as { version?: string };
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
  const secret = r.str('TMI_JWT_SECRET');
  const privateKeyFile = r.str('TMI_JWT_PRIVATE_KEY_FILE');
  const publicKeyFile = r.str('TMI_JWT_PUBLIC_KEY_FILE');
  if (signingMethod === 'HS256') {
    // Production never generates one: instances must agree on the key, so it is given explicitly.
    if (production) {
      if (!secret) r.problems.push('TMI_JWT_SECRET: required in production');
      else if (secret === 'your-secret-key') r.problems.push('TMI_JWT_SECRET: the example value "your-secret-key" is not a secret');
      else if (Buffer.byteLength(secret) < 32) r.problems.push('TMI_JWT_SECRET: must be at least 32 bytes (256 bits) for HS256 in production');
      else if (visiblyLowEntropy(secret)) {
        r.problems.push('TMI_JWT_SECRET: visibly low entropy (one character repeated, or fewer than 8 different ones); generate one with `openssl rand -base64 48`');
      }
    }
  } else if (!privateKeyFile) {
    r.problems.push(`TMI_JWT_PRIVATE_KEY_FILE: required for ${signingMethod}`);
  } else {
    checkSigningKeys(r, signingMethod, privateKeyFile, publicKeyFile);
  }

  const providers = readProviders(r, env, production);
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
  const samlEnabled = r.bool('TMI_SAML_ENABLED', false);
  const samlProviders = readSamlProviders(r, env, production, baseUrl);
  if (samlProviders.length && !samlEnabled) {
    r.problems.push(`TMI_SAML_ENABLED: SAML providers are configured (${samlProviders.map((s) => s.id).join(', ')}) but SAML is off; set TMI_SAML_ENABLED=true or disable them`);
  }
  if (production && providers.length === 0 && !(samlEnabled && samlProviders.length)) {
    // SAML providers count too (SAML_PROVIDERS_<ID>_ENABLED with TMI_SAML_ENABLED).
    r.problems.push('OAUTH_PROVIDERS_<ID>_ENABLED: production needs at least one identity provider (the development provider "tmi" is off in production)');
  }

  const clientCallbackAllowlist = r.list('TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST');
  if (production) {
    for (const entry of clientCallbackAllowlist) {
      const problem = callbackEntryProblem(entry);
      if (problem) r.problems.push(`TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: "${entry}" ${problem}`);
    }
  }

  const cookie = {
    enabled: r.bool('TMI_COOKIE_ENABLED', true),
    domain: r.str('TMI_COOKIE_DOMAIN'),
    secure: r.bool('TMI_COOKIE_SECURE', tlsEnabled) || tlsEnabled,
  };
  if (production && cookie.enabled && !cookie.secure) {
    r.problems.push(
      'TMI_COOKIE_SECURE: production sets cookies only with Secure; turn on TMI_SERVER_TLS_ENABLED, or set TMI_COOKIE_SECURE=true when TLS ends at a proxy in front of TMI (or TMI_COOKIE_ENABLED=false)',
    );
  }

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
      trustProxy: readTrustProxy(r),
      shutdownGraceMs: r.int('TMI_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    },
    jwt: {
      signingMethod,
      secret,
      generatedSecret: signingMethod === 'HS256' && !secret && !production,
      privateKeyFile,
      publicKeyFile,
      keyId: r.str('TMI_JWT_KEY_ID'),
      expirationSeconds: r.int('TMI_JWT_EXPIRATION_SECONDS', 3600, 60, 86_400),
      refreshTokenDays: r.int('TMI_REFRESH_TOKEN_DAYS', 7, 1, 365),
      sessionLifetimeDays: r.int('TMI_SESSION_LIFETIME_DAYS', 7, 1, 365),
    },
    oauth: {
      callbackUrl: r.url('TMI_OAUTH_CALLBACK_URL', `${baseUrl}/oauth2/callback`),
      clientCallbackAllowlist,
      allowLoopbackCallbacks: !production,
      providers,
    },
    saml: {
      enabled: samlEnabled,
      providers: samlEnabled ? samlProviders : [],
      clockSkewSeconds: r.int('TMI_SAML_CLOCK_SKEW_SECONDS', 60, 0, 600),
      maxAssertionAgeSeconds: r.int('TMI_SAML_MAX_ASSERTION_AGE_SECONDS', 300, 30, 3600),
    },
    idpHttp: {
      connectTimeoutMs: r.int('TMI_IDP_HTTP_CONNECT_TIMEOUT_MS', 5000, 100, 60_000),
      totalTimeoutMs: r.int('TMI_IDP_HTTP_TIMEOUT_MS', 10_000, 100, 120_000),
      maxResponseBytes: r.int('TMI_IDP_HTTP_MAX_RESPONSE_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024),
    },
    auth: {
      devProviderEnabled,
      stepUpWindowSeconds: r.int('TMI_AUTH_STEP_UP_WINDOW_SECONDS', 300, 60, 86_400),
      systemAuditRetentionDays: r.int('TMI_SYSTEM_AUDIT_RETENTION_DAYS', 365, 90, 36_500),
      autoPromoteFirstUser: r.bool('TMI_AUTH_AUTO_PROMOTE_FIRST_USER', buildMode === 'dev'),
      everyoneIsAReviewer: r.bool('TMI_AUTH_EVERYONE_IS_A_REVIEWER', false),
      administrators: readAdministrators(r),
    },
    cors: { allowedOrigins: cors, reflectAnyOrigin: buildMode === 'dev' },
    cookie,
    rateLimit: (() => {
      const disabled = r.bool('TMI_DISABLE_RATE_LIMITING', false);
      // Test suites sign in far more often than people do; the reference turns this limit off in test mode too.
      const forced = r.bool('TMI_TEST_FORCE_AUTH_FLOW_RATE_LIMITING', false);
      // The API-wide limits are on by default in production only: dev servers run test suites and
      // conformance collections that make thousands of requests as one user.
      const api = (name: string, productionDefault: number) => (disabled ? 0 : r.int(name, production ? productionDefault : 0, 0, 10_000_000));
      return {
        authFlowEnabled: !disabled && (buildMode !== 'test' || forced),
        publicEnabled: !disabled,
        authUserPerMinute: r.int('TMI_RATELIMIT_AUTH_USER_PER_MINUTE', 50, 1, 1_000_000),
        authIpPerMinute: r.int('TMI_RATELIMIT_AUTH_IP_PER_MINUTE', 100, 1, 1_000_000),
        publicPerMinute: r.int('TMI_RATELIMIT_PUBLIC_RPM', 10, 1, 1_000_000),
        // The reference's defaults for a user without a quota of their own.
        apiUserPerMinute: api('TMI_RATELIMIT_API_USER_PER_MINUTE', 1000),
        apiUserPerHour: api('TMI_RATELIMIT_API_USER_PER_HOUR', 60_000),
        apiIpPerMinute: api('TMI_RATELIMIT_API_IP_PER_MINUTE', 3000),
      };
    })(),
    log: {
      level: r.oneOf('TMI_LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, 'info'),
      dir: r.str('TMI_LOG_DIR'),
    },
    database: (() => {
      const poolMax = r.int('TMI_DB_MAX_OPEN_CONNS', 10, 1, 500);
      return {
        url: databaseUrl,
        poolMax,
        poolIdleSeconds: r.seconds('TMI_DB_CONN_MAX_IDLE_TIME', 30, 1, 86_400),
        // As Go's database/sql reads them: 0 keeps no idle connection / sets no lifetime. The
        // reference keeps 2 idle; by default we keep what the idle time allows (docs/compatibility.md).
        poolMaxIdle: r.int('TMI_DB_MAX_IDLE_CONNS', poolMax, 0, 500),
        poolMaxLifetimeSeconds: r.seconds('TMI_DB_CONN_MAX_LIFETIME', 240, 0, 604_800),
        listCacheBytes: r.int('TMI_LIST_CACHE_MB', 16, 0, 4096) * 1024 * 1024,
      };
    })(),
    redis: { url: redisUrl },
    collab: {
      idleSeconds: r.int('TMI_COLLAB_IDLE_SECONDS', 300, 5, 86_400),
      maxMessageBytes: r.int('TMI_COLLAB_MAX_MESSAGE_BYTES', 1024 * 1024, 4096, 64 * 1024 * 1024),
      opsPerSecond: r.int('TMI_COLLAB_OPS_PER_SECOND', 100, 1, 100_000),
      maxParticipants: r.int('TMI_COLLAB_MAX_PARTICIPANTS', 50, 1, 10_000),
      maxSocketsPerUser: r.int('TMI_COLLAB_MAX_SOCKETS_PER_USER', 5, 1, 10_000),
      pingSeconds: r.int('TMI_COLLAB_PING_SECONDS', 30, 1, 3600),
      ticketSeconds: r.int('TMI_COLLAB_TICKET_SECONDS', 30, 5, 3600),
      sweepMs: r.int('TMI_COLLAB_SWEEP_MS', 5000, 100, 600_000),
    },
    dataDir,
    rules: readRulePacks(r),
    operations: readOperations(r, iface, databaseUrl, redisUrl),
    settingsEncryption: readSettingsEncryption(r, secret),
    setInEnvironment: r.set,
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

/** TMI_RULE_PACKS: comma-separated JSON or YAML rule-pack files, each validated in full now. */
function readRulePacks(r: Reader): Config['rules'] {
  const packFiles = r.list('TMI_RULE_PACKS');
  const packs: Pack[] = [];
  for (const file of packFiles) {
    if (!existsSync(file)) {
      r.problems.push(`TMI_RULE_PACKS: no such file "${file}"`);
      continue;
    }
    try {
      packs.push(parsePack(readFileSync(file, 'utf8'), file));
    } catch (e) {
      if (!(e instanceof PackError)) throw e;
      r.problems.push(`TMI_RULE_PACKS: ${e.message}`);
    }
  }
  const dups = duplicateRuleIds([BUILTIN_PACK, ...packs]);
  if (dups.length) r.problems.push(`TMI_RULE_PACKS: rule ids defined in more than one pack: ${dups.join(', ')}`);
  const ids = [BUILTIN_PACK, ...packs].map((p) => p.id);
  const dupPacks = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupPacks.length) r.problems.push(`TMI_RULE_PACKS: pack ids used more than once: ${[...new Set(dupPacks)].join(', ')}`);
  return { packFiles, packs };
}

const ENCRYPTION_KEY_RE = /^[0-9a-fA-F]{64}$/;

/** The runtime settings' encryption keys: 32 bytes in hex each; a previous key only beside a current one. */
function readSettingsEncryption(r: Reader, jwtSecret: string): Config['settingsEncryption'] {
  const key = r.str('TMI_SECRET_SETTINGS_ENCRYPTION_KEY');
  const previousKey = r.str('TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY');
  // Never echo a key, even a malformed one.
  for (const [name, v] of [['TMI_SECRET_SETTINGS_ENCRYPTION_KEY', key], ['TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY', previousKey]] as const) {
    if (v && !ENCRYPTION_KEY_RE.test(v)) r.problems.push(`${name}: expected 64 hexadecimal digits (32 bytes, e.g. from openssl rand -hex 32)`);
  }
  if (previousKey && !key) r.problems.push('TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY: needs TMI_SECRET_SETTINGS_ENCRYPTION_KEY (the key it is being rotated to)');
  if (key && previousKey && key.toLowerCase() === previousKey.toLowerCase()) r.problems.push('TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY: is the same as the current key');
  if (key && jwtSecret && key === jwtSecret) r.problems.push('TMI_SECRET_SETTINGS_ENCRYPTION_KEY: must differ from TMI_JWT_SECRET');
  return { key: key.toLowerCase(), previousKey: previousKey.toLowerCase() };
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
    oauth: { ...c.oauth, providers: c.oauth.providers.map((p) => ({ id: p.id, kind: p.kind, clientId: p.clientId, clientSecret: mask(p.clientSecret), internal: p.internal })) },
    saml: { ...c.saml, providers: c.saml.providers.map((p) => ({ id: p.id, entityId: p.entityId, idpMetadataUrl: p.idpMetadataUrl, spPrivateKey: mask(p.spPrivateKey) })) },
    auth: c.auth,
    cors: c.cors,
    cookie: c.cookie,
    log: c.log,
    database: { ...c.database, url: maskUrl(c.database.url) || `pglite:${c.dataDir}` },
    redis: { url: maskUrl(c.redis.url) || 'in-process' },
    collab: c.collab,
    operations: { ...c.operations, metrics: { ...c.operations.metrics, token: mask(c.operations.metrics.token) } },
    settingsEncryption: { key: mask(c.settingsEncryption.key), previousKey: mask(c.settingsEncryption.previousKey) },
  };
}
