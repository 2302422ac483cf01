// Revocation ends a user's live access everywhere within a second: signing out, refresh-token
// reuse, RFC 7009 revocation and removal from the threat model close that user's collaboration and
// /ws/notifications sockets, on the instance that saw the trigger and on another one; tickets
// obtained before are refused at the upgrade; nothing more reaches the closed sockets; other users
// keep theirs.
//
// The second instance is a second context, hub and HTTP listener on the same database and Redis
// prefix, so it shares the bus as another process would. That needs Redis: the embedded back end
// serves one instance by design (its data folder is locked against a second process, its bus is
// in-process), so without Redis only the first instance's sockets are checked.
import { decodeJwt } from 'jose';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { createContext, type AppContext } from '../server/context.ts';
import { SessionService } from '../server/auth/sessions.ts';
import { forEachAtMost } from '../server/collab/access.ts';
import type { CollabSettings } from '../server/config.ts';
import { call, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';
import { opRequest, processNode, WsClient } from './collab-support.ts';

interface Instance {
  name: string;
  app: FastifyInstance;
  ws: string;
}

// Pings (and the re-checks on them) stay at 30 s, so only the announcement can close a socket in time.
const collab: Partial<CollabSettings> = { maxSocketsPerUser: 10, opsPerSecond: 100 };

let t: TestApp;
let second: { app: FastifyInstance; ctx: AppContext } | undefined;
/** A, and B when there is Redis to share the bus. */
let instances: Instance[];

async function listen(name: string, app: FastifyInstance): Promise<Instance> {
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { name, app, ws: address.replace(/^http/, 'ws') };
}

beforeAll(async () => {
  t = await startTestApp({}, { collab });
  instances = [await listen('A', t.app)];
  if (t.ctx.shared.kind === 'redis') {
    const ctx = await createContext(t.config, { db: t.ctx.db, redisKeyPrefix: t.redisKeyPrefix });
    const app = await buildApp(ctx, { collab });
    second = { app, ctx };
    instances.push(await listen('B', app));
  }
}, 60_000);

afterAll(async () => {
  if (second) {
    await second.app.close();
    await second.ctx.close();
  }
  await t?.close();
});

const share = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });
/** The instance where triggers happen. */
const a = () => instances[0]!;

async function ticket(inst: Instance, token: string, sessionId: string): Promise<string> {
  const res = await call(inst.app, 'GET', `/ws/ticket?session_id=${sessionId}`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.ticket as string;
}

interface Model {
  tm: string;
  d: string;
  sessionId: string;
}

const socketUrl = (inst: Instance, m: Model, tk: string) => `${inst.ws}/threat_models/${m.tm}/diagrams/${m.d}/ws?session_id=${m.sessionId}&ticket=${encodeURIComponent(tk)}`;

async function openCollab(inst: Instance, m: Model, token: string): Promise<WsClient> {
  const c = WsClient.connect(socketUrl(inst, m, await ticket(inst, token, m.sessionId)));
  await c.opened;
  await c.type('diagram_state');
  return c;
}

async function openNotifications(inst: Instance, token: string): Promise<WsClient> {
  const c = WsClient.connect(`${inst.ws}/ws/notifications`, { authorization: `Bearer ${token}` });
  await c.opened;
  return c;
}

/** A model the owner shares with `victim` (writer), with a live collaboration session hosted by the owner. */
async function liveModel(app: FastifyInstance, owner: SignedIn, victim: SignedIn): Promise<Model> {
  const tm = await call(app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'Live', authorization: [share(victim, 'writer')] } });
  const d = await call(app, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token: owner.accessToken, body: { name: 'D', type: 'DFD-1.0.0' } });
  const s = await call(app, 'POST', `/threat_models/${tm.body.id}/diagrams/${d.body.id}/collaborate`, { token: owner.accessToken, body: {} });
  expect(s.status).toBe(201);
  return { tm: tm.body.id, d: d.body.id, sessionId: s.body.session_id };
}

type Sockets = { inst: Instance; collab: WsClient; notes: WsClient }[];

