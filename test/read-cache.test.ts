// The read model of GET /threat_models/{id} (threat_model_read_cache, migration 0070) never serves
// a stale document: after each write path (REST, bulk, PATCH, metadata, live edit, restore,
// rollback, access change, a user's new name) the next GET shows the write and equals the document
// assembled from scratch, on one instance and on a second instance sharing the store. Before each
// write the document is read twice and must be stored, so that the write lands on a cached copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { call, signIn, startSecondInstance, startTestApp, succeeding, usingPostgres, whileWriteOpen, type SignedIn, type TestApp } from './support/app.ts';
import { opRequest, processNode, WsClient } from './collab-support.ts';

let t: TestApp;
let base: string;
let owner: SignedIn;
let reader: SignedIn;
let second: Awaited<ReturnType<typeof startSecondInstance>>;

beforeAll(async () => {
  t = await startTestApp();
  base = (await t.app.listen({ port: 0, host: '127.0.0.1' })).replace(/^http/, 'ws');
  [owner, reader] = await Promise.all([signIn(t.app), signIn(t.app)]);
  second = await startSecondInstance(t);
});
afterAll(async () => {
  await second?.close();
  await t?.close();
});

const share = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });

async function newModel(name = 'Cached') {
  const res = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name, authorization: [share(reader, 'reader')] } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const get = (app: FastifyInstance, tm: string, who = owner) => call(app, 'GET', `/threat_models/${tm}`, { token: who.accessToken });

async function stored(tm: string): Promise<boolean> {
  const rows = await t.ctx.db.query<{ cached: boolean }>('SELECT doc IS NOT NULL AS cached FROM threat_model_read_cache WHERE threat_model_id = $1', [tm]);
  return rows[0]?.cached ?? false;
}

/** Reads the model on `app` until its document is stored. */
async function warm(app: FastifyInstance, tm: string): Promise<void> {
  expect((await get(app, tm)).status).toBe(200);
  expect(await stored(tm)).toBe(true);
  expect((await get(app, tm)).status).toBe(200);
}

/**
 * Warms both instances, runs the write through `writer`, then checks the GET on `reader` shows it
 * and equals (body and ETag) the document assembled afresh with the read model emptied.
 */
async function afterWrite(tm: string, write: () => Promise<unknown>, check: (body: any) => void, apps = [t.app, second.app]) {
  for (const app of apps) await warm(app, tm);
  await write();
  for (const app of apps) {
    const res = await get(app, tm);
    expect(res.status).toBe(200);
    check(res.body);
    await t.ctx.db.query('DELETE FROM threat_model_read_cache WHERE threat_model_id = $1', [tm]);
    const fresh = await get(app, tm);
    expect(res.text).toBe(fresh.text);
    expect(res.headers.etag).toBe(fresh.headers.etag);
    expect(res.headers['content-type']).toBe(fresh.headers['content-type']);
  }
}

const on = (app: FastifyInstance) => succeeding(app, owner);

