// Logical backup over the REST API: export every threat model a token can read, in the reference's
// JSON (each model as GET /threat_models/{id} returns it, its children complete as their own GETs
// return them, diagrams with their cells), and restore such a file into a server by creating
// everything anew. Works against any server speaking the reference API, whatever its back end.
//
// Restore keeps names, texts, cells (with their ids), metadata, access lists, owners and statuses;
// the server assigns new ids, aliases and timestamps, and threats' links to restored diagrams and
// assets are carried over to the new ids. Fields a create or update accepts are read from the
// target's /openapi.json, so the tool follows the contract rather than a copy of it.

export const BACKUP_FORMAT = 'tmi-backup/1';

/** Child collections of a threat model, in restore order (assets and diagrams before threats). */
const CHILD_KINDS = ['assets', 'diagrams', 'documents', 'notes', 'repositories', 'threats'] as const;
type ChildKind = (typeof CHILD_KINDS)[number];
type Json = Record<string, unknown>;

export interface Backup {
  format: typeof BACKUP_FORMAT;
  exported_at: string;
  source: string;
  threat_models: Json[];
}

export class BackupError extends Error {}

class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(new URL(path, this.base), {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/json-patch+json' : 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      let detail = text.slice(0, 300);
      try {
        const e = JSON.parse(text) as { error?: string; error_description?: string };
        detail = `${e.error ?? ''}: ${e.error_description ?? ''}`;
      } catch {
        /* not JSON */
      }
      throw new BackupError(`${method} ${path} answered ${res.status} (${detail})`);
    }
    return text ? JSON.parse(text) : undefined;
  }
}

function childPath(tmId: string, kind: ChildKind, id?: string): string {
  return `/threat_models/${tmId}/${kind}${id ? `/${id}` : ''}`;
}

/** Every threat model the token can read, complete. */
export async function exportModels(url: string, token: string, log: (line: string) => void = () => undefined): Promise<Backup> {
  const api = new Api(url, token);
  const models: Json[] = [];
  const pageSize = 100;
  for (let offset = 0; ; offset += pageSize) {
    const page = (await api.call('GET', `/threat_models?limit=${pageSize}&offset=${offset}`)) as { threat_models: Json[]; total: number };
    for (const item of page.threat_models) {
      const id = item.id as string;
      const tm = (await api.call('GET', `/threat_models/${id}`)) as Json;
      for (const kind of CHILD_KINDS) {
        const embedded = (tm[kind] as Json[] | undefined) ?? [];
        tm[kind] = await Promise.all(embedded.map((c) => api.call('GET', childPath(id, kind, c.id as string)) as Promise<Json>));
      }
      models.push(tm);
      log(`exported ${id} (${tm.name as string})`);
    }
    if (page.threat_models.length < pageSize || offset + pageSize >= page.total) break;
  }
  return { format: BACKUP_FORMAT, exported_at: new Date().toISOString(), source: url, threat_models: models };
}

/** Property names of the JSON body an operation accepts, from the server's OpenAPI document. */
function bodyFields(openapi: Json, method: string, path: string): Set<string> {
  const op = ((openapi.paths as Json)?.[path] as Json | undefined)?.[method] as Json | undefined;
  const content = (op?.requestBody as Json | undefined)?.content as Record<string, { schema?: Json }> | undefined;
  const schema = content?.['application/json']?.schema;
  const props = (schema?.properties as Json | undefined) ?? {};
  if (!op || !Object.keys(props).length) throw new BackupError(`the server's OpenAPI document has no JSON body for ${method.toUpperCase()} ${path}`);
  return new Set(Object.keys(props));
}

function pick(source: Json, fields: Set<string>, drop: string[] = []): Json {
  return Object.fromEntries(Object.entries(source).filter(([k, v]) => fields.has(k) && !drop.includes(k) && v !== undefined));
}

/** The access list as an input: principal and role, without what the server derives. */
function accessInput(list: unknown): Json[] {
  return ((list as Json[] | undefined) ?? []).map(({ principal_type, provider, provider_id, role }) => ({ principal_type, provider, provider_id, role }));
}

/** Creates every model of the backup anew; returns the new ids by old id. */
export async function restoreModels(url: string, token: string, backup: Backup, log: (line: string) => void = () => undefined): Promise<Map<string, string>> {
  if (backup?.format !== BACKUP_FORMAT || !Array.isArray(backup.threat_models)) throw new BackupError(`not a ${BACKUP_FORMAT} file`);
  const api = new Api(url, token);
  const openapi = (await api.call('GET', '/openapi.json')) as Json;
  const tmFields = bodyFields(openapi, 'post', '/threat_models');
  const created = new Map<string, string>();
  for (const tm of backup.threat_models) {
    const body = pick(tm, tmFields, ['authorization']);
    const newTm = (await api.call('POST', '/threat_models', body)) as Json;
    const tmId = newTm.id as string;
    const ids = new Map<string, string>();
    for (const kind of CHILD_KINDS) {
      const base = `/threat_models/{threat_model_id}/${kind}`;
      const createFields = bodyFields(openapi, 'post', base);
      const idParam = Object.keys((openapi.paths as Json) ?? {}).find((p) => p.startsWith(`${base}/{`) && p.split('/').length === base.split('/').length + 1);
      for (const child of (tm[kind] as Json[] | undefined) ?? []) {
        const source = { ...child };
        for (const link of ['diagram_id', 'asset_id']) {
          if (typeof source[link] === 'string' && ids.has(source[link] as string)) source[link] = ids.get(source[link] as string);
        }
        const made = (await api.call('POST', childPath(tmId, kind), pick(source, createFields))) as Json;
        ids.set(child.id as string, made.id as string);
        // Diagrams are created empty; their cells and the rest come with a full update.
        if (kind === 'diagrams' && idParam) {
          await api.call('PUT', childPath(tmId, kind, made.id as string), pick(source, bodyFields(openapi, 'put', idParam)));
        }
        const metadata = (child.metadata as Json[] | undefined) ?? [];
        if (metadata.length && !createFields.has('metadata')) {
          await api.call('POST', `${childPath(tmId, kind, made.id as string)}/metadata/bulk`, metadata.map(({ key, value }) => ({ key, value })));
        }
      }
    }
    // Last: owner, status and access list as they were. The owner first, so that the access list
    // is then checked against them and the restoring user keeps no access it did not have.
    const owner = tm.owner as Json | undefined;
    const first: Json[] = [];
    if (owner?.provider && owner.provider_id) first.push({ op: 'replace', path: '/owner', value: owner });
    // Only security reviewers may set a status: restore as one to keep statuses that moved on.
    if (typeof tm.status === 'string' && tm.status !== newTm.status) first.push({ op: 'replace', path: '/status', value: tm.status });
    if (first.length) await api.call('PATCH', `/threat_models/${tmId}`, first);
    await api.call('PATCH', `/threat_models/${tmId}`, [{ op: 'replace', path: '/authorization', value: accessInput(tm.authorization) }]);
    created.set(tm.id as string, tmId);
    log(`restored ${tm.id as string} as ${tmId} (${tm.name as string})`);
  }
  return created;
}
