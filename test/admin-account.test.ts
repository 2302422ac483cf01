// The person's own settings and feedback (issue 14): /me/preferences, /usability_feedback and
// /threat_models/{id}/feedback. Authentication, who may read what, the reference's limits (1 KB,
// 20 clients, key pattern; 413 for oversize feedback), bad input refused and nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, uniqueUser, type SignedIn, type TestApp } from './support/app.ts';
import { modelOf, startAdminApp, uuidOf } from './support/admin.ts';

let t: TestApp;
let admin: SignedIn;
beforeAll(async () => ({ t, admin } = await startAdminApp()));
afterAll(async () => t?.close());

describe('/me/preferences', () => {
  it('is empty at first, created once with POST, replaced wholesale with PUT, private to each user', async () => {
    const me = await signIn(t.app);
    const other = await signIn(t.app);
    expect((await call(t.app, 'GET', '/me/preferences')).status).toBe(401);
    expect((await call(t.app, 'GET', '/me/preferences', { token: me.accessToken })).body).toEqual({});
    const made = await call(t.app, 'POST', '/me/preferences', { token: me.accessToken, body: { 'tmi-ts': { theme: 'dark' } } });
    expect(made.status).toBe(201);
    expect(made.body).toEqual({ 'tmi-ts': { theme: 'dark' } });
    const again = await call(t.app, 'POST', '/me/preferences', { token: me.accessToken, body: { 'tmi-ts': { theme: 'light' } } });
    expect(again.status).toBe(409);
    errorOf(again);
    const put = await call(t.app, 'PUT', '/me/preferences', { token: me.accessToken, body: { other_client: { x: 1 } } });
    expect(put.status).toBe(200);
    expect((await call(t.app, 'GET', '/me/preferences', { token: me.accessToken })).body).toEqual({ other_client: { x: 1 } });
    expect((await call(t.app, 'GET', '/me/preferences', { token: other.accessToken })).body).toEqual({});
    // PUT creates when absent.
    expect((await call(t.app, 'PUT', '/me/preferences', { token: other.accessToken, body: { ux: { theme: 'auto' } } })).status).toBe(200);
    expect((await call(t.app, 'GET', '/me/preferences', { token: other.accessToken })).body).toEqual({ ux: { theme: 'auto' } });
  });

  it('refuses what the reference refuses and keeps the stored value', async () => {
    const me = await signIn(t.app);
    await call(t.app, 'PUT', '/me/preferences', { token: me.accessToken, body: { ux: { theme: 'dark' } } });
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`c${i}`, {}]));
    const bad: [unknown, string?, string?][] = [
      [{ ux: { blob: 'x'.repeat(1100) } }],
      [many],
      [{ 'bad key!': {} }],
      [{ ux: 'not an object' }],
      [[1, 2]],
      [undefined, '{"ux":', 'application/json'],
      [undefined, 'ux=1', 'text/plain'],
    ];
    for (const [body, raw, contentType] of bad) {
      for (const method of ['PUT', 'POST']) {
        const res = await call(t.app, method, '/me/preferences', { token: me.accessToken, body, raw, contentType });
        expect([400, 415, 409], `${method} ${JSON.stringify(body ?? raw).slice(0, 40)}`).toContain(res.status);
        errorOf(res);
      }
    }
    expect(errorOf(await call(t.app, 'PUT', '/me/preferences', { token: me.accessToken, body: { ux: { blob: 'x'.repeat(1100) } } })).error_description).toContain('1KB');
    expect((await call(t.app, 'GET', '/me/preferences', { token: me.accessToken })).body).toEqual({ ux: { theme: 'dark' } });
  });

  it('are deleted with the account', async () => {
    const me = await signIn(t.app);
    const uuid = await uuidOf(t, me);
    await call(t.app, 'PUT', '/me/preferences', { token: me.accessToken, body: { ux: { theme: 'dark' } } });
    const ask = await call(t.app, 'DELETE', '/me', { token: me.accessToken });
    expect((await call(t.app, 'DELETE', `/me?challenge=${encodeURIComponent(ask.body.challenge_text)}`, { token: me.accessToken })).status).toBe(204);
    expect(await t.ctx.db.query('SELECT 1 FROM user_preferences WHERE user_uuid = $1', [uuid])).toEqual([]);
  });
});

