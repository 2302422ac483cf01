// Browser tests of reports, export and import: import model files through the list page's Import
// dialog (Threat Dragon v2, detected; a .tm7 with the format chosen), read the mapping report, open
// the new model, download its PDF and Markdown reports and a Threat Dragon export.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { BASE, newUserPage, shot, signIn, startHarness, uniqueName, type Harness } from './support.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/formats');

let h: Harness;
let page: Page;

before(async () => {
  h = await startHarness();
  ({ page } = await newUserPage(h.browser));
  await signIn(page, uniqueName('rep'));
});
after(async () => h?.stop());

async function importFile(file: string, format?: string): Promise<void> {
  await page.goto(`${BASE}/`);
  await page.getByRole('button', { name: 'Import…' }).click();
  await page.locator('input[type="file"][name="file"]').setInputFiles(path.join(FIXTURES, file));
  if (format) await page.locator('select[name="format"]').selectOption(format);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByTestId('import-summary').waitFor({ timeout: 30_000 });
}

/** Clicks a menu entry and answers the downloaded file's name and bytes. */
async function download(menu: string, entry: string): Promise<{ name: string; bytes: Buffer }> {
  await page.getByTestId(menu).locator('summary').click();
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByTestId(menu).getByRole('menuitem', { name: entry }).click()]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(file) };
}

describe('import, report and export in the app', () => {
  it('imports a Threat Dragon v2 file (detected) and shows what was and was not mapped', async () => {
    await importFile('threat-dragon-v2.json');
    assert.match(await page.getByTestId('import-summary').innerText(), /Payments Portal was created from a OWASP Threat Dragon v2 JSON file/);
    const counts = await page.getByTestId('import-counts').innerText();
    assert.match(counts, /In the file\s+1\s+3\s+3\s+2\s+4/);
    assert.match(counts, /Imported\s+1\s+3\s+2\s+2\s+4/);
    assert.match(await page.getByTestId('import-unmapped').innerText(), /flow Checkout: flow 'Half-drawn flow': not connected to an element at both ends/);
    await shot(page, 'import-report');
    await page.getByRole('button', { name: 'Open the threat model' }).click();
    await page.waitForURL(/\/tm\/[0-9a-f-]{36}$/);
    await page.getByRole('tablist').waitFor();
  });

  it('downloads the model\'s report as PDF and Markdown from the Report menu', async () => {
    const pdf = await download('report-menu', 'PDF (A4)');
    assert.equal(pdf.name, 'payments-portal-report.pdf');
    assert.equal(pdf.bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    const md = await download('report-menu', 'Markdown');
    assert.equal(md.name, 'payments-portal-report.md');
    const text = md.bytes.toString('utf8');
    for (const threat of ['Session hijacking', 'Price tampering', 'Database credentials in clear']) assert.ok(text.includes(threat), threat);
    assert.match(text, /## Open suggestions/);
    await page.getByTestId('report-menu').locator('summary').click();
    await shot(page, 'report-menu');
    await page.getByTestId('report-menu').locator('summary').click();
  });

  it('exports the model as Threat Dragon v2 from the Export menu', async () => {
    const td = await download('export-menu', 'OWASP Threat Dragon v2');
    assert.equal(td.name, 'payments-portal.threat-dragon.json');
    const doc = JSON.parse(td.bytes.toString('utf8')) as { summary: { title: string }; detail: { diagrams: unknown[] } };
    assert.equal(doc.summary.title, 'Payments Portal');
    assert.equal(doc.detail.diagrams.length, 1);
  });

  it('imports a Threat Modeling Tool .tm7 with the format chosen', async () => {
    await importFile('model.tm7', 'tm7');
    assert.match(await page.getByTestId('import-summary').innerText(), /Microsoft Threat Modeling Tool \(\.tm7\) file/);
    await page.getByRole('button', { name: 'Open the threat model' }).click();
    await page.getByRole('tablist').waitFor();
  });

  it('shows the server\'s refusal of a hostile file and creates nothing', async () => {
    await page.goto(`${BASE}/`);
    const total = () => page.evaluate(async () => ((await (await fetch('/threat_models?limit=1', { headers: { accept: 'application/json' } })).json()) as { total: number }).total);
    const before = await total();
    await page.getByRole('button', { name: 'Import…' }).click();
    await page.locator('input[type="file"][name="file"]').setInputFiles({
      name: 'bomb.tm7',
      mimeType: 'application/xml',
      buffer: Buffer.from('<?xml version="1.0"?><!DOCTYPE ThreatModel [<!ENTITY a "aaaa">]><ThreatModel>&a;</ThreatModel>'),
    });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText(/declares a DTD or XML entities, which are refused/).first().waitFor({ timeout: 15_000 });
    await shot(page, 'import-refused');
    assert.equal(await total(), before);
  });
});
