import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf } from './support/app.ts';
import { createdSnapshot, familySuite, sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

const PATCH = 'application/json-patch+json';

familySuite(
  {
    segment: 'threats',
    listKey: 'threats',
    label: 'Threat',
    versioned: true,
    sample: (n) => ({ name: `Spoofed token ${n}`, threat_type: ['Spoofing'], severity: 'high', description: 'Stolen JWT' }),
    replacement: {
      name: 'SQL injection',
      threat_type: ['Tampering', 'Information Disclosure'],
      severity: 'critical',
      status: 'mitigation_planned',
      priority: 'high',
      score: 9.8,
      mitigated: true,
      mitigation: 'Prepared statements',
      description: 'Unsanitised lookup',
      issue_uri: 'https://issues.example.com/42',
      cwe_id: ['CWE-89'],
      cvss: [{ vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 }],
      ssvc: { vector: 'SSVCv2/E:A/U:S/T:T/P:S/', decision: 'Immediate', methodology: 'Supplier' },
      include_in_report: false,
      timmy_enabled: false,
    },
    invalid: [
      { name: 'x' },
      { name: 'x', threat_type: 'Spoofing' },
      { name: 'x', threat_type: ['A', 'A'] },
      { name: 'x', threat_type: [], score: 11 },
      { name: 'x', threat_type: [], score: 1.25 },
      { name: 'x', threat_type: [], cwe_id: ['89'] },
      { name: 'x', threat_type: [], issue_uri: 'ftp://x' },
      { name: 'x', threat_type: [], diagram_id: 'abc' },
      { name: 'x', threat_type: [], ssvc: { vector: 'v', decision: 'Later', methodology: 'S' } },
      { name: 'x', threat_type: [], metadata: [{ key: 'bad key', value: 'v' }] },
      { name: 'x', threat_type: [], metadata: [{ key: 'k', value: '<script>x</script>' }] },
      { name: 'x', threat_type: [], mitigation: 'use {{template}}' },
      { name: 'x', threat_type: ['<iframe src=x>'] },
    ],
    bulkLimit: 20,
    bulkUpsert: false,
  },
  () => w,
);

async function threat(tm: string, body: Record<string, unknown>) {
  const res = await call(w.t.app, 'POST', `/threat_models/${tm}/threats`, { token: w.owner.accessToken, body: { threat_type: [], ...body } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe('threats: fields', () => {
  it('normalises status and severity to lower snake case on POST/PUT, stores inline metadata, links and defaults', async () => {
    const tm = await sharedModel(w);
    const t = await threat(tm, { name: 'T', severity: 'High', status: 'In Progress', metadata: [{ key: 'team', value: 'red' }], diagram_id: '', cell_id: null });
    expect(t).toMatchObject({
      threat_model_id: tm,
      severity: 'high',
      status: 'in_progress',
      metadata: [{ key: 'team', value: 'red' }],
      diagram_id: null,
      cell_id: null,
      mitigated: false,
      threat_type: [],
      cwe_id: [],
      cvss: [],
      ssvc: null,
      auto_generated: false,
      version: 1,
    });
    expect(t.score).toBeUndefined();
    const meta = await call(w.t.app, 'GET', `/threat_models/${tm}/threats/${t.id}/metadata`, { token: w.reader.accessToken });
    expect(meta.body).toEqual([{ key: 'team', value: 'red' }]);
    const put = await call(w.t.app, 'PUT', `/threat_models/${tm}/threats/${t.id}`, { token: w.owner.accessToken, body: { name: 'T', threat_type: [], severity: 'CRITICAL' } });
    expect(put.body.severity).toBe('critical');
    expect(put.body.metadata).toEqual([{ key: 'team', value: 'red' }]);
  });

  it('PATCH supports the reference threat_type add/remove-by-value shortcut and inline metadata', async () => {
    const tm = await sharedModel(w);
    const t = await threat(tm, { name: 'T', threat_type: ['Spoofing'] });
    const url = `/threat_models/${tm}/threats/${t.id}`;
    const add = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, contentType: PATCH, body: [{ op: 'add', path: '/threat_type', value: 'Tampering' }] });
    expect(add.body.threat_type).toEqual(['Spoofing', 'Tampering']);
    const rm = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, contentType: PATCH, body: [{ op: 'remove', path: '/threat_type', value: 'Spoofing' }] });
    expect(rm.body.threat_type).toEqual(['Tampering']);
    const rfc = await call(w.t.app, 'PATCH', url, {
      token: w.writer.accessToken,
      contentType: PATCH,
      body: [
        { op: 'add', path: '/threat_type/-', value: 'Repudiation' },
        { op: 'add', path: '/score', value: 4.5 },
        { op: 'add', path: '/metadata/-', value: { key: 'k', value: 'v' } },
      ],
    });
    expect(rfc.status, rfc.text).toBe(200);
    expect(rfc.body).toMatchObject({ threat_type: ['Tampering', 'Repudiation'], score: 4.5, metadata: [{ key: 'k', value: 'v' }], version: 4 });
    const dup = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, contentType: PATCH, body: [{ op: 'add', path: '/threat_type/-', value: 'Tampering' }] });
    expect(dup.status).toBe(400);
    for (const path of ['/threat_model_id', '/auto_generated', '/version', '/deleted_at']) {
      const ro = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, contentType: PATCH, body: [{ op: 'replace', path, value: 'x' }] });
      expect(ro.status, path).toBe(400);
    }
  });
});

