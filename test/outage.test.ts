// Outages of PostgreSQL and Redis under load (issue 8, item 14). The file starts a PostgreSQL
// cluster and a Redis server of its own on free ports (whatever back end the rest of the suite
// uses) and two TMI server processes on them, then stops and restarts each service while clients
// write. While a service is down no process dies, requests that need it get 503 with Retry-After
// and the error envelope (never a 500), GET / says which part is down, and once the service is
// back everything works again without a restart and every write that was acknowledged is there.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opRequest, processNode, WsClient } from './collab-support.ts';
import { signInOverHttp, startServerProcess, type ServerProcess } from './support/process.ts';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './support/private-services.ts';
import { sleep, until } from './support/until.ts';
import { WriteLoad, type Outcome } from './support/write-load.ts';

let pgServer: PrivatePostgres;
let redis: PrivateRedis;
const servers: ServerProcess[] = [];
const bases: string[] = [];
let token: string;
let tmId: string;

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  const env = {
    TMI_BUILD_MODE: 'test',
    TMI_JWT_SECRET: randomBytes(32).toString('hex'),
    TMI_DATABASE_URL: pgServer.url,
    TMI_REDIS_URL: redis.url,
    // The collaboration sweep (heartbeat, recovery after an outage) four times a second: the
    // collaboration test below sees four sweeps fail during an outage of one second.
    TMI_COLLAB_SWEEP_MS: '250',
  };
  // One after the other: both would run the migrations at once otherwise (they are serialised,
  // but the second would only wait).
  for (let i = 0; i < 2; i++) {
    const server = await startServerProcess(env);
    servers.push(server);
    bases.push(`http://127.0.0.1:${server.port}`);
  }
  token = await signInOverHttp(servers[0]!.port, `outage-${randomBytes(3).toString('hex')}`);
  tmId = (await api(bases[0]!, 'POST', '/threat_models', { token, body: { name: 'Outages' } })).body.id;
}, 120_000);

afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await Promise.all([pgServer?.destroy(), redis?.destroy()]);
});

async function api(base: string, method: string, url: string, o: { token?: string; body?: unknown; form?: Record<string, string> } = {}) {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  } else if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.body);
  }
  const res = await fetch(`${base}${url}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
}

/** 503, Retry-After in whole seconds, and the reference's envelope with the given description. */
function expectUnavailable(res: { status: number; body: any; retryAfter: string | null }, description: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(503);
  expect(res.retryAfter).toMatch(/^\d+$/);
  expect(res.body).toEqual({ error: 'service_unavailable', error_description: expect.stringMatching(description) });
}

/** A sign-in through the development provider, as far as the code (for exchanging later). */
async function authorizationCode(base: string, user: string): Promise<{ code: string; verifier: string }> {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({ idp: 'tmi', login_hint: user, client_callback: 'http://localhost:8079/', scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256' });
  const res = await fetch(`${base}/oauth2/authorize?${q}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return { code: new URL(res.headers.get('location')!).searchParams.get('code')!, verifier };
}

const exchange = (base: string, c: { code: string; verifier: string }) =>
  api(base, 'POST', '/oauth2/token?idp=tmi', { body: { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: 'http://localhost:8079/' } });

/** What the writers saw: only 2xx and 503 (with Retry-After and the envelope); never a 500 or no answer. */
function expectOnlySuccessOr503(outcomes: Outcome[]) {
  const bad = outcomes.filter((o) => !(o.status >= 200 && o.status < 300) && !(o.status === 503 && o.envelope && o.error === 'service_unavailable' && /^\d+$/.test(o.retryAfter ?? '')));
  expect(bad.slice(0, 5), `${bad.length} answers other than 2xx or a proper 503`).toEqual([]);
}

function expectProcessesAlive() {
  for (const s of servers) expect(s.child.exitCode, s.stdout().slice(-3000)).toBeNull();
}

/** Nothing reached the last line of defence, and nothing but the sign-in route logged an error. */
function expectCleanLogs() {
  for (const s of servers) {
    expect(s.stdout()).not.toMatch(/uncaught exception|unhandled promise rejection/);
    const errors = s.stdout().split('\n').filter((l) => /"level":(50|60)/.test(l) && !l.includes('"msg":"authorization could not start"'));
    expect(errors.slice(0, 3)).toEqual([]);
  }
}

const health = async (base: string) => (await api(base, 'GET', '/')).body;

