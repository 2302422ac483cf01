// What ships: the Kubernetes manifests as kustomize renders them, the compose file, and the
// container's runtime layout (compiled output, web app, production dependencies only) started as
// an unprivileged user who can write nothing but the data directory. No image registry or
// container engine is needed: deploy/test-image.sh checks the real image where they exist.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './support/build.ts';
import { ROOT } from './support/process.ts';
import { freePort } from './support/net.ts';
import { PRODUCTION_ENV, usingPostgres } from './support/app.ts';

type Doc = Record<string, any>;
const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));

function render(dir: string): Doc[] {
  const out = execFileSync(kubectl!, ['kustomize', path.join(ROOT, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJSON() as Doc);
}

describe('Kubernetes manifests', () => {
  it('kubectl with kustomize v5 is installed (.ci/run installs it where it is missing)', () => {
    expect(kubectl, 'kubectl not found: install kubectl (with kustomize v5)').toBeDefined();
    const version = execFileSync(kubectl!, ['version', '--client'], { encoding: 'utf8' });
    expect(Number(/Kustomize Version: v(\d+)/.exec(version)?.[1] ?? 0), `these manifests need kustomize v5; kubectl says:\n${version}`).toBeGreaterThanOrEqual(5);
  });

  for (const dir of ['deploy/k8s/base', 'deploy/k8s/overlays/production']) {
    describe.runIf(kubectl)(dir, () => {
      const docs = kubectl ? render(dir) : [];
      const workloads = docs.filter((d) => ['Deployment', 'StatefulSet'].includes(d.kind));
      const server = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'tmi')!;
      const production = dir.endsWith('production');

      it('lock down every workload: non-root, read-only root, no privilege escalation, no capabilities, resources', () => {
        expect(workloads.map((w) => w.metadata.name).sort()).toEqual(['tmi', 'tmi-postgres', 'tmi-redis']);
        for (const w of workloads) {
          const pod = w.spec.template.spec;
          expect(pod.securityContext.runAsNonRoot, w.metadata.name).toBe(true);
          expect(pod.securityContext.seccompProfile?.type, w.metadata.name).toBe('RuntimeDefault');
          expect(pod.automountServiceAccountToken, w.metadata.name).toBe(false);
          for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
            const where = `${w.metadata.name}/${c.name}`;
            expect(c.securityContext.readOnlyRootFilesystem, where).toBe(true);
            expect(c.securityContext.allowPrivilegeEscalation, where).toBe(false);
            expect(c.securityContext.capabilities.drop, where).toContain('ALL');
            expect(c.resources.requests.cpu, where).toBeTruthy();
            expect(c.resources.requests.memory, where).toBeTruthy();
            expect(c.resources.limits.memory, where).toBeTruthy();
          }
        }
      });

      it('run the server replicated with liveness, readiness (database and Redis) and startup probes', () => {
        expect(server.spec.replicas).toBeGreaterThanOrEqual(production ? 3 : 2);
        const c = server.spec.template.spec.containers.find((x: Doc) => x.name === 'tmi');
        expect(c.livenessProbe.httpGet.path).toBe('/healthz');
        expect(c.readinessProbe.httpGet.path).toBe('/readyz');
        expect(c.startupProbe.httpGet.path).toBe('/healthz');
        if (production) expect(c.image).toBe('registry.example.com/tmi:0.1.0');
        // Migrations run as their own role before the server starts; the server does not migrate.
        const init = server.spec.template.spec.initContainers.find((x: Doc) => x.name === 'migrate');
        expect(init.command).toEqual(['/nodejs/bin/node', 'dist/server/tools/cli.js', 'migrate']);
        const config = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'tmi-config')!;
        expect(config.data.TMI_DATABASE_MIGRATE).toBe('false');
        // Secrets come from mounted files, not from environment values.
        expect(config.data.TMI_JWT_SECRET_FILE).toMatch(/^\/run\/secrets\//);
        expect(JSON.stringify(c.env ?? [])).not.toMatch(/SECRET"|PASSWORD/);
      });

      it('keep the server available through disruptions and scale it', () => {
        const selector = server.spec.selector.matchLabels;
        const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget')!;
        expect(pdb.spec.selector.matchLabels).toEqual(selector);
        expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
        const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler')!;
        expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'tmi' });
        expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(production ? 3 : 2);
        expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      });

      it('let only the server reach PostgreSQL and Redis', () => {
        const policies = docs.filter((d) => d.kind === 'NetworkPolicy');
        const serverLabels = server.spec.template.metadata.labels;
        for (const component of ['postgres', 'redis']) {
          const store = workloads.find((w) => w.metadata.name === `tmi-${component}`)!;
          const podLabels = store.spec.template.metadata.labels;
          const selecting = policies.filter((p) => Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => podLabels[k] === v));
          expect(selecting.length, component).toBeGreaterThan(0);
          const rules = selecting.flatMap((p) => p.spec.ingress ?? []);
          expect(rules.length, component).toBeGreaterThan(0);
          for (const rule of rules) {
            // Every rule names its peers, and every peer is a server pod.
            expect(rule.from?.length, component).toBeGreaterThan(0);
            for (const peer of rule.from) {
              expect(peer.namespaceSelector, component).toBeUndefined();
              expect(Object.entries(peer.podSelector.matchLabels).every(([k, v]) => serverLabels[k] === v), component).toBe(true);
            }
          }
        }
      });

      if (production) it('terminate TLS at the ingress, in a namespace that enforces the restricted pod profile', () => {
        const ingress = docs.find((d) => d.kind === 'Ingress')!;
        expect(ingress.spec.tls[0].secretName).toBeTruthy();
        const ns = docs.find((d) => d.kind === 'Namespace')!;
        expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
        for (const d of docs.filter((x) => x.kind !== 'Namespace')) expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe('tmi');
      });
    });
  }
});

