// The behaviour every family of threat-model children shares (threats, assets, documents, notes,
// repositories), as one suite each family's test file runs with its own sample bodies.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { call, errorOf, startTestApp, type SignedIn, type TestApp } from './app.ts';
import { buildUsers } from './factories.ts';

export interface FamilyCase {
  segment: string;
  listKey: string;
  label: string;
  versioned: boolean;
  /** A valid create body; `n` makes names unique. */
  sample: (n: number) => Record<string, unknown>;
  /** A valid full replacement. */
  replacement: Record<string, unknown>;
  /** Bodies the contract refuses with 400 (besides the common ones). */
  invalid: Record<string, unknown>[];
  bulkLimit?: number;
  bulkUpsert?: boolean;
  /** The list element leaves out `content` (notes). */
  listOmits?: string[];
}

export interface World {
  t: TestApp;
  owner: SignedIn;
  writer: SignedIn;
  reader: SignedIn;
  stranger: SignedIn;
}

const share = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });
const PATCH = 'application/json-patch+json';

export async function startWorld(): Promise<World> {
  const t = await startTestApp();
  const [owner, writer, reader, stranger] = await buildUsers(t, 4);
  return { t, owner, writer, reader, stranger };
}

export async function sharedModel(w: World, name = 'Model'): Promise<string> {
  const res = await call(w.t.app, 'POST', '/threat_models', {
    token: w.owner.accessToken,
    body: { name, authorization: [share(w.writer, 'writer'), share(w.reader, 'reader')] },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

export function familySuite(c: FamilyCase, world: () => World): void {
  const app = () => world().t.app;
  const tok = (u: keyof Omit<World, 't'>) => world()[u].accessToken;
  const base = (tm: string) => `/threat_models/${tm}/${c.segment}`;

  async function create(tm: string, n = 1, who: 'owner' | 'writer' = 'owner') {
    const res = await call(app(), 'POST', base(tm), { token: tok(who), body: c.sample(n) });
    expect(res.status, res.text).toBe(201);
    return res.body as Record<string, any>;
  }
  async function count(tm: string, includeDeleted = false) {
    const res = await call(app(), 'GET', `${base(tm)}?limit=100${includeDeleted ? '&include_deleted=true' : ''}`, { token: tok('owner') });
    expect(res.status).toBe(200);
    return res.body.total as number;
  }

  describe(`${c.segment}: authentication and roles`, () => {
    it('requires authentication on every route', async () => {
      const tm = await sharedModel(world());
      const item = await create(tm);
      const one = `${base(tm)}/${item.id}`;
      for (const [method, url, body, contentType] of [
        ['GET', base(tm)],
        ['POST', base(tm), c.sample(2)],
        ['GET', one],
        ['PUT', one, c.replacement],
        ['PATCH', one, [{ op: 'replace', path: '/name', value: 'x' }], PATCH],
        ['DELETE', one],
        ['POST', `${one}/restore`],
        ['GET', `${one}/audit_trail`],
        ...(c.bulkLimit ? [['POST', `${base(tm)}/bulk`, [c.sample(3)]], ['PUT', `${base(tm)}/bulk`, [{ ...c.replacement, id: item.id }]]] : []),
      ] as [string, string, unknown?, string?][]) {
        const res = await call(app(), method, url, { body, contentType });
        expect(res.status, `${method} ${url}`).toBe(401);
        expect(errorOf(res).error).toBe('unauthorized');
      }
      expect(await count(tm)).toBe(1);
    });

    it('lets readers read, writers write, only owners restore; strangers get 403', async () => {
      const tm = await sharedModel(world());
      const item = await create(tm, 1, 'writer');
      const one = `${base(tm)}/${item.id}`;
      for (const u of ['owner', 'writer', 'reader'] as const) {
        expect((await call(app(), 'GET', base(tm), { token: tok(u) })).status).toBe(200);
        expect((await call(app(), 'GET', one, { token: tok(u) })).status).toBe(200);
      }
      for (const [method, url, body, contentType] of [
        ['GET', base(tm)],
        ['GET', one],
        ['GET', `${one}/audit_trail`],
        ['POST', base(tm), c.sample(2)],
        ['PUT', one, c.replacement],
        ['PATCH', one, [{ op: 'replace', path: '/name', value: 'x' }], PATCH],
        ['DELETE', one],
        ['POST', `${one}/restore`],
        ...(c.bulkLimit ? [['POST', `${base(tm)}/bulk`, [c.sample(3)]], ['PUT', `${base(tm)}/bulk`, [{ ...c.replacement, id: item.id }]]] : []),
      ] as [string, string, unknown?, string?][]) {
        const res = await call(app(), method, url, { token: tok('stranger'), body, contentType });
        expect(res.status, `stranger ${method} ${url}`).toBe(403);
        expect(errorOf(res).error).toBe('forbidden');
        if (method !== 'GET') {
          const r2 = await call(app(), method, url, { token: tok('reader'), body, contentType });
          expect(r2.status, `reader ${method} ${url}`).toBe(403);
        }
      }
      expect((await call(app(), 'GET', one, { token: tok('owner') })).body.name).toBe(item.name);
      expect(await count(tm)).toBe(1);

      expect((await call(app(), 'PUT', one, { token: tok('writer'), body: c.replacement })).status).toBe(200);
      expect((await call(app(), 'DELETE', one, { token: tok('writer') })).status).toBe(204);
      expect((await call(app(), 'POST', `${one}/restore`, { token: tok('writer') })).status).toBe(403);
      const restored = await call(app(), 'POST', `${one}/restore`, { token: tok('owner') });
      expect(restored.status).toBe(200);
      expect(restored.body.id).toBe(item.id);
      expect(restored.body.deleted_at).toBeUndefined();
    });

    it('answers 404 for a child of another threat model, for unknown models and unknown ids', async () => {
      const tmA = await sharedModel(world(), 'A');
      const tmB = await sharedModel(world(), 'B');
      const item = await create(tmA);
      const foreign = `${base(tmB)}/${item.id}`;
      for (const [method, url, body, contentType] of [
        ['GET', foreign],
        ['PUT', foreign, c.replacement],
        ['PATCH', foreign, [{ op: 'replace', path: '/name', value: 'x' }], PATCH],
        ['DELETE', foreign],
        ['POST', `${foreign}/restore`],
        ['GET', `${foreign}/metadata`],
        ['GET', `${foreign}/audit_trail`],
        ['GET', `${base(tmA)}/00000000-0000-4000-8000-000000000000`],
      ] as [string, string, unknown?, string?][]) {
        const res = await call(app(), method, url, { token: tok('owner'), body, contentType });
        expect(res.status, `${method} ${url}`).toBe(404);
        expect(errorOf(res).error).toBe('not_found');
      }
      const missingModel = await call(app(), 'POST', base('00000000-0000-4000-8000-000000000000'), { token: tok('owner'), body: c.sample(1) });
      expect(missingModel.status).toBe(404);
      // A body the service refuses (a field the server sets) still answers the target's 404 or 403 first.
      const serverField = { ...c.sample(1), alias: 7 };
      expect((await call(app(), 'POST', base('00000000-0000-4000-8000-000000000000'), { token: tok('owner'), body: serverField })).status).toBe(404);
      expect((await call(app(), 'POST', base(tmA), { token: tok('reader'), body: serverField })).status).toBe(403);
      expect((await call(app(), 'PUT', `${base(tmA)}/00000000-0000-4000-8000-000000000000`, { token: tok('owner'), body: { ...c.replacement, alias: 7 } })).status).toBe(404);
      expect((await call(app(), 'POST', base(tmA), { token: tok('owner'), body: serverField })).status).toBe(400);
      const badId = await call(app(), 'GET', `${base(tmA)}/not-a-uuid`, { token: tok('owner') });
      expect(badId.status).toBe(400);
      expect(errorOf(badId).error).toBe('invalid_id');
      expect((await call(app(), 'GET', `${base(tmA)}/${item.id}`, { token: tok('owner') })).body.name).toBe(item.name);
    });
  });

  describe(`${c.segment}: create, read, list`, () => {
    it('creates with per-model aliases, defaults and server fields', async () => {
      const tm = await sharedModel(world());
      const first = await create(tm, 1);
      const second = await create(tm, 2);
      expect(first.alias).toBe(1);
      expect(second.alias).toBe(2);
      expect(first).toMatchObject({ include_in_report: true, timmy_enabled: true, metadata: [] });
      expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(new Date(first.created_at).toISOString()).toBe(first.created_at);
      expect(first.deleted_at).toBeUndefined();
      if (c.versioned) expect(first.version).toBe(1);
      else expect(first.version).toBeUndefined();
      const other = await sharedModel(world());
      expect((await create(other, 1)).alias).toBe(1);
      const got = await call(app(), 'GET', `${base(tm)}/${first.id}`, { token: tok('reader') });
      expect(got.body).toEqual(first);
      if (c.versioned) expect(got.headers.etag).toBe('"1"');
    });

    it('lists newest first with paging and the envelope of the reference', async () => {
      const tm = await sharedModel(world());
      const made = [];
      for (let i = 1; i <= 3; i++) made.push(await create(tm, i));
      const page = await call(app(), 'GET', `${base(tm)}?limit=2&offset=0`, { token: tok('reader') });
      expect(page.status).toBe(200);
      expect(page.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
      expect(page.body[c.listKey].map((x: { id: string }) => x.id)).toEqual([made[2]!.id, made[1]!.id]);
      for (const k of c.listOmits ?? []) expect(page.body[c.listKey][0][k]).toBeUndefined();
      const rest = await call(app(), 'GET', `${base(tm)}?limit=2&offset=2`, { token: tok('reader') });
      expect(rest.body[c.listKey].map((x: { id: string }) => x.id)).toEqual([made[0]!.id]);
      const beyond = await call(app(), 'GET', `${base(tm)}?offset=10`, { token: tok('reader') });
      expect(beyond.body).toMatchObject({ [c.listKey]: [], total: 3 });
      for (const q of ['limit=0', 'limit=101', 'offset=-1', 'limit=abc']) {
        const bad = await call(app(), 'GET', `${base(tm)}?${q}`, { token: tok('reader') });
        expect(bad.status, q).toBe(400);
        errorOf(bad);
      }
    });

    it('refuses bad bodies with 400 (or 415) and writes nothing', async () => {
      const tm = await sharedModel(world());
      const item = await create(tm);
      const bodies: unknown[] = [
        { ...c.sample(9), id: '00000000-0000-4000-8000-000000000001' },
        { ...c.sample(9), alias: 5 },
        { ...c.sample(9), created_at: '2024-01-01T00:00:00Z' },
        { ...c.sample(9), name: 42 },
        { ...c.sample(9), name: 'x'.repeat(257) },
        { ...c.sample(9), name: '<script>alert(1)</script>' },
        { ...c.sample(9), description: 'see javascript:alert(1)' },
        { ...c.sample(9), description: 'img onerror=alert(1)' },
        { ...c.sample(9), description: 'x'.repeat(2049) },
        { ...c.sample(9), include_in_report: 'yes' },
        [c.sample(9)],
        ...c.invalid,
      ];
      for (const body of bodies) {
        const res = await call(app(), 'POST', base(tm), { token: tok('owner'), body });
        expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(400);
        errorOf(res);
        const put = await call(app(), 'PUT', `${base(tm)}/${item.id}`, { token: tok('owner'), body });
        expect(put.status, `PUT ${JSON.stringify(body).slice(0, 200)}`).toBe(400);
      }
      for (const raw of ['{"name":', `${JSON.stringify(c.sample(9))} x`, '{"name":"a","name":"b"}']) {
        const res = await call(app(), 'POST', base(tm), { token: tok('owner'), raw });
        expect(res.status, raw).toBe(400);
        errorOf(res);
      }
      const wrongType = await call(app(), 'POST', base(tm), { token: tok('owner'), raw: 'name=x', contentType: 'text/plain' });
      expect(wrongType.status).toBe(415);
      expect(await count(tm, true)).toBe(1);
      const after = await call(app(), 'GET', `${base(tm)}/${item.id}`, { token: tok('owner') });
      expect(after.body).toEqual(item);
    });
  });

  describe(`${c.segment}: replace, patch, delete, restore`, () => {
    it('PUT replaces every writable field and keeps server fields', async () => {
      const tm = await sharedModel(world());
      const item = await create(tm);
      const res = await call(app(), 'PUT', `${base(tm)}/${item.id}`, { token: tok('writer'), body: c.replacement });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ id: item.id, alias: item.alias, created_at: item.created_at });
      for (const [k, v] of Object.entries(c.replacement)) if (k !== 'content') expect(res.body[k], k).toEqual(v);
      if (c.versioned) {
        expect(res.body.version).toBe(2);
        expect(res.headers.etag).toBe('"2"');
        // No If-Match: last writer wins, and the response says that is deprecated (as the reference).
        expect(res.headers.deprecation).toBe('true');
        expect(res.headers.warning).toContain('If-Match');
      }
      const got = await call(app(), 'GET', `${base(tm)}/${item.id}`, { token: tok('reader') });
      expect(got.body).toEqual(res.body);
    });

    if (c.versioned) {
      it('honours If-Match: stale is 409 version_mismatch and nothing changes; current or * succeeds', async () => {
        const tm = await sharedModel(world());
        const item = await create(tm);
        const url = `${base(tm)}/${item.id}`;
        const stale = await call(app(), 'PUT', url, { token: tok('owner'), body: c.replacement, headers: { 'if-match': '"7"' } });
        expect(stale.status).toBe(409);
        expect(errorOf(stale).error).toBe('version_mismatch');
        expect(stale.headers.deprecation).toBeUndefined();
        const stalePatch = await call(app(), 'PATCH', url, {
          token: tok('owner'),
          body: [{ op: 'replace', path: '/name', value: 'Changed' }],
          contentType: PATCH,
          headers: { 'if-match': 'W/"3"' },
        });
        expect(stalePatch.status).toBe(409);
        expect((await call(app(), 'GET', url, { token: tok('owner') })).body).toEqual(item);
        const ok = await call(app(), 'PUT', url, { token: tok('owner'), body: c.replacement, headers: { 'if-match': '"1"' } });
        expect(ok.status).toBe(200);
        expect(ok.headers.etag).toBe('"2"');
        expect(ok.headers.deprecation).toBeUndefined();
        const any = await call(app(), 'PATCH', url, {
          token: tok('owner'),
          body: [{ op: 'replace', path: '/name', value: 'Changed' }],
          contentType: PATCH,
          headers: { 'if-match': '*' },
        });
        expect(any.status).toBe(200);
        expect(any.body.version).toBe(3);
        expect(any.headers.deprecation).toBeUndefined();
        const missing = await call(app(), 'PUT', `${base(tm)}/00000000-0000-4000-8000-000000000000`, { token: tok('owner'), body: c.replacement });
        expect(missing.status).toBe(404);
        expect(missing.headers.deprecation).toBeUndefined();
        const bad = await call(app(), 'PUT', url, { token: tok('owner'), body: c.replacement, headers: { 'if-match': 'abc' } });
        expect(bad.status).toBe(400);
      });
    }

    it('PATCH applies RFC 6902 to writable fields and refuses read-only ones, bad media types and invalid results', async () => {
      const tm = await sharedModel(world());
      const item = await create(tm);
      const url = `${base(tm)}/${item.id}`;
      const patch = (body: unknown, contentType = PATCH) => call(app(), 'PATCH', url, { token: tok('writer'), body, contentType });
      const ok = await patch([
        { op: 'replace', path: '/name', value: 'Patched name' },
        { op: 'add', path: '/description', value: 'added' },
        { op: 'test', path: '/name', value: 'Patched name' },
      ]);
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body).toMatchObject({ name: 'Patched name', description: 'added' });
      const removed = await patch([{ op: 'remove', path: '/description' }]);
      expect(removed.status).toBe(200);
      expect(removed.body.description).toBeNull();
      const current = removed.body;
      for (const [body, status] of [
        [[{ op: 'replace', path: '/id', value: '00000000-0000-4000-8000-000000000000' }], 400],
        [[{ op: 'replace', path: '/alias', value: 9 }], 400],
        [[{ op: 'replace', path: '/created_at', value: '2020-01-01T00:00:00Z' }], 400],
        [[{ op: 'replace', path: '/modified_at', value: '2020-01-01T00:00:00Z' }], 400],
        [[{ op: 'remove', path: '/name' }], 400],
        [[{ op: 'replace', path: '/name', value: 'x'.repeat(300) }], 400],
        [[{ op: 'replace', path: '/name', value: '<b>x</b>' }], 400],
        [[{ op: 'replace', path: '/description', value: 'javascript:alert(1)' }], 400],
        [[{ op: 'replace', path: '/include_in_report', value: 'no' }], 400],
        [[{ op: 'frobnicate', path: '/name', value: 'x' }], 400],
        [[{ op: 'replace', path: '/name' }], 400],
        [[], 400],
        [{ op: 'replace', path: '/name', value: 'x' }, 400],
        [[{ op: 'test', path: '/name', value: 'not it' }, { op: 'replace', path: '/name', value: 'y' }], 409],
      ] as [unknown, number][]) {
        const res = await patch(body);
        expect(res.status, JSON.stringify(body)).toBe(status);
        errorOf(res);
      }
      const json = await patch([{ op: 'replace', path: '/name', value: 'x' }], 'application/json');
      expect(json.status).toBe(415);
      expect((await call(app(), 'GET', url, { token: tok('owner') })).body).toEqual(current);
    });

    it('soft-deletes: gone from get, list, counts and the embedded model; include_deleted for owners only', async () => {
      const tm = await sharedModel(world());
      const keep = await create(tm, 1);
      const gone = await create(tm, 2);
      const url = `${base(tm)}/${gone.id}`;
      expect((await call(app(), 'DELETE', url, { token: tok('writer') })).status).toBe(204);
      expect((await call(app(), 'GET', url, { token: tok('owner') })).status).toBe(404);
      expect((await call(app(), 'DELETE', url, { token: tok('owner') })).status).toBe(404);
      expect((await call(app(), 'PUT', url, { token: tok('owner'), body: c.replacement })).status).toBe(404);
      const list = await call(app(), 'GET', base(tm), { token: tok('owner') });
      expect(list.body.total).toBe(1);
      expect(list.body[c.listKey].map((x: { id: string }) => x.id)).toEqual([keep.id]);
      const model = await call(app(), 'GET', `/threat_models/${tm}`, { token: tok('reader') });
      expect(model.body[c.listKey].map((x: { id: string }) => x.id)).toEqual([keep.id]);
      const countKey = { threats: 'threat_count', assets: 'asset_count', documents: 'document_count', notes: 'note_count', repositories: 'repo_count' }[c.segment]!;
      const listed = await call(app(), 'GET', '/threat_models?limit=100', { token: tok('reader') });
      expect(listed.body.threat_models.find((m: { id: string }) => m.id === tm)[countKey]).toBe(1);

      const withDeleted = await call(app(), 'GET', `${base(tm)}?include_deleted=true`, { token: tok('owner') });
      expect(withDeleted.body.total).toBe(2);
      const tomb = withDeleted.body[c.listKey].find((x: { id: string }) => x.id === gone.id);
      expect(typeof tomb.deleted_at).toBe('string');
      for (const u of ['writer', 'reader'] as const) {
        const denied = await call(app(), 'GET', `${base(tm)}?include_deleted=true`, { token: tok(u) });
        expect(denied.status).toBe(403);
      }
    });

    it('restores: 409 when not deleted or when the model is deleted; cascades with the model', async () => {
      const tm = await sharedModel(world());
      const item = await create(tm);
      const url = `${base(tm)}/${item.id}`;
      const notDeleted = await call(app(), 'POST', `${url}/restore`, { token: tok('owner') });
      expect(notDeleted.status).toBe(409);
      expect(errorOf(notDeleted).error).toBe('conflict');
      expect((await call(app(), 'DELETE', url, { token: tok('owner') })).status).toBe(204);
      expect((await call(app(), 'DELETE', `/threat_models/${tm}`, { token: tok('owner') })).status).toBe(204);
      const parentGone = await call(app(), 'POST', `${url}/restore`, { token: tok('owner') });
      expect(parentGone.status).toBe(409);
      expect(errorOf(parentGone).error_description).toContain('parent threat model is deleted');
      expect((await call(app(), 'GET', base(tm), { token: tok('owner') })).status).toBe(404);
      const back = await call(app(), 'POST', `/threat_models/${tm}/restore`, { token: tok('owner') });
      expect(back.status).toBe(200);
      // Deleted before the model was: stays deleted until restored on its own.
      expect((await call(app(), 'GET', url, { token: tok('owner') })).status).toBe(404);
      const restored = await call(app(), 'POST', `${url}/restore`, { token: tok('owner') });
      expect(restored.status).toBe(200);
      expect((await call(app(), 'GET', url, { token: tok('reader') })).status).toBe(200);
    });
  });

  if (c.bulkLimit) {
    const limit = c.bulkLimit;
    describe(`${c.segment}: bulk`, () => {
      it('creates up to the limit all at once, honouring client ids; refuses oversize, empty and partly invalid batches whole', async () => {
        const tm = await sharedModel(world());
        const clientId = randomUUID();
        const ok = await call(app(), 'POST', `${base(tm)}/bulk`, { token: tok('writer'), body: [{ ...c.sample(1), id: clientId }, c.sample(2)] });
        expect(ok.status, ok.text).toBe(201);
        expect(ok.body).toHaveLength(2);
        expect(ok.body[0].id).toBe(clientId);
        expect(ok.body.map((x: { alias: number }) => x.alias)).toEqual([1, 2]);
        for (const body of [[], Array.from({ length: limit + 1 }, (_, i) => c.sample(i)), [c.sample(3), { ...c.sample(4), name: 7 }], [{ ...c.sample(5), id: clientId }]]) {
          const res = await call(app(), 'POST', `${base(tm)}/bulk`, { token: tok('writer'), body });
          expect([400, 409], `batch of ${(body as unknown[]).length}`).toContain(res.status);
          errorOf(res);
        }
        expect((await call(app(), 'POST', `${base(tm)}/bulk`, { token: tok('reader'), body: [c.sample(6)] })).status).toBe(403);
        expect(await count(tm, true)).toBe(2);
        const full = await call(app(), 'POST', `${base(tm)}/bulk`, { token: tok('writer'), body: Array.from({ length: limit }, (_, i) => c.sample(i)) });
        expect(full.status).toBe(201);
        expect(await count(tm)).toBe(2 + limit);
      });

      it(`PUT bulk ${c.bulkUpsert ? 'upserts' : 'updates existing items only'}, all or nothing`, async () => {
        const tm = await sharedModel(world());
        const a = await create(tm, 1);
        const newId = randomUUID();
        const res = await call(app(), 'PUT', `${base(tm)}/bulk`, {
          token: tok('writer'),
          body: [{ ...c.replacement, id: a.id }, { ...c.sample(2), id: newId }],
        });
        if (c.bulkUpsert) {
          expect(res.status, res.text).toBe(200);
          expect(res.body.map((x: { id: string }) => x.id)).toEqual([a.id, newId]);
          expect(res.body[0].name).toBe(c.replacement.name);
          expect(await count(tm)).toBe(2);
        } else {
          expect(res.status).toBe(404);
          expect((await call(app(), 'GET', `${base(tm)}/${a.id}`, { token: tok('owner') })).body).toEqual(a);
          const ok = await call(app(), 'PUT', `${base(tm)}/bulk`, { token: tok('writer'), body: [{ ...c.replacement, id: a.id }] });
          expect(ok.status).toBe(200);
          expect(ok.body[0].name).toBe(c.replacement.name);
        }
        const other = await sharedModel(world());
        const foreign = await call(app(), 'PUT', `${base(other)}/bulk`, { token: tok('owner'), body: [{ ...c.replacement, id: a.id }] });
        expect([404, 409]).toContain(foreign.status);
        const missingId = await call(app(), 'PUT', `${base(tm)}/bulk`, { token: tok('owner'), body: [c.replacement] });
        expect(missingId.status).toBe(400);
      });
    });
  }

  describe(`${c.segment}: audit`, () => {
    it('records who changed what for every single-item change', async () => {
      const tm = await sharedModel(world());
      const item = await create(tm, 1, 'writer');
      const url = `${base(tm)}/${item.id}`;
      await call(app(), 'PUT', url, { token: tok('owner'), body: c.replacement });
      await call(app(), 'PATCH', url, { token: tok('owner'), body: [{ op: 'replace', path: '/name', value: 'P' }], contentType: PATCH });
      await call(app(), 'DELETE', url, { token: tok('owner') });
      await call(app(), 'POST', `${url}/restore`, { token: tok('owner') });
      const trail = await call(app(), 'GET', `${url}/audit_trail`, { token: tok('reader') });
      expect(trail.status).toBe(200);
      expect(trail.body.total).toBe(5);
      expect(trail.body.audit_entries.map((e: { change_type: string }) => e.change_type)).toEqual(['restored', 'deleted', 'patched', 'updated', 'created']);
      const created = trail.body.audit_entries[4];
      expect(created.actor).toMatchObject({ email: world().writer.email, provider: 'tmi', provider_id: world().writer.user });
      expect(created.object_id).toBe(item.id);
    });

    // A create, and a replacement by a writer this instance has seen write before, write their
    // audit entry in the same statement, with the state they predict (the database adds what it
    // decides): the state recorded must be the state answered, and what GET answers after.
    it('records as the created and the replaced state exactly what the write and then GET answer, single and bulk', async () => {
      const tm = await sharedModel(world());
      const created = [await create(tm, 1, 'writer')];
      if (c.bulkLimit) {
        const bulk = await call(app(), 'POST', `${base(tm)}/bulk`, { token: tok('writer'), body: [c.sample(2), c.sample(3)] });
        expect(bulk.status, bulk.text).toBe(201);
        created.push(...bulk.body);
      }
      if (c.bulkUpsert) {
        const upsert = await call(app(), 'PUT', `${base(tm)}/bulk`, { token: tok('writer'), body: [{ ...c.replacement, id: randomUUID() }] });
        expect(upsert.status, upsert.text).toBe(200);
        created.push(...upsert.body);
      }
      for (const item of created) {
        expect(await createdSnapshot(world(), item.id)).toEqual(item);
        expect((await call(app(), 'GET', `${base(tm)}/${item.id}`, { token: tok('reader') })).body).toEqual(item);
      }
      const url = `${base(tm)}/${created[0]!.id}`;
      const replaced = await call(app(), 'PUT', url, { token: tok('writer'), body: c.replacement });
      expect(replaced.status, replaced.text).toBe(200);
      const [updated] = await world().t.ctx.db.query<{ snapshot: unknown }>(`SELECT snapshot FROM audit_entries WHERE object_id = $1 AND change_type = 'updated'`, [created[0]!.id]);
      expect(updated?.snapshot).toEqual(replaced.body);
      expect((await call(app(), 'GET', url, { token: tok('reader') })).body).toEqual(replaced.body);
    });
  });
}

/** The state the audit trail recorded for the create of object `id`. */
export async function createdSnapshot(w: World, id: string): Promise<unknown> {
  const rows = await w.t.ctx.db.query<{ snapshot: unknown }>(`SELECT snapshot FROM audit_entries WHERE object_id = $1 AND change_type = 'created'`, [id]);
  expect(rows).toHaveLength(1);
  return rows[0]!.snapshot;
}
