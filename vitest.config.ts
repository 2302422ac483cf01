import { defineConfig } from 'vitest/config';
import { cweCatalogue } from './web/scripts/cwe-catalogue.mjs';
import LongestFirst from './test/support/sequencer.ts';

export default defineConfig({
  // Web modules under test import the build's virtual modules too (vite.config.ts).
  plugins: [cweCatalogue()],
  test: {
    include: ['test/**/*.test.ts', 'server/**/*.test.ts', 'contract/**/*.test.ts', 'web/**/*.test.ts', 'web/**/*.test.tsx'],
    exclude: ['test/e2e/**', 'node_modules/**', 'web/dist/**'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // The suite is CPU-bound (the app and its PGlite database in the workers, the servers started
    // as child processes), but with two workers on two cores a core is idle about a fifth of the
    // run, while a file waits for a server it started or on a timer: a third worker fills that for
    // the cost of its own warm-up. Measured on two cores, quiet machine, warm: 61.5 s with two
    // workers (95 s of CPU, machine 81 % busy), 54.9 s with three (102 s, 97 % busy); before
    // the changes of issue 13 item 6, 58.7 s and 53.6 s warm, 71-75 s and 66 s cold.
    maxWorkers: 3,
    // The longest files first: by the durations of the previous run that vitest keeps in
    // node_modules/.vite, and on a first run by those measured (test/support/sequencer.ts).
    sequence: { sequencer: LongestFirst },
    // The files of a worker share one module graph: the server is imported, its schemas compiled
    // and the PGlite template loaded once per worker instead of once per file (about 6 s of CPU
    // each). Files keep no global state of their own beyond what they close in afterAll.
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
