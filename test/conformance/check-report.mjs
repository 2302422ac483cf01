// Reads a run-postman (newman) JSON report and fails unless every failing assertion is one of the
// known contract conflicts listed for that collection in known-contract-conflicts.json.
// usage: node test/conformance/check-report.mjs <collection-short-name> <report.json>
import { readFileSync } from 'node:fs';

const [collection, reportFile] = process.argv.slice(2);
if (!collection || !reportFile) {
  console.error('usage: check-report.mjs <collection> <report.json>');
  process.exit(2);
}
const known = new Set(JSON.parse(readFileSync(new URL('./known-contract-conflicts.json', import.meta.url), 'utf8')).known[collection] ?? []);
const report = JSON.parse(readFileSync(reportFile, 'utf8'));
const failures = [];
for (const ex of report.run.executions ?? []) {
  for (const a of ex.assertions ?? []) if (a.error) failures.push(`${ex.item.name} :: ${a.assertion}`);
}
const stats = report.run.stats ?? {};
const scriptErrors = (stats.testScripts?.failed ?? 0) + (stats.prerequestScripts?.failed ?? 0);
const unexpected = failures.filter((f) => !known.has(f));
const fixed = [...known].filter((k) => !failures.includes(k));
console.log(`${collection}: ${failures.length} failing assertions, ${failures.length - unexpected.length} known contract conflicts, ${unexpected.length} unexpected, ${scriptErrors} script errors`);
if (fixed.length) console.log(`  known conflicts that now pass (remove them from the list): ${fixed.length}`);
for (const u of unexpected) console.log(`  UNEXPECTED: ${u}`);
process.exit(unexpected.length || scriptErrors ? 1 : 0);