for (const [label, writerIndex] of [
  ['written on this instance', 0],
  ['written on the other instance', 1],
] as const) {
  describe(`GET /threat_models/{id} after a write ${label}`, () => {
    const w = () => on(writerIndex === 0 ? t.app : second.app);

    it('REST: PUT and PATCH of the model, POST, PUT and DELETE of a threat', async () => {
      const tm = await newModel();
      await afterWrite(tm, () => w()('PUT', `/threat_models/${tm}`, { name: 'Renamed', authorization: [share(reader, 'reader')] }), (b) => expect(b.name).toBe('Renamed'));
      await afterWrite(tm, () => w()('PATCH', `/threat_models/${tm}`, [{ op: 'replace', path: '/description', value: 'patched' }], 'application/json-patch+json'), (b) =>
        expect(b.description).toBe('patched'),
      );
      let threat = '';
      await afterWrite(
        tm,
        async () => (threat = ((await w()('POST', `/threat_models/${tm}/threats`, { name: 'T1', threat_type: ['Spoofing'] })) as { id: string }).id),
        (b) => expect(b.threats.map((x: { name: string }) => x.name)).toEqual(['T1']),
      );
      await afterWrite(tm, () => w()('PUT', `/threat_models/${tm}/threats/${threat}`, { name: 'T1b', threat_type: ['Tampering'] }), (b) =>
        expect(b.threats[0]).toMatchObject({ name: 'T1b', threat_type: ['Tampering'] }),
      );
      await afterWrite(tm, () => w()('PATCH', `/threat_models/${tm}/threats/${threat}`, [{ op: 'replace', path: '/severity', value: 'High' }], 'application/json-patch+json'), (b) =>
        expect(b.threats[0].severity).toBe('High'),
      );
      await afterWrite(tm, () => w()('POST', `/threat_models/${tm}/threats/${threat}/metadata`, { key: 'k', value: 'v' }), (b) =>
        expect(b.threats[0].metadata).toEqual([{ key: 'k', value: 'v' }]),
      );
      await afterWrite(tm, () => w()('POST', `/threat_models/${tm}/metadata`, { key: 'team', value: 'blue' }), (b) => expect(b.metadata).toEqual([{ key: 'team', value: 'blue' }]));
      await afterWrite(tm, () => w()('DELETE', `/threat_models/${tm}/threats/${threat}`), (b) => expect(b.threats).toEqual([]));
      await afterWrite(tm, () => w()('POST', `/threat_models/${tm}/threats/${threat}/restore`), (b) => expect(b.threats.map((x: { id: string }) => x.id)).toEqual([threat]));
    });

    it('bulk: create, update and PATCH of threats; a new asset, note, document and repository', async () => {
      const tm = await newModel();
      let ids: string[] = [];
      await afterWrite(
        tm,
        async () => (ids = ((await w()('POST', `/threat_models/${tm}/threats/bulk`, [{ name: 'A', threat_type: [] }, { name: 'B', threat_type: [] }])) as { id: string }[]).map((x) => x.id)),
        (b) => expect(b.threats.map((x: { name: string }) => x.name).sort()).toEqual(['A', 'B']),
      );
      await afterWrite(tm, () => w()('PUT', `/threat_models/${tm}/threats/bulk`, ids.map((id, i) => ({ id, name: `U${i}`, threat_type: [] }))), (b) =>
        expect(b.threats.map((x: { name: string }) => x.name).sort()).toEqual(['U0', 'U1']),
      );
      await afterWrite(tm, () => w()('PATCH', `/threat_models/${tm}/threats/bulk`, { patches: ids.map((id) => ({ id, operations: [{ op: 'replace', path: '/priority', value: 'P1' }] })) }), (b) =>
        expect(b.threats.map((x: { priority: string }) => x.priority)).toEqual(['P1', 'P1']),
      );
      await afterWrite(tm, () => w()('POST', `/threat_models/${tm}/assets`, { name: 'DB', type: 'data' }), (b) => expect(b.assets.map((x: { name: string }) => x.name)).toEqual(['DB']));
      await afterWrite(tm, () => w()('POST', `/threat_models/${tm}/notes`, { name: 'N', content: 'c' }), (b) => expect(b.notes.map((x: { name: string }) => x.name)).toEqual(['N']));
      await afterWrite(tm, () => w()('POST', `/threat_models/${tm}/documents`, { name: 'Doc', uri: 'https://example.com/d' }), (b) =>
        expect(b.documents.map((x: { name: string }) => x.name)).toEqual(['Doc']),
      );
      await afterWrite(tm, () => w()('POST', `/threat_models/${tm}/repositories`, { name: 'Repo', uri: 'https://example.com/r.git' }), (b) =>
        expect(b.repositories.map((x: { name: string }) => x.name)).toEqual(['Repo']),
      );
    });

    it('rollback of a child, deletion and restore of the model', async () => {
      const tm = await newModel();
      const asset = (await w()('POST', `/threat_models/${tm}/assets`, { name: 'First', type: 'data' })) as { id: string };
      await w()('PUT', `/threat_models/${tm}/assets/${asset.id}`, { name: 'Second', type: 'service' });
      const trail = (await w()('GET', `/threat_models/${tm}/assets/${asset.id}/audit_trail`)) as { audit_entries: { id: string; change_type: string }[] };
      const created = trail.audit_entries.find((e) => e.change_type === 'created')!;
      await afterWrite(tm, () => w()('POST', `/threat_models/${tm}/audit_trail/${created.id}/rollback`), (b) => expect(b.assets[0]).toMatchObject({ name: 'First', type: 'data' }));
      for (const app of [t.app, second.app]) await warm(app, tm);
      await w()('DELETE', `/threat_models/${tm}`);
      for (const app of [t.app, second.app]) expect((await get(app, tm)).status).toBe(404);
      await w()('POST', `/threat_models/${tm}/restore`);
      for (const app of [t.app, second.app]) expect((await get(app, tm)).status).toBe(200);
      await afterWrite(tm, () => w()('PUT', `/threat_models/${tm}`, { name: 'After restore', authorization: [share(reader, 'reader')] }), (b) => expect(b.name).toBe('After restore'));
    });

    it('access change: a reader removed is refused at once, and let back in at once', async () => {
      const tm = await newModel();
      for (const app of [t.app, second.app]) await warm(app, tm);
      const threats = (app: FastifyInstance) => call(app, 'GET', `/threat_models/${tm}/threats`, { token: reader.accessToken });
      for (const app of [t.app, second.app]) expect((await get(app, tm, reader)).status).toBe(200);
      // Child routes decide access from the read model's copy of the list too.
      for (const app of [t.app, second.app]) expect((await threats(app)).status).toBe(200);
      await w()('PUT', `/threat_models/${tm}`, { name: 'Private', authorization: [] });
      for (const app of [t.app, second.app]) expect((await threats(app)).status).toBe(403);
      for (const app of [t.app, second.app]) expect((await get(app, tm, reader)).status).toBe(403);
      await w()('PATCH', `/threat_models/${tm}`, [{ op: 'add', path: '/authorization/-', value: share(reader, 'reader') }], 'application/json-patch+json');
      for (const app of [t.app, second.app]) {
        expect((await threats(app)).status).toBe(200);
        const res = await get(app, tm, reader);
        expect(res.status).toBe(200);
        expect(res.body.authorization.map((a: { provider_id: string }) => a.provider_id)).toContain(reader.user);
      }
    });

    it("REST: PUT, PATCH and DELETE of a diagram's cells", async () => {
      const tm = await newModel();
      const d = (await w()('POST', `/threat_models/${tm}/diagrams`, { name: 'Rest', type: 'DFD-1.0.0' })) as { id: string };
      const [a, b] = [processNode(), processNode(undefined, 200)];
      const ids = (body: any) => body.diagrams[0].cells.map((c: { id: string }) => c.id);
      await afterWrite(tm, () => w()('PUT', `/threat_models/${tm}/diagrams/${d.id}`, { name: 'Rest', type: 'DFD-1.0.0', cells: [a] }), (body) => expect(ids(body)).toEqual([a.id]));
      await afterWrite(tm, () => w()('PATCH', `/threat_models/${tm}/diagrams/${d.id}`, [{ op: 'add', path: '/cells/-', value: b }], 'application/json-patch+json'), (body) =>
        expect(ids(body)).toEqual([a.id, b.id]),
      );
      await afterWrite(tm, () => w()('DELETE', `/threat_models/${tm}/diagrams/${d.id}`), (body) => expect(body.diagrams).toEqual([]));
    });

    it('live edit: an operation over the WebSocket shows in the embedded diagram', async () => {
      const tm = await newModel();
      const d = (await w()('POST', `/threat_models/${tm}/diagrams`, { name: 'Live', type: 'DFD-1.0.0' })) as { id: string };
      const session = (await on(t.app)('POST', `/threat_models/${tm}/diagrams/${d.id}/collaborate`, {})) as { session_id: string };
      const ticket = (await on(t.app)('GET', `/ws/ticket?session_id=${session.session_id}`)) as { ticket: string };
      const ws = WsClient.connect(`${base}/threat_models/${tm}/diagrams/${d.id}/ws?session_id=${session.session_id}&ticket=${encodeURIComponent(ticket.ticket)}`);
      await ws.opened;
      try {
        // The state on joining first, so the operation below is the next thing the session does.
        await ws.type('diagram_state');
        const n = processNode();
        await afterWrite(
          tm,
          async () => {
            ws.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
            await ws.type('diagram_operation_event');
          },
          (b) => expect(b.diagrams[0].cells.map((c: { id: string }) => c.id)).toEqual([n.id]),
        );
        await afterWrite(
          tm,
          async () => {
            ws.send({ message_type: 'undo_request' });
            await ws.type('diagram_operation_event');
          },
          (b) => expect(b.diagrams[0].cells).toEqual([]),
        );
      } finally {
        ws.close();
      }
    });
  });
}

