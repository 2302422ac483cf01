import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn } from './support/app.ts';
import { familySuite, sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

familySuite(
  {
    segment: 'assets',
    listKey: 'assets',
    label: 'Asset',
    versioned: true,
    sample: (n) => ({ name: `Customer DB ${n}`, type: 'data', description: 'PII store', criticality: 'high', classification: ['confidential'] }),
    replacement: { name: 'Payments API', type: 'service', description: 'Card payments', criticality: 'medium', classification: ['internal'], sensitivity: 'low', include_in_report: false, timmy_enabled: false },
    invalid: [{ name: 'x' }, { name: 'x', type: 'system' }, { name: 'x', type: 'data', classification: ['<script>x</script>'] }, { name: 'x', type: 'data', classification: 'pii' }, { name: 'x', type: 'data', criticality: 'x'.repeat(129) }],
    bulkLimit: 50,
    bulkUpsert: true,
  },
  () => w,
);

describe('assets: specifics', () => {
  it('embeds assets in the threat model as ExtendedAsset (with threat_model_id)', async () => {
    const tm = await sharedModel(w);
    const a = await call(w.t.app, 'POST', `/threat_models/${tm}/assets`, { token: w.owner.accessToken, body: { name: 'Keys', type: 'data' } });
    expect(a.body.threat_model_id).toBeUndefined();
    const model = await call(w.t.app, 'GET', `/threat_models/${tm}`, { token: w.reader.accessToken });
    expect(model.body.assets).toEqual([{ ...a.body, threat_model_id: tm }]);
  });

  it('ignores unknown fields on its open input schema, and takes classification null as absent', async () => {
    const tm = await sharedModel(w);
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/assets`, { token: w.owner.accessToken, body: { name: 'Keys', type: 'data', owner: 'me', classification: null } });
    expect(res.status).toBe(201);
    expect(res.body.owner).toBeUndefined();
    expect(res.body.classification).toBeNull();
    const bad = await call(w.t.app, 'POST', `/threat_models/${tm}/assets`, { token: w.owner.accessToken, body: { name: 'Keys', type: 'DATA' } });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).error).toBe('invalid_input');
  });
});

describe('assets: include_deleted for administrators', () => {
  it('lets an administrator with read access list deleted assets; a plain reader may not', async () => {
    const tm = await sharedModel(w);
    const a = await call(w.t.app, 'POST', `/threat_models/${tm}/assets`, { token: w.owner.accessToken, body: { name: 'Old', type: 'data' } });
    await call(w.t.app, 'DELETE', `/threat_models/${tm}/assets/${a.body.id}`, { token: w.owner.accessToken });
    const url = `/threat_models/${tm}/assets?include_deleted=true`;
    expect((await call(w.t.app, 'GET', url, { token: w.reader.accessToken })).status).toBe(403);
    const admin = await signIn(w.t.app);
    await call(w.t.app, 'PUT', `/threat_models/${tm}`, {
      token: w.owner.accessToken,
      body: { name: 'Model', authorization: [{ principal_type: 'user', provider: 'tmi', provider_id: admin.user, role: 'reader' }] },
    });
    const [row] = await w.t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider = $1 AND provider_user_id = $2', ['tmi', admin.user]);
    await w.t.ctx.db.query('INSERT INTO group_members (group_uuid, user_uuid) VALUES ($1, $2)', ['00000000-0000-0000-0000-000000000002', row!.internal_uuid]);
    const res = await call(w.t.app, 'GET', url, { token: admin.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.assets.map((x: { id: string; deleted_at?: string }) => [x.id, typeof x.deleted_at])).toEqual([[a.body.id, 'string']]);
  });
});
