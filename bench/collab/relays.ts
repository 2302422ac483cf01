// The floors bench:collab compares TMI with, in a process of their own as TMI has (run by
// bench/collab/run.ts; prints "ready" once both listen):
// - the bare relay (RELAY_PORT): forwards each message to the other sockets, no checks, no storage;
// - with DATABASE_URL, the durable floor (RELAY_PORT + 1): commits each message with one INSERT
//   into PostgreSQL (its own transaction, as autocommit) before forwarding it; commits run
//   concurrently over a pool, as a server would;
// - with DATABASE_URL, the ordered durable floor (RELAY_PORT + 2): what total order costs on its
//   own. Every message takes the next sequence number of one log, is committed before it is
//   forwarded, and is forwarded in that order; messages that arrive while a batch commits are
//   committed together as the next batch (one multi-row INSERT), one batch at a time. That is the
//   least a relay must do to give every client the same order of durable operations, which TMI
//   does and the durable floor does not (its INSERTs commit side by side, and forward in whatever
//   order they finish).
import pg from 'pg';
import WebSocket, { WebSocketServer } from 'ws';

const RELAY_PORT = Number(process.env.RELAY_PORT);
const DATABASE_URL = process.env.DATABASE_URL;

function listen(port: number): Promise<WebSocketServer> {
  return new Promise((resolve) => {
    const wss: WebSocketServer = new WebSocketServer({ port, host: '127.0.0.1' }, () => resolve(wss));
  });
}

function forward(wss: WebSocketServer, from: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  for (const other of wss.clients) if (other !== from && other.readyState === WebSocket.OPEN) other.send(data, { binary: isBinary });
}

const bare = await listen(RELAY_PORT);
bare.on('connection', (ws: WebSocket) => ws.on('message', (data, isBinary) => forward(bare, ws, data, isBinary)));

if (DATABASE_URL) {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 20 });
  await pool.query('CREATE TABLE IF NOT EXISTS floor_operations (id bigserial PRIMARY KEY, session text NOT NULL, payload jsonb NOT NULL)');
  const durable = await listen(RELAY_PORT + 1);
  durable.on('connection', (ws: WebSocket) =>
    ws.on('message', (data, isBinary) => {
      void pool.query('INSERT INTO floor_operations (session, payload) VALUES ($1, $2)', ['bench', data.toString()]).then(() => forward(durable, ws, data, isBinary));
    }),
  );

  // One batch at a time: one connection of its own.
  const log = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  await log.query('CREATE TABLE IF NOT EXISTS floor_ordered_log (seq bigint PRIMARY KEY, payload jsonb NOT NULL)');
  const ordered = await listen(RELAY_PORT + 2);
  const queue: { from: WebSocket; data: WebSocket.RawData; isBinary: boolean }[] = [];
  let seq = 0;
  let committing = false;
  const commitInOrder = async () => {
    committing = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, 64);
      await log.query('INSERT INTO floor_ordered_log (seq, payload) SELECT $1::bigint + i, p FROM unnest($2::jsonb[]) WITH ORDINALITY AS x(p, i)', [
        seq,
        batch.map((m) => m.data.toString()),
      ]);
      seq += batch.length;
      for (const m of batch) forward(ordered, m.from, m.data, m.isBinary);
    }
    committing = false;
  };
  ordered.on('connection', (ws: WebSocket) =>
    ws.on('message', (data, isBinary) => {
      queue.push({ from: ws, data, isBinary });
      if (!committing) void commitInOrder();
    }),
  );
}
process.stdout.write('ready\n');
