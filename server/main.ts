// Entry: config -> store -> app -> listen, and an ordered graceful shutdown on SIGTERM/SIGINT.
import { createServer, type Server } from 'node:http';
import { ConfigError, describeConfig, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { resolveSecrets } from './secrets.ts';
import { createContext } from './context.ts';
import { buildApp } from './app.ts';
import { DataDirLockedError } from './store/db.ts';
import { httpsRedirectLocation } from './http/security.ts';

/** One line for the operator instead of a stack, for the errors a listen can meet; else undefined. */
function listenProblem(err: unknown, setting: string, host: string, port: number): string | undefined {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return `${setting}: ${host}:${port} is already in use (another TMI, or another server, is listening there)`;
    case 'EACCES':
      return `${setting}: no permission to listen on ${host}:${port} (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
      return `TMI_SERVER_INTERFACE: ${host} is not an address of this machine`;
    default:
      return undefined;
  }
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

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
    ctx = await createContext(config, { log });
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
  let redirect: Server | undefined;
  const refuseToListen = async (line: string) => {
    log.fatal(line);
    process.stderr.write(`TMI cannot start: ${line}\n`);
    redirect?.close();
    await app.close();
    await ctx.close();
    process.exit(1);
  };
  const host = config.server.interface;
  try {
    await app.listen({ port: config.server.port, host });
  } catch (err) {
    const line = listenProblem(err, 'TMI_SERVER_PORT', host, config.server.port);
    if (line) return refuseToListen(line);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;

  if (config.server.tls.enabled && config.server.httpToHttpsRedirect) {
    // Plain HTTP only ever answers with a permanent redirect to the HTTPS base URL.
    redirect = createServer((req, res) => {
      res.writeHead(308, { location: httpsRedirectLocation(config.server.baseUrl, req.url ?? '/'), 'cache-control': 'no-store' }).end();
    });
    try {
      await listenOn(redirect, config.server.httpRedirectPort, host);
    } catch (err) {
      const line = listenProblem(err, 'TMI_SERVER_HTTP_REDIRECT_PORT', host, config.server.httpRedirectPort);
      if (line) return refuseToListen(line);
      throw err;
    }
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
  const shutdown = async (signal: string, exitCode = 0) => {
    if (exitCode) process.exitCode = exitCode;
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const force = setTimeout(() => {
      log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, config.server.shutdownGraceMs + 2000);
    force.unref();
    // A keep-alive connection whose request was in flight turns idle once it is answered; closed
    // then, not after the keep-alive timeout (5 s), the process exits as soon as its work is done.
    const closeIdle = setInterval(() => app.server.closeIdleConnections(), 100);
    try {
      redirect?.close();
      await app.close();
      clearInterval(closeIdle);
      await ctx.close();
      log.info('stopped');
    } catch (err) {
      log.error({ err }, 'error during shutdown');
      process.exitCode = 1;
    } finally {
      clearInterval(closeIdle);
      log.flush?.();
      setTimeout(() => process.exit(), 50).unref();
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  // The last line of defence, for errors that every other layer missed (an outage of PostgreSQL or
  // Redis is not one of them: it reaches requests as 503 and background work as a retry).
  // A promise that rejected with nobody waiting for it has unwound only its own chain, so the
  // server logs it with its stack and keeps serving. An exception thrown out of an event handler
  // may have left anything half-changed, so the server logs it, stops in order (requests in flight
  // finish) and exits 1 for its supervisor to start a clean process.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection; the server keeps running');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; shutting down');
    void shutdown('uncaughtException', 1);
  });
}

void main().catch((err: unknown) => {
  process.stderr.write(`TMI failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
