// The app's pino output, kept line by line, for tests that read the log.
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../server/log.ts';

export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    const s = chunk.toString('utf8');
    this.text += s;
    for (const line of s.split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }

  /** A logger (the app's own, redaction included) that writes here. */
  logger(level = 'trace'): Logger {
    return createLogger({ log: { level, dir: '' } }, this);
  }
}
