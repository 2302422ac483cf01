// The collaboration protocol as a contract: client messages are checked against their schemas on
// arrival (malformed ones refused without ending the session), the server's messages match theirs
// (every WsClient checks what it receives), the socket's query is WsQuery, the AsyncAPI document is
// generated from the same schemas, and the socket's limits come from TMI_COLLAB_* like every setting.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WsQuery } from '../contract/collab.ts';
import { ClientMessage, NotificationMessage, ServerMessage } from '../contract/collab-messages.ts';
import { call, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';
import { nonConforming, opRequest, processNode, WsClient } from './collab-support.ts';

let t: TestApp;
let base: string;
let owner: SignedIn;
let writer: SignedIn;

beforeAll(async () => {
  // The frame limit from the environment (through config.ts), the sweep from the app options.
  t = await startTestApp({ TMI_COLLAB_MAX_MESSAGE_BYTES: '4096' }, { collab: { sweepMs: 200 } });
  base = (await t.app.listen({ port: 0, host: '127.0.0.1' })).replace(/^http/, 'ws');
  [owner, writer] = await Promise.all([signIn(t.app), signIn(t.app)]);
});
afterAll(async () => t?.close());

async function liveDiagram() {
  const tm = await call(t.app, 'POST', '/threat_models', {
    token: owner.accessToken,
    body: { name: 'Protocol', authorization: [{ principal_type: 'user', provider: 'tmi', provider_id: writer.user, role: 'writer' }] },
  });
  const d = await call(t.app, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token: owner.accessToken, body: { name: 'P', type: 'DFD-1.0.0' } });
  const s = await call(t.app, 'POST', `/threat_models/${tm.body.id}/diagrams/${d.body.id}/collaborate`, { token: owner.accessToken, body: {} });
  return { tm: tm.body.id as string, d: d.body.id as string, sessionId: s.body.session_id as string };
}

async function ticketFor(u: SignedIn, sessionId: string): Promise<string> {
  return (await call(t.app, 'GET', `/ws/ticket?session_id=${sessionId}`, { token: u.accessToken })).body.ticket as string;
}

const socketPath = (m: { tm: string; d: string }) => `/threat_models/${m.tm}/diagrams/${m.d}/ws`;

async function join(m: { tm: string; d: string; sessionId: string }, u: SignedIn): Promise<WsClient> {
  const c = WsClient.connect(`${base}${socketPath(m)}?session_id=${m.sessionId}&ticket=${encodeURIComponent(await ticketFor(u, m.sessionId))}`);
  await c.opened;
  await c.type('participants_update');
  return c;
}

describe('client messages are checked against their schemas on arrival', () => {
  it('a malformed message is refused with a non-fatal error naming the field; the session goes on', async () => {
    const m = await liveDiagram();
    const host = await join(m, owner);
    const refusalFor = async (msg: unknown) => {
      host.send(msg);
      return host.next((x) => x.message_type === 'error');
    };
    expect(await refusalFor({ message_type: 'sync_request', update_vector: 'latest' })).toMatchObject({ error: 'validation_error', code: 'invalid_message', message: expect.stringContaining('update_vector') });
    expect(await refusalFor({ message_type: 'presenter_cursor', cursor_position: { x: 'left', y: 0 } })).toMatchObject({ error: 'validation_error', code: 'invalid_message', message: expect.stringContaining('cursor_position.x') });
    expect(await refusalFor({ message_type: 'presenter_selection', selected_cells: [7] })).toMatchObject({ error: 'validation_error', code: 'invalid_message' });
    expect(await refusalFor({ message_type: 'change_presenter_request', new_presenter: 'bob' })).toMatchObject({ error: 'validation_error', code: 'invalid_message', message: expect.stringContaining('new_presenter') });
    // Naming nobody is well-formed (tmi-ux clears the presenter so): the answer stays invalid_participant.
    expect(await refusalFor({ message_type: 'change_presenter_request', new_presenter: null })).toMatchObject({ error: 'invalid_participant' });

    // An operation request is answered as an operation: rejected, nothing stored.
    const n = processNode();
    const op = { ...opRequest([{ id: n.id, operation: 'add', data: n }]), base_vector: 'now' };
    host.send(op);
    expect(await host.next((x) => x.message_type === 'operation_rejected')).toMatchObject({
      operation_id: op.operation_id,
      reason: 'validation_failed',
      message: expect.stringContaining('base_vector'),
      requires_resync: false,
    });
    // Fields beyond a schema are ignored, as the reference does.
    host.send({ message_type: 'undo_request', initiating_user: { provider_id: 'someone-else' } });
    expect(await host.type('history_operation')).toMatchObject({ operation_type: 'undo', message: 'no_operations_to_undo' });
    host.send({ message_type: 'sync_request', update_vector: null, user_id: 'x' });
    expect(await host.type('diagram_state')).toMatchObject({ diagram_id: m.d, update_vector: 0, cells: [] });
    expect(host.closed).toBeNull();
    const rest = await call(t.app, 'GET', `/threat_models/${m.tm}/diagrams/${m.d}`, { token: owner.accessToken });
    expect(rest.body).toMatchObject({ update_vector: 0, cells: [] });
    host.close();
  });

  it('the test client holds the server to the schemas: a message outside them is caught', () => {
    const at = new Date().toISOString();
    expect(nonConforming({ message_type: 'pong', timestamp: at })).toBeNull();
    expect(nonConforming({ message_type: 'pong', timestamp: at, extra: true })).toMatch(/does not match the schema of pong/);
    expect(nonConforming({ message_type: 'sync_status_response', update_vector: '3' })).not.toBeNull();
    expect(nonConforming({ message_type: 'error', error: 'something_new', message: 'x', timestamp: at })).not.toBeNull();
    expect(nonConforming({ message_type: 'heartbeat', user_id: 'system', timestamp: at })).toBeNull();
  });
});

