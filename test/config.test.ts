// Start-up configuration: defaults, derived values, and every validation with a readable message.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../server/config.ts';

const dataDir = () => mkdtempSync(path.join(tmpdir(), 'tmi-config-'));
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

const production = (env: Record<string, string> = {}) => ({ TMI_BUILD_MODE: 'production', TMI_JWT_SECRET: strong(), ...env });

describe('defaults', () => {
  it('start in dev mode on 127.0.0.1:8080 with the embedded store and a persistent generated secret', () => {
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
    // The generated secret is kept (owner-only) so sessions survive a restart.
    expect(Buffer.byteLength(c.jwt.secret)).toBeGreaterThanOrEqual(32);
    expect(statSync(path.join(dir, 'dev-jwt-secret')).mode & 0o777).toBe(0o600);
    expect(loadConfig({ TMI_DATA_DIR: dir }).jwt.secret).toBe(c.jwt.secret);
  });

  it('production listens on all interfaces, allows no loopback callbacks and does not reflect origins', () => {
    const c = loadConfig({ ...production(), TMI_DATA_DIR: dataDir() });
    expect(c.server.interface).toBe('0.0.0.0');
    expect(c.oauth.allowLoopbackCallbacks).toBe(false);
    expect(c.cors.reflectAnyOrigin).toBe(false);
    expect(c.auth.autoPromoteFirstUser).toBe(false);
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
    expect(c.database.url).toBe('postgres://u:p@db:5432/tmi');
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
    expect(problemsOf(production({ TMI_JWT_SECRET: 'x'.repeat(31) }))).toEqual(['TMI_JWT_SECRET: must be at least 32 bytes for HS256 in production']);
    expect(() => loadConfig({ ...production({ TMI_JWT_SECRET: 'x'.repeat(32) }), TMI_DATA_DIR: dataDir() })).not.toThrow();
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
      ]),
    );
    expect(problems).toHaveLength(9);
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
