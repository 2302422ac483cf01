// The operational settings the running server reads through RuntimeSettings (runtime.ts), so that
// a change through /admin/settings takes effect without a restart. One row each: its key, type,
// the environment variables that decide it when set, whether it is a secret, and how to read and
// check a value. Which value wins: the environment (set explicitly) > the database > the default
// (docs/administration.md). Other keys may be stored too (the reference accepts any key); the
// server itself reads only these.
import type { Config } from '../config.ts';
import type { SETTING_TYPES } from '../../contract/limits.ts';

export type SettingType = (typeof SETTING_TYPES)[number];

export interface SettingDefinition {
  key: string;
  type: SettingType;
  description: string;
  /**
   * The variables that decide the value when the environment sets any of them (the setting's own
   * first); the value is then the configuration's, and the API cannot change it.
   */
  env: readonly string[];
  /** Shown as <configured> / <not configured>, audited redacted, encrypted at rest. */
  secret: boolean;
  /** The configuration's value: the environment's when it set one, else the built-in default. */
  fromConfig: (c: Config) => string;
  /** Why `value` cannot be this setting's value, without repeating the value; undefined when it can. */
  problem?: (value: string) => string | undefined;
}

const intBetween = (min: number, max: number) => (value: string) =>
  /^-?\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? undefined : `must be an integer from ${min} to ${max}`;

export const SETTINGS = [
  {
    key: 'auth.everyone_is_a_reviewer',
    type: 'bool',
    description: 'Every signed-in user counts as a member of security-reviewers (triage, reviewer views).',
    env: ['TMI_AUTH_EVERYONE_IS_A_REVIEWER'],
    secret: false,
    fromConfig: (c) => String(c.auth.everyoneIsAReviewer),
  },
  {
    key: 'auth.step_up_window_seconds',
    type: 'int',
    description: 'Administrative writes need an interactive sign-in at most this many seconds old (step-up).',
    env: ['TMI_AUTH_STEP_UP_WINDOW_SECONDS'],
    secret: false,
    fromConfig: (c) => String(c.auth.stepUpWindowSeconds),
    problem: intBetween(60, 86_400),
  },
  {
    key: 'rate_limit.api_user_per_minute',
    type: 'int',
    description: 'API requests per minute for a user without a quota of their own (0: no limit).',
    env: ['TMI_RATELIMIT_API_USER_PER_MINUTE', 'TMI_DISABLE_RATE_LIMITING'],
    secret: false,
    fromConfig: (c) => String(c.rateLimit.apiUserPerMinute),
    problem: intBetween(0, 10_000_000),
  },
  {
    key: 'rate_limit.api_user_per_hour',
    type: 'int',
    description: 'API requests per hour for a user without a quota of their own (0: no limit).',
    env: ['TMI_RATELIMIT_API_USER_PER_HOUR', 'TMI_DISABLE_RATE_LIMITING'],
    secret: false,
    fromConfig: (c) => String(c.rateLimit.apiUserPerHour),
    problem: intBetween(0, 10_000_000),
  },
  {
    key: 'audit.system_retention_days',
    type: 'int',
    description: 'Days the system audit log keeps its entries (at least 90).',
    env: ['TMI_SYSTEM_AUDIT_RETENTION_DAYS'],
    secret: false,
    fromConfig: (c) => String(c.auth.systemAuditRetentionDays),
    problem: intBetween(90, 36_500),
  },
  {
    key: 'observability.metrics_token',
    type: 'string',
    description: 'Bearer token that opens GET /metrics on the API port (empty: /metrics is not served there).',
    env: ['TMI_METRICS_TOKEN'],
    secret: true,
    fromConfig: (c) => c.operations.metrics.token,
    problem: (value) => (Buffer.byteLength(value) >= 16 ? undefined : 'must be at least 16 bytes'),
  },
] as const satisfies readonly SettingDefinition[];

export type SettingKey = (typeof SETTINGS)[number]['key'];

const BY_KEY = new Map<string, SettingDefinition>(SETTINGS.map((s) => [s.key, s]));
export const definitionOf = (key: string): SettingDefinition | undefined => BY_KEY.get(key);

/** The path segment of POST /admin/settings/reencrypt: never a setting. */
export const RESERVED_KEYS = new Set(['reencrypt']);

/**
 * Bootstrap configuration (how the server starts and proves who it is) comes from the environment
 * only: such keys are neither listed nor stored.
 */
const INTERNAL_KEY = /^(database|redis|server|secrets|auth\.jwt|settings\.encryption|settings_encryption)(\.|_|$)/;
export const isInternalKey = (key: string) => INTERNAL_KEY.test(key);

/** Key names that hold secrets, whether the server knows the key or not (`smtp.password`, `...client_secret`). */
const SECRET_KEY_NAME = /(secret|password|passphrase|token|credential|api_?key|private_key|signing_key|_key$)/;
export const isSecretKey = (key: string) => Boolean(definitionOf(key)?.secret) || SECRET_KEY_NAME.test(key);

/** The variable of the environment that decides `key` in this configuration, if any. */
export function environmentVariableOf(key: string, config: Config): string | undefined {
  return definitionOf(key)?.env.find((name) => config.setInEnvironment.has(name));
}

/** Why `value` is not a `type` value (never repeating the value); undefined when it is. */
export function typeProblem(type: SettingType, value: string): string | undefined {
  switch (type) {
    case 'string':
      return value.length ? undefined : 'must not be empty';
    case 'int':
      return /^-?\d{1,15}$/.test(value) ? undefined : 'is not an integer';
    case 'float':
      return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value) && Number.isFinite(Number(value)) ? undefined : 'is not a number';
    case 'bool':
      return value === 'true' || value === 'false' ? undefined : 'must be true or false';
    case 'json':
      try {
        JSON.parse(value);
        return undefined;
      } catch {
        return 'is not valid JSON';
      }
  }
}
