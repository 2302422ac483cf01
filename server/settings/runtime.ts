// Runtime settings: what the server reads for the operational settings of registry.ts, and what
// /admin/settings changes. The database's rows are read into a cache that every write on this
// instance drops at once; other instances drop theirs when the change is announced on the bus
// (Redis), and in any case within CACHE_MS (the bound when instances share no bus).
import type { Config } from '../config.ts';
import type { Db, Queryable } from '../store/db.ts';
import type { Bus } from '../store/shared-state.ts';
import { recordSystemAudit, type AuditActor } from '../admin/system-audit.ts';
import { definitionOf, environmentVariableOf, isInternalKey, isSecretKey, SETTINGS, typeProblem, type SettingKey, type SettingType } from './registry.ts';
import { SettingDecryptionError, SettingsEncryptor } from './encryption.ts';

const CHANGED_CHANNEL = 'settings:changed';
/** How long an instance may go on using a value another instance changed, when no bus tells it. */
export const SETTINGS_CACHE_MS = 5000;

export type SettingSource = 'database' | 'config' | 'environment';

/** A setting as /admin/settings shows it, before masking. */
export interface SettingView {
  key: string;
  /** null: stored encrypted and no configured key opens it. */
  value: string | null;
  type: SettingType;
  description?: string;
  modified_at?: string;
  modified_by?: string;
  source: SettingSource;
  read_only: boolean;
  secret: boolean;
}

interface Row {
  key: string;
  value: string;
  type: SettingType;
  description: string | null;
  modified_at: Date | string;
  modified_by: string | null;
}

interface Loaded {
  row: Row;
  /** The opened value; null when it cannot be opened. */
  plain: string | null;
}

export interface SettingChange {
  actor: AuditActor;
  method: string;
  path: string;
}

export interface ReencryptResult {
  reencrypted: number;
  errors: { key: string; error: string }[];
  total: number;
}