describe.sequential('outages of PostgreSQL and Redis', () => {
  it('PostgreSQL stopped under load: both instances live, 503 with Retry-After while down, recovery without a restart, no acknowledged write lost', async () => {
    const load = await WriteLoad.prepare(bases, token, tmId, 4);
    load.start();
    await until(() => load.created.size >= 8, 10_000, 'writes before the outage');

    await pgServer.stop('fast');
    const downAt = Date.now();
    await until(() => load.outcomes.some((o) => o.at > downAt && o.status !== 201 && o.status !== 200), 5000, 'writers notice the outage');
    await sleep(500);
    expectProcessesAlive();
    expectUnavailable(await api(bases[1]!, 'POST', `/threat_models/${tmId}/threats`, { token, body: { name: 'during', threat_type: [] } }), /^Storage service temporarily unavailable/);
    for (const base of bases) {
      const h = await health(base);
      expect(h.status.code).toBe('degraded');
      expect(h.health.database).toMatchObject({ status: 'unhealthy', message: 'Database cannot be reached' });
      expect(h.health.redis.status).toBe('healthy');
    }
    // Down for two seconds in all, the writers turned away all the while. Nothing in the server
    // changes with the length of the outage: a stopped cluster refuses connections at once (the
    // connect timeout does not come into it), and the outage is logged once, at its start.
    await sleep(Math.max(0, 2000 - (Date.now() - downAt)));
    expectProcessesAlive();

    const startingAt = Date.now();
    await pgServer.start();
    await until(() => load.allWritersSucceededSince(startingAt), 15_000, 'every writer succeeds after PostgreSQL is back');
    await sleep(1000);
    await load.stop();

    expectProcessesAlive();
    expectOnlySuccessOr503(load.outcomes);
    const during = load.outcomes.filter((o) => o.at > downAt + 500 && o.at < startingAt);
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((o) => o.status === 503)).toBe(true);
    // The last second: everything succeeds again, on both instances.
    const last = load.outcomes.filter((o) => o.at > Date.now() - 800);
    expect(last.length).toBeGreaterThan(0);
    expect(last.every((o) => o.status >= 200 && o.status < 300)).toBe(true);
    const { checked, lost } = await load.lostWrites(bases[0]!);
    expect(checked).toBeGreaterThan(8);
    expect(lost).toEqual([]);
    for (const base of bases) expect((await health(base)).status.code).toBe('ok');
    for (const s of servers) {
      expect(s.stdout()).toContain('"msg":"database unreachable: requests that need it get 503 until it is back"');
      expect(s.stdout()).toContain('"msg":"database reachable again"');
    }
    expectCleanLogs();
  }, 90_000);

  it('a collaboration session across a PostgreSQL outage: acknowledged edits kept, edits during it refused without closing, editing carries on after it', async () => {
    const other = `outage-${randomBytes(3).toString('hex')}`;
    const otherToken = await signInOverHttp(servers[1]!.port, other);
    const tm = await api(bases[0]!, 'POST', '/threat_models', { token, body: { name: 'Collab outage', authorization: [{ principal_type: 'user', provider: 'tmi', provider_id: other, role: 'writer' }] } });
    const d = await api(bases[0]!, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token, body: { name: 'D', type: 'DFD-1.0.0' } });
    const session = await api(bases[0]!, 'POST', `/threat_models/${tm.body.id}/diagrams/${d.body.id}/collaborate`, { token, body: {} });
    const connect = async (i: number, t: string) => {
      const ticket = await api(bases[i]!, 'GET', `/ws/ticket?session_id=${session.body.session_id}`, { token: t });
      const c = WsClient.connect(`${bases[i]!.replace('http', 'ws')}/threat_models/${tm.body.id}/diagrams/${d.body.id}/ws?session_id=${session.body.session_id}&ticket=${ticket.body.ticket}`);
      await c.opened;
      await c.type('diagram_state');
      return c;
    };
    const c1 = await connect(0, token);
    const c2 = await connect(1, otherToken);
    await c1.next((m) => m.message_type === 'participants_update' && m.participants.length === 2);
    const seen = (c: WsClient, id: string) => c.messages.some((m) => m.message_type === 'diagram_operation_event' && m.operation_id === id);

    const before = processNode();
    c1.send(opRequest([{ id: before.id, operation: 'add', data: before }], before.id));
    await until(() => seen(c1, before.id) && seen(c2, before.id), 5000, 'the edit before the outage reaches both instances');

    await pgServer.stop('fast');
    const during = processNode();
    c1.send(opRequest([{ id: during.id, operation: 'add', data: during }], during.id));
    const refused = await c1.next((m) => m.message_type === 'error', 10_000);
    expect(refused).toMatchObject({ error: 'validation_error', code: 'server_error' });
    // Four sweeps of collaboration upkeep meet the outage; none closes a socket.
    await sleep(1000);
    expect(c1.closed).toBeNull();
    expect(c2.closed).toBeNull();
    expectProcessesAlive();

    const mark = c2.messages.length;
    await pgServer.start();
    const upAt = Date.now();
    // The instances put their participant lists right once the store answers again.
    await until(() => c2.messages.slice(mark).some((m) => m.message_type === 'participants_update' && m.participants.length === 2), 10_000, 'participants announced again');
    // The edit refused during the outage is re-sent, as a client would (re-sending an operation id
    // that did commit is harmless: it is acknowledged again, not applied twice).
    const after = processNode();
    for (const cell of [during, after]) {
      while (!seen(c1, cell.id)) {
        if (Date.now() - upAt > 15_000) throw new Error('edits are not accepted again');
        c1.send(opRequest([{ id: cell.id, operation: 'add', data: cell }], cell.id));
        await until(() => seen(c1, cell.id), 500, 'acknowledged').catch(() => undefined);
      }
    }
    await until(() => seen(c2, during.id) && seen(c2, after.id), 5000, 'the other instance delivers them');
    expect(Date.now() - upAt).toBeLessThan(15_000);

    const stored = await api(bases[1]!, 'GET', `/threat_models/${tm.body.id}/diagrams/${d.body.id}`, { token: otherToken });
    expect((stored.body.cells as { id: string }[]).map((c) => c.id)).toEqual([before.id, during.id, after.id]);
    c1.close();
    c2.close();
    expectProcessesAlive();
    expectCleanLogs();
  }, 90_000);

  it('Redis stopped under load: sign-in, refresh, logout, revocation and authenticated requests get 503 while down; all recover without a restart', async () => {
    const user = `outage-${randomBytes(3).toString('hex')}`;
    const early = await authorizationCode(bases[0]!, user);
    const signedIn = await exchange(bases[0]!, await authorizationCode(bases[0]!, user));
    expect(signedIn.status).toBe(200);
    const load = await WriteLoad.prepare(bases, token, tmId, 4);
    load.start();
    await until(() => load.created.size >= 8, 10_000, 'writes before the outage');

    await redis.stop();
    const downAt = Date.now();
    // A token found valid is trusted for two seconds without asking the store again; after that,
    // authenticated requests need Redis for the revocation check (asserted below, with the rest).
    await until(async () => (await api(bases[1]!, 'GET', '/threat_models', { token })).status === 503, 5000, 'the trusted token checked against the store again');
    const cache = /^(Cache|Authentication|Sign-in is) .*temporarily unavailable/;
    expectUnavailable(await api(bases[0]!, 'GET', `/oauth2/authorize?idp=tmi&login_hint=${user}&client_callback=http://localhost:8079/&scope=openid&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`), cache);
    expectUnavailable(await exchange(bases[1]!, early), cache);
    expectUnavailable(await api(bases[0]!, 'POST', '/oauth2/refresh', { body: { refresh_token: signedIn.body.refresh_token } }), cache);
    expectUnavailable(await api(bases[1]!, 'POST', '/oauth2/revoke', { token: signedIn.body.access_token, form: { token: signedIn.body.access_token } }), cache);
    expectUnavailable(await api(bases[0]!, 'POST', '/me/logout', { token: signedIn.body.access_token }), cache);
    expectUnavailable(await api(bases[1]!, 'GET', '/threat_models', { token }), cache);
    for (const base of bases) {
      const h = await health(base);
      expect(h.status.code).toBe('degraded');
      expect(h.health.redis).toMatchObject({ status: 'unhealthy', message: 'Redis cannot be reached' });
      expect(h.health.database.status).toBe('healthy');
    }
    expectProcessesAlive();

    const startingAt = Date.now();
    await redis.start();
    await until(() => load.allWritersSucceededSince(startingAt), 15_000, 'every writer succeeds after Redis is back');
    await sleep(1000);
    await load.stop();

    expectProcessesAlive();
    expectOnlySuccessOr503(load.outcomes);
    expect(load.outcomes.some((o) => o.at > downAt && o.at < startingAt && o.status === 503)).toBe(true);
    const last = load.outcomes.filter((o) => o.at > Date.now() - 800);
    expect(last.length).toBeGreaterThan(0);
    expect(last.every((o) => o.status >= 200 && o.status < 300)).toBe(true);
    const { checked, lost } = await load.lostWrites(bases[1]!);
    expect(checked).toBeGreaterThan(8);
    expect(lost).toEqual([]);

    // This Redis keeps nothing across a restart (no persistence), so sessions begin anew: sign-in,
    // refresh, revocation and logout all work again, on both instances.
    const again = await exchange(bases[1]!, await authorizationCode(bases[0]!, user));
    expect(again.status).toBe(200);
    const refreshed = await api(bases[0]!, 'POST', '/oauth2/refresh', { body: { refresh_token: again.body.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect((await api(bases[1]!, 'POST', '/oauth2/revoke', { token: refreshed.body.access_token, form: { token: again.body.access_token } })).status).toBe(200);
    expect((await api(bases[0]!, 'GET', '/me', { token: again.body.access_token })).status).toBe(401);
    expect((await api(bases[0]!, 'POST', '/me/logout', { token: refreshed.body.access_token })).status).toBe(204);
    expect((await api(bases[1]!, 'GET', '/me', { token: refreshed.body.access_token })).status).toBe(401);
    for (const base of bases) expect((await health(base)).status.code).toBe('ok');
    for (const s of servers) {
      expect(s.stdout()).toContain('"msg":"redis unreachable: requests that need it get 503 until it is back"');
      expect(s.stdout()).toContain('"msg":"redis reachable again"');
    }
    expectCleanLogs();
  }, 90_000);
});
