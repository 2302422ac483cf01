// Start-up configuration: defaults, derived values, and every validation with a readable message.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../server/config.ts';
import { PRODUCTION_ENV } from './support/app.ts';

const dataDirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tmi-config-'));
  dataDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});
const strong = () => randomBytes(32).toString('base64url');

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ TMI_DATA_DIR: dataDir(), ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^invalid configuration:\n {2}- /);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

const production = (env: Record<string, string> = {}) => ({ ...PRODUCTION_ENV, TMI_JWT_SECRET: strong(), ...env });

describe('defaults', () => {
  it('start in dev mode on 127.0.0.1:8080 with the embedded store and a generated secret (kept in the shared store)', () => {
    const dir = dataDir();
    const c = loadConfig({ TMI_DATA_DIR: dir });
    expect(c.buildMode).toBe('dev');
    expect(c.server).toMatchObject({ port: 8080, interface: '127.0.0.1', baseUrl: 'http://localhost:8080', httpToHttpsRedirect: false });
    expect(c.server.tls.enabled).toBe(false);
    expect(c.jwt).toMatchObject({ signingMethod: 'HS256', expirationSeconds: 3600, refreshTokenDays: 7, sessionLifetimeDays: 7 });
    expect(c.oauth.callbackUrl).toBe('http://localhost:8080/oauth2/callback');
    expect(c.oauth.allowLoopbackCallbacks).toBe(true);
    expect(c.auth).toMatchObject({ devProviderEnabled: true, autoPromoteFirstUser: true });
    expect(c.cors).toEqual({ allowedOrigins: [], reflectAnyOrigin: true });
    expect(c.cookie).toEqual({ enabled: true, domain: '', secure: false });
    expect(c.log.level).toBe('info');
    expect(c.database.url).toBe('');
    expect(c.redis.url).toBe('');
    expect(c.dataDir).toBe(path.resolve(dir));
    // Generated at start in the shared store (server/context.ts), so that instances agree.
    expect(c.jwt).toMatchObject({ secret: '', generatedSecret: true });
    expect(c.server.trustProxy).toBe(false);
    expect(c.rateLimit).toMatchObject({ apiUserPerMinute: 0, apiUserPerHour: 0, apiIpPerMinute: 0 });
  });

  it('production listens on all interfaces, allows no loopback callbacks and does not reflect origins', () => {
    const c = loadConfig({ ...production(), TMI_DATA_DIR: dataDir() });
    expect(c.server.interface).toBe('0.0.0.0');
    expect(c.oauth.allowLoopbackCallbacks).toBe(false);
    expect(c.cors.reflectAnyOrigin).toBe(false);
    expect(c.auth.autoPromoteFirstUser).toBe(false);
    expect(c.jwt.generatedSecret).toBe(false);
    // The API-wide limits are on in production, with the reference's per-user defaults.
    expect(c.rateLimit).toMatchObject({ apiUserPerMinute: 1000, apiUserPerHour: 60_000, apiIpPerMinute: 3000 });
    const off = loadConfig({ ...production({ TMI_DISABLE_RATE_LIMITING: 'true', TMI_RATELIMIT_API_USER_PER_MINUTE: '5' }), TMI_DATA_DIR: dataDir() });
    expect(off.rateLimit).toMatchObject({ apiUserPerMinute: 0, apiUserPerHour: 0, apiIpPerMinute: 0, publicEnabled: false });
  });

  it('test mode allows loopback callbacks but neither reflects origins nor promotes the first user', () => {
    const c = loadConfig({ TMI_BUILD_MODE: 'test', TMI_DATA_DIR: dataDir() });
    expect(c.oauth.allowLoopbackCallbacks).toBe(true);
    expect(c.cors.reflectAnyOrigin).toBe(false);
    expect(c.auth).toMatchObject({ devProviderEnabled: true, autoPromoteFirstUser: false });
  });

  it('derive Secure cookies and an https base URL from TLS, and read every documented setting', () => {
    const dir = dataDir();
    const cert = path.join(dir, 'c.pem');
    const key = path.join(dir, 'k.pem');
    writeFileSync(cert, 'x');
    writeFileSync(key, 'x');
    const c = loadConfig({
      TMI_DATA_DIR: dir,
      TMI_SERVER_TLS_ENABLED: 'true',
      TMI_SERVER_TLS_CERT_FILE: cert,
      TMI_SERVER_TLS_KEY_FILE: key,
      TMI_SERVER_TLS_SUBJECT_NAME: 'tmi.example.test',
      TMI_SERVER_HTTP_TO_HTTPS_REDIRECT: 'yes',
      TMI_SERVER_PORT: '8443',
      TMI_SERVER_INTERFACE: '::',
      TMI_JWT_EXPIRATION_SECONDS: '600',
      TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: 'https://a.example/cb, https://b.example/*',
      TMI_CORS_ALLOWED_ORIGINS: 'https://a.example/,https://b.example:8443',
      TMI_COOKIE_DOMAIN: 'example',
      TMI_COOKIE_SECURE: 'false',
      TMI_LOG_LEVEL: 'warn',
      TMI_LOG_DIR: path.join(dir, 'logs'),
      TMI_DATABASE_URL: 'postgres://u:p@db:5432/tmi',
      TMI_REDIS_URL: 'redis://:pw@cache:6379/0',
      TMI_DB_MAX_OPEN_CONNS: '25',
      TMI_DB_CONN_MAX_IDLE_TIME: '2m',
    });
    expect(c.server.baseUrl).toBe('https://localhost:8443');
    expect(c.server.tls).toEqual({ enabled: true, certFile: cert, keyFile: key, subjectName: 'tmi.example.test' });
    expect(c.server.httpToHttpsRedirect).toBe(true);
    expect(c.server.interface).toBe('::');
    expect(c.cookie).toEqual({ enabled: true, domain: 'example', secure: true }); // TLS forces Secure
    expect(c.jwt.expirationSeconds).toBe(600);
    expect(c.oauth.clientCallbackAllowlist).toEqual(['https://a.example/cb', 'https://b.example/*']);
    expect(c.cors.allowedOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(c.log).toEqual({ level: 'warn', dir: path.join(dir, 'logs') });
    expect(c.database).toMatchObject({ url: 'postgres://u:p@db:5432/tmi', poolMax: 25, poolIdleSeconds: 120 });
    expect(loadConfig({ TMI_DATA_DIR: dir, TMI_DB_CONN_MAX_IDLE_TIME: '45' }).database.poolIdleSeconds).toBe(45);
    expect(loadConfig({ TMI_DATA_DIR: dir }).database.poolIdleSeconds).toBe(30);
    // Go's database/sql settings of the reference; by default every open connection may stay idle.
    expect(loadConfig({ TMI_DATA_DIR: dir, TMI_DB_MAX_OPEN_CONNS: '12' }).database).toMatchObject({ poolMaxIdle: 12, poolMaxLifetimeSeconds: 240 });
    expect(loadConfig({ TMI_DATA_DIR: dir, TMI_DB_MAX_IDLE_CONNS: '0', TMI_DB_CONN_MAX_LIFETIME: '1h' }).database).toMatchObject({ poolMaxIdle: 0, poolMaxLifetimeSeconds: 3600 });
    expect(loadConfig({ TMI_DATA_DIR: dir, TMI_DB_CONN_MAX_LIFETIME: '0' }).database.poolMaxLifetimeSeconds).toBe(0);
    expect(c.redis.url).toBe('redis://:pw@cache:6379/0');
  });
});

describe('production refuses weak JWT secrets', () => {
  it('refuses an empty secret', () => {
    expect(problemsOf({ TMI_BUILD_MODE: 'production' })).toContain('TMI_JWT_SECRET: required in production');
  });

  it('refuses the example value your-secret-key', () => {
    expect(problemsOf(production({ TMI_JWT_SECRET: 'your-secret-key' }))).toEqual(['TMI_JWT_SECRET: the example value "your-secret-key" is not a secret']);
  });

  it('refuses an HS256 secret under 32 bytes', () => {
    expect(problemsOf(production({ TMI_JWT_SECRET: 'abcdefghijklmnopqrstuvwxyz01234' }))).toEqual([
      'TMI_JWT_SECRET: must be at least 32 bytes (256 bits) for HS256 in production',
    ]);
    expect(() => loadConfig({ ...production({ TMI_JWT_SECRET: 'abcdefghijklmnopqrstuvwxyz012345' }), TMI_DATA_DIR: dataDir() })).not.toThrow();
  });

  it('refuses a secret of visibly low entropy: one character repeated, or a few repeated', () => {
    for (const secret of ['x'.repeat(32), '0'.repeat(64), 'ab'.repeat(32), 'secretsecretsecretsecretsecret!!']) {
      expect(problemsOf(production({ TMI_JWT_SECRET: secret })), secret).toEqual([
        'TMI_JWT_SECRET: visibly low entropy (one character repeated, or fewer than 8 different ones); generate one with `openssl rand -base64 48`',
      ]);
    }
    // Hex from `openssl rand -hex 32` passes.
    expect(() => loadConfig({ ...production({ TMI_JWT_SECRET: randomBytes(32).toString('hex') }), TMI_DATA_DIR: dataDir() })).not.toThrow();
  });

  it('refuses a secret equal to another configured secret (an OAuth client secret, the Redis password)', () => {
    const secret = strong();
    const provider = {
      OAUTH_PROVIDERS_GITHUB_ENABLED: 'true',
      OAUTH_PROVIDERS_GITHUB_CLIENT_ID: 'id',
      OAUTH_PROVIDERS_GITHUB_CLIENT_SECRET: secret,
    };
    expect(problemsOf(production({ TMI_JWT_SECRET: secret, ...provider }))).toEqual(['TMI_JWT_SECRET: must differ from every other configured secret']);
    expect(problemsOf(production({ TMI_JWT_SECRET: secret, TMI_REDIS_URL: `redis://:${encodeURIComponent(secret)}@cache:6379` }))).toEqual([
      'TMI_JWT_SECRET: must differ from every other configured secret',
    ]);
  });

  it('disables the development provider even when it is enabled explicitly', () => {
    const c = loadConfig({ ...production({ OAUTH_PROVIDERS_TMI_ENABLED: 'true' }), TMI_DATA_DIR: dataDir() });
    expect(c.auth.devProviderEnabled).toBe(false);
    expect(c.oauth.providers.map((p) => p.id)).not.toContain('tmi');
    expect(loadConfig({ TMI_BUILD_MODE: 'test', OAUTH_PROVIDERS_TMI_ENABLED: 'false', TMI_DATA_DIR: dataDir() }).auth.devProviderEnabled).toBe(false);
  });
});

describe('validation messages', () => {
  it('refuse "*" and scheme-less CORS origins in every mode', () => {
    for (const mode of ['dev', 'test', 'production']) {
      const problems = problemsOf({ ...production(), TMI_BUILD_MODE: mode, TMI_CORS_ALLOWED_ORIGINS: '*,app.example.test,https://ok.example.test' });
      expect(problems, mode).toEqual([
        'TMI_CORS_ALLOWED_ORIGINS: "*" is not allowed; list the origins of your web clients',
        'TMI_CORS_ALLOWED_ORIGINS: "app.example.test" is not an origin (scheme://host[:port])',
      ]);
    }
  });

  it('name the setting, the expectation and the value, and report every problem at once', () => {
    const problems = problemsOf({
      TMI_BUILD_MODE: 'staging',
      TMI_SERVER_PORT: '70000',
      TMI_COOKIE_ENABLED: 'maybe',
      TMI_JWT_SIGNING_METHOD: 'none',
      TMI_JWT_EXPIRATION_SECONDS: 'soon',
      TMI_LOG_LEVEL: 'loud',
      TMI_DATABASE_URL: 'mysql://db/tmi',
      TMI_REDIS_URL: 'http://cache',
      TMI_OAUTH_CALLBACK_URL: 'not a url',
      TMI_DB_CONN_MAX_IDLE_TIME: '30 seconds',
      TMI_DB_MAX_IDLE_CONNS: '-1',
      TMI_DB_CONN_MAX_LIFETIME: '4 minutes',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'TMI_BUILD_MODE: expected one of dev | test | production, got "staging"',
        'TMI_SERVER_PORT: expected an integer from 0 to 65535, got "70000"',
        'TMI_COOKIE_ENABLED: expected true or false, got "maybe"',
        'TMI_JWT_SIGNING_METHOD: expected one of HS256 | RS256 | ES256, got "none"',
        'TMI_JWT_EXPIRATION_SECONDS: expected an integer from 60 to 86400, got "soon"',
        'TMI_LOG_LEVEL: expected one of trace | debug | info | warn | error | fatal | silent, got "loud"',
        'TMI_DATABASE_URL: expected an absolute postgres: or postgresql: URL, got "mysql://db/tmi"',
        'TMI_REDIS_URL: expected an absolute redis: or rediss: URL, got "http://cache"',
        'TMI_OAUTH_CALLBACK_URL: expected an absolute http: or https: URL, got "not a url"',
        'TMI_DB_CONN_MAX_IDLE_TIME: expected seconds from 1 to 86400 (say 30 or 30s), got "30 seconds"',
        'TMI_DB_MAX_IDLE_CONNS: expected an integer from 0 to 500, got "-1"',
        'TMI_DB_CONN_MAX_LIFETIME: expected seconds from 0 to 604800 (say 30 or 30s), got "4 minutes"',
      ]),
    );
    expect(problems).toHaveLength(12);
  });

  it('require key files for RS256/ES256 and certificate files for TLS', () => {
    expect(problemsOf({ TMI_JWT_SIGNING_METHOD: 'RS256' })).toEqual(['TMI_JWT_PRIVATE_KEY_FILE: required for RS256']);
    expect(problemsOf({ TMI_JWT_SIGNING_METHOD: 'ES256', TMI_JWT_PRIVATE_KEY_FILE: '/nonexistent/key.pem' })).toEqual([
      'TMI_JWT_PRIVATE_KEY_FILE: no such file "/nonexistent/key.pem"',
    ]);
    expect(problemsOf({ TMI_SERVER_TLS_ENABLED: 'true', TMI_SERVER_TLS_KEY_FILE: '/nonexistent/k.pem' })).toEqual([
      'TMI_SERVER_TLS_CERT_FILE: required when TMI_SERVER_TLS_ENABLED=true',
      'TMI_SERVER_TLS_KEY_FILE: no such file "/nonexistent/k.pem"',
    ]);
  });

  it('require client credentials and endpoints for enabled OAuth providers, and well-formed administrators', () => {
    expect(problemsOf({ OAUTH_PROVIDERS_CORP_ENABLED: 'true' })).toEqual([
      'OAUTH_PROVIDERS_CORP_CLIENT_ID: required when OAUTH_PROVIDERS_CORP_ENABLED=true',
      'OAUTH_PROVIDERS_CORP_CLIENT_SECRET: required when OAUTH_PROVIDERS_CORP_ENABLED=true',
      'OAuth provider corp: set OAUTH_PROVIDERS_CORP_ISSUER (OIDC discovery) or the authorization, token and userinfo URLs',
    ]);
    expect(problemsOf({ TMI_ADMINISTRATORS: 'tmi:alice,bob' })).toEqual(['TMI_ADMINISTRATORS: expected provider:provider_id entries, got "bob"']);
    expect(problemsOf({ TMI_ADMIN_PROVIDER: 'google' })).toEqual(['TMI_ADMIN_PROVIDER_ID or TMI_ADMIN_EMAIL: required when TMI_ADMIN_PROVIDER is set']);
    const ok = loadConfig({ TMI_DATA_DIR: dataDir(), TMI_ADMINISTRATORS: 'tmi:alice, google:1234', TMI_ADMIN_PROVIDER: 'github', TMI_ADMIN_EMAIL: 'root@example.test' });
    expect(ok.auth.administrators).toEqual([
      { provider: 'github', providerId: undefined, email: 'root@example.test', groupName: undefined, subjectType: 'user' },
      { provider: 'tmi', providerId: 'alice', subjectType: 'user' },
      { provider: 'google', providerId: '1234', subjectType: 'user' },
    ]);
  });
});

