// Metrics (Prometheus text, on their own port or behind a token), health probes, and traces
// (OpenTelemetry over OTLP to a local receiver, with the request id on the span and the trace id
// in the log line).
import { createServer as createHttpServer, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK, call, signIn, startTestApp, uniqueUser, usingPostgres, type TestApp } from './support/app.ts';
import { seedDataFolder, spawnServer } from './support/process.ts';
import { ConfigError, describeConfig, loadConfig, loadTracingConfig } from '../server/config.ts';
import { freePort } from './support/net.ts';
import { WsClient, opRequest, processNode } from './collab-support.ts';

const TOKEN = randomBytes(24).toString('hex');

/** The value of a sample whose labels include `labels`, or 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('metrics behind a token on the API port', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      TMI_METRICS_TOKEN: TOKEN,
      TMI_TEST_FORCE_AUTH_FLOW_RATE_LIMITING: 'true',
      TMI_RATELIMIT_AUTH_USER_PER_MINUTE: '1',
    });
  });
  afterAll(async () => t?.close());
  const scrape = async () => (await call(t.app, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).text;

  it('refuse callers without the metrics token, whatever else they hold', async () => {
    expect((await call(t.app, 'GET', '/metrics')).status).toBe(401);
    expect((await call(t.app, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    const user = await signIn(t.app);
    const withUserToken = await call(t.app, 'GET', '/metrics', { token: user.accessToken });
    expect(withUserToken.status).toBe(401);
    expect(withUserToken.text).not.toContain('tmi_http_requests_total');
  });

  it('count requests per route pattern and status, with latency, and 401s', async () => {
    const before = await scrape();
    const user = await signIn(t.app);
    const tm = await call(t.app, 'POST', '/threat_models', { token: user.accessToken, body: { name: 'metrics' } });
    expect(tm.status).toBe(201);
    await call(t.app, 'GET', `/threat_models/${tm.body.id}`, { token: user.accessToken });
    await call(t.app, 'GET', '/threat_models');
    const after = await scrape();
    const route = { method: 'GET', route: '/threat_models/:threat_model_id', status: '200' };
    expect(sample(after, 'tmi_http_requests_total', route) - sample(before, 'tmi_http_requests_total', route)).toBe(1);
    const hist = { method: 'GET', route: '/threat_models/:threat_model_id', le: '+Inf' };
    expect(sample(after, 'tmi_http_request_duration_seconds_bucket', hist) - sample(before, 'tmi_http_request_duration_seconds_bucket', hist)).toBe(1);
    // Labels are route patterns, never the ids in the path.
    expect(after).not.toContain(tm.body.id);
    expect(sample(after, 'tmi_http_unauthorized_total', { status: '401' })).toBeGreaterThan(sample(before, 'tmi_http_unauthorized_total', { status: '401' }));
  });

  it('count sign-ins by provider and rate-limit rejections by scope', async () => {
    const before = await scrape();
    await signIn(t.app);
    const hint = uniqueUser();
    const challenge = createHash('sha256').update(randomBytes(32)).digest('base64url');
    const query = { idp: 'tmi', login_hint: hint, client_callback: CALLBACK, scope: 'openid', state: 's', code_challenge: challenge };
    expect((await t.app.inject({ method: 'GET', url: '/oauth2/authorize', query })).statusCode).toBe(302);
    expect((await t.app.inject({ method: 'GET', url: '/oauth2/authorize', query })).statusCode).toBe(429);
    const after = await scrape();
    const ok = { provider: 'tmi', outcome: 'success' };
    expect(sample(after, 'tmi_sign_ins_total', ok) - sample(before, 'tmi_sign_ins_total', ok)).toBe(1);
    const limited = { limit: 'auth', scope: 'user' };
    expect(sample(after, 'tmi_rate_limit_rejections_total', limited) - sample(before, 'tmi_rate_limit_rejections_total', limited)).toBe(1);
  });

  it('report the database and shared store as up, the event-loop lag, and the pool on PostgreSQL', async () => {
    const text = await scrape();
    expect(sample(text, 'tmi_database_up')).toBe(1);
    expect(sample(text, 'tmi_redis_up')).toBe(1);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('tmi_collab_sessions');
    if (usingPostgres) expect(sample(text, 'tmi_database_pool_connections', { state: 'total' })).toBeGreaterThan(0);
  });

  it('answer /healthz and /readyz without authentication', async () => {
    expect((await call(t.app, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await call(t.app, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', database: 'ok', redis: 'ok' });
  });
});

describe('metrics on their own port', () => {
  let t: TestApp | undefined;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    t = await startTestApp({ TMI_OTEL_PROMETHEUS_PORT: String(port), TMI_METRICS_INTERFACE: '127.0.0.1' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => t?.close());

  it('serve /metrics there, and nothing at /metrics on the API port without a token', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('tmi_http_requests_total');
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    expect((await call(t!.app, 'GET', '/metrics')).status).toBe(401);
  });

  it('count collaboration sessions, sockets and operations', async () => {
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const owner = await signIn(t!.app);
    const tm = await call(t!.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'collab metrics' } });
    const d = await call(t!.app, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token: owner.accessToken, body: { name: 'Live', type: 'DFD-1.0.0' } });
    const session = await call(t!.app, 'POST', `/threat_models/${tm.body.id}/diagrams/${d.body.id}/collaborate`, { token: owner.accessToken, body: {} });
    const ticket = await call(t!.app, 'GET', `/ws/ticket?session_id=${session.body.session_id}`, { token: owner.accessToken });
    const before = await scrape();
    const address = t!.app.server.address() as { port: number };
    const ws = WsClient.connect(`ws://127.0.0.1:${address.port}/threat_models/${tm.body.id}/diagrams/${d.body.id}/ws?session_id=${session.body.session_id}&ticket=${encodeURIComponent(ticket.body.ticket)}`);
    try {
      await ws.opened;
      await ws.type('diagram_state', 15_000);
      const n = processNode();
      ws.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
      await ws.type('diagram_operation_event', 15_000);
      const during = await scrape();
      expect(sample(during, 'tmi_collab_sockets') - sample(before, 'tmi_collab_sockets')).toBe(1);
      expect(sample(during, 'tmi_collab_sessions')).toBeGreaterThanOrEqual(1);
      const applied = { outcome: 'applied' };
      expect(sample(during, 'tmi_collab_operations_total', applied) - sample(before, 'tmi_collab_operations_total', applied)).toBe(1);
    } finally {
      ws.close();
      await ws.waitClosed();
    }
  });

  it('stop listening when the app closes', async () => {
    await t!.close();
    t = undefined;
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('settings', () => {
  it('refuse a sampling rate outside 0..1 and a short metrics token; the start-up summary masks the token', () => {
    let err: unknown;
    try {
      loadConfig({ TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-obs-cfg-')), TMI_OTEL_SAMPLING_RATE: '2', TMI_METRICS_TOKEN: 'short' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toEqual(['TMI_METRICS_TOKEN: must be at least 16 bytes', 'TMI_OTEL_SAMPLING_RATE: expected a number from 0 to 1, got "2"']);
    expect(() => loadTracingConfig({ TMI_OTEL_SAMPLING_RATE: 'half' })).toThrow(ConfigError);
    expect(loadTracingConfig({ TMI_OTEL_ENABLED: 'true', TMI_OTEL_SAMPLING_RATE: '0.25' })).toEqual({ enabled: true, samplingRate: 0.25 });
    const config = loadConfig({ TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-obs-cfg-')), TMI_METRICS_TOKEN: TOKEN });
    expect(JSON.stringify(describeConfig(config))).not.toContain(TOKEN);
  });
});

describe('readiness', () => {
  it('answers 503 naming the store that does not answer', async () => {
    const t = await startTestApp();
    try {
      // The app's own database handle closed under it: the probe query fails.
      await t.ctx.db.close();
      const ready = await call(t.app, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.database).toBe('unavailable');
      expect((await call(t.app, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await t.app.close();
      await t.ctx.close().catch(() => undefined);
    }
  });
});

describe('traces', () => {
  let receiver: Server;
  let spans: { scope: string; name: string; traceId: string; attributes: Record<string, unknown> }[] = [];
  const paths: string[] = [];
  let receiverPort: number;
  beforeAll(async () => {
    receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        paths.push(`${req.url} ${req.headers['content-type']}`);
        if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) {
          const doc = JSON.parse(body) as {
            resourceSpans: { scopeSpans: { scope: { name: string }; spans: { name: string; traceId: string; attributes: { key: string; value: Record<string, unknown> }[] }[] }[] }[];
          };
          for (const rs of doc.resourceSpans) {
            for (const ss of rs.scopeSpans) {
              for (const s of ss.spans) {
                spans.push({ scope: ss.scope.name, name: s.name, traceId: s.traceId, attributes: Object.fromEntries(s.attributes.map((a) => [a.key, Object.values(a.value)[0]])) });
              }
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverPort = (receiver.address() as { port: number }).port;
  });
  afterAll(async () => new Promise((r) => receiver?.close(r)));

  it('export request spans with the request id and route, database and Redis spans in the same trace, and the trace id in the log', async () => {
    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      TMI_BUILD_MODE: 'test',
      TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-otel-')),
      TMI_SERVER_PORT: String(port),
      TMI_OTEL_ENABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      ...(process.env.TMI_TEST_DATABASE_URL ? { TMI_DATABASE_URL: process.env.TMI_TEST_DATABASE_URL } : {}),
      ...(process.env.TMI_TEST_REDIS_URL ? { TMI_REDIS_URL: process.env.TMI_TEST_REDIS_URL } : {}),
    };
    seedDataFolder(env);
    const child = await spawnServer(env, { tracing: true });
    let log = '';
    child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const requestId = `trace-test-${randomBytes(4).toString('hex')}`;
      let status = 0;
      for (let i = 0; i < 300 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-request-id': requestId } }).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
      let request: (typeof spans)[number] | undefined;
      for (let i = 0; i < 100 && !request; i++) {
        request = spans.find((s) => s.attributes['tmi.request_id'] === requestId);
        if (!request) await new Promise((r) => setTimeout(r, 100));
      }
      expect(request, `no span with the request id; receiver saw ${paths.join(', ')}`).toBeDefined();
      expect(request!.scope).toBe('@opentelemetry/instrumentation-http');
      expect(request!.name).toBe('GET /');
      expect(request!.attributes['http.route']).toBe('/');
      // GET / probes the database and the shared store inside the request's trace (their spans
      // may reach the receiver in a later batch).
      const expected = [...(usingPostgres ? ['@opentelemetry/instrumentation-pg'] : []), ...(process.env.TMI_TEST_REDIS_URL ? ['@opentelemetry/instrumentation-ioredis'] : [])];
      const inTrace = () => spans.filter((s) => s.traceId === request!.traceId).map((s) => s.scope);
      for (let i = 0; i < 100 && !expected.every((scope) => inTrace().includes(scope)); i++) await new Promise((r) => setTimeout(r, 100));
      for (const scope of expected) expect(inTrace()).toContain(scope);
      const line = log.split('\n').find((l) => l.includes(`"reqId":"${requestId}"`));
      expect(line).toBeDefined();
      expect(JSON.parse(line!).trace_id).toBe(request!.traceId);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);

  it('stay off unless configured: no spans, no trace ids in logs', async () => {
    const t = await startTestApp();
    try {
      const before = spans.length;
      await call(t.app, 'GET', '/');
      expect(spans.length).toBe(before);
    } finally {
      await t.close();
    }
  });
});
