// Our OpenAPI document names each operation the reference also has as the reference does, so a
// client generated from either gets the same method names. Run by .ci/run against a live server:
//   node test/conformance/check-operation-ids.mjs <reference tmi-openapi.json> <base URL>
import { readFileSync } from 'node:fs';

const [referenceFile, base] = process.argv.slice(2);
const operations = (doc) => {
  const out = new Map();
  for (const [path, item] of Object.entries(doc.paths ?? {}))
    for (const [method, op] of Object.entries(item)) if (op && typeof op === 'object' && op.operationId) out.set(`${method.toUpperCase()} ${path}`, op.operationId);
  return out;
};
const reference = operations(JSON.parse(readFileSync(referenceFile, 'utf8')));
const ours = operations(await (await fetch(`${base}/openapi.json`)).json());
let shared = 0;
const different = [];
for (const [route, id] of ours) {
  const theirs = reference.get(route);
  if (!theirs) continue;
  shared++;
  if (theirs !== id) different.push(`${route}: ours ${id}, reference ${theirs}`);
}
console.log(`operation ids: ${shared} operations shared with the reference, ${different.length} named differently`);
for (const d of different) console.log(`  ${d}`);
process.exit(different.length ? 1 : 0);
