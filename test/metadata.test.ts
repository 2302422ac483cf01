import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf } from './support/app.ts';
import { sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

/** Creates a model and one child of each family (diagrams through their own route), returns their metadata bases. */
async function targets() {
  const tm = await sharedModel(w);
  const tok = w.owner.accessToken;
  const post = async (seg: string, body: unknown) => {
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/${seg}`, { token: tok, body });
    expect(res.status, `${seg}: ${res.text}`).toBe(201);
    return res.body.id as string;
  };
  const ids = {
    threats: await post('threats', { name: 'T', threat_type: [] }),
    assets: await post('assets', { name: 'A', type: 'data' }),
    documents: await post('documents', { name: 'D', uri: 'https://e.com/d' }),
    notes: await post('notes', { name: 'N', content: 'c' }),
    repositories: await post('repositories', { uri: 'https://e.com/r.git' }),
    diagrams: await post('diagrams', { name: 'DFD', type: 'DFD-1.0.0' }),
  };
  return {
    tm,
    ids,
    bases: [
      { name: 'threat_model', url: `/threat_models/${tm}/metadata`, limit: 20 },
      ...Object.entries(ids).map(([seg, id]) => ({ name: seg, url: `/threat_models/${tm}/${seg}/${id}/metadata`, limit: seg === 'notes' || seg === 'assets' ? 100 : 20 })),
    ],
  };
}

describe('metadata on the threat model and on every child family', () => {
  it('creates, lists sorted by key, gets, updates, deletes; 409 on an existing key; 404 on absent keys', async () => {
    const { bases } = await targets();
    for (const { name, url } of bases) {
      const tok = { token: w.writer.accessToken };
      expect((await call(w.t.app, 'GET', url, { token: w.reader.accessToken })).body, name).toEqual([]);
      expect((await call(w.t.app, 'POST', url, { ...tok, body: { key: 'zeta', value: '1' } })).status, name).toBe(201);
      const created = await call(w.t.app, 'POST', url, { ...tok, body: { key: 'alpha.v1:x/y-z_', value: 'first' } });
      expect(created.status, name).toBe(201);
      expect(created.body).toEqual({ key: 'alpha.v1:x/y-z_', value: 'first' });
      const dup = await call(w.t.app, 'POST', url, { ...tok, body: { key: 'zeta', value: '2' } });
      expect(dup.status, name).toBe(409);
      expect(errorOf(dup).error_description).toContain('zeta');
      const list = await call(w.t.app, 'GET', url, { token: w.reader.accessToken });
      expect(list.body.map((m: { key: string }) => m.key), name).toEqual(['alpha.v1:x/y-z_', 'zeta']);
      expect((await call(w.t.app, 'GET', `${url}/zeta`, { token: w.reader.accessToken })).body).toEqual({ key: 'zeta', value: '1' });
      const put = await call(w.t.app, 'PUT', `${url}/zeta`, { ...tok, body: { value: 'updated' } });
      expect(put.status, name).toBe(200);
      expect(put.body).toEqual({ key: 'zeta', value: 'updated' });
      expect((await call(w.t.app, 'PUT', `${url}/absent`, { ...tok, body: { value: 'x' } })).status, name).toBe(404);
      expect((await call(w.t.app, 'GET', `${url}/absent`, { token: w.reader.accessToken })).status, name).toBe(404);
      expect((await call(w.t.app, 'DELETE', `${url}/zeta`, tok)).status, name).toBe(204);
      expect((await call(w.t.app, 'DELETE', `${url}/zeta`, tok)).status, name).toBe(404);
      expect((await call(w.t.app, 'GET', url, { token: w.reader.accessToken })).body).toEqual([{ key: 'alpha.v1:x/y-z_', value: 'first' }]);
    }
  });

  it('bulk creates (409 on any existing key), replaces and upserts, with the reference limits and duplicate checks', async () => {
    const { bases } = await targets();
    for (const { name, url, limit } of bases) {
      const tok = { token: w.writer.accessToken };
      const created = await call(w.t.app, 'POST', `${url}/bulk`, { ...tok, body: [{ key: 'b', value: '1' }, { key: 'a', value: '2' }] });
      expect(created.status, name).toBe(201);
      expect(created.body).toEqual([{ key: 'a', value: '2' }, { key: 'b', value: '1' }]);
      const clash = await call(w.t.app, 'POST', `${url}/bulk`, { ...tok, body: [{ key: 'c', value: '1' }, { key: 'a', value: '3' }] });
      expect(clash.status, name).toBe(409);
      const upsert = await call(w.t.app, 'PATCH', `${url}/bulk`, { ...tok, body: [{ key: 'a', value: 'new' }, { key: 'c', value: '3' }] });
      expect(upsert.status, name).toBe(200);
      expect(upsert.body).toEqual([{ key: 'a', value: 'new' }, { key: 'b', value: '1' }, { key: 'c', value: '3' }]);
      for (const body of [
        [{ key: 'x', value: '1' }, { key: 'x', value: '2' }],
        Array.from({ length: limit + 1 }, (_, i) => ({ key: `k${i}`, value: 'v' })),
        [{ key: 'bad key', value: 'v' }],
        [{ key: 'k', value: '' }],
        [{ key: 'k', value: 'v'.repeat(1025) }],
        [{ key: 'k', value: 'v', extra: 1 }],
        [{ key: 'k', value: '<script>alert(1)</script>' }],
        { a: '1' },
      ]) {
        for (const method of ['POST', 'PUT', 'PATCH']) {
          const res = await call(w.t.app, method, `${url}/bulk`, { ...tok, body });
          expect(res.status, `${name} ${method} ${JSON.stringify(body).slice(0, 60)}`).toBe(400);
          errorOf(res);
        }
      }
      const full = await call(w.t.app, 'PATCH', `${url}/bulk`, { ...tok, body: Array.from({ length: limit }, (_, i) => ({ key: `k${i}`, value: 'v' })) });
      expect(full.status, name).toBe(200);
      const replaced = await call(w.t.app, 'PUT', `${url}/bulk`, { ...tok, body: [{ key: 'only', value: 'one' }] });
      expect(replaced.body).toEqual([{ key: 'only', value: 'one' }]);
      const cleared = await call(w.t.app, 'PUT', `${url}/bulk`, { ...tok, body: [] });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toEqual([]);
    }
  });

  it('refuses bad keys and values on single writes and writes nothing', async () => {
    const { bases } = await targets();
    const { url } = bases[1]!;
    for (const body of [{ key: 'has space', value: 'v' }, { key: '', value: 'v' }, { key: 'k'.repeat(257), value: 'v' }, { key: 'k' }, { key: 'k', value: 1 }, { key: 'k', value: 'v', other: 1 }, { key: 'k', value: 'javascript:alert(1)' }]) {
      const res = await call(w.t.app, 'POST', url, { token: w.owner.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    await call(w.t.app, 'POST', url, { token: w.owner.accessToken, body: { key: 'k', value: 'v' } });
    for (const body of [{ value: '' }, { value: 'x'.repeat(1001) }, { value: 'v', key: 'k' }, {}, { value: 'a\u0001' }]) {
      const res = await call(w.t.app, 'PUT', `${url}/k`, { token: w.owner.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await call(w.t.app, 'GET', url, { token: w.owner.accessToken })).body).toEqual([{ key: 'k', value: 'v' }]);
    const wrongType = await call(w.t.app, 'POST', url, { token: w.owner.accessToken, raw: 'k=v', contentType: 'text/plain' });
    expect(wrongType.status).toBe(415);
  });

  it('asset metadata PUT takes {value} or the full entry with a matching key', async () => {
    const { bases } = await targets();
    const url = bases.find((b) => b.name === 'assets')!.url;
    await call(w.t.app, 'POST', url, { token: w.owner.accessToken, body: { key: 'k', value: 'v' } });
    expect((await call(w.t.app, 'PUT', `${url}/k`, { token: w.owner.accessToken, body: { value: 'a' } })).body).toEqual({ key: 'k', value: 'a' });
    expect((await call(w.t.app, 'PUT', `${url}/k`, { token: w.owner.accessToken, body: { key: 'k', value: 'b' } })).body).toEqual({ key: 'k', value: 'b' });
    expect((await call(w.t.app, 'PUT', `${url}/k`, { token: w.owner.accessToken, body: { key: 'other', value: 'c' } })).status).toBe(400);
  });

  it('requires authentication; readers read, writers write; strangers 403; children of other models and deleted children 404', async () => {
    const { tm, ids, bases } = await targets();
    for (const { name, url } of bases) {
      for (const [method, suffix, body] of [
        ['GET', ''],
        ['POST', '', { key: 'k', value: 'v' }],
        ['GET', '/k'],
        ['PUT', '/k', { value: 'v' }],
        ['DELETE', '/k'],
        ['POST', '/bulk', [{ key: 'k', value: 'v' }]],
        ['PUT', '/bulk', [{ key: 'k', value: 'v' }]],
        ['PATCH', '/bulk', [{ key: 'k', value: 'v' }]],
      ] as [string, string, unknown?][]) {
        const anon = await call(w.t.app, method, `${url}${suffix}`, { body });
        expect(anon.status, `${name} anon ${method} ${suffix}`).toBe(401);
        const stranger = await call(w.t.app, method, `${url}${suffix}`, { token: w.stranger.accessToken, body });
        expect(stranger.status, `${name} stranger ${method} ${suffix}`).toBe(403);
        if (method !== 'GET') {
          const reader = await call(w.t.app, method, `${url}${suffix}`, { token: w.reader.accessToken, body });
          expect(reader.status, `${name} reader ${method} ${suffix}`).toBe(403);
        }
      }
      expect((await call(w.t.app, 'GET', url, { token: w.owner.accessToken })).body, name).toEqual([]);
    }
    const other = await sharedModel(w);
    for (const [seg, id] of Object.entries(ids)) {
      const res = await call(w.t.app, 'GET', `/threat_models/${other}/${seg}/${id}/metadata`, { token: w.owner.accessToken });
      expect(res.status, seg).toBe(404);
      expect(errorOf(res).error).toBe('not_found');
    }
    await call(w.t.app, 'DELETE', `/threat_models/${tm}/threats/${ids.threats}`, { token: w.owner.accessToken });
    const deleted = await call(w.t.app, 'POST', `/threat_models/${tm}/threats/${ids.threats}/metadata`, { token: w.owner.accessToken, body: { key: 'k', value: 'v' } });
    expect(deleted.status).toBe(404);
    expect(errorOf(deleted).error_description).toBe('Threat not found');
  });

  it('shows metadata in the parent resources', async () => {
    const { tm, ids, bases } = await targets();
    for (const { url } of bases) await call(w.t.app, 'POST', url, { token: w.owner.accessToken, body: { key: 'k', value: 'v' } });
    const model = await call(w.t.app, 'GET', `/threat_models/${tm}`, { token: w.reader.accessToken });
    expect(model.body.metadata).toEqual([{ key: 'k', value: 'v' }]);
    for (const seg of ['threats', 'assets', 'documents', 'notes', 'repositories'] as const) {
      const child = await call(w.t.app, 'GET', `/threat_models/${tm}/${seg}/${ids[seg]}`, { token: w.reader.accessToken });
      expect(child.body.metadata, seg).toEqual([{ key: 'k', value: 'v' }]);
    }
  });
});

describe('metadata changes in the audit trail', () => {
  it('records an updated entry of the owning entity, and rollback brings the metadata of that state back', async () => {
    const { tm, ids } = await targets();
    const child = `/threat_models/${tm}/assets/${ids.assets}`;
    await call(w.t.app, 'POST', `${child}/metadata`, { token: w.writer.accessToken, body: { key: 'tier', value: 'gold' } });
    await call(w.t.app, 'PUT', `${child}/metadata/tier`, { token: w.writer.accessToken, body: { value: 'silver' } });
    const entries = (await call(w.t.app, 'GET', `${child}/audit_trail`, { token: w.reader.accessToken })).body.audit_entries;
    expect(entries.map((e: { change_type: string; change_summary: string }) => `${e.change_type}: ${e.change_summary}`)).toEqual([
      "updated: Metadata key 'tier' updated",
      "updated: Metadata key 'tier' added",
      'created: Asset created',
    ]);
    const rb = await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/${entries[1].id}/rollback`, { token: w.owner.accessToken });
    expect(rb.status, rb.text).toBe(200);
    expect((await call(w.t.app, 'GET', `${child}/metadata`, { token: w.reader.accessToken })).body).toEqual([{ key: 'tier', value: 'gold' }]);

    const model = `/threat_models/${tm}`;
    await call(w.t.app, 'PATCH', `${model}/metadata/bulk`, { token: w.writer.accessToken, body: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] });
    await call(w.t.app, 'DELETE', `${model}/metadata/a`, { token: w.writer.accessToken });
    const tmEntries = (await call(w.t.app, 'GET', `${model}/audit_trail?object_type=threat_model`, { token: w.reader.accessToken })).body.audit_entries;
    expect(tmEntries[0]).toMatchObject({ change_type: 'updated', change_summary: "Metadata key 'a' deleted", actor: { email: w.writer.email } });
    const back = await call(w.t.app, 'POST', `${model}/audit_trail/${tmEntries[1].id}/rollback`, { token: w.owner.accessToken });
    expect(back.status, back.text).toBe(200);
    expect((await call(w.t.app, 'GET', `${model}/metadata`, { token: w.reader.accessToken })).body).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect((await call(w.t.app, 'GET', model, { token: w.reader.accessToken })).body.name).toBe('Model');
  });
});
