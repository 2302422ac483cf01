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
    // as child processes): on two cores a third worker only adds its own warm-up (measured: 14 s
    // more CPU and no shorter run).
    maxWorkers: 2,
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
