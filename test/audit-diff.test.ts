// GET /threat_models/{id}/audit_trail/{entry}/diff (our extension): the recorded state of the
// object before and after one entry, for the app's history view.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf } from './support/app.ts';
import { sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

const PATCH = 'application/json-patch+json';

describe('GET /threat_models/{id}/audit_trail/{entry_id}/diff', () => {
  it('answers the state before and after a create, a patch and a delete', async () => {
    const tm = await sharedModel(w);
    const created = await call(w.t.app, 'POST', `/threat_models/${tm}/threats`, { token: w.writer.accessToken, body: { name: 'T1', threat_type: [], severity: 'low' } });
    await call(w.t.app, 'PATCH', `/threat_models/${tm}/threats/${created.body.id}`, { token: w.writer.accessToken, contentType: PATCH, body: [{ op: 'replace', path: '/severity', value: 'high' }] });
    await call(w.t.app, 'DELETE', `/threat_models/${tm}/threats/${created.body.id}`, { token: w.writer.accessToken });
    const trail = await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail?object_type=threat`, { token: w.reader.accessToken });
    const [deleted, patched, made] = trail.body.audit_entries;
    expect([deleted.change_type, patched.change_type, made.change_type]).toEqual(['deleted', 'patched', 'created']);
    const diff = async (id: string) => {
      const res = await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail/${id}/diff`, { token: w.reader.accessToken });
      expect(res.status, res.text).toBe(200);
      return res.body;
    };
    const d1 = await diff(made.id);
    expect(d1.entry.id).toBe(made.id);
    expect(d1.before).toBeNull();
    expect(d1.after).toMatchObject({ name: 'T1', severity: 'low' });
    const d2 = await diff(patched.id);
    expect(d2.before).toMatchObject({ severity: 'low' });
    expect(d2.after).toMatchObject({ severity: 'high' });
    const d3 = await diff(deleted.id);
    expect(d3.before).toMatchObject({ severity: 'high' });
    expect(d3.after).toBeNull();
  });

  it('requires authentication and read access; unknown entries are 404, malformed ids 400', async () => {
    const tm = await sharedModel(w);
    const entry = (await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail`, { token: w.owner.accessToken })).body.audit_entries[0];
    const url = `/threat_models/${tm}/audit_trail/${entry.id}/diff`;
    expect((await call(w.t.app, 'GET', url)).status).toBe(401);
    const denied = await call(w.t.app, 'GET', url, { token: w.stranger.accessToken });
    expect(denied.status).toBe(403);
    errorOf(denied);
    expect((await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail/00000000-0000-4000-8000-000000000001/diff`, { token: w.owner.accessToken })).status).toBe(404);
    const other = await sharedModel(w);
    expect((await call(w.t.app, 'GET', `/threat_models/${other}/audit_trail/${entry.id}/diff`, { token: w.owner.accessToken })).status).toBe(404);
    expect((await call(w.t.app, 'GET', `/threat_models/${tm}/audit_trail/nope/diff`, { token: w.owner.accessToken })).status).toBe(400);
  });
});
