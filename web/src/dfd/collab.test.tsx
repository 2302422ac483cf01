// The collaboration client's decisions after a failure — retry, stop, or only tell the user — and
// what it does when the server ends the user's sign-in (4401): it says so and offers to sign in
// again, instead of retrying into a 401. The browser's fetch, WebSocket and location are stand-ins
// here; the client itself is the real one.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { CLOSE } from '../../../contract/limits.ts';
import type { ErrorMessage } from '../../../contract/collab-messages.ts';
import { ApiError } from '../api/client.ts';
import { afterClose, afterError, afterFailure, CollabClient, SIGNED_OUT, type CollabStatus } from './collab.ts';
import { SessionStatus, signInAgainHref } from './panels/SessionStatus.tsx';

const TM = '11111111-1111-4111-8111-111111111111';
const D = '22222222-2222-4222-8222-222222222222';
const SID = '33333333-3333-4333-8333-333333333333';
const error = (code: ErrorMessage['error'], message = 'text'): ErrorMessage => ({ message_type: 'error', error: code, message, timestamp: new Date().toISOString() });

describe('after a failure', () => {
  it('a socket closed for a revoked sign-in (4401) or lost access (4403) is not retried; any other close is', () => {
    expect(afterClose(CLOSE.sessionRevoked)).toEqual({ kind: 'stop', status: 'signed-out', detail: SIGNED_OUT });
    expect(afterClose(CLOSE.accessRevoked)).toEqual({ kind: 'stop', status: 'ended', detail: 'Your access to this threat model was removed.' });
    for (const code of [CLOSE.normal, 1001, 1006, CLOSE.tryAgainLater, CLOSE.policy]) expect(afterClose(code), String(code)).toEqual({ kind: 'retry' });
  });

  it('joining refused with 401 means signed out, with 403 no access; other failures are retried', () => {
    expect(afterFailure(new ApiError(401, 'unauthorized', ''))).toEqual({ kind: 'stop', status: 'signed-out', detail: SIGNED_OUT });
    expect(afterFailure(new ApiError(403, 'forbidden', 'no'))).toMatchObject({ kind: 'stop', status: 'ended' });
    for (const err of [new ApiError(500, 'server_error', ''), new ApiError(0, 'network', ''), new ApiError(429, 'rate_limit_exceeded', ''), new TypeError('x')]) {
      expect(afterFailure(err)).toEqual({ kind: 'retry' });
    }
  });

  it('an error message ends the session here only for removal or refused access; a terminated session is looked for again', () => {
    expect(afterError(error('session_terminated', 'ended by host'))).toEqual({ kind: 'retry', detail: 'ended by host' });
    for (const code of ['removed_from_session', 'access_denied', 'unauthorized'] as const) expect(afterError(error(code))).toMatchObject({ kind: 'stop', status: 'ended' });
    for (const code of ['validation_error', 'invalid_participant', 'too_many_connections'] as const) expect(afterError(error(code, 'say it'))).toEqual({ kind: 'notice', text: 'say it' });
  });
});

class FakeSocket {
  static readonly OPEN = 1;
  static opened: FakeSocket[] = [];
  readyState = 0;
  onopen?: () => void;
  onmessage?: (e: { data: string }) => void;
  onclose?: (e: { code: number; reason: string }) => void;
  sent: string[] = [];
  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
  }
  /** The server closes the socket. */
  closedByServer(code: number) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

describe('CollabClient when the sign-in ends', () => {
  let requests: string[];
  let statuses: [CollabStatus, string | undefined][];

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.opened = [];
    requests = [];
    statuses = [];
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal('location', { protocol: 'http:', host: 'tmi.test' });
    const session = { session_id: SID, websocket_url: `ws://tmi.test/threat_models/${TM}/diagrams/${D}/ws?session_id=${SID}` };
    vi.stubGlobal('fetch', async (path: string) => {
      requests.push(path);
      const body = path.startsWith('/ws/ticket') ? { ticket: 'T'.repeat(43) } : session;
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  function client() {
    const ignore = () => undefined;
    return new CollabClient(TM, D, true, {
      onStatus: (s, detail) => statuses.push([s, detail]),
      onState: ignore,
      onOperation: ignore,
      onParticipants: ignore,
      onCursor: ignore,
      onSelection: ignore,
      onPresenterRequest: ignore,
      onNotice: ignore,
      onRejected: ignore,
    });
  }

  it('says the sign-in ended and does not retry after 4401; after another close it retries', async () => {
    const c = client();
    await c.start();
    expect(FakeSocket.opened).toHaveLength(1);
    FakeSocket.opened[0]!.closedByServer(CLOSE.sessionRevoked);
    expect(statuses.at(-1)).toEqual(['signed-out', SIGNED_OUT]);
    const before = requests.length;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(requests.length).toBe(before);
    expect(FakeSocket.opened).toHaveLength(1);
    expect(statuses.some(([s]) => s === 'reconnecting')).toBe(false);

    const other = client();
    await other.start();
    FakeSocket.opened[1]!.closedByServer(1006);
    expect(statuses.at(-1)![0]).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.opened).toHaveLength(3);
    other.stop();
  });

  it('says the sign-in ended when joining is refused with 401 (the refresh failed too)', async () => {
    vi.stubGlobal('fetch', async (path: string) => {
      requests.push(path);
      return new Response(JSON.stringify({ error: 'unauthorized', error_description: 'token revoked' }), { status: 401, headers: { 'content-type': 'application/json' } });
    });
    await client().start();
    expect(statuses.at(-1)).toEqual(['signed-out', SIGNED_OUT]);
    expect(FakeSocket.opened).toHaveLength(0);
  });
});

describe('the status line when signed out', () => {
  it('says the sign-in ended and links to the sign-in page, coming back to this diagram', () => {
    const html = renderToStaticMarkup(
      <SessionStatus
        mode={{ kind: 'collab', status: 'signed-out', detail: SIGNED_OUT }}
        writable
        returnTo={`/tm/${TM}/dfd/${D}`}
        error={undefined}
        onDismissError={() => undefined}
        notice={undefined}
        onDismissNotice={() => undefined}
      />,
    );
    expect(html).toContain('Your sign-in session has ended');
    expect(html).toContain(`href="${signInAgainHref(`/tm/${TM}/dfd/${D}`)}"`);
    expect(signInAgainHref(`/tm/${TM}/dfd/${D}?x=1`)).toBe(`/login?next=%2Ftm%2F${TM}%2Fdfd%2F${D}%3Fx%3D1`);
    expect(html).not.toContain('Retrying');
  });
});
