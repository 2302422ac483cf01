// `npm run build`: the server bundled into JavaScript in dist/ (esbuild, bundleServer below) with
// its SQL migrations and a package.json beside it, and the web app (Vite, web/dist) copied to
// dist/web/dist. dist/ then runs as `node dist/server/main.js` with node_modules beside it, and is
// what the container image ships. `--if-stale` (npm start) rebuilds only what is older than its
// sources, so a fresh clone and an edited checkout both start current code. `--server-only` skips
// the web app (the tests' child-process servers, test/support/build.ts, need only the server).
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.built');
const ifStale = process.argv.includes('--if-stale');
const serverOnly = process.argv.includes('--server-only');
const serverInputs = ['server', 'contract', 'formats', 'rules', 'tsconfig.json', 'package.json', 'package-lock.json'].map((p) => path.join(root, p));

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
  process.stderr.write('bundling the server into dist/\n');
  for (const sub of ['server', 'contract', 'formats', 'rules', 'node_modules']) rmSync(path.join(dist, sub), { recursive: true, force: true });
  await bundleServer();
  cpSync(path.join(root, 'server/store/migrations'), path.join(dist, 'server/store/migrations'), { recursive: true });
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // The server reads its version from it, and finds its own files below the folder that holds it
  // (server/app-root.ts).
  writeFileSync(path.join(dist, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }, null, 2)}\n`);
  writeFileSync(stamp, new Date().toISOString());
  process.stderr.write(`server bundled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/**
 * Packages imported from node_modules at run time instead of being bundled. Each for a reason:
 * they read files beside their own modules (PGlite its WebAssembly and data files, pdfkit its font
 * metrics, pino its transport workers), tracing instruments them as Node loads them (pg, ioredis),
 * or they are large and loaded only when their feature is configured (the cloud secret stores, the
 * OpenTelemetry SDK, SAML). The optional native helpers of `ws` are absent unless installed.
 */
const EXTERNAL = [
  '@electric-sql/pglite',
  'pdfkit',
  'dejavu-fonts-ttf',
  'pino',
  'pg',
  'ioredis',
  '@aws-sdk/*',
  'oci-*',
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/instrumentation',
  '@opentelemetry/instrumentation-*',
  '@node-saml/*',
  'bufferutil',
  'utf-8-validate',
];

/**
 * The server, its operator command line and its tracing preload, bundled with the packages they
 * import into one module each plus shared chunks (esbuild). Node resolving, reading and compiling
 * some 800 modules one by one was a third of the start on the embedded default; one bundle loads
 * in a fraction of that (docs/performance.md, start and memory). Type checking is `npm run
 * typecheck`'s job; this only transpiles. Source maps map stack traces back to the TypeScript.
 */
async function bundleServer() {
  const { build } = await import('esbuild');
  await build({
    entryPoints: ['server/main.ts', 'server/tools/cli.ts', 'server/observability/preload.ts'],
    absWorkingDir: root,
    outbase: root,
    outdir: dist,
    bundle: true,
    // Shared code in chunks, so the preload and the server share one module of tracing state and
    // what only some requests need (PDF, import and export) stays out of the start.
    splitting: true,
    chunkNames: 'server/chunks/[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node22',
    // Class and function names as written: logged errors carry their class name (pino's `type`),
    // and bundling would otherwise rename any that two modules share.
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    external: EXTERNAL,
    // CommonJS packages in an ES module bundle still call require() (for Node's own modules).
    banner: { js: "import { createRequire as __tmiCreateRequire } from 'node:module';\nconst require = __tmiCreateRequire(import.meta.url);" },
    plugins: [builtinsAsCommonJs],
    logLevel: 'warning',
  });
}

/**
 * Node's own modules, imported by ES module syntax, are taken through require() instead. An ES
 * import of one builds its export namespace by reading every export, and some exports are lazy
 * getters that load more of Node: node:http's WebSocket loads the bundled undici, node:crypto's
 * webcrypto its Web Crypto. That was about 50 ms of the server's start for APIs it does not use
 * there. require() returns the module object untouched, and the bundle reads the properties its
 * code names when that code runs.
 */
const builtinsAsCommonJs = {
  name: 'builtins-as-commonjs',
  setup(b) {
    const builtins = new RegExp(`^(node:.*|${builtinModules.join('|')})$`);
    b.onResolve({ filter: builtins }, (args) =>
      args.kind === 'import-statement' && args.namespace !== 'builtin' ? { path: args.path, namespace: 'builtin' } : { path: args.path, external: true },
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

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
