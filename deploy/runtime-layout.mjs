// The runtime image's file layout, in one place for the Dockerfile and for the test that runs it
// without a container engine (test/deploy.test.ts): the compiled server and web app (dist/), the
// package.json, and production dependencies only.
//   node deploy/runtime-layout.mjs --modules <node_modules with production deps only> <dest>
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const { values, positionals } = parseArgs({ options: { modules: { type: 'string' } }, allowPositionals: true });
const dest = positionals[0];
if (!dest || !values.modules) {
  process.stderr.write('usage: node deploy/runtime-layout.mjs --modules DIR DEST\n');
  process.exit(2);
}
for (const required of ['dist/server/main.js', 'dist/web/dist/index.html']) {
  if (!existsSync(path.join(root, required))) {
    process.stderr.write(`${required} is missing: run npm run build first\n`);
    process.exit(1);
  }
}
mkdirSync(dest, { recursive: true });
// Source maps stay (stack traces name the TypeScript lines); the build stamp does not.
cpSync(path.join(root, 'dist'), path.join(dest, 'dist'), { recursive: true, filter: (src) => path.basename(src) !== '.built' });
cpSync(path.join(root, 'package.json'), path.join(dest, 'package.json'));
cpSync(values.modules, path.join(dest, 'node_modules'), { recursive: true, verbatimSymlinks: true });
rmSync(path.join(dest, 'node_modules', '.package-lock.json'), { force: true });
