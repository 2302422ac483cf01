// WebSocket test client for collaboration tests: keeps every message, waits for the next one that
// matches, and records how the socket closed. Every message it receives must match the protocol's
// schemas (contract/collab-messages.ts): a test that meets one that does not fails on it.
import { randomUUID } from 'node:crypto';
import { Compile } from 'typebox/compile';
import WebSocket from 'ws';
import { NotificationMessage, ServerMessage } from '../contract/collab-messages.ts';

const ServerMessageCheck = Compile(ServerMessage);
const NotificationCheck = Compile(NotificationMessage);

/** Why a message received is not one the server may send, or null. */
export function nonConforming(m: unknown): string | null {
  if (ServerMessageCheck.Check(m) || NotificationCheck.Check(m)) return null;
  const type = (m as { message_type?: unknown })?.message_type;
  return `${JSON.stringify(m).slice(0, 300)} does not match the schema of ${String(type)}`;
}

export type Msg = Record<string, any>;

export class WsClient {
  readonly messages: Msg[] = [];
  /** Messages received that the protocol's schemas do not allow. */
  readonly problems: string[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;
  readonly opened: Promise<void>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const m = JSON.parse(data.toString()) as Msg;
      // A browser hands a binary frame over as a Blob, which tmi-ux does not parse.
      const problem = isBinary ? `${String(m.message_type)} came in a binary frame, not a text frame` : nonConforming(m);
      if (problem) this.problems.push(problem);
      this.messages.push(m);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  static connect(url: string, headers: Record<string, string> = {}): WsClient {
    return new WsClient(new WebSocket(url, { headers }));
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next message (after those already taken) that matches; earlier non-matching ones are skipped. */
  async next(match: (m: Msg) => boolean = () => true, timeoutMs = 5000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.problems.length) throw new Error(`the server sent a message outside the protocol: ${this.problems[0]}`);
      while (this.cursor < this.messages.length) {
        const m = this.messages[this.cursor++]!;
        if (match(m)) return m;
      }
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting; got ${JSON.stringify(this.messages.slice(-3))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; last messages ${JSON.stringify(this.messages.slice(-3)).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  type(t: string, timeoutMs?: number) {
    return this.next((m) => m.message_type === t, timeoutMs);
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.closed;
  }

  send(m: unknown) {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  close() {
    this.ws.close();
  }
}

export const processNode = (id = randomUUID(), x = 10) => ({
  id,
  shape: 'process',
  position: { x, y: 20 },
  size: { width: 120, height: 60 },
  attrs: { text: { text: 'P' } },
});

export const opRequest = (cells: unknown[], operationId = randomUUID()) => ({
  message_type: 'diagram_operation_request',
  operation_id: operationId,
  base_vector: 0,
  operation: { type: 'patch', cells },
});