describe('threats: list filters and sort orders', () => {
  it('filters by the reference query parameters and sorts by ranks', async () => {
    const tm = await sharedModel(w);
    const diagram = '11111111-2222-4333-8444-555555555555';
    const a = await threat(tm, { name: 'Alpha leak', severity: 'low', status: 'closed', priority: 'immediate', score: 2, threat_type: ['Information Disclosure'], mitigated: true });
    const b = await threat(tm, { name: 'Beta spoof', severity: 'critical', status: 'open', priority: 'low', score: 9, threat_type: ['Spoofing'], diagram_id: diagram });
    const c = await threat(tm, { name: 'Gamma tamper', severity: 'medium', status: 'mitigated', priority: 'deferred', score: 5.5, threat_type: ['Tampering', 'Spoofing'], description: 'has words' });
    const ids = async (q: string) => {
      const res = await call(w.t.app, 'GET', `/threat_models/${tm}/threats?${q}`, { token: w.reader.accessToken });
      expect(res.status, `${q}: ${res.text}`).toBe(200);
      return res.body.threats.map((x: { id: string }) => x.id);
    };
    expect(await ids('')).toEqual([c.id, b.id, a.id]);
    expect(await ids('name=spoof')).toEqual([b.id]);
    expect(await ids('description=words')).toEqual([c.id]);
    expect(await ids('threat_type=spoofing')).toEqual([c.id, b.id]);
    expect(await ids('threat_type=Tampering&threat_type=Information%20Disclosure')).toEqual([c.id, a.id]);
    expect(await ids('severity=critical&severity=Low')).toEqual([b.id, a.id]);
    expect(await ids('status=open,closed')).toEqual([b.id, a.id]);
    expect(await ids('priority=deferred')).toEqual([c.id]);
    expect(await ids('mitigated=true')).toEqual([a.id]);
    expect(await ids(`diagram_id=${diagram}`)).toEqual([b.id]);
    expect(await ids('score_gt=2&score_lt=9')).toEqual([c.id]);
    expect(await ids('score_ge=2&score_le=5.5')).toEqual([c.id, a.id]);
    expect(await ids('score_eq=9')).toEqual([b.id]);
    expect(await ids(`created_after=${encodeURIComponent(b.created_at)}`)).toEqual([c.id, b.id]);
    expect(await ids('created_before=2000-01-01T00:00:00Z')).toEqual([]);
    expect(await ids('sort=severity:desc')).toEqual([b.id, c.id, a.id]);
    expect(await ids('sort=severity:asc')).toEqual([a.id, c.id, b.id]);
    expect(await ids('sort=status:asc')).toEqual([b.id, c.id, a.id]);
    expect(await ids('sort=priority:desc')).toEqual([a.id, b.id, c.id]);
    expect(await ids('sort=score:desc')).toEqual([b.id, c.id, a.id]);
    expect(await ids('sort=name:asc')).toEqual([a.id, b.id, c.id]);
    expect(await ids('sort=created_at:asc')).toEqual([a.id, b.id, c.id]);
    for (const q of ['sort=owner:asc', 'sort=name:sideways', 'severity=urgent', 'score_gt=11', 'mitigated=maybe', 'diagram_id=x', 'created_after=yesterday']) {
      const bad = await call(w.t.app, 'GET', `/threat_models/${tm}/threats?${q}`, { token: w.reader.accessToken });
      expect(bad.status, q).toBe(400);
      errorOf(bad);
    }
  });
});