describe('compose file', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'deploy/compose.yaml'), 'utf8')) as Doc;

  it('run the server read-only without capabilities, secrets from files', () => {
    const tmi = compose.services.tmi;
    expect(tmi.read_only).toBe(true);
    expect(tmi.cap_drop).toEqual(['ALL']);
    for (const name of ['TMI_JWT_SECRET', 'TMI_DATABASE_URL', 'TMI_REDIS_URL']) {
      expect(tmi.environment[name], name).toBeUndefined();
      expect(tmi.environment[`${name}_FILE`], name).toMatch(/^\/run\/secrets\//);
    }
    for (const secret of Object.values(compose.secrets) as Doc[]) expect(secret.file).toMatch(/^\.\/secrets\//);
  });

  it('persist Redis with an append-only file and protect it with a password', () => {
    const redis = compose.services.redis;
    expect(redis.command.join(' ')).toMatch(/--appendonly yes/);
    expect(redis.command.join(' ')).toMatch(/--aclfile \/run\/secrets\/redis_acl/);
    expect(compose.services.postgres.environment.POSTGRES_PASSWORD_FILE).toBe('/run/secrets/postgres_password');
  });

  it('make-secrets.sh writes every secret the file mounts, with the Redis password in its ACL and URL', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tmi-compose-'));
    cpSync(path.join(ROOT, 'deploy/make-secrets.sh'), path.join(dir, 'make-secrets.sh'));
    execFileSync('bash', [path.join(dir, 'make-secrets.sh')], { stdio: 'pipe' });
    for (const secret of Object.values(compose.secrets) as Doc[]) expect(statSync(path.join(dir, secret.file)).size).toBeGreaterThan(0);
    const password = readFileSync(path.join(dir, 'secrets/redis_password'), 'utf8');
    expect(readFileSync(path.join(dir, 'secrets/redis_acl'), 'utf8')).toBe(`user default on >${password} ~* &* +@all`);
    expect(readFileSync(path.join(dir, 'secrets/tmi_redis_url'), 'utf8')).toBe(`redis://:${password}@redis:6379`);
    expect(readFileSync(path.join(dir, 'secrets/tmi_jwt_secret'), 'utf8').length).toBeGreaterThanOrEqual(32);
  });
});

