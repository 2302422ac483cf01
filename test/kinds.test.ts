// The kinds of a threat model's children are one list (contract/limits.ts CHILD_KINDS): each kind
// in it has its routes, metadata and audit trail, is embedded in the threat model, counted in the
// list, and deleted and restored with its model; and the modules keep their layers.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_KINDS, type ChildKindName } from '../contract/limits.ts';
import { call, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';

let t: TestApp;
let owner: SignedIn;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signIn(t.app);
});
afterAll(async () => t?.close());

/** A valid create body for one item of each kind. */
const SAMPLE: Record<ChildKindName, Record<string, unknown>> = {
  threats: { name: 'T', threat_type: [] },
  diagrams: { name: 'G', type: 'DFD-1.0.0' },
  documents: { name: 'D', uri: 'https://docs.example/d' },
  repositories: { name: 'R', uri: 'https://git.example/r' },
  notes: { name: 'N', content: 'c' },
  assets: { name: 'A', type: 'data' },
};

const get = (url: string) => call(t.app, 'GET', url, { token: owner.accessToken });

describe('the kinds of a threat model', () => {
  it('each kind has its routes, metadata and audit trail in the API document', async () => {
    const paths = Object.keys((await call(t.app, 'GET', '/openapi.json')).body.paths);
    for (const k of CHILD_KINDS) {
      const item = `/threat_models/{threat_model_id}/${k.name}/{${k.idParam}}`;
      expect(paths, k.name).toEqual(expect.arrayContaining([`/threat_models/{threat_model_id}/${k.name}`, item, `${item}/restore`, `${item}/metadata`, `${item}/metadata/bulk`, `${item}/audit_trail`]));
    }
  });

  it('each kind is embedded, counted, carries metadata, is audited, and goes and comes back with its model', async () => {
    const tm = (await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'Kinds' } })).body.id as string;
    const ids = {} as Record<ChildKindName, string>;
    for (const k of CHILD_KINDS) {
      const res = await call(t.app, 'POST', `/threat_models/${tm}/${k.name}`, { token: owner.accessToken, body: SAMPLE[k.name] });
      expect(res.status, `${k.name}: ${res.text}`).toBe(201);
      ids[k.name] = res.body.id;
      const meta = await call(t.app, 'POST', `/threat_models/${tm}/${k.name}/${ids[k.name]}/metadata`, { token: owner.accessToken, body: { key: 'k', value: k.name } });
      expect(meta.status, `${k.name}: ${meta.text}`).toBe(201);
    }

    const model = (await get(`/threat_models/${tm}`)).body;
    const listed = (await get('/threat_models?limit=100')).body.threat_models.find((m: { id: string }) => m.id === tm);
    for (const k of CHILD_KINDS) {
      expect(model[k.name].map((x: { id: string }) => x.id), k.name).toEqual([ids[k.name]]);
      expect(model[k.name][0].metadata, k.name).toEqual([{ key: 'k', value: k.name }]);
      expect(listed[k.count], k.name).toBe(1);
      const trail = (await get(`/threat_models/${tm}/${k.name}/${ids[k.name]}/audit_trail`)).body;
      expect(trail.audit_entries.map((e: { object_type: string; change_type: string }) => [e.object_type, e.change_type]), k.name).toEqual([
        [k.objectType, 'updated'],
        [k.objectType, 'created'],
      ]);
      expect((await get(`/threat_models/${tm}/audit_trail?object_type=${k.objectType}`)).body.total, k.name).toBe(2);
    }

    expect((await call(t.app, 'DELETE', `/threat_models/${tm}`, { token: owner.accessToken })).status).toBe(204);
    for (const k of CHILD_KINDS) {
      expect((await get(`/threat_models/${tm}/${k.name}/${ids[k.name]}/audit_trail`)).status, k.name).toBe(404);
    }
    expect((await call(t.app, 'POST', `/threat_models/${tm}/restore`, { token: owner.accessToken })).status).toBe(200);
    const back = (await get(`/threat_models/${tm}`)).body;
    for (const k of CHILD_KINDS) expect(back[k.name].map((x: { id: string }) => x.id), k.name).toEqual([ids[k.name]]);
  });
});

const SERVER = path.resolve(import.meta.dirname, '../server');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.ts$/.test(e.name) ? [p] : [];
  });
}

describe('the layers of server/', () => {
  const files = sources(SERVER);
  const relative = (f: string) => path.relative(SERVER, f);

  it('store modules throw no HTTP errors: they return results or throw errors of their own domain', () => {
    const stores = files.filter((f) => path.basename(f) === 'store.ts');
    expect(stores.length).toBeGreaterThan(5);
    expect(stores.filter((f) => /http\/errors\.ts'/.test(readFileSync(f, 'utf8'))).map(relative)).toEqual([]);
  });

  it('only the metadata store touches the metadata table', () => {
    const touching = files.filter((f) => /\b(FROM|INTO|UPDATE|JOIN)\s+metadata\b/.test(readFileSync(f, 'utf8'))).map(relative);
    expect(touching).toEqual(['resources/metadata/store.ts']);
  });

  it('membership rules of the built-in groups are decided in authz/ only', () => {
    const deciding = files.filter((f) => !f.startsWith(path.join(SERVER, 'authz')) && /tmiGroupIds\.includes\(/.test(readFileSync(f, 'utf8'))).map(relative);
    expect(deciding).toEqual([]);
  });
});
