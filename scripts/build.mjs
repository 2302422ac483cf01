// `npm run build`: the server compiled to JavaScript in dist/ (tsc, tsconfig.build.json) with its
// SQL migrations and a package.json beside it, and the web app (Vite, web/dist) copied to
// dist/web/dist. dist/ then runs as `node dist/server/main.js` with node_modules beside it, and is
// what the container image ships. `--if-stale` (npm start) rebuilds only what is older than its
// sources, so a fresh clone and an edited checkout both start current code. `--server-only` skips
// the web app (the tests' child-process servers, test/support/build.ts, need only the server).
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.built');
const ifStale = process.argv.includes('--if-stale');
const serverOnly = process.argv.includes('--server-only');
const serverInputs = ['server', 'contract', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'].map((p) => path.join(root, p));

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(p).reduce((m, name) => Math.max(m, newest(path.join(p, name))), s.mtimeMs);
}

function run(args, what) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`build failed: ${what}\n`);
    process.exit(r.status ?? 1);
  }
}

async function buildServer() {
  const started = Date.now();
  process.stderr.write('compiling the server into dist/\n');
  for (const sub of ['server', 'contract']) rmSync(path.join(dist, sub), { recursive: true, force: true });
  run([path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], 'tsc -p tsconfig.build.json');
  cpSync(path.join(root, 'server/store/migrations'), path.join(dist, 'server/store/migrations'), { recursive: true });
  await bundleTypebox();
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // config.ts reads the version from the package.json one folder above server/.
  writeFileSync(path.join(dist, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }, null, 2)}\n`);
  writeFileSync(stamp, new Date().toISOString());
  process.stderr.write(`server compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/**
 * TypeBox ships as about 680 small modules, and resolving and loading them one by one was a sixth
 * of the server's start (docs/performance.md, start and memory). It is bundled, with the Fastify
 * type provider that imports it (so that both use one copy, one format registry), into
 * dist/node_modules, which Node's resolution looks in before the project's node_modules: the
 * compiled server imports 'typebox' as before and gets the bundle. Each of TypeBox's public entry
 * points is bundled, so any import of it resolves; other packages stay where npm put them.
 */
async function bundleTypebox() {
  const { build } = await import('esbuild');
  const out = path.join(dist, 'node_modules');
  rmSync(out, { recursive: true, force: true });
  const typebox = JSON.parse(readFileSync(path.join(root, 'node_modules/typebox/package.json'), 'utf8'));
  const subpaths = Object.keys(typebox.exports); // '.', './compile', ...
  const fileOf = (subpath) => (subpath === '.' ? 'index' : subpath.slice(2));
  const entryPoints = [
    ...subpaths.map((sp) => ({ in: fileURLToPath(import.meta.resolve(sp === '.' ? 'typebox' : `typebox/${sp.slice(2)}`)), out: `typebox/${fileOf(sp)}` })),
    { in: fileURLToPath(import.meta.resolve('@fastify/type-provider-typebox')), out: '@fastify/type-provider-typebox/index' },
  ];
  await build({
    entryPoints,
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'typebox/chunks/[name]-[hash]',
    logLevel: 'warning',
    plugins: [
      {
        // Only TypeBox goes into the bundle; every other package is imported from node_modules.
        name: 'only-typebox',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => (args.path === 'typebox' || args.path.startsWith('typebox/') ? undefined : { external: true }));
        },
      },
    ],
  });
  const manifest = (name, version, exports) => `${JSON.stringify({ name, version, private: true, type: 'module', exports }, null, 2)}\n`;
  writeFileSync(path.join(out, 'typebox/package.json'), manifest('typebox', typebox.version, Object.fromEntries(subpaths.map((sp) => [sp, `./${fileOf(sp)}.js`]))));
  const provider = JSON.parse(readFileSync(path.join(root, 'node_modules/@fastify/type-provider-typebox/package.json'), 'utf8'));
  writeFileSync(path.join(out, '@fastify/type-provider-typebox/package.json'), manifest(provider.name, provider.version, { '.': './index.js' }));
}

function buildWeb() {
  // web/scripts/ensure-build.mjs rebuilds web/dist only when its sources changed.
  if (!ifStale) rmSync(path.join(root, 'web/dist/index.html'), { force: true });
  run([path.join(root, 'web/scripts/ensure-build.mjs')], 'the web app (vite build)');
  const from = path.join(root, 'web/dist');
  const to = path.join(dist, 'web/dist');
  if (newest(from) > newest(to) || !existsSync(path.join(to, 'index.html'))) {
    rmSync(to, { recursive: true, force: true });
    mkdirSync(path.dirname(to), { recursive: true });
    cpSync(from, to, { recursive: true });
  }
}

mkdirSync(dist, { recursive: true });
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (!ifStale || !built || Math.max(...serverInputs.map(newest)) > built) await buildServer();
if (!serverOnly) buildWeb();