describe('the socket URL', () => {
  it('is checked as WsQuery before the upgrade, and a refusal leaves the ticket unused', async () => {
    const m = await liveDiagram();
    const ticket = await ticketFor(owner, m.sessionId);
    const refused = async (query: string) => (await call(t.app, 'GET', `${socketPath(m)}?ticket=${encodeURIComponent(ticket)}&${query}`)).body;
    for (const bad of ['-1', '1e3', '1.5', 'latest', '99999999999999999']) {
      expect(await refused(`last_sequence=${bad}`), bad).toEqual({ error: 'invalid_input', error_description: 'last_sequence must be a non-negative integer' });
    }
    expect(await refused('session_id=nope')).toEqual({ error: 'invalid_id', error_description: 'Invalid UUID format for parameter: session_id' });
    expect(await refused(`session_id=${m.sessionId}&session_id=${m.sessionId}`)).toMatchObject({ error: 'invalid_id' });
    const c = WsClient.connect(`${base}${socketPath(m)}?session_id=${m.sessionId}&last_sequence=0&ticket=${encodeURIComponent(ticket)}`);
    await c.opened;
    await c.type('participants_update');
    // Resumed from sequence 0 of an empty session: nothing to replay, no diagram_state.
    expect(c.messages.map((x) => x.message_type)).toEqual(['participants_update']);
    c.close();
  });

  it('closes the socket with 1009 for a frame over TMI_COLLAB_MAX_MESSAGE_BYTES', async () => {
    const m = await liveDiagram();
    const c = await join(m, writer);
    c.send({ message_type: 'ping', pad: 'x'.repeat(3000) });
    await c.type('pong');
    c.send({ message_type: 'ping', pad: 'x'.repeat(5000) });
    expect((await c.waitClosed()).code).toBe(1009);
  });
});

describe('/asyncapi.json', () => {
  type Doc = {
    asyncapi: string;
    info: { version: string };
    servers: Record<string, { host: string; protocol: string }>;
    channels: Record<string, { address: string; messages: Record<string, { $ref: string }>; bindings?: { ws: { query: unknown } } }>;
    operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
    components: { messages: Record<string, { name: string; payload: unknown }> };
  };
  const resolve = (doc: Doc, ref: string) => ref.slice(2).split('/').reduce<any>((at, key) => at?.[key.replace(/~1/g, '/')], doc);
  const payloads = (union: { anyOf: unknown[] }) => union.anyOf.map((s) => JSON.parse(JSON.stringify(s)));

  it('is served without a token and generated from the message schemas, every message and reference in place', async () => {
    const res = await call(t.app, 'GET', '/asyncapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as Doc;
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info.version).toBe(t.config.version);
    expect(doc.servers.tmi).toEqual({ host: new URL(t.config.server.baseUrl).host, protocol: 'ws' });
    expect(doc.channels.diagram!.address).toBe('/threat_models/{threat_model_id}/diagrams/{diagram_id}/ws');
    expect(doc.channels.diagram!.bindings!.ws.query).toEqual(JSON.parse(JSON.stringify(WsQuery)));
    expect(doc.channels.notifications!.address).toBe('/ws/notifications');

    const byOperation = (name: string) => doc.operations[name]!.messages.map((r) => resolve(doc, r.$ref)).map((m: { $ref: string }) => resolve(doc, m.$ref).payload);
    expect(doc.operations.sendDiagramMessage!.action).toBe('send');
    expect(byOperation('sendDiagramMessage')).toEqual(payloads(ClientMessage));
    expect(byOperation('receiveDiagramMessage')).toEqual(payloads(ServerMessage));
    expect(byOperation('receiveNotification')).toEqual(payloads(NotificationMessage));
    for (const op of Object.values(doc.operations)) expect(resolve(doc, op.channel.$ref)).toBeDefined();
    // A type that goes both ways is two messages, one per direction.
    expect(Object.keys(doc.components.messages)).toEqual(expect.arrayContaining(['PresenterCursorRequest', 'PresenterCursorEvent', 'DiagramOperationRequest', 'DiagramState', 'ThreatModelCreated', 'Heartbeat']));
    const openapi = await call(t.app, 'GET', '/openapi.json');
    expect(Object.keys(openapi.body.paths)).not.toContain('/asyncapi.json');
  });

  it('documents every type the server refuses as its own and every type it accepts', async () => {
    const doc = (await call(t.app, 'GET', '/asyncapi.json')).body as Doc;
    const names = (op: string) => doc.operations[op]!.messages.map((r) => (resolve(doc, (resolve(doc, r.$ref) as { $ref: string }).$ref) as { name: string }).name).sort();
    expect(names('sendDiagramMessage')).toEqual(
      ['change_presenter_request', 'diagram_operation_request', 'ping', 'presenter_cursor', 'presenter_denied_request', 'presenter_request', 'presenter_selection', 'redo_request', 'remove_participant_request', 'sync_request', 'sync_status_request', 'undo_request'].sort(),
    );
    const m = await liveDiagram();
    const host = await join(m, owner);
    for (const type of names('receiveDiagramMessage').filter((n) => !names('sendDiagramMessage').includes(n))) {
      host.send({ message_type: type });
      expect(await host.next((x) => x.message_type === 'error'), type).toMatchObject({ code: 'invalid_message_type', message: `${type} is sent by the server only` });
    }
    host.send({ message_type: `unknown_${randomUUID()}` });
    expect((await host.type('error')).code).toBe('unsupported_message_type');
    host.close();
  });
});
