// `npm run sbom`: a CycloneDX SBOM of the production dependency tree, from the lock file (npm's
// own `npm sbom`), written to dist/sbom.cdx.json or the path given. The image build ships it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist/sbom.cdx.json'));
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const r = spawnSync(npm[0], [...npm.slice(1), 'sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application', '--omit', 'dev', '--package-lock-only'], {
  cwd: root,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
});
if (r.status !== 0) {
  process.stderr.write(`npm sbom failed:\n${r.stderr}`);
  process.exit(r.status ?? 1);
}
const bom = JSON.parse(r.stdout);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(bom, null, 2)}\n`);
process.stderr.write(`SBOM (CycloneDX ${bom.specVersion}, ${bom.components?.length ?? 0} components): ${out}\n`);
