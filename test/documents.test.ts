import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf } from './support/app.ts';
import { familySuite, sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

familySuite(
  {
    segment: 'documents',
    listKey: 'documents',
    label: 'Document',
    versioned: true,
    sample: (n) => ({ name: `Architecture ${n}`, uri: `https://docs.example.com/arch-${n}.pdf`, description: 'Overview' }),
    replacement: { name: 'Runbook', uri: 'https://wiki.example.com/runbook', description: 'Ops', include_in_report: false, timmy_enabled: true },
    invalid: [{ name: 'x' }, { name: 'x', uri: 'not-a-url' }, { name: 'x', uri: `https://e.com/${'a'.repeat(1000)}` }, { name: 'x', uri: 'javascript://alert(1)' }, { name: 'x', uri: 'https://e.com', picker_registration: { provider_id: 'dropbox', file_id: '1', mime_type: 'a' } }],
    bulkLimit: 20,
    bulkUpsert: true,
  },
  () => w,
);

describe('documents: specifics', () => {
  it('reports access_status unknown (no content pipeline) and names the uri field when it is missing', async () => {
    const tm = await sharedModel(w);
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/documents`, { token: w.owner.accessToken, body: { name: 'Spec', uri: 'https://e.com/spec' } });
    expect(res.status).toBe(201);
    expect(res.body.access_status).toBe('unknown');
    const missing = await call(w.t.app, 'POST', `/threat_models/${tm}/documents`, { token: w.owner.accessToken, body: { name: 'Spec', url: 'https://e.com' } });
    expect(missing.status).toBe(400);
    expect(errorOf(missing).error_description).toMatch(/uri.*URL/);
  });
});

describe('POST /threat_models/{id}/documents/{id}/request_access', () => {
  it('is for writers on live documents of the model, and 409 since no document waits for access here', async () => {
    const tm = await sharedModel(w);
    const d = await call(w.t.app, 'POST', `/threat_models/${tm}/documents`, { token: w.owner.accessToken, body: { name: 'Spec', uri: 'https://e.com/spec' } });
    const url = `/threat_models/${tm}/documents/${d.body.id}/request_access`;
    expect((await call(w.t.app, 'POST', url)).status).toBe(401);
    expect((await call(w.t.app, 'POST', url, { token: w.reader.accessToken })).status).toBe(403);
    expect((await call(w.t.app, 'POST', url, { token: w.stranger.accessToken })).status).toBe(403);
    const other = await sharedModel(w);
    expect((await call(w.t.app, 'POST', `/threat_models/${other}/documents/${d.body.id}/request_access`, { token: w.owner.accessToken })).status).toBe(404);
    const res = await call(w.t.app, 'POST', url, { token: w.writer.accessToken });
    expect(res.status).toBe(409);
    expect(errorOf(res).error_description).toBe('Document is not in pending_access status');
    await call(w.t.app, 'DELETE', `/threat_models/${tm}/documents/${d.body.id}`, { token: w.owner.accessToken });
    expect((await call(w.t.app, 'POST', url, { token: w.writer.accessToken })).status).toBe(404);
  });
});