describe('production refuses unsafe settings, one line each naming the setting', () => {
  function keyFile(pem: string | Buffer): string {
    const file = path.join(dataDir(), 'key.pem');
    writeFileSync(file, pem);
    return file;
  }
  const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits });

  it('a wildcard, scheme-only or host-prefix client-callback allow-list entry', () => {
    const entries = ['*', 'https://*', 'http:*', 'https://app.example.test*', 'https://app.example.test/cb', 'https://web.example.test/auth/*'];
    expect(problemsOf(production({ TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: entries.join(',') }))).toEqual([
      'TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: "*" is a wildcard over every host; name the scheme, the host and a path (https://app.example/*)',
      'TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: "https://*" is a wildcard over every host; name the scheme, the host and a path (https://app.example/*)',
      'TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: "http:*" is a wildcard over every host; name the scheme, the host and a path (https://app.example/*)',
      'TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: "https://app.example.test*" is a wildcard over hosts; end the host with a path before the * (https://app.example.test/*)',
    ]);
    expect(problemsOf(production({ TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: 'javascript:alert(1),app.example.test/cb' }))).toEqual([
      'TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: "javascript:alert(1)" is not an http(s) URL with a host',
      'TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: "app.example.test/cb" is not an absolute URL',
    ]);
  });

  it('RSA signing keys under 2048 bits, and keys of the wrong type or curve (in every mode)', () => {
    const weak = keyFile(rsa(1024).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    for (const env of [production(), {}]) {
      expect(problemsOf({ ...env, TMI_JWT_SIGNING_METHOD: 'RS256', TMI_JWT_PRIVATE_KEY_FILE: weak })).toEqual([
        'TMI_JWT_PRIVATE_KEY_FILE: an RSA key of 1024 bits is too weak; RS256 needs at least 2048',
      ]);
    }
    const good = rsa(2048);
    const goodFile = keyFile(good.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadConfig({ ...production({ TMI_JWT_SIGNING_METHOD: 'RS256', TMI_JWT_PRIVATE_KEY_FILE: goodFile }), TMI_DATA_DIR: dataDir() })).not.toThrow();
    const weakPublic = keyFile(rsa(1024).publicKey.export({ type: 'spki', format: 'pem' }));
    expect(problemsOf(production({ TMI_JWT_SIGNING_METHOD: 'RS256', TMI_JWT_PRIVATE_KEY_FILE: goodFile, TMI_JWT_PUBLIC_KEY_FILE: weakPublic }))).toEqual([
      'TMI_JWT_PUBLIC_KEY_FILE: an RSA key of 1024 bits is too weak; RS256 needs at least 2048',
    ]);
    const ec = keyFile(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(problemsOf(production({ TMI_JWT_SIGNING_METHOD: 'RS256', TMI_JWT_PRIVATE_KEY_FILE: ec }))).toEqual(['TMI_JWT_PRIVATE_KEY_FILE: RS256 needs an RSA key, got EC']);
    expect(problemsOf(production({ TMI_JWT_SIGNING_METHOD: 'ES256', TMI_JWT_PRIVATE_KEY_FILE: ec }))).toEqual(['TMI_JWT_PRIVATE_KEY_FILE: ES256 needs a P-256 key, got secp384r1']);
    expect(problemsOf(production({ TMI_JWT_SIGNING_METHOD: 'ES256', TMI_JWT_PRIVATE_KEY_FILE: keyFile('not a key') }))).toEqual([
      expect.stringMatching(/^TMI_JWT_PRIVATE_KEY_FILE: ".*key\.pem" is not a PEM key$/),
    ]);
  });

  it('http:// endpoints of an upstream identity provider (dev and test may use them)', () => {
    const env = {
      OAUTH_PROVIDERS_CORP_TOKEN_URL: 'http://idp.example.test/token',
      OAUTH_PROVIDERS_CORP_JWKS_URL: 'http://idp.example.test/jwks',
    };
    expect(problemsOf(production(env))).toEqual([
      'OAUTH_PROVIDERS_CORP_TOKEN_URL: production talks to identity providers over https only, got "http://idp.example.test/token"',
      'OAUTH_PROVIDERS_CORP_JWKS_URL: production talks to identity providers over https only, got "http://idp.example.test/jwks"',
    ]);
    expect(problemsOf(production({ OAUTH_PROVIDERS_CORP_ISSUER: 'http://idp.example.test' }))).toEqual([
      'OAUTH_PROVIDERS_CORP_ISSUER: production talks to identity providers over https only, got "http://idp.example.test"',
    ]);
    expect(() => loadConfig({ ...production(env), TMI_BUILD_MODE: 'dev', TMI_DATA_DIR: dataDir() })).not.toThrow();
  });

  it('cookies without Secure, unless TLS is on or said to end in front (TMI_COOKIE_SECURE=true), or cookies are off', () => {
    const line =
      'TMI_COOKIE_SECURE: production sets cookies only with Secure; turn on TMI_SERVER_TLS_ENABLED, or set TMI_COOKIE_SECURE=true when TLS ends at a proxy in front of TMI (or TMI_COOKIE_ENABLED=false)';
    expect(problemsOf(production({ TMI_COOKIE_SECURE: '' }))).toEqual([line]);
    expect(problemsOf(production({ TMI_COOKIE_SECURE: 'false' }))).toEqual([line]);
    expect(() => loadConfig({ ...production({ TMI_COOKIE_SECURE: '', TMI_COOKIE_ENABLED: 'false' }), TMI_DATA_DIR: dataDir() })).not.toThrow();
    const dir = dataDir();
    writeFileSync(path.join(dir, 'c.pem'), 'x');
    writeFileSync(path.join(dir, 'k.pem'), 'x');
    const tls = { TMI_SERVER_TLS_ENABLED: 'true', TMI_SERVER_TLS_CERT_FILE: path.join(dir, 'c.pem'), TMI_SERVER_TLS_KEY_FILE: path.join(dir, 'k.pem') };
    expect(loadConfig({ ...production({ TMI_COOKIE_SECURE: '', ...tls }), TMI_DATA_DIR: dir }).cookie.secure).toBe(true);
  });

  it('no identity provider at all (the development provider is off in production)', () => {
    const env = Object.fromEntries(Object.entries(production()).filter(([k]) => !k.startsWith('OAUTH_PROVIDERS_')));
    const line = 'OAUTH_PROVIDERS_<ID>_ENABLED: production needs at least one identity provider (the development provider "tmi" is off in production)';
    expect(problemsOf(env)).toEqual([line]);
    expect(problemsOf({ ...env, OAUTH_PROVIDERS_TMI_ENABLED: 'true' })).toEqual([line]);
  });

  it('each refusal is one line', () => {
    const problems = problemsOf({
      TMI_BUILD_MODE: 'production',
      TMI_JWT_SECRET: 'x'.repeat(40),
      TMI_OAUTH_CLIENT_CALLBACK_ALLOWLIST: '*',
      TMI_TRUST_PROXY: 'true',
    });
    expect(problems).toHaveLength(5);
    for (const p of problems) expect(p).toMatch(/^[A-Z_<>]+(, [A-Z_]+)?: [^\n]+$/);
  });
});