describe('/usability_feedback', () => {
  it('anyone sends; administrators list (with filters) and read; others are refused', async () => {
    const me = await signIn(t.app);
    expect((await call(t.app, 'POST', '/usability_feedback', { body: { sentiment: 'up', surface: 'x', client_id: 'y' } })).status).toBe(401);
    const surface = `s${uniqueUser('x').slice(-8)}`;
    const sent = await call(t.app, 'POST', '/usability_feedback', {
      token: me.accessToken,
      body: { sentiment: 'down', surface, client_id: 'tmi-ts', verbatim: 'confusing', viewport: '1280x1024', client_build: 'abcdef1', user_agent_data: { mobile: false } },
    });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ sentiment: 'down', surface, client_id: 'tmi-ts', verbatim: 'confusing', created_by: await uuidOf(t, me) });
    expect((await call(t.app, 'GET', '/usability_feedback', { token: me.accessToken })).status).toBe(403);
    expect((await call(t.app, 'GET', `/usability_feedback/${sent.body.id}`, { token: me.accessToken })).status).toBe(403);
    const list = await call(t.app, 'GET', `/usability_feedback?surface=${surface}`, { token: admin.accessToken });
    expect(list.body.total).toBe(1);
    expect(list.body.items[0].id).toBe(sent.body.id);
    expect((await call(t.app, 'GET', `/usability_feedback?surface=${surface}&sentiment=up`, { token: admin.accessToken })).body.total).toBe(0);
    expect((await call(t.app, 'GET', `/usability_feedback/${sent.body.id}`, { token: admin.accessToken })).body.verbatim).toBe('confusing');
    expect((await call(t.app, 'GET', '/usability_feedback/6f1d2c3b-0000-4000-8000-000000000000', { token: admin.accessToken })).status).toBe(404);
  });

  it('413 for oversize text, 400 for bad fields; nothing stored', async () => {
    const me = await signIn(t.app);
    const surface = `s${uniqueUser('x').slice(-8)}`;
    const base = { sentiment: 'up', surface, client_id: 'tmi-ts' };
    const cases: [unknown, number][] = [
      [{ ...base, verbatim: 'x'.repeat(2049) }, 413],
      [{ ...base, user_agent_data: { x: 'y'.repeat(5000) } }, 413],
      [{ ...base, sentiment: 'meh' }, 400],
      [{ ...base, surface: 'Upper' }, 400],
      [{ ...base, client_id: undefined }, 400],
      [{ ...base, viewport: 'big' }, 400],
      [{ ...base, screenshot: 'data:text/html;base64,AAAA' }, 400],
      [{ ...base, extra: 1 }, 400],
    ];
    for (const [body, status] of cases) {
      const res = await call(t.app, 'POST', '/usability_feedback', { token: me.accessToken, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      errorOf(res);
    }
    expect((await call(t.app, 'GET', `/usability_feedback?surface=${surface}`, { token: admin.accessToken })).body.total).toBe(0);
  });
});

describe('/threat_models/{id}/feedback', () => {
  it('readers send and read feedback on the model\'s content; others cannot; reasons follow the reference\'s rules', async () => {
    const owner = await signIn(t.app);
    const reader = await signIn(t.app);
    const stranger = await signIn(t.app);
    const tm = await modelOf(t, owner, 'with feedback', [{ user: reader, role: 'reader' }]);
    const threat = await call(t.app, 'POST', `/threat_models/${tm}/threats`, { token: owner.accessToken, body: { name: 'Spoofing', threat_type: ['Spoofing'] } });
    expect(threat.status).toBe(201);
    const url = `/threat_models/${tm}/feedback`;
    const body = { sentiment: 'down', target_type: 'threat', target_id: threat.body.id, client_id: 'tmi-ts', false_positive_reason: 'detection_misfired', false_positive_subreason: 'code_does_not_exist' };
    expect((await call(t.app, 'POST', url, { body })).status).toBe(401);
    expect((await call(t.app, 'POST', url, { token: stranger.accessToken, body })).status).toBe(403);
    const sent = await call(t.app, 'POST', url, { token: reader.accessToken, body });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ ...body, threat_model_id: tm, created_by: await uuidOf(t, reader) });
    const list = await call(t.app, 'GET', url, { token: owner.accessToken });
    expect(list.body).toMatchObject({ total: 1 });
    expect((await call(t.app, 'GET', `${url}?sentiment=up`, { token: owner.accessToken })).body.total).toBe(0);
    expect((await call(t.app, 'GET', `${url}/${sent.body.id}`, { token: reader.accessToken })).status).toBe(200);
    expect((await call(t.app, 'GET', url, { token: stranger.accessToken })).status).toBe(403);
    expect((await call(t.app, 'GET', `${url}/6f1d2c3b-0000-4000-8000-000000000000`, { token: owner.accessToken })).status).toBe(404);
    const bad: [unknown, number][] = [
      [{ ...body, false_positive_subreason: 'needs_tuning' }, 400],
      [{ ...body, sentiment: 'up' }, 400],
      [{ ...body, false_positive_reason: undefined }, 400],
      [{ ...body, target_id: '6f1d2c3b-0000-4000-8000-000000000000' }, 400],
      [{ ...body, target_type: 'threat_classification', false_positive_reason: undefined, false_positive_subreason: undefined }, 400],
      [{ ...body, verbatim: 'x'.repeat(2049) }, 413],
      [{ ...body, target_type: 'asset' }, 400],
      [{ ...body, unknown: 1 }, 400],
    ];
    for (const [b, status] of bad) {
      const res = await call(t.app, 'POST', url, { token: reader.accessToken, body: b });
      expect(res.status, JSON.stringify(b).slice(0, 120)).toBe(status);
      errorOf(res);
    }
    const classification = await call(t.app, 'POST', url, { token: reader.accessToken, body: { sentiment: 'up', target_type: 'threat_classification', target_field: 'severity', target_id: threat.body.id, client_id: 'tmi-ts' } });
    expect(classification.status).toBe(201);
    expect((await call(t.app, 'GET', url, { token: owner.accessToken })).body.total).toBe(2);
  });
});
