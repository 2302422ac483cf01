import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf } from './support/app.ts';
import { recordAudit } from '../server/resources/common/audit.ts';
import { sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

const PATCH = 'application/json-patch+json';

async function trail(tm: string, query = '', who = w.reader) {
  const res = await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail${query}`, { token: who.accessToken });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

describe('GET /threat_models/{id}/audit_trail', () => {
  it('lists every change of the model and its children, newest first, with cursor pages and filters', async () => {
    const tm = await sharedModel(w);
    const threat = await call(w.t.app, 'POST', `/threat_models/${tm}/threats`, { token: w.writer.accessToken, body: { name: 'T', threat_type: [] } });
    await call(w.t.app, 'PATCH', `/threat_models/${tm}/threats/${threat.body.id}`, { token: w.writer.accessToken, contentType: PATCH, body: [{ op: 'replace', path: '/name', value: 'T2' }] });
    await call(w.t.app, 'POST', `/threat_models/${tm}/notes`, { token: w.owner.accessToken, body: { name: 'N', content: 'c' } });
    await call(w.t.app, 'PUT', `/threat_models/${tm}`, { token: w.owner.accessToken, body: { name: 'Renamed' } });
    const all = await trail(tm);
    expect(all.total).toBe(5);
    expect(all.audit_entries.map((e: { object_type: string; change_type: string }) => `${e.object_type}:${e.change_type}`)).toEqual([
      'threat_model:updated',
      'note:created',
      'threat:patched',
      'threat:created',
      'threat_model:created',
    ]);
    expect(all.next_cursor).toBeNull();
    expect(all.prev_cursor).toBeNull();
    const e = all.audit_entries[2];
    expect(e).toMatchObject({ threat_model_id: tm, object_id: threat.body.id, version: 2, actor: { email: w.writer.email, provider: 'tmi', provider_id: w.writer.user } });
    expect(typeof e.change_summary).toBe('string');

    const p1 = await trail(tm, '?limit=2');
    expect(p1.audit_entries.map((x: { id: string }) => x.id)).toEqual(all.audit_entries.slice(0, 2).map((x: { id: string }) => x.id));
    expect(p1.prev_cursor).toBeNull();
    const p2 = await trail(tm, `?limit=2&cursor=${p1.next_cursor}`);
    expect(p2.audit_entries.map((x: { id: string }) => x.id)).toEqual(all.audit_entries.slice(2, 4).map((x: { id: string }) => x.id));
    const p3 = await trail(tm, `?limit=2&cursor=${p2.next_cursor}`);
    expect(p3.audit_entries.map((x: { id: string }) => x.id)).toEqual([all.audit_entries[4].id]);
    expect(p3.next_cursor).toBeNull();
    const back = await trail(tm, `?limit=2&cursor=${p3.prev_cursor}`);
    expect(back.audit_entries.map((x: { id: string }) => x.id)).toEqual(p2.audit_entries.map((x: { id: string }) => x.id));
    const first = await trail(tm, `?limit=2&cursor=${back.prev_cursor}`);
    expect(first.audit_entries.map((x: { id: string }) => x.id)).toEqual(p1.audit_entries.map((x: { id: string }) => x.id));
    expect(first.prev_cursor).toBeNull();

    expect((await trail(tm, '?object_type=threat')).total).toBe(2);
    expect((await trail(tm, '?change_type=Created')).total).toBe(3);
    expect((await trail(tm, `?actor_email=${encodeURIComponent(w.writer.email)}`)).total).toBe(2);
    expect((await trail(tm, '?created_after=2999-01-01T00:00:00Z')).total).toBe(0);
    expect((await trail(tm, '?created_before=2999-01-01T00:00:00Z')).total).toBe(5);
    for (const q of ['?object_type=user', '?change_type=exploded', '?cursor=abc', '?limit=0', '?limit=101', '?actor_email=nope', '?created_after=soon']) {
      const res = await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail${q}`, { token: w.reader.accessToken });
      expect(res.status, q).toBe(400);
      errorOf(res);
    }
  });

  it('returns one entry by id; requires authentication and read access', async () => {
    const tm = await sharedModel(w);
    const all = await trail(tm);
    const id = all.audit_entries[0].id;
    const one = await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail/${id}`, { token: w.reader.accessToken });
    expect(one.body).toEqual(all.audit_entries[0]);
    const other = await sharedModel(w);
    expect((await call(w.t.app, 'GET', `/threat_models/${other}/audit_trail/${id}`, { token: w.owner.accessToken })).status).toBe(404);
    for (const url of [`/threat_models/${tm}/audit_trail`, `/threat_models/${tm}/audit_trail/${id}`]) {
      expect((await call(w.t.app, 'GET', url)).status).toBe(401);
      expect((await call(w.t.app, 'GET', url, { token: w.stranger.accessToken })).status).toBe(403);
    }
    expect((await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/${id}/rollback`)).status).toBe(401);
  });

  it('lists the trail of a diagram (another module writes its entries) through the same route family', async () => {
    const tm = await sharedModel(w);
    const d = await call(w.t.app, 'POST', `/threat_models/${tm}/diagrams`, { token: w.owner.accessToken, body: { name: 'DFD', type: 'DFD-1.0.0' } });
    expect(d.status).toBe(201);
    const res = await call(w.t.app, 'GET', `/threat_models/${tm}/diagrams/${d.body.id}/audit_trail?limit=5`, { token: w.reader.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ limit: 5, offset: 0 });
    expect(res.body.audit_entries.every((e: { object_id: string }) => e.object_id === d.body.id)).toBe(true);
    expect((await call(w.t.app, 'GET', `/threat_models/${tm}/diagrams/00000000-0000-4000-8000-000000000000/audit_trail`, { token: w.reader.accessToken })).status).toBe(404);
  });
});