describe('threats: bulk patch and bulk delete', () => {
  it('patches many threats at once, all or nothing, with application/json', async () => {
    const tm = await sharedModel(w);
    const a = await threat(tm, { name: 'A', status: 'open' });
    const b = await threat(tm, { name: 'B', status: 'open' });
    const url = `/threat_models/${tm}/threats/bulk`;
    const ok = await call(w.t.app, 'PATCH', url, {
      token: w.writer.accessToken,
      body: { patches: [{ id: a.id, operations: [{ op: 'replace', path: '/status', value: 'closed' }] }, { id: b.id, operations: [{ op: 'replace', path: '/severity', value: 'low' }] }] },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.map((t: { status: string; severity: string }) => [t.status, t.severity])).toEqual([['closed', null], ['open', 'low']]);
    const half = await call(w.t.app, 'PATCH', url, {
      token: w.writer.accessToken,
      body: { patches: [{ id: a.id, operations: [{ op: 'replace', path: '/name', value: 'renamed' }] }, { id: b.id, operations: [{ op: 'replace', path: '/id', value: 'x' }] }] },
    });
    expect(half.status).toBe(400);
    expect((await call(w.t.app, 'GET', `/threat_models/${tm}/threats/${a.id}`, { token: w.owner.accessToken })).body.name).toBe('A');
    for (const [body, status] of [
      [{ patches: [] }, 400],
      [{ patches: Array.from({ length: 21 }, () => ({ id: a.id, operations: [] })) }, 400],
      [{ patches: [{ id: a.id, operations: [{ op: 'replace', path: '/name', value: 'x' }] }], extra: 1 }, 400],
      [{ patches: [{ id: '00000000-0000-4000-8000-000000000000', operations: [{ op: 'replace', path: '/name', value: 'x' }] }] }, 404],
    ] as [unknown, number][]) {
      const res = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
    }
    const patchType = await call(w.t.app, 'PATCH', url, { token: w.writer.accessToken, contentType: PATCH, body: { patches: [] } });
    expect(patchType.status).toBe(415);
    for (const u of [w.reader, w.stranger]) {
      expect((await call(w.t.app, 'PATCH', url, { token: u.accessToken, body: { patches: [{ id: a.id, operations: [] }] } })).status).toBe(403);
    }
    expect((await call(w.t.app, 'PATCH', url, { body: { patches: [{ id: a.id, operations: [] }] } })).status).toBe(401);
  });

  it('deletes many threats at once, all or nothing, answering deleted_count and deleted_ids', async () => {
    const tm = await sharedModel(w);
    const a = await threat(tm, { name: 'A' });
    const b = await threat(tm, { name: 'B' });
    const c = await threat(tm, { name: 'C' });
    const url = (ids: string) => `/threat_models/${tm}/threats/bulk?threat_ids=${ids}`;
    const missing = await call(w.t.app, 'DELETE', url(`${a.id},00000000-0000-4000-8000-000000000000`), { token: w.writer.accessToken });
    expect(missing.status).toBe(404);
    expect((await call(w.t.app, 'DELETE', url(a.id), { token: w.reader.accessToken })).status).toBe(403);
    expect((await call(w.t.app, 'DELETE', url(a.id), { token: w.stranger.accessToken })).status).toBe(403);
    expect((await call(w.t.app, 'DELETE', url(a.id))).status).toBe(401);
    expect((await call(w.t.app, 'DELETE', url('not-a-uuid'), { token: w.writer.accessToken })).status).toBe(400);
    expect((await call(w.t.app, 'DELETE', `/threat_models/${tm}/threats/bulk`, { token: w.writer.accessToken })).status).toBe(400);
    expect((await call(w.t.app, 'GET', `/threat_models/${tm}/threats`, { token: w.owner.accessToken })).body.total).toBe(3);
    const ok = await call(w.t.app, 'DELETE', url(`${a.id},${b.id},${a.id.toUpperCase()}`), { token: w.writer.accessToken });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ deleted_count: 2, deleted_ids: [a.id, b.id] });
    const again = await call(w.t.app, 'DELETE', url(`${b.id},${c.id}`), { token: w.writer.accessToken });
    expect(again.status).toBe(404);
    const left = await call(w.t.app, 'GET', `/threat_models/${tm}/threats`, { token: w.owner.accessToken });
    expect(left.body.threats.map((t: { id: string }) => t.id)).toEqual([c.id]);
  });
});

