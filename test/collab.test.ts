// Live collaboration against one instance, with real WebSocket clients.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';
import { opRequest, processNode, WsClient, type Msg } from './collab-support.ts';
import * as collabStore from '../server/collab/store.ts';

let t: TestApp;
let base: string;
let owner: SignedIn;
let writer: SignedIn;
let reader: SignedIn;
let stranger: SignedIn;

beforeAll(async () => {
  t = await startTestApp({}, { collab: { opsPerSecond: 20, maxMessageBytes: 65_536, maxSocketsPerUser: 3, sweepMs: 200, idleSeconds: 60 } });
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = address.replace(/^http/, 'ws');
  [owner, writer, reader, stranger] = await Promise.all([signIn(t.app), signIn(t.app), signIn(t.app), signIn(t.app)]);
});
afterAll(async () => t?.close());

const share = (u: SignedIn, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u.user, role });

async function setup() {
  const tm = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'Collab', authorization: [share(writer, 'writer'), share(reader, 'reader')] } });
  const d = await call(t.app, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token: owner.accessToken, body: { name: 'Live', type: 'DFD-1.0.0' } });
  return { tm: tm.body.id as string, d: d.body.id as string };
}

async function startSession(tm: string, d: string, host = owner) {
  const res = await call(t.app, 'POST', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: host.accessToken, body: {} });
  expect([200, 201]).toContain(res.status);
  return res.body as { session_id: string; websocket_url: string };
}

async function connect(tm: string, d: string, sessionId: string, u: SignedIn, extra = '') {
  const ticket = await call(t.app, 'GET', `/ws/ticket?session_id=${sessionId}`, { token: u.accessToken });
  expect(ticket.status).toBe(200);
  const c = WsClient.connect(`${base}/threat_models/${tm}/diagrams/${d}/ws?session_id=${sessionId}&ticket=${encodeURIComponent(ticket.body.ticket)}${extra}`);
  await c.opened;
  return c;
}

/** Connected and live: a socket gets relayed pointers only once it has its initial state. */
async function joined(tm: string, d: string, sessionId: string, u: SignedIn) {
  const c = await connect(tm, d, sessionId, u);
  await c.type('diagram_state');
  return c;
}

