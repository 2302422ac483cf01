// Browser tests of the threat-modeling aids: suggestions in the editor (badge, accept creates the
// linked threat, dismiss is remembered by the server), the model overview, the CVSS calculator on a
// threat's page, the CWE picker over the whole CWE List, and rollback from the audit trail.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { BASE, createThreatModel, newUserPage, shot, signIn, startHarness, uniqueName, type Harness } from './support.ts';

/** A request with the page's session cookie; returns the parsed body. */
async function rest<T = any>(page: Page, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: T }> {
  return page.evaluate(
    async ([m, p, b, ct]) => {
      const res = await fetch(p as string, { method: m as string, headers: { accept: 'application/json', ...(b === undefined ? {} : { 'content-type': ct as string }) }, body: b === undefined ? undefined : JSON.stringify(b) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    [method, path, body, contentType] as const,
  );
}

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** A diagram with an external customer talking plain HTTP to a web process inside a boundary. */
function cells() {
  return [
    { id: id(1), shape: 'security-boundary', x: 300, y: 40, width: 320, height: 260, parent: null, attrs: { text: { text: 'DMZ' } } },
    { id: id(2), shape: 'actor', x: 40, y: 120, width: 120, height: 60, parent: null, attrs: { text: { text: 'Customer' } } },
    { id: id(3), shape: 'process', x: 380, y: 120, width: 120, height: 60, parent: id(1), attrs: { text: { text: 'Web shop' } } },
    {
      id: id(4),
      shape: 'flow',
      source: { cell: id(2) },
      target: { cell: id(3) },
      labels: [{ attrs: { text: { text: 'orders' } } }],
      data: { _metadata: [{ key: 'protocol', value: 'http' }] },
    },
  ];
}

const DIST = path.resolve(import.meta.dirname, '../../web/dist');

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h?.stop());

describe('threat suggestions, calculators and history in the app', () => {
  it('shows suggestion badges; accept creates the linked threat, dismiss is remembered; overview, CVSS and rollback work', async () => {
    const { context, page } = await newUserPage(h.browser);
    try {
      await signIn(page, uniqueName('ins'));
      const tm = await createThreatModel(page, uniqueName('Shop'));
      const d = await rest(page, 'POST', `/threat_models/${tm}/diagrams`, { name: 'Main', type: 'DFD-1.0.0' });
      assert.equal(d.status, 201);
      const put = await rest(page, 'PUT', `/threat_models/${tm}/diagrams/${d.body.id}`, { name: 'Main', type: 'DFD-1.0.0', cells: cells() });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const before = await rest(page, 'GET', `/threat_models/${tm}/suggestions`);
      assert.ok(before.body.total > 3, `suggestions: ${before.body.total}`);

      // The editor: badges on the cells with open suggestions, the panel lists them.
      await page.goto(`${BASE}/tm/${tm}/dfd/${d.body.id}`);
      await page.getByTestId('suggestion-badge').first().waitFor();
      const badgeCells = await page.getByTestId('suggestion-badge').evaluateAll((els) => els.map((e) => e.getAttribute('data-cell-id')));
      assert.ok(badgeCells.includes(id(4)), `a badge on the HTTP flow: ${badgeCells.join(',')}`);
      await page.getByTestId('suggestion').first().waitFor();
      assert.equal(await page.getByTestId('suggestion').count(), before.body.total);
      await shot(page, 'insight-editor-suggestions');

      // Clicking the flow's badge selects the flow: the panel narrows to its suggestions.
      await page.locator(`[data-testid="suggestion-badge"][data-cell-id="${id(4)}"]`).click();
      await page.getByTestId('properties').waitFor();
      const onFlow = before.body.suggestions.filter((s: { cell_id: string }) => s.cell_id === id(4));
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="suggestion"]').length === n, onFlow.length);

      // Accept the first: the threat appears in the cell's threats and on the server, linked to the flow.
      const first = onFlow[0];
      await page.locator(`[data-suggestion-id="${first.id}"]`).getByRole('button', { name: 'Accept' }).click();
      await page.getByTestId('cell-threats').getByText(first.threat.name).waitFor();
      const threats = await rest(page, 'GET', `/threat_models/${tm}/threats?cell_id=${id(4)}`);
      assert.equal(threats.body.total, 1);
      assert.equal(threats.body.threats[0].name, first.threat.name);
      assert.equal(threats.body.threats[0].diagram_id, d.body.id);

      // Dismiss the second: gone from the panel, and still gone after a reload (the server keeps it).
      const second = onFlow[1];
      await page.locator(`[data-suggestion-id="${second.id}"]`).getByRole('button', { name: 'Dismiss' }).click();
      await page.locator(`[data-suggestion-id="${second.id}"]`).waitFor({ state: 'detached' });
      const dismissed = await rest(page, 'GET', `/threat_models/${tm}/suggestions?state=dismissed`);
      assert.deepEqual(dismissed.body.suggestions.map((s: { id: string }) => s.id), [second.id]);
      await page.reload();
      await page.getByTestId('suggestion').first().waitFor();
      assert.equal(await page.getByTestId('suggestion').count(), before.body.total - 2);
      assert.equal(await page.locator(`[data-suggestion-id="${second.id}"]`).count(), 0);
      assert.equal(await page.locator(`[data-suggestion-id="${first.id}"]`).count(), 0);
      // The dismissed one is listed apart and can be reopened; dismiss it again for what follows.
      await page.getByRole('button', { name: 'Show dismissed suggestions' }).click();
      const dismissedList = page.getByTestId('dismissed-suggestions');
      await dismissedList.locator(`[data-suggestion-id="${second.id}"]`).getByRole('button', { name: 'Reopen' }).click();
      await page.locator(`[data-testid="suggestion"][data-suggestion-id="${second.id}"]`).waitFor();
      assert.equal((await rest(page, 'GET', `/threat_models/${tm}/suggestions?state=dismissed`)).body.total, 0);
      await page.locator(`[data-testid="suggestion"][data-suggestion-id="${second.id}"]`).getByRole('button', { name: 'Dismiss' }).click();
      await page.locator(`[data-testid="suggestion"][data-suggestion-id="${second.id}"]`).waitFor({ state: 'detached' });

      // The overview: open suggestions counted, the accepted threat in the matrix, uncovered elements.
      await page.goto(`${BASE}/tm/${tm}#overview`);
      await page.getByRole('tab', { name: 'Overview' }).click();
      await page.getByTestId('overview').waitFor();
      assert.match((await page.getByTestId('open-suggestions').textContent()) ?? '', new RegExp(`^${before.body.total - 2} open`));
      assert.equal(await page.getByTestId('severity-matrix').locator('tbody tr').count(), 1);
      assert.match((await page.getByTestId('uncovered').textContent()) ?? '', /Customer/);
      await shot(page, 'insight-overview');

      // The threat's page: its cell highlighted; the CVSS 3.1 calculator scores and saves.
      const threatId = threats.body.threats[0].id as string;
      await page.goto(`${BASE}/tm/${tm}/threats/${threatId}`);
      await page.getByTestId('threat-page').waitFor();
      assert.equal(await page.getByTestId('thumbnail').locator('[data-highlighted]').count(), 1);

      // The CWE picker searches the whole CWE List (not only the ~70 the app once listed): a number
      // with the keyboard, words with a click; the list's version shows, read from the package data.
      const picker = page.getByTestId('cwe-picker');
      const xml = readFileSync(createRequire(import.meta.url).resolve('cwe-sdk/raw/cwe-archive.xml'), 'utf8').slice(0, 2000);
      const [, cweVersion, cweDate] = /<Weakness_Catalog [^>]*Version="([^"]+)" Date="([^"]+)"/.exec(xml)!;
      await picker.getByTestId('cwe-catalogue-version').filter({ hasText: `MITRE CWE List ${cweVersion} (${cweDate})` }).waitFor();
      const search = picker.getByRole('combobox', { name: 'Search the CWE List' });
      await search.fill('CWE-1336');
      await picker.locator('[role="option"][aria-selected="true"]', { hasText: 'Template Engine' }).waitFor();
      await search.press('Enter');
      await picker.locator('.chips').getByRole('link', { name: 'CWE-1336' }).waitFor();
      await search.fill('J2EE Misconfiguration: Data Transmission');
      await picker.getByRole('option').first().waitFor();
      await shot(page, 'insight-cwe-picker');
      await picker.getByRole('option', { name: /CWE-5 J2EE Misconfiguration: Data Transmission Without Encryption/ }).click();
      await picker.locator('.chips').getByRole('link', { name: 'CWE-5', exact: true }).waitFor();
      const withCwe = await rest(page, 'GET', `/threat_models/${tm}/threats/${threatId}`);
      assert.deepEqual(withCwe.body.cwe_id.slice(-2), ['CWE-1336', 'CWE-5']);
      // The catalogue is a chunk of its own, fetched when the picker shows, not part of the app's entry.
      const entry = /src="\/assets\/([^"]+\.js)"/.exec(readFileSync(path.join(DIST, 'index.html'), 'utf8'))![1]!;
      assert.doesNotMatch(readFileSync(path.join(DIST, 'assets', entry), 'utf8'), /Special Elements Used in a Template Engine/);
      const calc = page.getByTestId('cvss-calculator');
      for (const [metric, value] of [['AV', 'N'], ['AC', 'L'], ['PR', 'N'], ['UI', 'N'], ['S', 'U'], ['C', 'H'], ['I', 'H'], ['A', 'H']]) {
        await calc.locator(`[data-metric="${metric}"] button[data-value="${value}"]`).click();
      }
      assert.equal(await page.getByTestId('cvss-score').textContent(), '9.8');
      await page.getByRole('button', { name: 'Add this score to the threat' }).click();
      await page.getByTestId('threat-cvss').getByText('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H (9.8)').waitFor();
      // CVSS 4.0 as well.
      await calc.getByLabel('CVSS 4.0').check();
      for (const [metric, value] of [['AV', 'N'], ['AC', 'L'], ['AT', 'N'], ['PR', 'N'], ['UI', 'N'], ['VC', 'H'], ['VI', 'H'], ['VA', 'H'], ['SC', 'N'], ['SI', 'N'], ['SA', 'N']]) {
        await calc.locator(`[data-metric="${metric}"] button[data-value="${value}"]`).click();
      }
      assert.equal(await page.getByTestId('cvss-score').textContent(), '9.3');
      await shot(page, 'insight-threat-page');
      const scored = await rest(page, 'GET', `/threat_models/${tm}/threats/${threatId}`);
      assert.deepEqual(scored.body.cvss, [{ vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 }]);

      // The threat's history: the change shows as a diff; rolling back to the creation, confirmed.
      const history = page.getByTestId('object-history');
      await history.locator('[data-change="patched"]').first().waitFor();
      await history.locator('[data-change="patched"]').first().getByRole('button', { name: 'Show changes' }).click();
      await page.getByTestId('audit-diff').locator('[data-field="cvss"]').waitFor();
      await history.locator('[data-change="created"]').getByRole('button', { name: 'Roll back to this version…' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
      await page.getByTestId('threat-cvss').getByText('—').waitFor();
      const rolled = await rest(page, 'GET', `/threat_models/${tm}/threats/${threatId}`);
      assert.deepEqual(rolled.body.cvss, []);
      await history.locator('[data-change="rolled_back"]').waitFor();
      await shot(page, 'insight-rollback');
    } finally {
      await context.close();
    }
  });
});
