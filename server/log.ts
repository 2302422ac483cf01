// Structured JSON logs (pino) to stdout; human-readable only in dev mode on a terminal. With
// TMI_LOG_DIR also to rotating files there (pino-roll: size and count limits). Anything that looks
// like a credential is redacted, wherever it appears. While a trace is active (OpenTelemetry), each
// line carries its trace and span ids.
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import { traceIds } from './observability/tracing.ts';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.cookie',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.code_verifier',
  '*.ticket',
  '*.password',
  '*.secret',
  '*.client_secret',
  '*.jwt',
];

/** `destination` replaces the default outputs (stdout, log file); tests use it to read the lines. */
export function createLogger(
  config: Pick<Config, 'log'> & Partial<Pick<Config, 'buildMode' | 'operations'>>,
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    level: config.log.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'tmi' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceIds,
  };
  if (destination) return pino(options, destination);
  const streams: pino.StreamEntry[] = [];
  if (process.stdout.isTTY && config.buildMode === 'dev') {
    try {
      streams.push({ stream: pino.transport({ target: 'pino-pretty', options: { colorize: true } }) });
    } catch {
      streams.push({ stream: process.stdout });
    }
  } else {
    streams.push({ stream: process.stdout });
  }
  if (config.log.dir) {
    const rotation = config.operations?.logRotation ?? { maxSizeMb: 100, maxFiles: 10 };
    streams.push({
      stream: pino.transport({
        target: 'pino-roll',
        // tmi.1.log, tmi.2.log, ...; current.log links to the one being written.
        options: { file: path.join(config.log.dir, 'tmi'), extension: '.log', size: `${rotation.maxSizeMb}m`, limit: { count: rotation.maxFiles }, mkdir: true, symlink: true },
      }),
    });
  }
  return pino(options, streams.length === 1 ? streams[0]!.stream : pino.multistream(streams));
}
