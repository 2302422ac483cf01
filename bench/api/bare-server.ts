// The baseline: a bare Fastify + pg server running the same SQL as TMI's threat-model routes (it
// imports the very same store functions), with no authentication, hooks or response schemas.
// Prints its port on stdout. Env: BARE_DATABASE_URL, BARE_USER_UUID (the seeded owner).
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';
import type { Queryable } from '../../server/store/db.ts';
import * as store from '../../server/resources/threat-models/store.ts';
import { replaceEntries } from '../../server/resources/metadata/store.ts';
import { recordAudit } from '../../server/resources/common/audit.ts';

const pool = new pg.Pool({ connectionString: process.env.BARE_DATABASE_URL, max: 10 });
const userUuid = process.env.BARE_USER_UUID!;
const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
  query: async <T>(text: string, params: unknown[] = []) => (await c.query(text, params)).rows as T[],
  exec: async (script: string) => {
    await c.query(script);
  },
});
const q = wrap(pool);
const who = { userUuid, provider: 'tmi', idpGroups: [], tmiGroupIds: ['00000000-0000-0000-0000-000000000001'] };
const actor = { email: 'bench@tmi.local', provider: 'tmi', providerId: 'bench', name: 'Bench' };

const app = Fastify();
app.get('/threat_models/:id', async (request, reply) => {
  // The very statement TMI's GET runs, including which embedded kinds have live rows.
  const row = await store.findThreatModel(q, (request.params as { id: string }).id, { liveChildren: true });
  if (!row) return reply.code(404).send({ error: 'not_found' });
  return row;
});
app.get('/threat_models', async () => {
  const { rows, total } = await store.listThreatModels(q, who, { dates: [], includeDeleted: false }, 20, 0);
  return { threat_models: rows, total, limit: 20, offset: 0 };
});
app.post('/threat_models', async (request, reply) => {
  const body = request.body as { name: string; description?: string };
  const id = randomUUID();
  const at = new Date();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const t = wrap(client);
    await store.insertThreatModel(t, { id, name: body.name, description: body.description ?? null, framework: 'STRIDE', issueUri: null, isConfidential: false, ownerUuid: userUuid, at });
    await store.replaceAccess(t, id, [
      { subjectType: 'user', uuid: userUuid, role: 'owner' },
      { subjectType: 'group', uuid: '00000000-0000-0000-0000-000000000001', role: 'owner' },
      { subjectType: 'group', uuid: '00000000-0000-0000-0000-000000000004', role: 'writer' },
    ]);
    await replaceEntries(t, 'threat_model', id, [], at);
    const row = await store.findThreatModel(t, id);
    await recordAudit(t, { threatModelId: id, objectType: 'threat_model', objectId: id, version: 1, changeType: 'created', actor, summary: 'created', snapshot: row }, at);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
  return reply.code(201).send(await store.findThreatModel(q, id));
});

await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