/** A collaboration socket and a notification socket of one token on each instance. */
async function socketsOf(m: Model, token: string, on = instances): Promise<Sockets> {
  const out: Sockets = [];
  for (const inst of on) out.push({ inst, collab: await openCollab(inst, m, token), notes: await openNotifications(inst, token) });
  return out;
}

async function closedWithin(c: WsClient, since: number, code: number, what: string): Promise<void> {
  const closed = await c.waitClosed(1000).catch(() => {
    throw new Error(`${what} still open ${Date.now() - since} ms after the trigger`);
  });
  expect(closed.code, what).toBe(code);
  expect(Date.now() - since, what).toBeLessThan(1000);
}

const opEvents = (c: WsClient, operationId: string) => c.messages.filter((x) => x.message_type === 'diagram_operation_event' && x.operation_id === operationId);
const aboutModel = (c: WsClient, tm: string, from: number) => c.messages.slice(from).filter((x) => x.data?.threat_model_id === tm);

/**
 * The owner's sockets on every instance keep working: an edit and a rename made now reach them,
 * and none of the victim's sockets (from message index `from` on for the notification sockets).
 */
async function othersKeepReceiving(m: Model, owner: SignedIn, ownerSockets: Sockets, victim: WsClient[], victimNotes: { c: WsClient; from: number }[]) {
  const n = processNode();
  const op = opRequest([{ id: n.id, operation: 'add', data: n }]);
  ownerSockets[0]!.collab.send(op);
  for (const s of ownerSockets) await s.collab.next((x) => x.message_type === 'diagram_operation_event' && x.operation_id === op.operation_id);
  const renamed = await call(a().app, 'PATCH', `/threat_models/${m.tm}`, {
    token: owner.accessToken,
    body: [{ op: 'replace', path: '/name', value: 'Renamed' }],
    contentType: 'application/json-patch+json',
  });
  expect(renamed.status).toBe(200);
  for (const s of ownerSockets) await s.notes.next((x) => x.message_type === 'threat_model_updated' && x.data.threat_model_name === 'Renamed');
  // Events are delivered to every socket of an instance in one pass; a short grace covers the rest.
  await new Promise((r) => setTimeout(r, 200));
  for (const c of victim) expect(opEvents(c, op.operation_id)).toEqual([]);
  for (const { c, from } of victimNotes) expect(aboutModel(c, m.tm, from)).toEqual([]);
  for (const s of ownerSockets) {
    expect(s.collab.closed).toBeNull();
    expect(s.notes.closed).toBeNull();
  }
}

function closeAll(...clients: WsClient[]) {
  for (const c of clients) if (!c.closed) c.close();
}

/**
 * Opens the victim's sockets (with `socketToken`) on every instance and a ticket per instance,
 * runs the trigger on the first instance, and checks that all of them end within a second.
 */
async function revocationEndsEverything(victim: SignedIn, socketToken: string, trigger: () => Promise<void>) {
  const owner = await signIn(t.app);
  const m = await liveModel(a().app, owner, victim);
  const ownerSockets = await socketsOf(m, owner.accessToken);
  const victimSockets = await socketsOf(m, socketToken);
  const spare = await Promise.all(instances.map(async (inst) => ({ inst, ticket: await ticket(inst, socketToken, m.sessionId) })));
  const notesFrom = victimSockets.map((s) => ({ c: s.notes, from: s.notes.messages.length }));

  await trigger();
  const at = Date.now();
  await Promise.all([
    ...victimSockets.flatMap((s) => [
      closedWithin(s.collab, at, 4401, `collaboration socket on ${s.inst.name}`),
      closedWithin(s.notes, at, 4401, `notification socket on ${s.inst.name}`),
    ]),
    // At once, without waiting for the closes: the revoked sockets were out of delivery before the
    // trigger's answer (here) and before any later event (elsewhere; the bus keeps a sender's order).
    othersKeepReceiving(
      m,
      owner,
      ownerSockets,
      victimSockets.map((s) => s.collab),
      notesFrom,
    ),
  ]);
  for (const s of victimSockets) expect(s.collab.closed!.reason).toBe('session revoked');
  for (const { inst, ticket: tk } of spare) {
    await expect(WsClient.connect(socketUrl(inst, m, tk)).opened, `ticket on ${inst.name}`).rejects.toThrow('upgrade refused: 401');
  }
  closeAll(...ownerSockets.flatMap((s) => [s.collab, s.notes]));
}

