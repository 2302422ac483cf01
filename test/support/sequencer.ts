// The order in which the files start. Vitest starts the files that took longest in the previous
// run first (the durations it keeps in node_modules/.vite), so that no long file is left to run
// alone at the end. Without those durations (a fresh clone, as in CI) it orders by file size,
// which put the files that start servers as child processes among the last to start (measured:
// server-process.test.ts at +40 s and store.test.ts at +47 s of a 71 s run). Here a file
// without a duration of its own takes the one below, measured on a run without them (three
// workers on two cores); files in neither start after these, largest first, as before.
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds, roughly, of the files that take longest: they start servers, or wait on timers. */
const EXPECTED_SECONDS: Record<string, number> = {
  'test/server-process.test.ts': 12,
  'test/deploy.test.ts': 11,
  'test/observability.test.ts': 11,
  'test/outage.test.ts': 10,
  'test/auth-flow.test.ts': 7.5,
  'test/store.test.ts': 7.1,
  'test/backup.test.ts': 5.2,
  'test/threats.test.ts': 4.8,
  'test/collab-revocation.test.ts': 4.8,
  'test/logging.test.ts': 4.6,
  'test/diagrams.test.ts': 4.3,
  'test/service-accounts.test.ts': 3.8,
  'test/collab-multi.test.ts': 3.5,
  'test/reports.test.ts': 3.2,
  'test/secrets.test.ts': 3.2,
};

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const known = (f: TestSpecification) => cache.getFileTestResults(`${f.project.name}:${path.relative(this.ctx.config.root, f.moduleId)}`);
    // Every file has a duration from the previous run: vitest's own order.
    if (files.every(known)) return super.sort(files);
    const seconds = (f: TestSpecification): number | undefined => {
      const result = known(f);
      if (result) return result.duration / 1000;
      return EXPECTED_SECONDS[path.relative(this.ctx.config.root, f.moduleId).split(path.sep).join('/')];
    };
    const size = (f: TestSpecification) => cache.getFileStats(`${f.project.name}:${path.relative(this.ctx.config.root, f.moduleId)}`)?.size ?? 0;
    return [...files].sort((a, b) => {
      const [sa, sb] = [seconds(a), seconds(b)];
      if (sa !== undefined && sb !== undefined) return sb - sa;
      if (sa !== undefined) return -1;
      if (sb !== undefined) return 1;
      return size(b) - size(a);
    });
  }
}