describe('trusted proxies', () => {
  const trust = (env: Record<string, string>) => loadConfig({ TMI_DATA_DIR: dataDir(), ...env }).server.trustProxy;

  it('trust a number of hops or a list of proxy addresses, never any X-Forwarded-For', () => {
    expect(trust({})).toBe(false);
    expect(trust({ TMI_TRUST_PROXY: 'false' })).toBe(false);
    expect(trust({ TMI_TRUST_PROXY: '0' })).toBe(false);
    expect(trust({ TMI_TRUST_PROXY: '1' })).toBe(1);
    expect(trust({ TMI_TRUST_PROXY: '2' })).toBe(2);
    expect(trust({ TMI_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.7,fd00::/8, loopback' })).toEqual(['10.0.0.0/8', '192.0.2.7', 'fd00::/8', 'loopback']);
  });

  it('refuse "true" (the left-most X-Forwarded-For is whatever the client wrote), bad entries, and both settings at once', () => {
    expect(problemsOf({ TMI_TRUST_PROXY: 'true' })).toEqual([
      'TMI_TRUST_PROXY: "true" would believe whatever X-Forwarded-For a client sends; set the number of proxies in front of TMI (usually 1) or list them in TMI_TRUSTED_PROXIES',
    ]);
    expect(problemsOf({ TMI_TRUST_PROXY: '11' })).toEqual(['TMI_TRUST_PROXY: expected an integer from 0 to 10, got "11"']);
    expect(problemsOf({ TMI_TRUSTED_PROXIES: '10.0.0.0/33,proxy.internal,*' })).toEqual([
      'TMI_TRUSTED_PROXIES: "10.0.0.0/33" is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal',
      'TMI_TRUSTED_PROXIES: "proxy.internal" is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal',
      'TMI_TRUSTED_PROXIES: "*" is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal',
    ]);
    expect(problemsOf({ TMI_TRUST_PROXY: '1', TMI_TRUSTED_PROXIES: '10.0.0.1' })).toEqual(['TMI_TRUST_PROXY, TMI_TRUSTED_PROXIES: set one of them, not both']);
  });
});

describe('describeConfig', () => {
  it('never shows a secret', () => {
    const secret = strong();
    const clientSecret = strong();
    const c = loadConfig({
      ...production({ TMI_JWT_SECRET: secret }),
      TMI_DATA_DIR: dataDir(),
      OAUTH_PROVIDERS_GOOGLE_ENABLED: 'true',
      OAUTH_PROVIDERS_GOOGLE_CLIENT_ID: 'gid',
      OAUTH_PROVIDERS_GOOGLE_CLIENT_SECRET: clientSecret,
      TMI_DATABASE_URL: 'postgres://tmi:dbpassword123@db:5432/tmi',
      TMI_REDIS_URL: 'redis://:redispassword456@cache:6379',
    });
    const text = JSON.stringify(describeConfig(c));
    for (const s of [secret, clientSecret, 'dbpassword123', 'redispassword456']) expect(text).not.toContain(s);
    expect(text).toContain('gid');
  });
});

describe('collaboration settings', () => {
  it('default as documented, are read from TMI_COLLAB_*, and refuse values out of range by name', () => {
    expect(loadConfig({ TMI_DATA_DIR: dataDir() }).collab).toEqual({
      idleSeconds: 300,
      maxMessageBytes: 1024 * 1024,
      opsPerSecond: 100,
      maxParticipants: 50,
      maxSocketsPerUser: 5,
      pingSeconds: 30,
      ticketSeconds: 30,
      sweepMs: 5000,
    });
    const c = loadConfig({ TMI_DATA_DIR: dataDir(), TMI_COLLAB_IDLE_SECONDS: '60', TMI_COLLAB_MAX_SOCKETS_PER_USER: '2', TMI_COLLAB_SWEEP_MS: '250' });
    expect(c.collab).toMatchObject({ idleSeconds: 60, maxSocketsPerUser: 2, sweepMs: 250, opsPerSecond: 100 });
    expect(problemsOf({ TMI_COLLAB_PING_SECONDS: '0', TMI_COLLAB_MAX_MESSAGE_BYTES: '1e6', TMI_COLLAB_TICKET_SECONDS: 'soon' })).toEqual([
      'TMI_COLLAB_MAX_MESSAGE_BYTES: expected an integer from 4096 to 67108864, got "1e6"',
      'TMI_COLLAB_PING_SECONDS: expected an integer from 1 to 3600, got "0"',
      'TMI_COLLAB_TICKET_SECONDS: expected an integer from 5 to 3600, got "soon"',
    ]);
  });
});

describe('runtime settings encryption keys', () => {
  it('take 64 hex digits, a previous key only beside a current one, never echo a key, and are masked', () => {
    const key = randomBytes(32).toString('hex');
    const previous = randomBytes(32).toString('hex');
    const c = loadConfig({ TMI_DATA_DIR: dataDir(), TMI_SECRET_SETTINGS_ENCRYPTION_KEY: key.toUpperCase(), TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY: previous });
    expect(c.settingsEncryption).toEqual({ key, previousKey: previous });
    expect(describeConfig(c).settingsEncryption).toEqual({ key: '***', previousKey: '***' });
    expect(JSON.stringify(describeConfig(c))).not.toContain(key);
    const shortKey = 'ab'.repeat(16);
    const problems = problemsOf({ TMI_SECRET_SETTINGS_ENCRYPTION_KEY: shortKey });
    expect(problems).toEqual(['TMI_SECRET_SETTINGS_ENCRYPTION_KEY: expected 64 hexadecimal digits (32 bytes, e.g. from openssl rand -hex 32)']);
    expect(problemsOf({ TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY: previous })).toEqual([
      'TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY: needs TMI_SECRET_SETTINGS_ENCRYPTION_KEY (the key it is being rotated to)',
    ]);
    expect(problemsOf({ TMI_SECRET_SETTINGS_ENCRYPTION_KEY: key, TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY: key })).toEqual([
      'TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY: is the same as the current key',
    ]);
  });

  it('remember which variables the environment set (names only), for the runtime settings precedence', () => {
    const c = loadConfig({ TMI_DATA_DIR: dataDir(), TMI_AUTH_EVERYONE_IS_A_REVIEWER: 'true', TMI_METRICS_TOKEN: '   ' });
    expect(c.setInEnvironment.has('TMI_AUTH_EVERYONE_IS_A_REVIEWER')).toBe(true);
    expect(c.setInEnvironment.has('TMI_METRICS_TOKEN')).toBe(false);
    expect(c.setInEnvironment.has('TMI_SYSTEM_AUDIT_RETENTION_DAYS')).toBe(false);
  });
});
