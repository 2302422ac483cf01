// TLS to PostgreSQL and Redis. PostgreSQL: either libpq-style parameters in TMI_DATABASE_URL
// (`?sslmode=verify-full&sslrootcert=/path/ca.pem`, read by `pg`) or TMI_DATABASE_TLS_CA_FILE, which
// turns on TLS with certificate and host name verification against that CA. Redis: a `rediss://`
// URL is TLS, verified against the system's CAs or TMI_REDIS_TLS_CA_FILE.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

export function postgresTls(caFile: string): ConnectionOptions | undefined {
  return caFile ? { ca: readFileSync(caFile, 'utf8'), rejectUnauthorized: true } : undefined;
}

export function redisTls(url: string, caFile: string): ConnectionOptions | undefined {
  if (!url.startsWith('rediss:')) return undefined;
  return { rejectUnauthorized: true, ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}) };
}