const refresh = (refreshToken: string) => call(a().app, 'POST', '/oauth2/token', { body: { grant_type: 'refresh_token', refresh_token: refreshToken } });

describe('revocation ends live access on every instance within a second', () => {
  it('POST /me/logout closes the user\'s sockets with 4401 everywhere within a second and refuses earlier tickets', async () => {
    const victim = await signIn(t.app);
    await revocationEndsEverything(victim, victim.accessToken, async () => {
      expect((await call(a().app, 'POST', '/me/logout', { token: victim.accessToken })).status).toBe(204);
    });
  });

  it('refresh-token reuse ends the session: sockets opened with a later access token of it close too', async () => {
    const victim = await signIn(t.app);
    const rotated = await refresh(victim.refreshToken);
    expect(rotated.status).toBe(200);
    await revocationEndsEverything(victim, rotated.body.access_token, async () => {
      expect((await refresh(victim.refreshToken)).status).toBe(400);
    });
  });

  it('POST /oauth2/revoke of the refresh token ends the session and its sockets', async () => {
    const victim = await signIn(t.app);
    await revocationEndsEverything(victim, victim.accessToken, async () => {
      const res = await call(a().app, 'POST', '/oauth2/revoke', { token: victim.accessToken, body: { token: victim.refreshToken, token_type_hint: 'refresh_token' } });
      expect(res.status).toBe(200);
    });
  });

  it('POST /oauth2/revoke of one access token closes the sockets it opened, not those of another token of the session', async () => {
    const victim = await signIn(t.app);
    const later = (await refresh(victim.refreshToken)).body.access_token as string;
    const owner = await signIn(t.app);
    const m = await liveModel(a().app, owner, victim);
    const first = await socketsOf(m, victim.accessToken);
    const kept = await socketsOf(m, later);
    const res = await call(a().app, 'POST', '/oauth2/revoke', { token: later, body: { token: victim.accessToken, token_type_hint: 'access_token' } });
    expect(res.status).toBe(200);
    const at = Date.now();
    await Promise.all(first.flatMap((s) => [closedWithin(s.collab, at, 4401, `collaboration socket on ${s.inst.name}`), closedWithin(s.notes, at, 4401, `notification socket on ${s.inst.name}`)]));
    const n = processNode();
    const op = opRequest([{ id: n.id, operation: 'add', data: n }]);
    kept[0]!.collab.send(op);
    for (const s of kept) {
      await s.collab.next((x) => x.message_type === 'diagram_operation_event' && x.operation_id === op.operation_id);
      expect(s.notes.closed).toBeNull();
    }
    closeAll(...kept.flatMap((s) => [s.collab, s.notes]));
  });

  it('removal from the model closes its collaboration sockets with 4403 everywhere within a second; earlier tickets are refused; model events stop', async () => {
    const owner = await signIn(t.app);
    const victim = await signIn(t.app);
    const m = await liveModel(a().app, owner, victim);
    const ownerSockets = await socketsOf(m, owner.accessToken);
    const victimSockets = await socketsOf(m, victim.accessToken);
    const spare = await Promise.all(instances.map(async (inst) => ({ inst, ticket: await ticket(inst, victim.accessToken, m.sessionId) })));
    const notesFrom = victimSockets.map((s) => ({ c: s.notes, from: s.notes.messages.length }));

    const put = await call(a().app, 'PUT', `/threat_models/${m.tm}`, { token: owner.accessToken, body: { name: 'Live', authorization: [] } });
    expect(put.status).toBe(200);
    const at = Date.now();
    await Promise.all(victimSockets.map((s) => closedWithin(s.collab, at, 4403, `collaboration socket on ${s.inst.name}`)));
    for (const { inst, ticket: tk } of spare) {
      await expect(WsClient.connect(socketUrl(inst, m, tk)).opened, `ticket on ${inst.name}`).rejects.toThrow('upgrade refused: 403');
    }
    await othersKeepReceiving(
      m,
      owner,
      ownerSockets,
      victimSockets.map((s) => s.collab),
      notesFrom,
    );
    // The user may still read other models: the notification channel stays open and keeps serving them.
    const own = await call(a().app, 'POST', '/threat_models', { token: victim.accessToken, body: { name: 'Mine' } });
    for (const s of victimSockets) {
      expect(s.notes.closed).toBeNull();
      expect((await s.notes.next((x) => x.message_type === 'threat_model_created' && x.data.threat_model_id === own.body.id)).data.threat_model_name).toBe('Mine');
    }
    closeAll(...ownerSockets.flatMap((s) => [s.collab, s.notes]), ...victimSockets.map((s) => s.notes));
  });
});

