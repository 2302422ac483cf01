// Entry: config -> store -> app -> listen, and an ordered graceful shutdown on SIGTERM/SIGINT.
import { createServer } from 'node:http';
import { ConfigError, describeConfig, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { resolveSecrets } from './secrets.ts';
import { createContext } from './context.ts';
import { buildApp } from './app.ts';
import { DataDirLockedError } from './store/db.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(await resolveSecrets(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`TMI cannot start: ${err.message}\nSee docs/configuration.md for every setting.\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config);
  let ctx;
  try {
    ctx = await createContext(config);
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      log.fatal(err.message);
      process.stderr.write(`TMI cannot start: ${err.message}\n`);
      process.exit(1);
    }
    log.fatal({ err }, 'could not open the database or the shared state store');
    process.exit(1);
  }
  const app = await buildApp(ctx, { logger: log });
  await app.listen({ port: config.server.port, host: config.server.interface });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;

  let redirect: ReturnType<typeof createServer> | undefined;
  if (config.server.tls.enabled && config.server.httpToHttpsRedirect) {
    // Plain HTTP only ever answers with a permanent redirect to the HTTPS origin.
    redirect = createServer((req, res) => {
      const target = new URL(req.url ?? '/', config.server.baseUrl);
      res.writeHead(308, { location: target.href, 'cache-control': 'no-store' }).end();
    });
    redirect.listen(config.server.httpRedirectPort, config.server.interface);
  }

  log.info({ config: describeConfig(config), port }, 'TMI server started');
  if (config.buildMode !== 'production') {
    const banner = [
      '',
      `  TMI is running in ${config.buildMode.toUpperCase()} mode on ${config.server.tls.enabled ? 'https' : 'http'}://${config.server.interface}:${port}`,
      config.auth.devProviderEnabled
        ? '  The development identity provider "tmi" is ENABLED: anyone can sign in as any user name.'
        : '  The development identity provider is disabled.',
      `  Storage: ${config.database.url ? 'PostgreSQL' : `PGlite in ${config.dataDir}`}; shared state: ${config.redis.url ? 'Redis' : 'in-process'}.`,
      '  Do not expose this server to a network; set TMI_BUILD_MODE=production for real use.',
      '',
    ].join('\n');
    process.stderr.write(`${banner}\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const force = setTimeout(() => {
      log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, config.server.shutdownGraceMs + 2000);
    force.unref();
    try {
      redirect?.close();
      await app.close();
      await ctx.close();
      log.info('stopped');
    } catch (err) {
      log.error({ err }, 'error during shutdown');
      process.exitCode = 1;
    } finally {
      log.flush?.();
      setTimeout(() => process.exit(), 50).unref();
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main().catch((err: unknown) => {
  process.stderr.write(`TMI failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