describe('POST /threat_models/{id}/audit_trail/{entry_id}/rollback', () => {
  it('puts a child back in a recorded state (owner only), recording rolled_back', async () => {
    const tm = await sharedModel(w);
    const created = await call(w.t.app, 'POST', `/threat_models/${tm}/assets`, { token: w.owner.accessToken, body: { name: 'First', type: 'data' } });
    const url = `/threat_models/${tm}/assets/${created.body.id}`;
    await call(w.t.app, 'POST', `${url}/metadata`, { token: w.owner.accessToken, body: { key: 'later', value: 'x' } });
    await call(w.t.app, 'PUT', url, { token: w.owner.accessToken, body: { name: 'Second', type: 'service' } });
    const entries = (await call(w.t.app, 'GET', `${url}/audit_trail`, { token: w.owner.accessToken })).body.audit_entries;
    const createdEntry = entries.find((e: { change_type: string }) => e.change_type === 'created');
    for (const u of [w.writer, w.reader, w.stranger]) {
      expect((await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/${createdEntry.id}/rollback`, { token: u.accessToken })).status).toBe(403);
    }
    expect((await call(w.t.app, 'GET', url, { token: w.owner.accessToken })).body.name).toBe('Second');
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/${createdEntry.id}/rollback`, { token: w.owner.accessToken });
    expect(res.status, res.text).toBe(200);
    expect(res.body.restored_entity).toMatchObject({ id: created.body.id, name: 'First', type: 'data', version: 3, metadata: [] });
    expect(res.body.audit_entry).toMatchObject({ change_type: 'rolled_back', object_id: created.body.id, version: 3, change_summary: 'Rolled back to version 1' });
    expect((await call(w.t.app, 'GET', url, { token: w.owner.accessToken })).body).toEqual(res.body.restored_entity);
    expect((await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/00000000-0000-4000-8000-000000000000/rollback`, { token: w.owner.accessToken })).status).toBe(404);
  });

  it('rolling back to a deletion entry brings the deleted child back in its last state', async () => {
    const tm = await sharedModel(w);
    const created = await call(w.t.app, 'POST', `/threat_models/${tm}/threats`, { token: w.owner.accessToken, body: { name: 'Gone', threat_type: ['Spoofing'] } });
    const url = `/threat_models/${tm}/threats/${created.body.id}`;
    await call(w.t.app, 'DELETE', url, { token: w.owner.accessToken });
    const deletion = (await trail(tm, '?change_type=deleted')).audit_entries[0];
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/${deletion.id}/rollback`, { token: w.owner.accessToken });
    expect(res.status, res.text).toBe(200);
    const back = await call(w.t.app, 'GET', url, { token: w.owner.accessToken });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ name: 'Gone', threat_type: ['Spoofing'] });
    expect(res.body.audit_entry.version).toBe(back.body.version);
  });

  it('rolls back families without a visible version too (notes), numbering the entries', async () => {
    const tm = await sharedModel(w);
    const note = await call(w.t.app, 'POST', `/threat_models/${tm}/notes`, { token: w.owner.accessToken, body: { name: 'V1', content: 'first' } });
    const url = `/threat_models/${tm}/notes/${note.body.id}`;
    await call(w.t.app, 'PUT', url, { token: w.owner.accessToken, body: { name: 'V2', content: 'second' } });
    const created = (await call(w.t.app, 'GET', `${url}/audit_trail`, { token: w.owner.accessToken })).body.audit_entries.at(-1);
    expect(created).toMatchObject({ change_type: 'created', version: 1 });
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/${created.id}/rollback`, { token: w.owner.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.restored_entity).toMatchObject({ name: 'V1', content: 'first' });
    expect(res.body.audit_entry.version).toBe(3);
  });

  it('rolls the threat model itself back to a recorded state, keeping its access list', async () => {
    const tm = await sharedModel(w, 'Original');
    await call(w.t.app, 'PUT', `/threat_models/${tm}`, { token: w.owner.accessToken, body: { name: 'Changed', description: 'new', metadata: [{ key: 'a', value: 'b' }] } });
    const createdEntry = (await trail(tm, '?object_type=threat_model&change_type=created')).audit_entries[0];
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/${createdEntry.id}/rollback`, { token: w.owner.accessToken });
    expect(res.status, res.text).toBe(200);
    expect(res.body.restored_entity).toMatchObject({ id: tm, name: 'Original', description: null, metadata: [], version: 3 });
    expect(res.body.restored_entity.threats).toBeUndefined();
    const model = await call(w.t.app, 'GET', `/threat_models/${tm}`, { token: w.reader.accessToken });
    expect(model.body.name).toBe('Original');
    expect(model.body.authorization.map((a: { provider_id: string }) => a.provider_id)).toContain(w.reader.user);
  });
});