/**
 * Production dependencies only: the packages of the installed node_modules that package-lock.json
 * does not mark `dev`, hard-linked (copied where links fail) into a folder of the same layout,
 * made once per package.json and package-lock.json and kept in node_modules/.cache like any build
 * cache. Returns that node_modules folder.
 *
 * This is what the Dockerfile does: `npm ci` of everything, then `npm prune --omit=dev`, which
 * removes exactly the lock file's `dev` entries and leaves every other package where the full
 * install placed it (npm ci lays the tree out from the lock file, dev packages or not). It was
 * `npm ci --omit=dev --ignore-scripts` into a folder of its own, about 10 s of CPU on a run without
 * the cache, and further from the image in one way: it skipped the install scripts that the
 * image's `npm ci` runs. What the test proves is unchanged: the server starts from the runtime
 * layout with no dev package present (the first test below checks some are absent).
 */
function productionModules(): string {
  const caches = path.join(ROOT, 'node_modules/.cache/tmi-production-deps');
  const hash = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) hash.update(readFileSync(path.join(ROOT, f)));
  const key = hash.digest('hex').slice(0, 16);
  const cached = path.join(caches, key);
  if (existsSync(cached)) return path.join(cached, 'node_modules');
  mkdirSync(caches, { recursive: true });
  // Made beside the cache entry and renamed into place when complete, so that a run interrupted
  // half-way, or one in parallel, never finds half a folder under the key.
  const work = mkdtempSync(path.join(caches, `${key}.`));
  try {
    const packages = (JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; link?: boolean }> }).packages;
    const keep = Object.keys(packages).filter((p) => p.startsWith('node_modules/') && !packages[p]!.dev);
    const kept = new Set(keep);
    for (const p of keep) {
      if (packages[p]!.link) throw new Error(`${p}: linked packages (workspaces) are not handled here`);
      if (!existsSync(path.join(ROOT, p))) {
        // Optional packages of other platforms are in the lock file but not installed; npm ci
        // --omit=dev would not install them here either. Anything else missing is a stale install.
        if ((packages[p] as { optional?: boolean }).optional) continue;
        throw new Error(`${p} is in package-lock.json but not installed: run npm ci`);
      }
      // Each package's own files; the packages nested in its node_modules are entries of their own.
      linkTree(path.join(ROOT, p), path.join(work, p), (rel) => rel !== 'node_modules');
    }
    // The command links npm makes for the packages kept, and only for them.
    for (const bin of new Set(keep.map((p) => path.join(p.slice(0, p.lastIndexOf('node_modules/') + 'node_modules'.length), '.bin')))) {
      if (!existsSync(path.join(ROOT, bin))) continue;
      for (const name of readdirSync(path.join(ROOT, bin))) {
        const target = readlinkSync(path.join(ROOT, bin, name));
        const owner = /^(?:\.\.\/)((?:@[^/]+\/)?[^/]+)\//.exec(target)?.[1];
        if (!owner || !kept.has(path.join(path.dirname(bin), owner))) continue;
        mkdirSync(path.join(work, bin), { recursive: true });
        symlinkSync(target, path.join(work, bin, name));
      }
    }
    renameSync(work, cached);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(cached)) throw err; // else a parallel run got there first
  }
  // Folders for other lock files (a day old: another checkout may be using one right now), and
  // ones that were interrupted, are of no further use.
  for (const name of readdirSync(caches)) {
    const other = path.join(caches, name);
    if (name !== key && Date.now() - statSync(other).mtimeMs > 24 * 3600_000) rmSync(other, { recursive: true, force: true });
  }
  return path.join(cached, 'node_modules');
}

/** Recreates the tree `from` at `to`: files hard-linked (copied across file systems), symbolic links as they are. */
function linkTree(from: string, to: string, include: (rel: string) => boolean = () => true): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (!include(e.name)) continue;
    const [src, dst] = [path.join(from, e.name), path.join(to, e.name)];
    if (e.isDirectory()) linkTree(src, dst);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else {
      try {
        linkSync(src, dst);
      } catch {
        cpSync(src, dst);
      }
    }
  }
}