export class RuntimeSettings {
  readonly encryptor: SettingsEncryptor;
  private cache: { rows: Map<string, Loaded>; at: number } | null = null;
  private loading: Promise<Map<string, Loaded>> | null = null;
  /** Bumped on every drop, so a load that began before it does not refill the cache with old rows. */
  private generation = 0;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    readonly config: Config,
    private readonly cacheMs = SETTINGS_CACHE_MS,
  ) {
    this.encryptor = new SettingsEncryptor(config.settingsEncryption);
  }

  async listen(): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(CHANGED_CHANNEL, () => this.drop());
  }

  async close(): Promise<void> {
    await this.unsubscribe?.();
  }

  /** The value the server uses for an operational setting: environment > database > default. */
  async value(key: SettingKey): Promise<string> {
    const def = definitionOf(key)!;
    if (environmentVariableOf(key, this.config)) return def.fromConfig(this.config);
    const stored = (await this.rows()).get(key)?.plain;
    // A row that no longer fits (written before a bound changed, or unreadable) falls back to the default.
    if (stored != null && !typeProblem(def.type, stored) && !def.problem?.(stored)) return stored;
    return def.fromConfig(this.config);
  }

  async bool(key: SettingKey): Promise<boolean> {
    return (await this.value(key)) === 'true';
  }

  async int(key: SettingKey): Promise<number> {
    return Number(await this.value(key));
  }

  /** Every setting an administrator may see: the registry's (whatever decides them), then the other stored keys. */
  async list(): Promise<SettingView[]> {
    const rows = await this.rows();
    const keys = new Set([...SETTINGS.map((s) => s.key), ...rows.keys()].filter((k) => !isInternalKey(k)));
    const views = await Promise.all([...keys].map((k) => this.view(k, rows)));
    return views.filter((v): v is SettingView => v !== null).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async get(key: string): Promise<SettingView | null> {
    if (isInternalKey(key)) return null;
    return this.view(key, await this.rows());
  }

  private async view(key: string, rows: Map<string, Loaded>): Promise<SettingView | null> {
    const def = definitionOf(key);
    const secret = isSecretKey(key);
    if (def && environmentVariableOf(key, this.config)) {
      return { key, value: def.fromConfig(this.config), type: def.type, description: def.description, source: 'environment', read_only: true, secret };
    }
    const loaded = rows.get(key);
    if (loaded) {
      const { row } = loaded;
      return {
        key,
        value: loaded.plain,
        type: row.type,
        ...(row.description !== null ? { description: row.description } : {}),
        modified_at: new Date(row.modified_at).toISOString(),
        ...(row.modified_by ? { modified_by: row.modified_by } : {}),
        source: 'database',
        read_only: false,
        secret,
      };
    }
    if (def) return { key, value: def.fromConfig(this.config), type: def.type, description: def.description, source: 'config', read_only: false, secret };
    return null;
  }

  /** Creates or replaces the database's row of `key` (checked by the caller), audited in the same transaction. */
  async put(change: SettingChange, key: string, input: { value: string; type: SettingType; description?: string }, modifiedBy: string | null): Promise<SettingView> {
    const secret = isSecretKey(key);
    await this.db.tx(async (q) => {
      const before = await this.lockedRow(q, key);
      await q.query(
        `INSERT INTO system_settings (key, value, type, description, modified_at, modified_by) VALUES ($1, $2, $3, $4, now(), $5)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, type = EXCLUDED.type, description = EXCLUDED.description,
           modified_at = EXCLUDED.modified_at, modified_by = EXCLUDED.modified_by`,
        [key, this.encryptor.seal(key, input.value), input.type, input.description ?? definitionOf(key)?.description ?? null, modifiedBy],
      );
      await recordSystemAudit(q, {
        actor: change.actor,
        action: 'settings.updated',
        method: change.method,
        path: change.path,
        targetType: 'setting',
        targetId: key,
        fieldPath: `system_settings.${key}`,
        before: before ? this.auditValue(key, before) : null,
        after: { value: input.value, type: input.type },
        secret,
        summary: `${before ? 'Changed' : 'Set'} the setting ${key}`,
      });
    });
    await this.changed();
    return (await this.get(key))!;
  }

  /** Removes the database's row of `key`; false when there was none. */
  async delete(change: SettingChange, key: string): Promise<boolean> {
    const gone = await this.db.tx(async (q) => {
      const before = await this.lockedRow(q, key);
      if (!before) return false;
      await q.query('DELETE FROM system_settings WHERE key = $1', [key]);
      await recordSystemAudit(q, {
        actor: change.actor,
        action: 'settings.deleted',
        method: change.method,
        path: change.path,
        targetType: 'setting',
        targetId: key,
        fieldPath: `system_settings.${key}`,
        before: this.auditValue(key, before),
        secret: isSecretKey(key),
        summary: `Removed the setting ${key} from the database`,
      });
      return true;
    });
    if (gone) await this.changed();
    return gone;
  }

  /**
   * Seals every row with the current key (after a rotation, or when encryption is first turned on).
   * A row that cannot be opened is reported and left as it is; the others are rewritten.
   */
  async reencrypt(change: SettingChange): Promise<ReencryptResult> {
    const result = await this.db.tx(async (q) => {
      const rows = await q.query<Row>('SELECT * FROM system_settings ORDER BY key FOR UPDATE');
      const out: ReencryptResult = { reencrypted: 0, errors: [], total: rows.length };
      for (const row of rows) {
        let plain: string;
        try {
          plain = this.encryptor.open(row.key, row.value);
        } catch (err) {
          if (!(err instanceof SettingDecryptionError)) throw err;
          out.errors.push({ key: row.key, error: err.message });
          continue;
        }
        await q.query('UPDATE system_settings SET value = $2 WHERE key = $1', [row.key, this.encryptor.seal(row.key, plain)]);
        out.reencrypted++;
      }
      await recordSystemAudit(q, {
        actor: change.actor,
        action: 'settings.reencrypted',
        method: change.method,
        path: change.path,
        targetType: 'settings',
        targetId: null,
        fieldPath: 'system_settings.encryption.master_key',
        after: { reencrypted: out.reencrypted, errors: out.errors.map((e) => e.key), total: out.total },
        summary: `Re-encrypted ${out.reencrypted} of ${out.total} settings with the current key`,
      });
      return out;
    });
    await this.changed();
    return result;
  }

  /** The raw stored form of a row (tests check encryption at rest with it). */
  async storedValue(key: string): Promise<string | null> {
    return (await this.db.query<{ value: string }>('SELECT value FROM system_settings WHERE key = $1', [key]))[0]?.value ?? null;
  }

  private async lockedRow(q: Queryable, key: string): Promise<Row | undefined> {
    return (await q.query<Row>('SELECT * FROM system_settings WHERE key = $1 FOR UPDATE', [key]))[0];
  }

  /** A row's value for the audit log: opened when possible (the audit log redacts secrets itself). */
  private auditValue(key: string, row: Row): unknown {
    try {
      return { value: this.encryptor.open(key, row.value), type: row.type };
    } catch {
      return { value: '<undecryptable>', type: row.type };
    }
  }

  private drop(): void {
    this.generation++;
    this.cache = null;
    this.loading = null;
  }

  private async changed(): Promise<void> {
    this.drop();
    // Other instances learn it from the bus, or within CACHE_MS if the announcement is lost.
    await this.bus.publish(CHANGED_CHANNEL, '1').catch(() => undefined);
  }

  private async rows(): Promise<Map<string, Loaded>> {
    if (this.cache && Date.now() - this.cache.at < this.cacheMs) return this.cache.rows;
    if (this.loading) return this.loading;
    const generation = this.generation;
    const loading = (async () => {
      const rows = await this.db.query<Row>('SELECT * FROM system_settings', [], 'system_settings_all');
      const map = new Map<string, Loaded>();
      for (const row of rows) {
        let plain: string | null;
        try {
          plain = this.encryptor.open(row.key, row.value);
        } catch {
          plain = null;
        }
        map.set(row.key, { row, plain });
      }
      if (generation === this.generation) this.cache = { rows: map, at: Date.now() };
      return map;
    })();
    this.loading = loading;
    try {
      return await loading;
    } finally {
      if (this.loading === loading) this.loading = null;
    }
  }
}