describe('GET /threat_models/{id} after a change outside the model', () => {
  it("a user's new display name shows in the owner and access entries", async () => {
    const tm = await newModel();
    await afterWrite(
      tm,
      () => t.ctx.db.query(`UPDATE users SET name = 'Renamed Reader' WHERE provider = 'tmi' AND provider_user_id = $1`, [reader.user]),
      (b) => expect(b.authorization.find((a: { provider_id: string }) => a.provider_id === reader.user).display_name).toBe('Renamed Reader'),
    );
  });

  it('a write that commits while a reader assembles the document is not hidden by the stored copy', async () => {
    const tm = await newModel();
    // A reader takes its stamp, then a write commits, then the reader stores what it assembled
    // before the write: the copy is refused, so the next read assembles the written state.
    await get(t.app, tm);
    const [{ stamp }] = await t.ctx.db.query<{ stamp: string }>('SELECT pg_current_snapshot()::text AS stamp');
    await on(t.app)('PUT', `/threat_models/${tm}`, { name: 'Written', authorization: [share(reader, 'reader')] });
    const [{ version }] = await t.ctx.db.query<{ version: number }>('SELECT version FROM threat_models WHERE id = $1', [tm]);
    await t.ctx.db.query(`UPDATE threat_model_read_cache SET doc = '{"stale":true}', version = $2, stamp = $3, stamped_at = now() WHERE threat_model_id = $1`, [tm, version, stamp]);
    const res = await get(t.app, tm);
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Written');
  });

  // A second connection holds a write open across the reader's stamp (PostgreSQL: PGlite has one).
  it.runIf(usingPostgres)('a write still running when a reader takes its stamp is not hidden by the stored copy once it commits', async () => {
    const tm = await newModel();
    await warm(t.app, tm);
    await whileWriteOpen(
      t,
      (q) => q.query(`UPDATE threat_models SET name = 'Written meanwhile' WHERE id = $1`, [tm]),
      // Read while the write runs: the state before it, assembled afresh and stored with a stamp
      // that does not see the write.
      async () => {
        await t.ctx.db.query('DELETE FROM threat_model_read_cache WHERE threat_model_id = $1', [tm]);
        expect((await get(t.app, tm)).body.name).toBe('Cached');
        expect(await stored(tm)).toBe(true);
      },
    );
    for (const app of [t.app, second.app]) expect((await get(app, tm)).body.name).toBe('Written meanwhile');
  });
});
