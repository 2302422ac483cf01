// The floors bench:collab compares TMI with, in a process of their own as TMI has (run by
// bench/collab/run.ts; prints "ready" once both listen):
// - the bare relay (RELAY_PORT): forwards each message to the other sockets, no checks, no storage;
// - with DATABASE_URL, the durable floor (RELAY_PORT + 1): commits each message with one INSERT
//   into PostgreSQL (its own transaction, as autocommit) before forwarding it; commits run
//   concurrently over a pool, as a server would.
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
}
process.stdout.write('ready\n');
