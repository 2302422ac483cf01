import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/app.ts';
import { familySuite, sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

familySuite(
  {
    segment: 'repositories',
    listKey: 'repositories',
    label: 'Repository',
    versioned: false,
    sample: (n) => ({ name: `service-${n}`, uri: `https://github.com/example/service-${n}.git`, type: 'git', parameters: { refType: 'branch', refValue: 'main' } }),
    replacement: { name: 'legacy', uri: 'svn://svn.example.com/legacy', type: 'svn', description: 'Old code', parameters: { refType: 'tag', refValue: 'v1', subPath: 'src' }, include_in_report: false, timmy_enabled: false },
    invalid: [
      { name: 'x' },
      { uri: 'https://e.com', type: 'github' },
      { uri: 'https://e.com', parameters: { refType: 'invalid-ref', refValue: 'main' } },
      { uri: 'https://e.com', parameters: { refType: 'branch' } },
      { uri: 'https://e.com', parameters: { refType: 'branch', refValue: 'main', extra: 1 } },
    ],
    bulkLimit: 20,
    bulkUpsert: true,
  },
  () => w,
);

describe('repositories: specifics', () => {
  it('needs only a uri; name may be null; bulk update items need a name', async () => {
    const tm = await sharedModel(w);
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/repositories`, { token: w.owner.accessToken, body: { uri: 'https://e.com/r.git' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: null, type: null, uri: 'https://e.com/r.git' });
    expect(res.body.parameters).toBeUndefined();
    const noName = await call(w.t.app, 'PUT', `/threat_models/${tm}/repositories/bulk`, { token: w.owner.accessToken, body: [{ id: res.body.id, uri: 'https://e.com/x.git' }] });
    expect(noName.status).toBe(400);
  });
});
