// Service accounts: client credentials a user (or an administrator for a user) creates for
// automation, exchanged at /oauth2/token with grant_type=client_credentials. The secret is shown
// once and stored as a scrypt hash. Tokens name the credential in their subject
// (`sa:<credential id>:<owner subject>`, the reference's form) and in their session id
// (`cc:<credential id>`), so deleting a credential revokes its live tokens at once on every
// instance through the ordinary session revocation.
import { randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Db } from '../store/db.ts';
import type { KeyValueStore } from '../store/shared-state.ts';
import { ApiError, forbidden, notFound } from '../http/errors.ts';
import { newSecretToken } from './secret-token.ts';
import type { SessionService } from './sessions.ts';

const scrypt = (secret: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(secret, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** scrypt cost: about 50 ms and 16 MiB per check, enough to make guessing a stolen hash slow. */
const SCRYPT = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_LENGTH = 32;
/** The reference's quota. */
export const MAX_CREDENTIALS_PER_USER = 10;
/** The reference's lockout: five failures for a client id lock it for an hour after the last one. */
const LOCKOUT_FAILURES = 5;
const LOCKOUT_SECONDS = 3600;

export const SERVICE_ACCOUNT_PREFIX = 'sa:';
export const CREDENTIAL_SESSION_PREFIX = 'cc:';

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, KEY_LENGTH, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function secretMatches(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scrypt(secret, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return timingSafeEqual(actual, expected);
}

/** A hash of a secret nobody has: unknown client ids cost as much time as known ones. */
const DECOY_HASH = hashSecret(newSecretToken());

export interface CredentialRow {
  id: string;
  owner_uuid: string;
  client_id: string;
  name: string;
  description: string;
  is_active: boolean;
  created_at: Date;
  modified_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, owner_uuid, client_id, name, description, is_active, created_at, modified_at, expires_at, last_used_at';

const iso = (d: Date | string) => new Date(d).toISOString();

/** The wire form without the secret (ClientCredentialInfo). */
export function credentialInfo(c: CredentialRow) {
  return {
    id: c.id,
    client_id: c.client_id,
    name: c.name,
    ...(c.description ? { description: c.description } : {}),
    is_active: c.is_active,
    ...(c.last_used_at ? { last_used_at: iso(c.last_used_at) } : {}),
    created_at: iso(c.created_at),
    modified_at: iso(c.modified_at),
    ...(c.expires_at ? { expires_at: iso(c.expires_at) } : {}),
  };
}

export interface NewCredential {
  name: string;
  description?: string;
  expires_at?: string;
}

/** A credential that authenticated, with the user it acts for. */
export interface AuthenticatedClient {
  credential: CredentialRow;
  owner: { internal_uuid: string; provider: string; provider_user_id: string; email: string; name: string };
}

export class ClientCredentialService {
  constructor(
    private readonly db: Db,
    private readonly kv: KeyValueStore,
    private readonly sessions: SessionService,
  ) {}

  /** Creates a credential for `ownerUuid`; the returned secret is never stored or shown again. */
  async create(ownerUuid: string, input: NewCredential, q: Pick<Db, 'query'> = this.db) {
    const name = input.name.trim();
    if (!name) throw new ApiError(400, 'invalid_input', 'name must not be blank');
    let expiresAt: Date | null = null;
    if (input.expires_at !== undefined) {
      expiresAt = new Date(input.expires_at);
      if (Number.isNaN(expiresAt.getTime())) throw new ApiError(400, 'invalid_input', 'expires_at must be an RFC 3339 date-time');
      if (expiresAt.getTime() <= Date.now()) throw new ApiError(400, 'invalid_input', 'expires_at must be in the future');
    }
    const secret = newSecretToken(32);
    const secretHash = await hashSecret(secret);
    // The quota is checked in the insert itself, so two creations at once cannot both pass it.
    const rows = await q.query<CredentialRow>(
      `INSERT INTO client_credentials (id, owner_uuid, client_id, secret_hash, name, description, expires_at)
       SELECT $1, $2, $3, $4, $5, $6, $7
       WHERE (SELECT count(*) FROM client_credentials WHERE owner_uuid = $2) < $8
       RETURNING ${COLUMNS}`,
      [randomUUID(), ownerUuid, `tmi_cc_${newSecretToken(16)}`, secretHash, name, input.description ?? '', expiresAt, MAX_CREDENTIALS_PER_USER],
    );
    const row = rows[0];
    if (!row) throw new ApiError(403, 'quota_exceeded', `A user may hold at most ${MAX_CREDENTIALS_PER_USER} client credentials; delete one first`);
    return {
      id: row.id,
      client_id: row.client_id,
      client_secret: secret,
      name: row.name,
      ...(row.description ? { description: row.description } : {}),
      created_at: iso(row.created_at),
      ...(row.expires_at ? { expires_at: iso(row.expires_at) } : {}),
    };
  }

  async list(ownerUuid: string, limit: number, offset: number) {
    const [rows, total] = await Promise.all([
      this.db.query<CredentialRow>(`SELECT ${COLUMNS} FROM client_credentials WHERE owner_uuid = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3`, [ownerUuid, limit, offset]),
      this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM client_credentials WHERE owner_uuid = $1', [ownerUuid]),
    ]);
    return { credentials: rows.map(credentialInfo), total: total[0]!.n, limit, offset };
  }

  /** Deletes the credential and revokes every token minted from it; 404 when the owner has no such credential. */
  async delete(ownerUuid: string, credentialId: string): Promise<CredentialRow> {
    const rows = await this.db.query<CredentialRow>(`DELETE FROM client_credentials WHERE id = $1 AND owner_uuid = $2 RETURNING ${COLUMNS}`, [credentialId, ownerUuid]);
    if (!rows[0]) throw notFound('Client credential not found');
    await this.sessions.revokeSession(`${CREDENTIAL_SESSION_PREFIX}${credentialId}`);
    return rows[0];
  }

  /**
   * Checks a client id and secret. Every failure is the same 401 (unknown id, wrong secret,
   * inactive, expired); five failures for one client id lock it for an hour (429).
   */
  async authenticate(clientId: string, clientSecret: string): Promise<AuthenticatedClient> {
    const lockKey = `cc_failures:${clientId.slice(0, 256)}`;
    const failures = Number((await this.kv.get(lockKey)) ?? 0);
    if (failures >= LOCKOUT_FAILURES) {
      throw new ApiError(429, 'too_many_requests', 'Too many failed authentication attempts; retry later', { 'retry-after': String(LOCKOUT_SECONDS) });
    }
    const rows = await this.db.query<CredentialRow & { secret_hash: string; o_uuid: string; o_provider: string; o_sub: string; o_email: string; o_name: string }>(
      `SELECT c.${COLUMNS.split(', ').join(', c.')}, c.secret_hash,
              u.internal_uuid AS o_uuid, u.provider AS o_provider, u.provider_user_id AS o_sub, u.email AS o_email, u.name AS o_name
       FROM client_credentials c JOIN users u ON u.internal_uuid = c.owner_uuid
       WHERE c.client_id = $1`,
      [clientId],
    );
    const row = rows[0];
    const matches = await secretMatches(clientSecret, row?.secret_hash ?? (await DECOY_HASH));
    const usable = row && matches && row.is_active && row.o_sub && (!row.expires_at || new Date(row.expires_at).getTime() > Date.now());
    if (!usable) {
      await this.kv.increment(lockKey, LOCKOUT_SECONDS).catch(() => undefined);
      throw new ApiError(401, 'invalid_client', 'Client authentication failed', { 'www-authenticate': 'Basic realm="tmi"' });
    }
    await this.kv.del(lockKey).catch(() => undefined);
    await this.db.query('UPDATE client_credentials SET last_used_at = now() WHERE id = $1', [row.id]);
    const { secret_hash: _h, o_uuid, o_provider, o_sub, o_email, o_name, ...credential } = row;
    return { credential, owner: { internal_uuid: o_uuid, provider: o_provider, provider_user_id: o_sub, email: o_email, name: o_name } };
  }
}

/** Parses a service-account subject `sa:<credential id>:<owner subject>`. */
export function parseServiceAccountSubject(sub: string): { credentialId: string; ownerSubject: string } | null {
  if (!sub.startsWith(SERVICE_ACCOUNT_PREFIX)) return null;
  const rest = sub.slice(SERVICE_ACCOUNT_PREFIX.length);
  const i = rest.indexOf(':');
  if (i <= 0 || i === rest.length - 1) return null;
  return { credentialId: rest.slice(0, i), ownerSubject: rest.slice(i + 1) };
}

export const refuseServiceAccount = (what: string) => forbidden(`Service accounts cannot ${what}`);
