// `npm run sbom`: a CycloneDX SBOM of the production dependency tree, from the lock file (npm's
// own `npm sbom`), written to dist/sbom.cdx.json or the path given. The image build ships it.
// Third-party data the web app bundles is added as `data` components (docs/operations.md lists it).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readCweCatalogue } from '../web/scripts/cwe-catalogue.mjs';

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

// The CWE picker's catalogue (web/scripts/cwe-catalogue.mjs): MITRE's CWE List, taken from the
// cwe-sdk package (a development dependency, so npm's tree above leaves it out).
const cwe = readCweCatalogue();
const carrier = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('cwe-sdk/package.json'), 'utf8'));
const cweRef = `cwe-list@${cwe.version}`;
bom.components.push({
  'bom-ref': cweRef,
  type: 'data',
  name: 'CWE List',
  version: cwe.version,
  supplier: { name: 'The MITRE Corporation', url: ['https://cwe.mitre.org/'] },
  description: `MITRE Common Weakness Enumeration ${cwe.version} (${cwe.date}), ${cwe.entries.length} entries: ids, names and kinds bundled in the web app's CWE picker`,
  licenses: [{ license: { name: 'CWE Terms of Use', url: 'https://cwe.mitre.org/about/termsofuse.html' } }],
  externalReferences: [
    { type: 'website', url: 'https://cwe.mitre.org/' },
    { type: 'distribution', url: `https://www.npmjs.com/package/cwe-sdk/v/${carrier.version}`, comment: `taken from raw/cwe-archive.json of cwe-sdk ${carrier.version} (OWASP, ${carrier.license})` },
  ],
  properties: [{ name: 'tmi-ts:released', value: cwe.date }],
});
bom.dependencies?.find((d) => d.ref === bom.metadata?.component?.['bom-ref'])?.dependsOn?.push(cweRef);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(bom, null, 2)}\n`);
process.stderr.write(`SBOM (CycloneDX ${bom.specVersion}, ${bom.components?.length ?? 0} components): ${out}\n`);
