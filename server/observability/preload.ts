// Loaded before the server (`node --import ./dist/server/observability/preload.js dist/server/main.js`)
// so that tracing, when TMI_OTEL_ENABLED=true, can patch http, pg and ioredis before they load.
// Without tracing it loads nothing more. A bad setting is reported by the server's own start.
import { ConfigError, loadTracingConfig } from '../config.ts';

let settings;
try {
  settings = loadTracingConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
}
if (settings?.enabled) {
  const { startTracing } = await import('./tracing.ts');
  await startTracing(settings);
}