// It runs on PGlite whatever the suite's back end: once, in the PGlite pass.
describe.runIf(!usingPostgres)('the runtime image layout', () => {
  const NOBODY = 65534;
  const asRoot = process.getuid?.() === 0;
  let root: string;
  let app: string;
  let data: string;

  beforeAll(async () => {
    await ensureBuilt('server and web');
    root = mkdtempSync(path.join(tmpdir(), 'tmi-image-'));
    chmodSync(root, 0o755);
    app = path.join(root, 'app');
    const layout = spawnSync(process.execPath, [path.join(ROOT, 'deploy/runtime-layout.mjs'), '--modules', productionModules(), app], { encoding: 'utf8' });
    expect(layout.status, layout.stderr).toBe(0);
    // The node binary where distroless has it, readable by anyone (ours may live in root's home).
    mkdirSync(path.join(root, 'nodejs/bin'), { recursive: true });
    const node = path.join(root, 'nodejs/bin/node');
    try {
      linkSync(process.execPath, node);
    } catch {
      cpSync(process.execPath, node);
    }
    data = path.join(root, 'data');
    mkdirSync(data, { mode: 0o700 });
    if (asRoot) {
      chownSync(data, NOBODY, NOBODY);
    } else {
      // Without root the test cannot switch users: make the app read-only for ourselves instead.
      execFileSync('chmod', ['-R', 'a-w', app]);
    }
  }, 300_000);
  afterAll(() => {
    if (!root) return;
    if (!asRoot) execFileSync('chmod', ['-R', 'u+w', root]);
    rmSync(root, { recursive: true, force: true });
  });

  it('hold the compiled server and web app, production dependencies only, no TypeScript', () => {
    expect(existsSync(path.join(app, 'dist/server/main.js'))).toBe(true);
    expect(existsSync(path.join(app, 'dist/server/store/migrations/0001_init.sql'))).toBe(true);
    expect(existsSync(path.join(app, 'dist/web/dist/index.html'))).toBe(true);
    for (const dev of ['tsx', 'typescript', 'vite', 'vitest', 'react', '@antv/x6', 'pino-pretty']) {
      expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    }
    for (const run of ['fastify', 'pg', 'prom-client', '@opentelemetry/sdk-node']) expect(existsSync(path.join(app, 'node_modules', run)), run).toBe(true);
    const ts = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? ts(path.join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [e.name] : []));
    expect(ts(path.join(app, 'dist'))).toEqual([]);
  });

  it('serve the API and the web app as an unprivileged user, in production mode, writing only the data directory', async () => {
    const port = await freePort();
    const secret = path.join(root, 'jwt_secret');
    writeFileSync(secret, randomBytes(48).toString('base64url'), { mode: 0o644 });
    const env = {
      PATH: '/usr/bin:/bin',
      NODE_ENV: 'production',
      TMI_SERVER_INTERFACE: '127.0.0.1',
      TMI_SERVER_PORT: String(port),
      TMI_SERVER_BASE_URL: `http://127.0.0.1:${port}`,
      TMI_DATA_DIR: data,
      TMI_JWT_SECRET_FILE: secret,
      // Production mode with what it refuses to start without: an identity provider and Secure
      // cookies (TLS ends at the ingress).
      ...PRODUCTION_ENV,
    };
    // The image's entrypoint, as the Dockerfile says it (after the node binary).
    const entry = (JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(path.join(ROOT, 'deploy/Dockerfile'), 'utf8'))![1]!) as string[]).slice(1);
    const node = path.join(root, 'nodejs/bin/node');
    const [cmd, args] = asRoot
      ? ['setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--no-new-privs', node, ...entry]]
      : [node, entry];
    const child = spawn(cmd, args as string[], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      let ready = 0;
      for (let i = 0; i < 600 && ready !== 200 && child.exitCode === null; i++) {
        ready = await fetch(`${base}/readyz`).then((r) => r.status, () => 0);
        if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready, out).toBe(200);
      const health = (await (await fetch(`${base}/`)).json()) as { status: { code: string } };
      expect(health.status.code).toBe('ok');
      const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
      const html = await page.text();
      expect(html).toMatch(/<!doctype html>/i);
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(asset).toBeDefined();
      expect((await fetch(`${base}${asset}`)).status).toBe(200);
      // The image's health check command.
      const check = spawnSync(node, ['dist/server/tools/cli.js', 'healthcheck', `${base}/readyz`], { cwd: app, encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      // Nothing but the data directory was written.
      expect(readdirSync(data)).toContain('pglite');
      if (asRoot) {
        const notOurs = (dir: string): string[] =>
          readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
            const p = path.join(dir, e.name);
            if (statSync(p).uid === NOBODY) return [p];
            return e.isDirectory() ? notOurs(p) : [];
          });
        expect(notOurs(app)).toEqual([]);
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(out).toContain('"msg":"stopped"');
  }, 300_000);
});