describe('POST /threat_models/{id}/restore', () => {
  it('restores a deleted model with the children deleted with it; owner only; 409 when not deleted', async () => {
    const tm = await sharedModel(w);
    const t = await call(w.t.app, 'POST', `/threat_models/${tm}/threats`, { token: w.owner.accessToken, body: { name: 'T', threat_type: [] } });
    const n = await call(w.t.app, 'POST', `/threat_models/${tm}/notes`, { token: w.owner.accessToken, body: { name: 'N', content: 'c' } });
    await call(w.t.app, 'DELETE', `/threat_models/${tm}/notes/${n.body.id}`, { token: w.owner.accessToken });
    const live = await call(w.t.app, 'POST', `/threat_models/${tm}/restore`, { token: w.owner.accessToken });
    expect(live.status).toBe(409);
    expect(errorOf(live).error_description).toBe('Threat model is not deleted');
    expect((await call(w.t.app, 'DELETE', `/threat_models/${tm}`, { token: w.owner.accessToken })).status).toBe(204);
    expect((await call(w.t.app, 'POST', `/threat_models/${tm}/restore`)).status).toBe(401);
    expect((await call(w.t.app, 'POST', `/threat_models/${tm}/restore`, { token: w.writer.accessToken })).status).toBe(403);
    expect((await call(w.t.app, 'POST', `/threat_models/${tm}/restore`, { token: w.stranger.accessToken })).status).toBe(403);
    expect((await call(w.t.app, 'POST', '/threat_models/00000000-0000-4000-8000-000000000000/restore', { token: w.owner.accessToken })).status).toBe(404);
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/restore`, { token: w.owner.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(tm);
    expect(res.body.deleted_at).toBeUndefined();
    expect(res.body.threats.map((x: { id: string }) => x.id)).toEqual([t.body.id]);
    expect(res.body.notes).toEqual([]);
    const restoredEntry = (await trail(tm, '?change_type=restored')).audit_entries[0];
    expect(restoredEntry).toMatchObject({ object_type: 'threat_model', object_id: tm, actor: { email: w.owner.email } });
  });
});

describe('rollback without a recorded state', () => {
  it('is 410 gone when no state of the object was recorded (pruned or never taken)', async () => {
    const tm = await sharedModel(w);
    const objectId = '7e0f5a52-1d0b-4c1e-9a55-000000000001';
    const entryId = await recordAudit(
      w.t.ctx.db,
      { threatModelId: tm, objectType: 'note', objectId, version: null, changeType: 'deleted', actor: { email: 'x@example.com', provider: 'tmi', providerId: 'x', name: 'X' }, summary: 'Note deleted' },
      new Date(),
    );
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/audit_trail/${entryId}/rollback`, { token: w.owner.accessToken });
    expect(res.status).toBe(410);
    expect(errorOf(res).error).toBe('gone');
    expect((await call(w.t.app, 'GET', `/threat_models/${tm}/notes/${objectId}`, { token: w.owner.accessToken })).status).toBe(404);
  });
});
