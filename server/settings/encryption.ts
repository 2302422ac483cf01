// Runtime settings encrypted at rest: AES-256-GCM (node:crypto) with the key from
// TMI_SECRET_SETTINGS_ENCRYPTION_KEY. Stored as `ENC:v1:<key id>:<unix seconds>:<base64(iv|ciphertext|tag)>`,
// the reference's format; the key id is the first 8 hex digits of the key's SHA-256, so a row
// says which key sealed it (and a key rotation can be checked), never the key itself. The setting's
// name and the header are the additional authenticated data: a value copied to another setting,
// or under another header, fails to open.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'ENC:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SettingDecryptionError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SettingDecryptionError';
  }
}

interface Key {
  id: string;
  bytes: Buffer;
}

const keyOf = (hex: string): Key => {
  const bytes = Buffer.from(hex, 'hex');
  return { id: createHash('sha256').update(bytes).digest('hex').slice(0, 8), bytes };
};

export const isEncrypted = (stored: string) => stored.startsWith(PREFIX);

export class SettingsEncryptor {
  private readonly current: Key | null;
  private readonly previous: Key | null;

  constructor(keys: { key: string; previousKey: string }) {
    this.current = keys.key ? keyOf(keys.key) : null;
    this.previous = keys.previousKey ? keyOf(keys.previousKey) : null;
  }

  get enabled(): boolean {
    return this.current !== null;
  }

  /** The stored form of `value`: sealed with the current key, or the value itself without one. */
  seal(settingKey: string, value: string, now = new Date()): string {
    if (!this.current) return value;
    const header = `${PREFIX}${this.current.id}:${Math.floor(now.getTime() / 1000)}:`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, iv);
    cipher.setAAD(Buffer.from(`${settingKey}\u0000${header}`));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return header + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  }

  /** The value of a stored form: plaintext rows as they are; sealed ones opened with the current key, else the previous one. */
  open(settingKey: string, stored: string): string {
    if (!isEncrypted(stored)) return stored;
    const parts = stored.slice(PREFIX.length).split(':');
    if (parts.length !== 3) throw new SettingDecryptionError('malformed encrypted value');
    const [keyId, ts, payload] = parts as [string, string, string];
    const header = `${PREFIX}${keyId}:${ts}:`;
    const raw = Buffer.from(payload, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SettingDecryptionError('malformed encrypted value');
    const candidates = [this.current, this.previous].filter((k): k is Key => k !== null);
    if (!candidates.length) throw new SettingDecryptionError('encrypted, and no settings encryption key is configured');
    // The key id names the key that sealed it; try that one first, then the others (an id is a hint, not a proof).
    candidates.sort((a, b) => Number(b.id === keyId) - Number(a.id === keyId));
    for (const k of candidates) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', k.bytes, raw.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(`${settingKey}\u0000${header}`));
        decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        /* the next key */
      }
    }
    throw new SettingDecryptionError('decryption failed with the configured keys');
  }

  /** Whether a stored form is sealed with the current key (nothing to re-encrypt). */
  sealedWithCurrent(stored: string): boolean {
    return this.current !== null && stored.startsWith(`${PREFIX}${this.current.id}:`);
  }
}
