// Secret settings from outside the environment, resolved before the configuration is read:
//  - from files: NAME_FILE=/run/secrets/x sets NAME to the file's content (container secrets);
//  - from a secret store: TMI_SECRETS_PROVIDER=aws (AWS Secrets Manager) or oci (OCI Vault), one
//    secret whose value is a JSON object of setting names to values, read with the vendor's SDK.
// Only secret settings can come from these places, each from exactly one of them. Problems are
// reported as configuration errors that name the setting and the place, never the value.
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, loadSecretSourceConfig, type SecretSourceConfig } from './config.ts';

type Env = Record<string, string | undefined>;

/** Settings that hold secrets. Add a new secret setting here so it can come from a file or a store. */
const SECRET_SETTINGS = new Set([
  'TMI_JWT_SECRET',
  'TMI_DATABASE_URL',
  'TMI_REDIS_URL',
  'TMI_METRICS_TOKEN',
  'TMI_SECRET_SETTINGS_ENCRYPTION_KEY',
  'TMI_SECRET_SETTINGS_ENCRYPTION_PREVIOUS_KEY',
]);
const SECRET_PATTERNS = [/^OAUTH_PROVIDERS_[A-Z0-9_]+_CLIENT_SECRET$/, /^SAML_PROVIDERS_[A-Z0-9_]+_SP_PRIVATE_KEY$/];
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export function isSecretSetting(name: string): boolean {
  return SECRET_SETTINGS.has(name) || SECRET_PATTERNS.some((re) => re.test(name));
}

const isSet = (v: string | undefined) => v !== undefined && v.trim() !== '';

function fromFiles(env: Env, out: Env, problems: string[]): void {
  for (const [key, file] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || !isSet(file)) continue;
    const name = key.slice(0, -'_FILE'.length);
    if (!isSecretSetting(name)) continue;
    if (isSet(env[name])) {
      problems.push(`${name}: set both ${name} and ${key}; keep one`);
      continue;
    }
    try {
      if (statSync(file!).size > MAX_SECRET_FILE_BYTES) {
        problems.push(`${key}: "${file}" is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
        continue;
      }
      // Editors and `echo` end files with a newline; a secret never does.
      const value = readFileSync(file!, 'utf8').replace(/\r?\n$/, '');
      if (!value.trim()) problems.push(`${key}: "${file}" is empty`);
      else out[name] = value;
    } catch (err) {
      problems.push(`${key}: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}

async function readAws(cfg: SecretSourceConfig['aws']): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  // Credentials and endpoint come from the SDK's own chain (environment, shared files, IAM role for
  // the pod or task, instance metadata; AWS_ENDPOINT_URL_SECRETS_MANAGER for a private endpoint).
  const client = new SecretsManagerClient({ region: cfg.region, maxAttempts: 3 });
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: cfg.secretName }));
    if (out.SecretString === undefined) throw new Error('the secret has no string value');
    return out.SecretString;
  } finally {
    client.destroy();
  }
}

async function readOci(cfg: SecretSourceConfig['oci']): Promise<string> {
  const common = await import('oci-common');
  const { SecretsClient } = await import('oci-secrets');
  let auth: InstanceType<typeof common.ConfigFileAuthenticationDetailsProvider> | Awaited<ReturnType<typeof buildPrincipal>>;
  async function buildPrincipal() {
    return cfg.auth === 'instance_principal'
      ? new common.InstancePrincipalsAuthenticationDetailsProviderBuilder().build()
      : common.ResourcePrincipalAuthenticationDetailsProvider.builder();
  }
  if (cfg.auth === 'config_file') auth = new common.ConfigFileAuthenticationDetailsProvider(cfg.configFile || undefined, cfg.profile);
  else auth = await buildPrincipal();
  const client = new SecretsClient(
    { authenticationDetailsProvider: auth },
    { retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(3) } },
  );
  if (cfg.endpoint) client.endpoint = cfg.endpoint;
  const res = await client.getSecretBundleByName({ secretName: cfg.secretName, vaultId: cfg.vaultId });
  const content = res.secretBundle.secretBundleContent as { contentType?: string; content?: string } | undefined;
  if (!content?.content) throw new Error('the secret bundle has no content');
  return Buffer.from(content.content, 'base64').toString('utf8');
}

/** What a provider's error may say: its class and code, not its message (which could quote input). */
function describeError(err: unknown): string {
  const e = err as { name?: string; code?: string; statusCode?: number; serviceCode?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.statusCode ?? e.$metadata?.httpStatusCode;
  return [e.name, e.serviceCode ?? e.code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ') || 'unknown error';
}

async function fromStore(source: SecretSourceConfig, env: Env, out: Env, problems: string[]): Promise<void> {
  const where = source.provider === 'aws' ? `AWS Secrets Manager secret "${source.aws.secretName}"` : `OCI Vault secret "${source.oci.secretName}"`;
  let text: string;
  try {
    text = source.provider === 'aws' ? await readAws(source.aws) : await readOci(source.oci);
  } catch (err) {
    problems.push(`TMI_SECRETS_PROVIDER=${source.provider}: could not read the ${where} (${describeError(err)})`);
    return;
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch {
    values = undefined; // the parser's message would quote the secret
  }
  if (!values || typeof values !== 'object' || Array.isArray(values)) {
    problems.push(`TMI_SECRETS_PROVIDER=${source.provider}: the ${where} must be a JSON object of setting names to values`);
    return;
  }
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    if (!isSecretSetting(name)) problems.push(`${name}: not a secret setting of TMI, so it cannot come from the ${where}`);
    else if (typeof value !== 'string' || !value.trim()) problems.push(`${name}: the ${where} holds no text value for it`);
    else if (isSet(env[name]) || isSet(env[`${name}_FILE`])) problems.push(`${name}: set both in the environment and in the ${where}; keep one`);
    else out[name] = value;
  }
}

/**
 * The environment with secret settings filled in from files and the configured secret store.
 * Throws ConfigError listing every problem.
 */
export async function resolveSecrets(env: Env = process.env): Promise<Env> {
  const problems: string[] = [];
  const source = loadSecretSourceConfig(env);
  const out: Env = { ...env };
  fromFiles(env, out, problems);
  if (source.provider !== 'env') await fromStore(source, env, out, problems);
  if (problems.length) throw new ConfigError(problems);
  return out;
}