describe('a revocation whose announcement never arrived', () => {
  it('is found in the shared store at the next ping and closes the sockets with 4401 (both tabs), not the others’', async () => {
    const quick = await startTestApp({}, { collab: { ...collab, pingSeconds: 1 } });
    try {
      const inst = await listen('quick', quick.app);
      const owner = await signIn(quick.app);
      const victim = await signIn(quick.app);
      const m = await liveModel(quick.app, owner, victim);
      // Two tabs of the victim (one check covers both: LiveAccess.recheckAll), and the owner's.
      const [s, tab] = await socketsOf(m, victim.accessToken, [inst, inst]);
      const [own] = await socketsOf(m, owner.accessToken, [inst]);
      // An instance that records the revocation in the shared store but announces it to nobody.
      const silent = new SessionService(quick.ctx.shared.kv, 86_400, 86_400, quick.config.jwt.expirationSeconds);
      await silent.revokeSession(decodeJwt(victim.accessToken).sid as string);
      await new Promise((r) => setTimeout(r, 300));
      expect(s!.collab.closed, 'not closed by an announcement').toBeNull();
      // Within a ping interval, plus the two seconds a token found valid is trusted without a look-up.
      expect((await s!.collab.waitClosed(4000)).code).toBe(4401);
      expect((await s!.notes.waitClosed(4000)).code).toBe(4401);
      expect((await tab!.collab.waitClosed(1000)).code).toBe(4401);
      expect((await tab!.notes.waitClosed(1000)).code).toBe(4401);
      await new Promise((r) => setTimeout(r, 1200)); // another ping
      expect(own!.collab.closed).toBeNull();
      expect(own!.notes.closed).toBeNull();
    } finally {
      await quick.close();
    }
  }, 30_000);
});

// Not a revocation, but the other thing that needs the second instance: the presenter's pointer is
// published on the bus only while another instance listens on the session's channel.
describe("the presenter's pointer across instances", () => {
  it('reaches a viewer who joins on another instance after the pointer began to move there unheard', async () => {
    const owner = await signIn(t.app);
    const viewer = await signIn(t.app);
    const m = await liveModel(a().app, owner, viewer);
    const host = await openCollab(a(), m, owner.accessToken);
    const cursorAt = (x: number) => (msg: { message_type?: string; cursor_position?: { x: number } }) => msg.message_type === 'presenter_cursor' && msg.cursor_position?.x === x;
    // The host presents; alone on its instance, its pointer has nobody else to reach.
    host.send({ message_type: 'presenter_cursor', cursor_position: { x: 1, y: 0 } });
    await new Promise((r) => setTimeout(r, 200));
    const there = instances[instances.length - 1]!;
    const v = await openCollab(there, m, viewer.accessToken);
    // The join is announced to the host's instance, which then publishes the pointer again at once.
    await host.next((msg) => msg.message_type === 'participants_update' && msg.participants.length === 2);
    host.send({ message_type: 'presenter_cursor', cursor_position: { x: 2, y: 0 } });
    await v.next(cursorAt(2), 3000);
    expect(v.messages.filter(cursorAt(1))).toEqual([]);
    closeAll(host, v);
  });
});

describe('forEachAtMost (the periodic checks of every socket)', () => {
  it('runs the work on every item, never more than the given number at a time', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await forEachAtMost([1, 2, 3, 4, 5, 6, 7], 2, async (i) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      done.push(i);
      running--;
    });
    expect(most).toBe(2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await forEachAtMost([], 2, async () => expect.unreachable());
  });
});
