// Structured JSON logs (pino). Pretty only on a terminal; also to <TMI_LOG_DIR>/tmi.log when set.
// Anything that looks like a credential is redacted, wherever it appears.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';

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
export function createLogger(config: Pick<Config, 'log'>, destination?: pino.DestinationStream): Logger {
  const options = {
    level: config.log.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'tmi' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  const streams: pino.StreamEntry[] = [];
  if (process.stdout.isTTY) {
    try {
      streams.push({ stream: pino.transport({ target: 'pino-pretty', options: { colorize: true } }) });
    } catch {
      streams.push({ stream: process.stdout });
    }
  } else {
    streams.push({ stream: process.stdout });
  }
  if (config.log.dir) {
    mkdirSync(config.log.dir, { recursive: true });
    streams.push({ stream: pino.destination({ dest: path.join(config.log.dir, 'tmi.log'), mkdir: true, sync: false }) });
  }
  return pino(options, streams.length === 1 ? streams[0]!.stream : pino.multistream(streams));
}