describe('REST session endpoints', () => {
  it('POST creates (201) then returns (200); GET, /me/sessions, DELETE by host only', async () => {
    const { tm, d } = await setup();
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: reader.accessToken })).status).toBe(404);
    const created = await call(t.app, 'POST', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: writer.accessToken, body: {} });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ threat_model_id: tm, diagram_id: d, threat_model_name: 'Collab', diagram_name: 'Live', host: { provider_id: writer.user, email: writer.email }, presenter: { provider_id: writer.user } });
    expect(created.body.websocket_url).toBe(`ws://localhost:${t.config.server.port}/threat_models/${tm}/diagrams/${d}/ws?session_id=${created.body.session_id}`);
    expect(created.body.participants).toEqual([expect.objectContaining({ user: expect.objectContaining({ provider_id: writer.user }), permissions: 'writer' })]);
    const again = await call(t.app, 'POST', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: reader.accessToken, body: {} });
    expect(again.status).toBe(200);
    expect(again.body.session_id).toBe(created.body.session_id);
    expect(again.body.participants.find((p: { user: { provider_id: string } }) => p.user.provider_id === reader.user).permissions).toBe('reader');
    const got = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: reader.accessToken });
    expect(got.body.session_id).toBe(created.body.session_id);
    const mine = await call(t.app, 'GET', '/me/sessions', { token: reader.accessToken });
    expect(Array.isArray(mine.body)).toBe(true);
    expect(mine.body.map((s: { session_id: string }) => s.session_id)).toContain(created.body.session_id);
    const theirs = await call(t.app, 'GET', '/me/sessions', { token: stranger.accessToken });
    expect(theirs.body.map((s: { session_id: string }) => s.session_id)).not.toContain(created.body.session_id);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: stranger.accessToken })).status).toBe(403);
    expect((await call(t.app, 'POST', `/threat_models/${tm}/diagrams/${d}/collaborate`, { body: {} })).status).toBe(401);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${randomUUID()}/collaborate`, { token: owner.accessToken })).status).toBe(404);
    // A non-host DELETE leaves the session alone; the host's ends it.
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken })).status).toBe(200);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: writer.accessToken })).status).toBe(204);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken })).status).toBe(404);
  });

  it('tickets: need a readable live session, are single use and refused without', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    expect((await call(t.app, 'GET', `/ws/ticket?session_id=${randomUUID()}`, { token: owner.accessToken })).status).toBe(404);
    expect((await call(t.app, 'GET', `/ws/ticket?session_id=${s.session_id}`, { token: stranger.accessToken })).status).toBe(404);
    expect((await call(t.app, 'GET', `/ws/ticket?session_id=nope`, { token: owner.accessToken })).status).toBe(400);
    expect((await call(t.app, 'GET', `/ws/ticket?session_id=${s.session_id}`)).status).toBe(401);
    const ticket = await call(t.app, 'GET', `/ws/ticket?session_id=${s.session_id}`, { token: owner.accessToken });
    expect(ticket.headers['cache-control']).toBe('no-store');
    const url = `${base}/threat_models/${tm}/diagrams/${d}/ws?session_id=${s.session_id}&ticket=${ticket.body.ticket}`;
    const first = WsClient.connect(url);
    await first.opened;
    await first.type('diagram_state');
    await expect(WsClient.connect(url).opened).rejects.toThrow('401');
    await expect(WsClient.connect(`${base}/threat_models/${tm}/diagrams/${d}/ws?session_id=${s.session_id}`).opened).rejects.toThrow('401');
    const t2 = await call(t.app, 'GET', `/ws/ticket?session_id=${s.session_id}`, { token: owner.accessToken });
    await expect(WsClient.connect(`${base}/threat_models/${tm}/diagrams/${d}/ws?session_id=${s.session_id}&ticket=${t2.body.ticket}`, { origin: 'http://localhost.evil.com' }).opened).rejects.toThrow('403');
    first.close();
  });
});

describe('WebSocket protocol', () => {
  it('diagram_state then participants_update; operations reach everyone once in order; REST sees them; readers are denied', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    const a = await connect(tm, d, s.session_id, owner);
    const state = await a.type('diagram_state');
    expect(state).toMatchObject({ diagram_id: d, update_vector: 0, cells: [] });
    expect(a.messages[0]!.message_type).toBe('diagram_state');
    const p1 = await a.type('participants_update');
    expect(p1).toMatchObject({ initiating_user: null, host: { provider_id: owner.user }, current_presenter: { provider_id: owner.user } });
    const b = await connect(tm, d, s.session_id, writer);
    await b.type('diagram_state');
    const r = await connect(tm, d, s.session_id, reader);
    await r.type('diagram_state');
    const p3 = await a.next((m) => m.message_type === 'participants_update' && m.participants.length === 3);
    expect(Object.fromEntries(p3.participants.map((p: { user: { provider_id: string }; permissions: string }) => [p.user.provider_id, p.permissions]))).toEqual({
      [owner.user]: 'writer',
      [writer.user]: 'writer',
      [reader.user]: 'reader',
    });

    const n1 = processNode();
    const n2 = processNode(undefined, 300);
    const edge = { id: randomUUID(), shape: 'flow', source: { cell: n1.id }, target: { cell: n2.id } };
    const op1 = opRequest([
      { id: n1.id, operation: 'add', data: n1 },
      { id: n2.id, operation: 'add', data: n2 },
      { id: edge.id, operation: 'add', data: edge },
    ]);
    a.send(op1);
    const e1b = await b.type('diagram_operation_event');
    expect(e1b).toMatchObject({ operation_id: op1.operation_id, sequence_number: 1, update_vector: 1, initiating_user: { provider_id: owner.user, email: owner.email } });
    expect(e1b.operation.cells.map((c: { id: string }) => c.id)).toEqual([n1.id, n2.id, edge.id]);
    expect(e1b.operation.cells[0].data).toMatchObject({ x: 10, y: 20, width: 120, height: 60, parent: null });
    // The sender's acknowledgement is the same event (tmi-ux drops its own by email).
    expect((await a.type('diagram_operation_event')).sequence_number).toBe(1);
    expect((await r.type('diagram_operation_event')).sequence_number).toBe(1);

    const op2 = opRequest([{ id: n1.id, operation: 'update', data: { ...n1, attrs: { text: { text: 'Renamed' } } } }]);
    b.send(op2);
    const e2 = await a.type('diagram_operation_event');
    expect(e2).toMatchObject({ sequence_number: 2, update_vector: 2, operation_id: op2.operation_id });

    r.send(opRequest([{ id: n1.id, operation: 'remove' }]));
    expect(await r.type('authorization_denied')).toMatchObject({ reason: 'insufficient_permissions' });
    r.send({ message_type: 'undo_request' });
    await r.type('authorization_denied');

    const rest = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}`, { token: reader.accessToken });
    expect(rest.body.update_vector).toBe(2);
    expect(rest.body.cells.map((c: { id: string }) => c.id)).toEqual([n1.id, n2.id, edge.id]);
    expect(rest.body.cells[0].attrs.text.text).toBe('Renamed');
    // REST writes are refused while the session is live.
    expect((await call(t.app, 'PUT', `/threat_models/${tm}/diagrams/${d}`, { token: owner.accessToken, body: { name: 'x', type: 'DFD-1.0.0', cells: [] } })).status).toBe(409);
    for (const c of [a, b, r]) c.close();
  });

  it('conflicts are rejected to the sender only; remove of a missing cell is not a conflict; bad messages get non-fatal errors', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    const a = await connect(tm, d, s.session_id, owner);
    await a.type('participants_update');
    const n = processNode();
    a.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
    await a.type('diagram_operation_event');
    const dup = opRequest([{ id: n.id, operation: 'add', data: n }]);
    a.send(dup);
    expect(await a.type('operation_rejected')).toMatchObject({ operation_id: dup.operation_id, reason: 'cell_already_exists', requires_resync: true, affected_cells: [n.id], update_vector: 1 });
    const ghost = randomUUID();
    a.send(opRequest([{ id: ghost, operation: 'update', data: processNode(ghost) }]));
    expect((await a.type('operation_rejected')).reason).toBe('update_nonexistent_cell');
    a.send(opRequest([{ id: n.id, operation: 'update', data: { ...n, shape: 'cloud' } }]));
    expect(await a.type('operation_rejected')).toMatchObject({ reason: 'validation_failed', requires_resync: false });
    // All or nothing: a valid add followed by a conflict leaves nothing behind.
    const fresh = processNode();
    a.send(opRequest([{ id: fresh.id, operation: 'add', data: fresh }, { id: n.id, operation: 'add', data: n }]));
    await a.type('operation_rejected');
    a.send(opRequest([{ id: randomUUID(), operation: 'remove' }]));
    a.send('not json');
    expect(await a.type('error')).toMatchObject({ error: 'validation_error', code: 'invalid_message' });
    a.send({ message_type: 'diagram_operation' });
    expect(await a.type('error')).toMatchObject({ error: 'validation_error', code: 'unsupported_message_type' });
    a.send({ message_type: 'participants_update' });
    expect((await a.type('error')).code).toBe('invalid_message_type');
    a.send({ message_type: 'sync_status_request' });
    expect(await a.type('sync_status_response')).toEqual({ message_type: 'sync_status_response', update_vector: 1 });
    a.send({ message_type: 'sync_request', update_vector: 0 });
    expect((await a.type('diagram_state')).cells.map((c: { id: string }) => c.id)).toEqual([n.id]);
    a.send({ message_type: 'sync_request', update_vector: 1 });
    await a.type('sync_status_response');
    expect(a.closed).toBeNull();
    const rest = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}`, { token: owner.accessToken });
    expect(rest.body.cells.map((c: { id: string }) => c.id)).toEqual([n.id]);
    expect(rest.body.update_vector).toBe(1);
    a.close();
  });

  it('undo broadcasts the inverse to everyone, redo re-applies it, a new edit clears redo', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    const a = await connect(tm, d, s.session_id, owner);
    const b = await connect(tm, d, s.session_id, writer);
    await a.next((m) => m.message_type === 'participants_update' && m.participants.length === 2);
    const n = processNode();
    a.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
    await b.type('diagram_operation_event');
    a.send(opRequest([{ id: n.id, operation: 'update', data: { ...n, position: { x: 500, y: 20 } } }]));
    await b.type('diagram_operation_event');
    b.send({ message_type: 'undo_request' });
    const undo = await a.next((m) => m.message_type === 'diagram_operation_event' && m.sequence_number === 3);
    expect(undo.operation.cells).toEqual([{ id: n.id, operation: 'update', data: expect.objectContaining({ x: 10 }) }]);
    expect(undo.initiating_user.provider_id).toBe(writer.user);
    expect((await b.next((m) => m.message_type === 'diagram_operation_event' && m.sequence_number === 3)).operation_id).toBe(undo.operation_id);
    b.send({ message_type: 'undo_request' });
    const undo2 = await a.next((m) => m.message_type === 'diagram_operation_event' && m.sequence_number === 4);
    expect(undo2.operation.cells).toEqual([{ id: n.id, operation: 'remove' }]);
    b.send({ message_type: 'undo_request' });
    expect(await b.type('history_operation')).toMatchObject({ operation_type: 'undo', message: 'no_operations_to_undo' });
    a.send({ message_type: 'redo_request' });
    const redo = await b.next((m) => m.message_type === 'diagram_operation_event' && m.sequence_number === 5);
    expect(redo.operation.cells[0]).toMatchObject({ id: n.id, operation: 'add', data: { x: 10 } });
    const other = processNode();
    a.send(opRequest([{ id: other.id, operation: 'add', data: other }]));
    await b.next((m) => m.message_type === 'diagram_operation_event' && m.sequence_number === 6);
    a.send({ message_type: 'redo_request' });
    expect(await a.type('history_operation')).toMatchObject({ operation_type: 'redo', message: 'no_operations_to_redo' });
    const rest = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}`, { token: owner.accessToken });
    expect(rest.body.cells.map((c: { id: string; x: number }) => [c.id, c.x])).toEqual([[n.id, 10], [other.id, 10]]);
    expect(rest.body.update_vector).toBe(6);
    a.close();
    b.close();
  });

  it('presenter flow, cursor relay, host removal with deny list', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    const host = await joined(tm, d, s.session_id, owner);
    const w = await joined(tm, d, s.session_id, writer);
    const r = await joined(tm, d, s.session_id, reader);
    await host.next((m) => m.message_type === 'participants_update' && m.participants.length === 3);
    host.send({ message_type: 'presenter_cursor', cursor_position: { x: 5, y: 6 } });
    expect(await w.type('presenter_cursor')).toEqual({ message_type: 'presenter_cursor', cursor_position: { x: 5, y: 6 } });
    w.send({ message_type: 'presenter_cursor', cursor_position: { x: 1, y: 1 } });
    w.send({ message_type: 'presenter_request' });
    const req = await host.type('presenter_request_event');
    expect(req.requesting_user.provider_id).toBe(writer.user);
    host.send({ message_type: 'change_presenter_request', new_presenter: req.requesting_user });
    const changed = await r.next((m) => m.message_type === 'participants_update' && m.current_presenter?.provider_id === writer.user);
    expect(changed.host.provider_id).toBe(owner.user);
    w.send({ message_type: 'presenter_selection', selected_cells: ['a'] });
    expect(await host.type('presenter_selection')).toEqual({ message_type: 'presenter_selection', selected_cells: ['a'] });
    expect(host.messages.filter((m) => m.message_type === 'presenter_cursor')).toHaveLength(0);
    r.send({ message_type: 'presenter_request' });
    await host.type('presenter_request_event');
    host.send({ message_type: 'presenter_denied_request', denied_user: { principal_type: 'user', provider: 'tmi', provider_id: reader.user } });
    expect((await r.type('presenter_denied_event')).denied_user.provider_id).toBe(reader.user);
    host.send({ message_type: 'change_presenter_request' });
    expect((await host.type('error')).error).toBe('invalid_participant');
    w.send({ message_type: 'remove_participant_request', removed_user: { provider: 'tmi', provider_id: reader.user } });
    expect((await w.type('error')).error).toBe('unauthorized');
    host.send({ message_type: 'remove_participant_request', removed_user: { provider: 'tmi', provider_id: reader.user } });
    expect((await r.type('error')).error).toBe('removed_from_session');
    await r.waitClosed();
    const after = await host.next((m) => m.message_type === 'participants_update' && m.participants.length === 2);
    expect(after.participants.map((p: { user: { provider_id: string } }) => p.user.provider_id).sort()).toEqual([owner.user, writer.user].sort());
    const again = await connect(tm, d, s.session_id, reader);
    expect((await again.type('error')).error).toBe('access_denied');
    await again.waitClosed();
    host.close();
    w.close();
  });

  it('a change of presenter the bus never delivered is read from the store once the copy expires; no relay waits for it', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    const host = await joined(tm, d, s.session_id, owner);
    const w = await joined(tm, d, s.session_id, writer);
    await host.next((m) => m.message_type === 'participants_update' && m.participants.length === 2);
    const cursorAt = (x: number) => (m: Msg) => m.message_type === 'presenter_cursor' && m.cursor_position?.x === x;
    host.send({ message_type: 'presenter_cursor', cursor_position: { x: 1, y: 0 } });
    await w.next(cursorAt(1));
    // The writer becomes presenter in the store only: the announcement on the bus is "lost".
    const [writerRow] = await t.ctx.db.query<{ id: string }>(`SELECT internal_uuid AS id FROM users WHERE provider = 'tmi' AND provider_user_id = $1`, [writer.user]);
    await collabStore.setPresenter(t.ctx.db, s.session_id, writerRow!.id);
    host.send({ message_type: 'presenter_cursor', cursor_position: { x: 2, y: 0 } });
    await w.next(cursorAt(2)); // the copy is trusted for a second
    await new Promise((r) => setTimeout(r, 1100));
    // The first relay past the second goes by the expired copy while the store is read again.
    host.send({ message_type: 'presenter_cursor', cursor_position: { x: 3, y: 0 } });
    await w.next(cursorAt(3));
    // Once that read is back, the writer's pointer is the one relayed (however slow the store is).
    for (let tries = 0; !host.messages.some(cursorAt(4)); tries++) {
      expect(tries).toBeLessThan(50);
      w.send({ message_type: 'presenter_cursor', cursor_position: { x: 4, y: 0 } });
      await new Promise((r) => setTimeout(r, 100));
    }
    host.send({ message_type: 'presenter_cursor', cursor_position: { x: 5, y: 0 } });
    await new Promise((r) => setTimeout(r, 300));
    expect(w.messages.filter(cursorAt(5))).toHaveLength(0);
    host.close();
    w.close();
  });

  it('host refresh keeps the session; resume from the last sequence replays only what was missed', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    const host = await connect(tm, d, s.session_id, owner);
    const w = await connect(tm, d, s.session_id, writer);
    await host.next((m) => m.message_type === 'participants_update' && m.participants.length === 2);
    const n = processNode();
    w.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
    await host.type('diagram_operation_event');
    host.close();
    await host.waitClosed();
    // The list without the host; an earlier list of the host alone (its own join, relayed after the
    // writer's socket joined) may still be waiting in the buffer.
    const writerAlone = (m: Msg) => m.message_type === 'participants_update' && m.participants.length === 1 && m.participants[0].user.provider_id === writer.user;
    const left = await w.next(writerAlone);
    expect(left.host.provider_id).toBe(owner.user);
    expect(left.current_presenter.provider_id).toBe(writer.user);
    const m2 = processNode();
    w.send(opRequest([{ id: m2.id, operation: 'add', data: m2 }]));
    await w.next((m) => m.message_type === 'diagram_operation_event' && m.sequence_number === 2);
    const back = await connect(tm, d, s.session_id, owner, '&last_sequence=1');
    const replay = await back.type('diagram_operation_event');
    expect(replay).toMatchObject({ sequence_number: 2 });
    expect(back.messages.some((m) => m.message_type === 'diagram_state')).toBe(false);
    expect((await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken })).body.session_id).toBe(s.session_id);
    back.close();
    w.close();
  });

  it('revocation closes the socket with 4403 within a second; host DELETE terminates everyone', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    const host = await connect(tm, d, s.session_id, owner);
    const r = await connect(tm, d, s.session_id, reader);
    await r.type('diagram_state');
    const put = await call(t.app, 'PUT', `/threat_models/${tm}`, { token: owner.accessToken, body: { name: 'Collab', authorization: [share(writer, 'writer')] } });
    expect(put.status).toBe(200);
    // From the revocation's response (committed by then), not counting the PUT's own latency.
    const revokedAt = Date.now();
    const closed = await r.waitClosed(1000);
    expect(closed.code).toBe(4403);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    const n = processNode();
    host.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
    await host.type('diagram_operation_event');
    expect(r.messages.some((m) => m.message_type === 'diagram_operation_event')).toBe(false);
    expect(errorOf(await call(t.app, 'DELETE', `/threat_models/${tm}`, { token: owner.accessToken })).error).toBe('conflict');
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken })).status).toBe(204);
    expect((await host.type('error')).error).toBe('session_terminated');
    expect((await host.waitClosed()).code).toBe(1000);
    // The session's edits advance the diagram's version (old ETags go stale) and are audited once.
    const after = await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}`, { token: owner.accessToken });
    expect(after.body).toMatchObject({ version: 2, update_vector: 1 });
    const audit = await t.ctx.db.query<{ change_summary: string; snapshot: { cells: { id: string }[] } }>(
      `SELECT change_summary, snapshot FROM audit_entries WHERE object_id = $1 AND change_type = 'updated'`,
      [d],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.change_summary).toContain('1 operations by 1 user');
    expect(audit[0]!.snapshot.cells.map((c) => c.id)).toEqual([n.id]);
    expect((await call(t.app, 'PUT', `/threat_models/${tm}/diagrams/${d}`, { token: owner.accessToken, body: { name: 'x', type: 'DFD-1.0.0', cells: [] }, headers: { 'if-match': '1' } })).status).toBe(409);
  });

  it('limits: oversize frames close with 1009, too many ops per second are refused, sockets per user are capped', async () => {
    const u = await signIn(t.app);
    const tm = await call(t.app, 'POST', '/threat_models', { token: u.accessToken, body: { name: 'Limits' } });
    const d = await call(t.app, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token: u.accessToken, body: { name: 'L', type: 'DFD-1.0.0' } });
    const s = await startSession(tm.body.id, d.body.id, u);
    const open = async () => {
      const ticket = await call(t.app, 'GET', `/ws/ticket?session_id=${s.session_id}`, { token: u.accessToken });
      return WsClient.connect(`${base}/threat_models/${tm.body.id}/diagrams/${d.body.id}/ws?session_id=${s.session_id}&ticket=${ticket.body.ticket}`);
    };
    const a = await open();
    await a.opened;
    await a.type('participants_update');
    for (let i = 0; i < 200; i++) {
      const n = processNode();
      a.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
    }
    expect((await a.type('operation_rejected')).reason).toBe('rate_limited');
    const b = await open();
    await b.opened;
    await b.type('diagram_state');
    const c = await open();
    await c.opened;
    await c.type('diagram_state'); // its connection is registered by then
    await expect((await open()).opened).rejects.toThrow('429');
    b.send(JSON.stringify({ message_type: 'ping', pad: 'x'.repeat(70_000) }));
    expect((await b.waitClosed()).code).toBe(1009);
    a.send({ message_type: 'ping' });
    await a.type('pong');
    a.close();
    c.close();
  });

  it('a burst of simultaneous joins keeps to the socket cap: the others get 429 or a clear error', async () => {
    const u = await signIn(t.app);
    const tm = await call(t.app, 'POST', '/threat_models', { token: u.accessToken, body: { name: 'Burst' } });
    const d = await call(t.app, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token: u.accessToken, body: { name: 'B', type: 'DFD-1.0.0' } });
    const s = await startSession(tm.body.id, d.body.id, u);
    const tickets = await Promise.all(Array.from({ length: 8 }, () => call(t.app, 'GET', `/ws/ticket?session_id=${s.session_id}`, { token: u.accessToken })));
    // However the eight interleave (the check before the upgrade, the registration), three stay.
    const clients = tickets.map((ticket) => WsClient.connect(`${base}/threat_models/${tm.body.id}/diagrams/${d.body.id}/ws?session_id=${s.session_id}&ticket=${ticket.body.ticket}`));
    const outcomes = await Promise.all(
      clients.map(async (c) => {
        try {
          await c.opened;
        } catch (err) {
          return String(err).includes('429') ? 'refused before upgrade' : String(err);
        }
        const m = await c.next((x) => x.message_type === 'diagram_state' || x.message_type === 'error');
        if (m.message_type === 'diagram_state') return 'joined';
        expect(m).toMatchObject({ error: 'too_many_connections', message: 'At most 3 collaboration connections per user' });
        expect((await c.waitClosed()).code).toBe(1013);
        return 'refused after upgrade';
      }),
    );
    expect(outcomes.filter((o) => o === 'joined')).toHaveLength(3);
    expect(outcomes.every((o) => o === 'joined' || o.startsWith('refused'))).toBe(true);
    const rows = await t.ctx.db.query('SELECT 1 FROM collab_connections WHERE session_id = $1', [s.session_id]);
    expect(rows).toHaveLength(3);
    for (const c of clients) c.close();
  });

  it('registers sockets against the caps atomically, however many register at once', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    // A user of its own: a socket another test left open would take one of the three places.
    const alone = await signIn(t.app);
    const [me] = await t.ctx.db.query<{ internal_uuid: string }>('SELECT internal_uuid FROM users WHERE provider_user_id = $1', [alone.user]);
    // This file's instance (its id starts with this process's pid): another test file's, on a shared
    // database, may stop meanwhile and take its connection rows with it.
    const [instance] = await t.ctx.db.query<{ id: string }>('SELECT id FROM collab_instances WHERE id LIKE $1 ORDER BY heartbeat DESC LIMIT 1', [`${process.pid}-%`]);
    const user = { principal_type: 'user' as const, provider: 'tmi', provider_id: alone.user, email: alone.email, display_name: alone.user };
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        collabStore.insertConnectionWithinCaps(
          t.ctx.db,
          { id: randomUUID(), sessionId: s.session_id, userUuid: me!.internal_uuid, user, permissions: 'writer', instanceId: instance!.id },
          { maxSocketsPerUser: 3, maxParticipants: 50 },
        ),
      ),
    );
    expect(results.filter((r) => r === null)).toHaveLength(3);
    expect(results.filter((r) => r === 'too_many_connections')).toHaveLength(7);
    const rows = await t.ctx.db.query('SELECT 1 FROM collab_connections WHERE session_id = $1', [s.session_id]);
    expect(rows).toHaveLength(3);
    await t.ctx.db.query('DELETE FROM collab_connections WHERE session_id = $1', [s.session_id]);
  });

  it('idle sessions end when nobody has been connected for the idle time', async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    await t.ctx.db.query(`UPDATE collab_sessions SET last_activity = now() - interval '1 hour' WHERE id = $1`, [s.session_id]);
    const deadline = Date.now() + 3000;
    let status = 200;
    while (Date.now() < deadline && status === 200) {
      status = (await call(t.app, 'GET', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken })).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(404);
  });
});

describe('a role changed while connected', () => {
  it("takes effect on the sockets at once: a writer made reader is denied, made writer again may edit; the others' stay as they were", async () => {
    const { tm, d } = await setup();
    const s = await startSession(tm, d);
    const [host, w, r] = [await joined(tm, d, s.session_id, owner), await joined(tm, d, s.session_id, writer), await joined(tm, d, s.session_id, reader)];
    const roles = (m: Msg) => Object.fromEntries((m.participants as { user: { provider_id: string }; permissions: string }[]).map((p) => [p.user.provider_id, p.permissions]));
    const authorization = (writerRole: string) => ({ op: 'replace', path: '/authorization', value: [share(writer, writerRole), share(reader, 'reader')] });
    const patch = async (writerRole: string) =>
      expect((await call(t.app, 'PATCH', `/threat_models/${tm}`, { token: owner.accessToken, body: [authorization(writerRole)], contentType: 'application/json-patch+json' })).status).toBe(200);

    await patch('reader');
    const demoted = await host.next((m) => m.message_type === 'participants_update' && roles(m)[writer.user] === 'reader');
    expect(roles(demoted)).toEqual({ [owner.user]: 'writer', [writer.user]: 'reader', [reader.user]: 'reader' });
    const n = processNode();
    w.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
    expect(await w.type('authorization_denied')).toMatchObject({ reason: 'insufficient_permissions' });

    await patch('writer');
    await host.next((m) => m.message_type === 'participants_update' && roles(m)[writer.user] === 'writer');
    const op = opRequest([{ id: n.id, operation: 'add', data: n }]);
    w.send(op);
    expect(await host.next((m) => m.message_type === 'diagram_operation_event')).toMatchObject({ operation_id: op.operation_id });
    for (const c of [host, w, r]) expect(c.closed).toBeNull();
    for (const c of [host, w, r]) c.close();
  });
});

describe('/ws/notifications', () => {
  it('delivers threat-model events only to users who can read the model, as its access list stands at each event', async () => {
    const notified = (u: SignedIn) => WsClient.connect(`${base}/ws/notifications`, { authorization: `Bearer ${u.accessToken}` });
    const [ownerSock, ownerTab, readerSock, strangerSock] = [notified(owner), notified(owner), notified(reader), notified(stranger)];
    await Promise.all([ownerSock.opened, ownerTab.opened, readerSock.opened, strangerSock.opened]);
    await expect(WsClient.connect(`${base}/ws/notifications`).opened).rejects.toThrow('401');
    const { tm, d } = await setup();
    expect((await ownerSock.type('threat_model_created')).data).toMatchObject({ threat_model_id: tm, action: 'created' });
    await startSession(tm, d);
    expect((await ownerSock.type('collaboration_started')).data).toMatchObject({ diagram_id: d, threat_model_id: tm });
    await call(t.app, 'PATCH', `/threat_models/${tm}`, { token: owner.accessToken, body: [{ op: 'replace', path: '/name', value: 'Renamed' }], contentType: 'application/json-patch+json' });
    expect((await ownerSock.type('threat_model_updated')).data.threat_model_name).toBe('Renamed');
    for (const s of [ownerTab, readerSock]) expect((await s.type('threat_model_updated')).data.threat_model_name).toBe('Renamed');
    await new Promise((r) => setTimeout(r, 200));
    const events = (s: WsClient) => s.messages.filter((m) => String(m.message_type).startsWith('threat_model') || m.message_type === 'collaboration_started');
    expect(events(strangerSock)).toEqual([]);
    // Shared with the stranger and no longer with the reader: the stranger is told, the reader not.
    const before = events(readerSock).length;
    await call(t.app, 'PATCH', `/threat_models/${tm}`, {
      token: owner.accessToken,
      body: [{ op: 'replace', path: '/authorization', value: [share(writer, 'writer'), share(stranger, 'reader')] }],
      contentType: 'application/json-patch+json',
    });
    expect((await strangerSock.type('threat_model_shared')).data).toMatchObject({ threat_model_id: tm, action: 'shared' });
    await ownerSock.type('threat_model_shared');
    // A deleted model's event still reaches those who could read it.
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken })).status).toBe(204);
    expect((await call(t.app, 'DELETE', `/threat_models/${tm}`, { token: owner.accessToken })).status).toBe(204);
    for (const s of [ownerSock, ownerTab, strangerSock]) expect((await s.type('threat_model_deleted')).data).toMatchObject({ threat_model_id: tm });
    await new Promise((r) => setTimeout(r, 200));
    expect(events(readerSock).length).toBe(before);
    for (const s of [ownerSock, ownerTab, readerSock, strangerSock]) s.close();
  });
});
