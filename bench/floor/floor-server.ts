// The floor: what this stack (Node + Fastify + the database driver) can do for the same bytes, with
// no authentication, no authorization, no validation and no assembly. Reads return a JSON document
// stored as one jsonb row by primary key; writes are one insert or update of a threat row plus one
// audit insert, in one transaction. Prints its port on stdout.
// Env: FLOOR_DATABASE_URL (PostgreSQL) or FLOOR_PGLITE_DIR (an embedded PGlite folder); FLOOR_POOL.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

interface Q {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  tx<T>(fn: (q: Q) => Promise<T>): Promise<T>;
}

async function open(): Promise<{ q: Q; close: () => Promise<void> }> {
  const url = process.env.FLOOR_DATABASE_URL;
  if (url) {
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({ connectionString: url, max: Number(process.env.FLOOR_POOL ?? 10) });
    const wrap = (c: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[] }> }): Omit<Q, 'tx'> => ({
      query: async <T>(t: string, p: unknown[] = []) => (await c.query(t, p)).rows as T[],
    });
    const q: Q = {
      ...wrap(pool),
      tx: async (fn) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const out = await fn({ ...wrap(client), tx: () => Promise.reject(new Error('nested')) });
          await client.query('COMMIT');
          return out;
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        } finally {
          client.release();
        }
      },
    };
    return { q, close: () => pool.end() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(process.env.FLOOR_PGLITE_DIR!);
  type T = Pick<typeof db, 'query'>;
  const wrap = (c: T): Omit<Q, 'tx'> => ({ query: async <R>(t: string, p: unknown[] = []) => (await c.query<R>(t, p)).rows });
  const q: Q = { ...wrap(db), tx: (fn) => db.transaction((t) => fn({ ...wrap(t), tx: () => Promise.reject(new Error('nested')) })) };
  return { q, close: () => db.close() };
}

const { q, close } = await open();
await q.query(`CREATE TABLE IF NOT EXISTS floor_docs (id uuid PRIMARY KEY, doc jsonb NOT NULL)`);
await q.query(`CREATE TABLE IF NOT EXISTS floor_threats (id uuid PRIMARY KEY, threat_model_id uuid NOT NULL, doc jsonb NOT NULL,
  created_at timestamptz NOT NULL, modified_at timestamptz NOT NULL)`);
await q.query(`CREATE TABLE IF NOT EXISTS floor_audit (id uuid PRIMARY KEY, threat_model_id uuid NOT NULL, object_id uuid NOT NULL,
  change_type text NOT NULL, snapshot jsonb NOT NULL, created_at timestamptz NOT NULL)`);

const app = Fastify();
// Loading a document to serve (the runner copies ours' answer here, byte for byte the same JSON).
app.put('/_docs/:id', async (request, reply) => {
  await q.query(`INSERT INTO floor_docs (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, [
    (request.params as { id: string }).id,
    JSON.stringify(request.body),
  ]);
  return reply.code(204).send();
});
app.get('/docs/:id', async (request, reply) => {
  const rows = await q.query<{ doc: unknown }>(`SELECT doc FROM floor_docs WHERE id = $1`, [(request.params as { id: string }).id]);
  if (!rows[0]) return reply.code(404).send({ error: 'not_found' });
  return rows[0].doc;
});
app.post('/threats/:tm', async (request, reply) => {
  const tm = (request.params as { tm: string }).tm;
  const id = randomUUID();
  const at = new Date();
  const doc = { ...(request.body as object), id, threat_model_id: tm, created_at: at.toISOString(), modified_at: at.toISOString() };
  await q.tx(async (t) => {
    await t.query(`INSERT INTO floor_threats (id, threat_model_id, doc, created_at, modified_at) VALUES ($1, $2, $3, $4, $4)`, [id, tm, JSON.stringify(doc), at]);
    await t.query(`INSERT INTO floor_audit (id, threat_model_id, object_id, change_type, snapshot, created_at) VALUES ($1, $2, $3, 'created', $4, $5)`, [
      randomUUID(),
      tm,
      id,
      JSON.stringify(doc),
      at,
    ]);
  });
  return reply.code(201).send(doc);
});
app.put('/threats/:tm/:id', async (request, reply) => {
  const { tm, id } = request.params as { tm: string; id: string };
  const at = new Date();
  const doc = { ...(request.body as object), id, threat_model_id: tm, modified_at: at.toISOString() };
  const found = await q.tx(async (t) => {
    const rows = await t.query(`UPDATE floor_threats SET doc = $3, modified_at = $4 WHERE id = $1 AND threat_model_id = $2 RETURNING id`, [id, tm, JSON.stringify(doc), at]);
    if (!rows[0]) return false;
    await t.query(`INSERT INTO floor_audit (id, threat_model_id, object_id, change_type, snapshot, created_at) VALUES ($1, $2, $3, 'updated', $4, $5)`, [
      randomUUID(),
      tm,
      id,
      JSON.stringify(doc),
      at,
    ]);
    return true;
  });
  if (!found) return reply.code(404).send({ error: 'not_found' });
  return doc;
});

await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`);
process.on('SIGTERM', () => void app.close().then(close).then(() => process.exit(0)));
