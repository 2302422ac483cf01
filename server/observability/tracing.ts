// OpenTelemetry traces (off unless TMI_OTEL_ENABLED=true): spans for incoming HTTP requests and
// for PostgreSQL and Redis calls, exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the
// SDK's standard variables). The instrumentations patch `http`, `pg` and `ioredis` as they load,
// so startTracing() runs from a preload (preload.ts) before the server imports anything.
// Each request's span carries its request id and route; log lines carry the trace and span ids.
import { register } from 'node:module';
import type { Span } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import type { OperationsConfig } from '../config.ts';

/** The span active now; none until tracing starts (the API's hundred modules load with the tracer, not with the server). */
let activeSpan: () => Span | undefined = () => undefined;

export async function startTracing(settings: OperationsConfig['tracing']): Promise<void> {
  // ES modules are patched through a loader hook (import-in-the-middle); CommonJS through require.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { trace } = await import('@opentelemetry/api');
  activeSpan = () => trace.getActiveSpan();
  const [{ NodeSDK }, { OTLPTraceExporter }, { HttpInstrumentation }, { PgInstrumentation }, { IORedisInstrumentation }, sdkTrace] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('@opentelemetry/sdk-trace'),
  ]);
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME || 'tmi',
    sampler: new sdkTrace.ParentBasedSampler({ root: new sdkTrace.TraceIdRatioBasedSampler(settings.samplingRate) }),
    spanProcessors: [new sdkTrace.BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
    instrumentations: [
      // Health probes and metric scrapes would drown the traces that matter.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/metrics' }),
      // Statement text only (parameterised; values are not recorded).
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new IORedisInstrumentation(),
    ],
  });
  sdk.start();
  // Flush what is buffered when the server stops.
  const stop = () => void sdk.shutdown().catch(() => undefined);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Names each request's span by its route and tags it with the request id (a no-op without tracing). */
export function registerTracing(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const span = activeSpan();
    if (!span) return;
    const route = request.routeOptions.url;
    span.setAttribute('tmi.request_id', request.id);
    if (route) {
      span.setAttribute('http.route', route);
      span.updateName(`${request.method} ${route}`);
    }
  });
}

/** Trace and span ids for log lines written while a span is active (pino mixin). */
export function traceIds(): { trace_id?: string; span_id?: string } {
  const ctx = activeSpan()?.spanContext();
  return ctx ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
}