describe('threats: a threat model with 1,000 threats', () => {
  it('creates them in bulk batches and still lists, reads and embeds them quickly', async () => {
    const tm = await sharedModel(w);
    for (let batch = 0; batch < 50; batch++) {
      const body = Array.from({ length: 20 }, (_, i) => ({ name: `Threat ${batch * 20 + i}`, threat_type: ['Spoofing'], severity: ['low', 'high'][i % 2], score: (i % 10) + 0.5 }));
      const res = await call(w.t.app, 'POST', `/threat_models/${tm}/threats/bulk`, { token: w.writer.accessToken, body });
      expect(res.status).toBe(201);
    }
    const time = async (url: string) => {
      const start = performance.now();
      const res = await call(w.t.app, 'GET', url, { token: w.reader.accessToken });
      expect(res.status).toBe(200);
      return { ms: performance.now() - start, body: res.body };
    };
    const page = await time(`/threat_models/${tm}/threats?limit=100&offset=900&sort=severity:desc`);
    expect(page.body.total).toBe(1000);
    expect(page.body.threats).toHaveLength(100);
    expect(page.ms).toBeLessThan(1000);
    const one = await time(`/threat_models/${tm}/threats/${page.body.threats[0].id}`);
    expect(one.ms).toBeLessThan(200);
    const model = await time(`/threat_models/${tm}`);
    expect(model.body.threats).toHaveLength(1000);
    expect(model.ms).toBeLessThan(3000);
    const listed = await call(w.t.app, 'GET', '/threat_models?limit=100', { token: w.reader.accessToken });
    expect(listed.body.threat_models.find((m: { id: string }) => m.id === tm).threat_count).toBe(1000);
    expect(page.body.threats.map((t: { alias: number }) => t.alias).every((a: number) => a >= 1 && a <= 1000)).toBe(true);
  });
});

describe('threats: the state a create records', () => {
  it('is the state answered and read back, where the database normalises what was sent', async () => {
    const tm = await sharedModel(w);
    const diagram = '0F8FAD5B-D9CB-469F-A165-70867728950E';
    const body = {
      name: 'Normalised',
      threat_type: ['Spoofing'],
      diagram_id: diagram,
      score: 7.3,
      // Repeated and mixed-case keys: one entry per key, the later wins, ordered by the database.
      metadata: [
        { key: 'b', value: '1' },
        { key: 'A', value: '2' },
        { key: 'a', value: '3' },
        { key: '_x', value: '4' },
        { key: 'b', value: '5' },
      ],
    };
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/threats`, { token: w.writer.accessToken, body });
    expect(res.status, res.text).toBe(201);
    expect(res.body.diagram_id).toBe(diagram.toLowerCase());
    expect(res.body.score).toBe(7.3);
    expect(res.body.metadata.filter((m: { key: string }) => m.key === 'b')).toEqual([{ key: 'b', value: '5' }]);
    expect(res.body.metadata).toHaveLength(4);
    const read = await call(w.t.app, 'GET', `/threat_models/${tm}/threats/${res.body.id}`, { token: w.reader.accessToken });
    expect(read.body).toEqual(res.body);
    expect(await createdSnapshot(w, res.body.id)).toEqual(res.body);
  });
});
