// Secret settings from files (NAME_FILE) and from AWS Secrets Manager and OCI Vault through the
// vendors' SDKs, against local stand-ins of their HTTP APIs that check the requests are signed.
// Secrets never appear in errors, logs or /config.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../server/config.ts';
import { resolveSecrets } from '../server/secrets.ts';
import { startServerProcess } from './support/process.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tmi-secrets-'));
const secretFile = (name: string, content: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
};

async function problemsOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).message;
}

interface StandIn {
  server: Server;
  url: string;
  requests: { headers: IncomingMessage['headers']; url: string; body: string }[];
}

async function standIn(handler: (req: IncomingMessage, body: string) => { status: number; body: unknown; headers?: Record<string, string> }): Promise<StandIn> {
  const requests: StandIn['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers, url: req.url ?? '', body });
      const out = handler(req, body);
      res.writeHead(out.status, { 'content-type': 'application/json', ...(out.headers ?? {}) }).end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

describe('secrets from files', () => {
  it('set NAME from NAME_FILE, without the trailing newline', async () => {
    const jwt = randomBytes(32).toString('hex');
    const env = await resolveSecrets({
      TMI_JWT_SECRET_FILE: secretFile('jwt', `${jwt}\n`),
      OAUTH_PROVIDERS_ACME_CLIENT_SECRET_FILE: secretFile('acme', 'acme-secret'),
      TMI_SERVER_TLS_CERT_FILE: '/not/a/secret/setting.pem',
    });
    expect(env.TMI_JWT_SECRET).toBe(jwt);
    expect(env.OAUTH_PROVIDERS_ACME_CLIENT_SECRET).toBe('acme-secret');
    // *_FILE settings that are file paths by nature stay as they are.
    expect(env.TMI_SERVER_TLS_CERT_FILE).toBe('/not/a/secret/setting.pem');
    expect(env.TMI_SERVER_TLS_CERT).toBeUndefined();
  });

  it('refuse a setting given both directly and as a file, a missing file and an empty one, naming neither value', async () => {
    const value = `direct-${randomBytes(8).toString('hex')}`;
    const fromFile = `file-${randomBytes(8).toString('hex')}`;
    const message = await problemsOf(
      resolveSecrets({
        TMI_JWT_SECRET: value,
        TMI_JWT_SECRET_FILE: secretFile('both', fromFile),
        TMI_REDIS_URL_FILE: path.join(dir, 'missing'),
        TMI_DATABASE_URL_FILE: secretFile('empty', '\n'),
      }),
    );
    expect(message).toContain('TMI_JWT_SECRET: set both TMI_JWT_SECRET and TMI_JWT_SECRET_FILE');
    expect(message).toContain('TMI_REDIS_URL_FILE: cannot read');
    expect(message).toContain('TMI_DATABASE_URL_FILE');
    expect(message).not.toContain(value);
    expect(message).not.toContain(fromFile);
  });
});

describe('secrets from AWS Secrets Manager', () => {
  let aws: StandIn;
  let stored: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    aws = await standIn((req, body) => {
      const target = req.headers['x-amz-target'];
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      if (target !== 'secretsmanager.GetSecretValue') return { status: 400, body: { __type: 'UnknownOperationException' } };
      if (SecretId !== 'tmi/production') {
        return { status: 400, body: { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }, headers: { 'x-amzn-errortype': 'ResourceNotFoundException' } };
      }
      return { status: 200, body: { ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tmi/production-AbCdEf', Name: SecretId, SecretString: stored, VersionId: 'v1' } };
    });
  });
  afterEach(() => {
    process.env = { ...saved };
  });
  afterAll(async () => new Promise((r) => aws?.server.close(r)));

  function useStandIn() {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLETMI';
    process.env.AWS_SECRET_ACCESS_KEY = 'example-secret-access-key';
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = aws.url;
  }

  it('fill secret settings from the JSON object in the secret, with a signed request', async () => {
    useStandIn();
    const jwt = randomBytes(32).toString('hex');
    const samlKey = '-----BEGIN PRIVATE KEY-----\nMIIE-stand-in\n-----END PRIVATE KEY-----';
    stored = JSON.stringify({ TMI_JWT_SECRET: jwt, OAUTH_PROVIDERS_GOOGLE_CLIENT_SECRET: 'google-secret', SAML_PROVIDERS_OKTA_SP_PRIVATE_KEY: samlKey });
    const env = await resolveSecrets({ TMI_SECRETS_PROVIDER: 'aws', TMI_AWS_REGION: 'eu-west-1', TMI_AWS_SECRET_NAME: 'tmi/production' });
    expect(env.TMI_JWT_SECRET).toBe(jwt);
    expect(env.OAUTH_PROVIDERS_GOOGLE_CLIENT_SECRET).toBe('google-secret');
    // Every setting marked secret in docs/configuration.md can come from the store, SAML keys too.
    expect(env.SAML_PROVIDERS_OKTA_SP_PRIVATE_KEY).toBe(samlKey);
    const request = aws.requests.at(-1)!;
    expect(request.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    // Signature Version 4, scoped to the region and service.
    expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLETMI\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/);
  });

  it('refuse settings that are not secrets, values also set in the environment, and text that is not a JSON object, quoting no value', async () => {
    useStandIn();
    const jwt = randomBytes(32).toString('hex');
    stored = JSON.stringify({ TMI_JWT_SECRET: jwt, TMI_BUILD_MODE: 'dev', TMI_REDIS_URL: 'redis://:pw-in-store@redis:6379' });
    const message = await problemsOf(
      resolveSecrets({ TMI_SECRETS_PROVIDER: 'aws', TMI_AWS_REGION: 'eu-west-1', TMI_AWS_SECRET_NAME: 'tmi/production', TMI_REDIS_URL: 'redis://:pw-in-env@redis:6379' }),
    );
    expect(message).toContain('TMI_BUILD_MODE: not a secret setting of TMI');
    expect(message).toContain('TMI_REDIS_URL: set both in the environment and in the AWS Secrets Manager secret "tmi/production"');
    expect(message).not.toMatch(/pw-in-store|pw-in-env/);

    stored = `not json ${jwt}`;
    const notJson = await problemsOf(resolveSecrets({ TMI_SECRETS_PROVIDER: 'aws', TMI_AWS_REGION: 'eu-west-1', TMI_AWS_SECRET_NAME: 'tmi/production' }));
    expect(notJson).toContain('must be a JSON object');
    expect(notJson).not.toContain(jwt);
  });

  it('report a secret that cannot be read with the service error, and required settings', async () => {
    useStandIn();
    const missing = await problemsOf(resolveSecrets({ TMI_SECRETS_PROVIDER: 'aws', TMI_AWS_REGION: 'eu-west-1', TMI_AWS_SECRET_NAME: 'tmi/other' }));
    expect(missing).toContain('could not read the AWS Secrets Manager secret "tmi/other" (ResourceNotFoundException');
    const incomplete = await problemsOf(resolveSecrets({ TMI_SECRETS_PROVIDER: 'aws' }));
    expect(incomplete).toContain('TMI_AWS_SECRET_NAME: required with TMI_SECRETS_PROVIDER=aws');
    expect(incomplete).toContain('TMI_AWS_REGION: required with TMI_SECRETS_PROVIDER=aws');
  });
});

describe('secrets from OCI Vault', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = secretFile('oci_api_key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const configFile = secretFile(
    'oci-config',
    ['[DEFAULT]', 'user=ocid1.user.oc1..tmitest', 'fingerprint=12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0', 'tenancy=ocid1.tenancy.oc1..tmitest', 'region=eu-frankfurt-1', `key_file=${keyFile}`, ''].join('\n'),
  );
  let oci: StandIn;
  let stored = '';
  const verified: boolean[] = [];
  beforeAll(async () => {
    oci = await standIn((req) => {
      // HTTP Signatures (draft-cavage) as OCI checks them: the listed headers, signed with the user's key.
      const auth = req.headers.authorization ?? '';
      const params = Object.fromEntries([...auth.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      const signing = (params.headers ?? '')
        .split(' ')
        .map((h) => h.toLowerCase())
        .map((h) => (h === '(request-target)' ? `(request-target): ${req.method!.toLowerCase()} ${req.url}` : `${h}: ${req.headers[h]}`))
        .join('\n');
      const ok =
        params.keyId === 'ocid1.tenancy.oc1..tmitest/ocid1.user.oc1..tmitest/12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0' &&
        createVerify('RSA-SHA256').update(signing).verify(publicKey, params.signature ?? '', 'base64');
      verified.push(ok);
      if (!ok) return { status: 401, body: { code: 'NotAuthenticated', message: 'bad signature' } };
      const q = new URL(req.url!, 'http://x').searchParams;
      if (q.get('secretName') !== 'tmi-production' || q.get('vaultId') !== 'ocid1.vault.oc1..tmitest') return { status: 404, body: { code: 'NotAuthorizedOrNotFound', message: 'not found' } };
      return { status: 200, body: { secretId: 'ocid1.vaultsecret.oc1..x', versionNumber: 1, stages: ['CURRENT'], secretBundleContent: { contentType: 'BASE64', content: Buffer.from(stored).toString('base64') } } };
    });
  });
  afterAll(async () => new Promise((r) => oci?.server.close(r)));
  const settings = () => ({
    TMI_SECRETS_PROVIDER: 'oci',
    TMI_OCI_VAULT_ID: 'ocid1.vault.oc1..tmitest',
    TMI_OCI_SECRET_NAME: 'tmi-production',
    TMI_OCI_CONFIG_FILE: configFile,
    TMI_OCI_SECRETS_ENDPOINT: oci.url,
  });

  it('fill secret settings from the secret bundle, with a request signed by the configured key', async () => {
    const jwt = randomBytes(32).toString('hex');
    stored = JSON.stringify({ TMI_JWT_SECRET: jwt, TMI_METRICS_TOKEN: 'metrics-token-0123456789' });
    const env = await resolveSecrets(settings());
    expect(env.TMI_JWT_SECRET).toBe(jwt);
    expect(env.TMI_METRICS_TOKEN).toBe('metrics-token-0123456789');
    expect(verified.at(-1)).toBe(true);
    expect(oci.requests.at(-1)!.url).toMatch(/^\/20190301\/secretbundles\/actions\/getByName\?/);
  });

  it('report a secret that is not there with the service code', async () => {
    const message = await problemsOf(resolveSecrets({ ...settings(), TMI_OCI_SECRET_NAME: 'other' }));
    expect(message).toContain('could not read the OCI Vault secret "other"');
    expect(message).toContain('HTTP 404');
  });
});

describe('secrets in a running server', () => {
  it('never appear in the log, /config or error responses', async () => {
    const jwt = `jwt-${randomBytes(24).toString('hex')}`;
    const clientSecret = `client-${randomBytes(12).toString('hex')}`;
    const metricsToken = `metrics-${randomBytes(12).toString('hex')}`;
    const server = await startServerProcess({
      TMI_BUILD_MODE: 'production',
      TMI_COOKIE_SECURE: 'true',
      TMI_SERVER_INTERFACE: '127.0.0.1',
      TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-secrets-run-')),
      TMI_JWT_SECRET_FILE: secretFile('run-jwt', jwt),
      TMI_METRICS_TOKEN_FILE: secretFile('run-metrics', metricsToken),
      OAUTH_PROVIDERS_ACME_ENABLED: 'true',
      OAUTH_PROVIDERS_ACME_CLIENT_ID: 'acme-client',
      OAUTH_PROVIDERS_ACME_CLIENT_SECRET_FILE: secretFile('run-acme', clientSecret),
      OAUTH_PROVIDERS_ACME_AUTHORIZATION_URL: 'https://idp.invalid/authorize',
      OAUTH_PROVIDERS_ACME_TOKEN_URL: 'https://idp.invalid/token',
      OAUTH_PROVIDERS_ACME_USERINFO_URL: 'https://idp.invalid/userinfo',
      ...(process.env.TMI_TEST_DATABASE_URL ? { TMI_DATABASE_URL: process.env.TMI_TEST_DATABASE_URL } : {}),
      ...(process.env.TMI_TEST_REDIS_URL ? { TMI_REDIS_URL: process.env.TMI_TEST_REDIS_URL } : {}),
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const texts = [
        await (await fetch(`${base}/config`)).text(),
        await (await fetch(`${base}/oauth2/providers`)).text(),
        await (await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).text(),
        await (await fetch(`${base}/oauth2/token?idp=acme`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"authorization_code","code":"x","code_verifier":"y","redirect_uri":"z"}' })).text(),
      ];
      expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).status).toBe(200);
      expect(texts[1]).toContain('acme-client');
      for (const text of [...texts, server.stdout()]) {
        expect(text).not.toContain(jwt);
        expect(text).not.toContain(clientSecret);
        expect(text).not.toContain(metricsToken);
      }
      // The start-up line does show that they are set.
      expect(server.stdout()).toContain('"token":"***"');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 120_000);

});
