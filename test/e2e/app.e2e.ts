// Browser tests: the web app in Debian's Chromium against a real server (own port, own data
// folder). Run with `npm run test:e2e`; not part of `npm test`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { BASE, createThreatModel, newUserPage, shot, signIn, startHarness, uniqueName, type Harness } from './support.ts';

interface CellJson {
  id: string;
  shape: string;
  parent?: string | null;
  labels?: { attrs?: { text?: { text?: string } } }[];
  attrs?: { text?: { text?: string } };
  source?: { cell: string; port?: string };
  target?: { cell: string; port?: string };
  x?: number;
  position?: { x: number; y: number };
}

const labelOf = (c: CellJson) => (c.shape === 'flow' ? c.labels?.[0]?.attrs?.text?.text : c.attrs?.text?.text) ?? '';

/** The cells the browser's graph holds right now (read through the editor's X6 graph). */
async function graphCells(page: Page): Promise<CellJson[]> {
  return page.evaluate(() => {
    const g = (window as unknown as { __tmiGraph?: { toJSON(): { cells: unknown[] } } }).__tmiGraph;
    return (g ? g.toJSON().cells : []) as never;
  });
}

/** The diagram as stored by the server (REST, with the page's session cookie). */
async function storedCells(page: Page, tmId: string, diagramId: string): Promise<CellJson[]> {
  return page.evaluate(async ([tm, d]) => {
    const res = await fetch(`/threat_models/${tm}/diagrams/${d}`, { headers: { accept: 'application/json' } });
    return ((await res.json()) as { cells: unknown[] }).cells as never;
  }, [tmId, diagramId] as const);
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Adds a shape from the palette; returns its cell id (the new shape is selected). */
async function addShape(page: Page, shape: string, label: string): Promise<string> {
  const before = new Set((await graphCells(page)).map((c) => c.id));
  await page.locator(`button[data-shape="${shape}"]`).click();
  const cell = await until(`a new ${shape}`, async () => (await graphCells(page)).find((c) => !before.has(c.id) && c.shape === shape));
  await page.locator('input[name="cell_label"]').fill(label);
  return cell.id;
}

async function center(page: Page, id: string) {
  // The canvas may redraw a cell right after loading (the live state arrives after REST's).
  const box = await until(`cell ${id} on screen`, () => page.locator(`g[data-cell-id="${id}"]`).first().boundingBox());
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 5 });
  await page.mouse.move(to.x, to.y, { steps: 5 });
  await page.mouse.up();
}

/** Draws a flow from one node's port to another's, then labels it in the properties panel. */
async function connect(page: Page, fromId: string, fromPort: string, toId: string, toPort: string, label: string): Promise<string> {
  const before = new Set((await graphCells(page)).map((c) => c.id));
  await page.mouse.move(...Object.values(await center(page, fromId)) as [number, number]);
  const port = async (id: string, p: string) => {
    const box = await page.locator(`g[data-cell-id="${id}"] [port="${p}"]`).first().boundingBox();
    assert.ok(box, `port ${p} of ${id}`);
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  };
  const a = await port(fromId, fromPort);
  const b = await port(toId, toPort);
  await drag(page, a, b);
  const edge = await until('the new flow', async () => (await graphCells(page)).find((c) => !before.has(c.id) && c.shape === 'flow'));
  assert.equal(edge.source?.cell, fromId);
  assert.equal(edge.target?.cell, toId);
  await page.locator('input[name="cell_label"]').fill(label);
  return edge.id;
}

async function openDiagram(page: Page, tmId: string, diagramId: string, status = /Live/) {
  await page.goto(`${BASE}/tm/${tmId}/dfd/${diagramId}`);
  await page.getByTestId('dfd-editor').waitFor();
  await until('the live session', async () => status.test((await page.getByTestId('collab-status').textContent()) ?? ''), 10_000);
}

async function share(page: Page, user: string, role: 'reader' | 'writer') {
  await page.getByRole('button', { name: 'Share…' }).click();
  await page.locator('input[name="share_with"]').fill(user);
  await page.getByLabel('Role', { exact: true }).selectOption(role);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('button', { name: 'Save sharing' }).click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
}

describe('TMI web app', () => {
  let h: Harness;
  const alice = uniqueName('alice');
  const bob = uniqueName('bob');
  const carol = uniqueName('carol');
  let tmId = '';
  let diagramId = '';
  const ids: Record<string, string> = {};

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.stop();
  });

  it('signs in with the development provider (authorization code + PKCE, HttpOnly cookies)', async () => {
    const { context, page } = await newUserPage(h.browser);
    await page.goto(`${BASE}/`);
    await page.locator('input[name="login_hint"]').waitFor();
    await shot(page, '01-sign-in');
    await signIn(page, alice);
    assert.match((await page.getByTestId('who').textContent()) ?? '', new RegExp(`${alice}@tmi.local`));
    const cookies = await context.cookies();
    const access = cookies.find((c) => c.name === 'tmi_access_token');
    assert.ok(access?.httpOnly, 'the access token is an HttpOnly cookie');
    assert.equal(await page.evaluate(() => document.cookie.includes('tmi_access_token')), false);
    await context.close();
  });

  it('creates a threat model and finds it in the list', async () => {
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, alice);
    tmId = await createThreatModel(page, 'Payments platform');
    // The model page reads first: the fields as text; Edit opens the form, Save and Cancel close it.
    assert.equal(await page.getByTestId('tm-name').textContent(), 'Payments platform');
    assert.equal(await page.locator('input[name="name"]').count(), 0, 'no form until Edit');
    await page.getByTestId('tm-edit').click();
    await page.locator('textarea[name="description"]').fill('Card payments and refunds');
    await page.locator('input[name="issue_uri"]').fill('https://issues.example.com/PAY-1');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByTestId('tm-description').getByText('Card payments and refunds').waitFor();
    assert.equal(await page.locator('textarea[name="description"]').count(), 0, 'back to reading after Save');
    assert.match((await page.getByTestId('tm-issue').textContent()) ?? '', /PAY-1/);
    const stored = await page.evaluate(async (id) => (await (await fetch(`/threat_models/${id}`)).json()) as { description: string; issue_uri: string }, tmId);
    assert.deepEqual([stored.description, stored.issue_uri], ['Card payments and refunds', 'https://issues.example.com/PAY-1']);
    await shot(page, '02-threat-model-reading');
    await page.getByTestId('tm-edit').click();
    await page.locator('input[name="name"]').fill('Renamed and abandoned');
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await page.getByTestId('tm-name').textContent(), 'Payments platform', 'Cancel discards the draft');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'tm-edit', 'the focus goes back to Edit');
    await page.locator('.topbar').getByRole('link', { name: 'Threat models' }).click();
    await page.getByTestId('tm-list').getByRole('link', { name: 'Payments platform' }).waitFor();
    await shot(page, '02-threat-model-list');
    // Search and the owner filter go to the API; a miss says so.
    await page.getByLabel('Search by name').fill('no such model');
    await page.getByText('No threat models match these filters').waitFor();
    await page.getByLabel('Search by name').fill('payments');
    await page.getByLabel('Owner').fill(alice);
    await page.getByTestId('tm-list').getByRole('link', { name: 'Payments platform' }).waitFor();
    await page.getByLabel('Owner').fill('nobody-at-all');
    await page.getByText('No threat models match these filters').waitFor();
    await context.close();
  });

  it('draws actor -> process -> store with labelled flows inside a trust boundary, and sees it after a reload', async () => {
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, alice);
    await page.goto(`${BASE}/tm/${tmId}`);
    await page.locator('input[name="diagram_name"]').fill('Checkout DFD');
    await page.getByRole('button', { name: 'Create diagram' }).click();
    await page.waitForURL(/\/dfd\//);
    diagramId = new URL(page.url()).pathname.split('/')[4]!;
    await openDiagram(page, tmId, diagramId);

    ids.boundary = await addShape(page, 'security-boundary', 'Payment zone');
    ids.actor = await addShape(page, 'actor', 'Customer');
    ids.process = await addShape(page, 'process', 'Checkout service');
    ids.store = await addShape(page, 'store', 'Orders DB');

    // Move the process and the store into the boundary: they are embedded in it.
    const b = await page.locator(`g[data-cell-id="${ids.boundary}"]`).first().boundingBox();
    assert.ok(b);
    await drag(page, await center(page, ids.process), { x: b.x + b.width * 0.3, y: b.y + b.height * 0.55 });
    await drag(page, await center(page, ids.store), { x: b.x + b.width * 0.75, y: b.y + b.height * 0.55 });
    // The actor stays outside, to the left of the boundary.
    await drag(page, await center(page, ids.actor), { x: b.x - 120, y: b.y + b.height * 0.55 });
    await until('embedding', async () => {
      const cells = await graphCells(page);
      return cells.find((c) => c.id === ids.process)?.parent === ids.boundary && cells.find((c) => c.id === ids.store)?.parent === ids.boundary;
    });

    ids.f1 = await connect(page, ids.actor, 'right', ids.process, 'left', 'Places order (HTTPS)');
    ids.f2 = await connect(page, ids.process, 'right', ids.store, 'left', 'Writes order (SQL/TLS)');
    await page.mouse.click(b.x + 5, b.y + b.height + 60); // clear the selection for the screenshot
    await shot(page, '03-dfd-drawn');

    // Everything reached the server.
    const stored = await until('the diagram saved on the server', async () => {
      const cells = await storedCells(page, tmId, diagramId);
      const f2 = cells.find((c) => c.id === ids.f2);
      return cells.length === 6 && f2 && labelOf(f2) === 'Writes order (SQL/TLS)' ? cells : undefined;
    });
    const byId = new Map(stored.map((c) => [c.id, c]));
    assert.equal(labelOf(byId.get(ids.boundary)!), 'Payment zone');
    assert.equal(labelOf(byId.get(ids.actor)!), 'Customer');
    assert.equal(labelOf(byId.get(ids.f1)!), 'Places order (HTTPS)');
    assert.equal(byId.get(ids.process)!.parent, ids.boundary);
    assert.equal(byId.get(ids.store)!.parent, ids.boundary);
    assert.ok(!byId.get(ids.actor)!.parent, 'the actor is outside the boundary');
    assert.deepEqual(byId.get(ids.f2)!.source, { cell: ids.process, port: 'right' });

    await page.reload();
    await page.getByTestId('dfd-editor').waitFor();
    await until('the reloaded drawing', async () => (await graphCells(page)).length === 6);
    for (const text of ['Customer', 'Checkout service', 'Orders DB', 'Payment zone', 'Places order (HTTPS)', 'Writes order (SQL/TLS)']) {
      await page.locator('svg text', { hasText: text }).first().waitFor();
    }
    const reloaded = await graphCells(page);
    assert.equal(reloaded.find((c) => c.id === ids.process)?.parent, ids.boundary);
    await context.close();
  });

  it('two users edit the same diagram and each sees the other\'s change within a second', async () => {
    const b = await newUserPage(h.browser);
    await signIn(b.page, bob);
    const a = await newUserPage(h.browser);
    await signIn(a.page, alice);
    await a.page.goto(`${BASE}/tm/${tmId}`);
    await share(a.page, bob, 'writer');
    await openDiagram(a.page, tmId, diagramId);
    await openDiagram(b.page, tmId, diagramId);
    await until('both participants', async () => /\(2\)/.test((await a.page.getByTestId('participants').textContent()) ?? ''));
    await until('both participants', async () => /\(2\)/.test((await b.page.getByTestId('participants').textContent()) ?? ''));

    // Alice adds a process; Bob sees it.
    ids.audit = await addShape(a.page, 'process', 'Audit log');
    let t0 = Date.now(); // from the moment Alice's edit is complete on her canvas
    await until('Bob sees Alice\'s process', async () => (await graphCells(b.page)).some((c) => c.id === ids.audit && labelOf(c) === 'Audit log'), 1000);
    const aliceToBob = Date.now() - t0;

    // Bob renames the store; Alice sees it.
    await b.page.mouse.click(...Object.values(await center(b.page, ids.store)) as [number, number]);
    await b.page.locator('input[name="cell_label"]').waitFor();
    t0 = Date.now();
    await b.page.locator('input[name="cell_label"]').fill('Orders DB (primary)');
    await until('Alice sees Bob\'s rename', async () => (await graphCells(a.page)).some((c) => c.id === ids.store && labelOf(c) === 'Orders DB (primary)'), 1000);
    const bobToAlice = Date.now() - t0;
    await shot(a.page, '04-collaboration-alice');
    await shot(b.page, '05-collaboration-bob');
    process.stdout.write(`# propagation: alice->bob ${aliceToBob} ms, bob->alice ${bobToAlice} ms\n`);

    // Presenter mode: Alice (the host) takes the presenter role if she has not got it, then shows
    // her cursor and selection to Bob.
    const takeBack = a.page.getByRole('button', { name: 'Take back presenting' });
    if (await takeBack.isVisible()) await takeBack.click();
    await a.page.getByLabel('Show my cursor and selection to everyone').check({ timeout: 3000 });
    const p = await center(a.page, ids.process);
    await a.page.mouse.move(p.x, p.y - 40, { steps: 4 });
    await a.page.mouse.move(p.x, p.y - 30, { steps: 4 });
    await b.page.getByTestId('presenter-cursor').waitFor({ timeout: 3000 });
    await a.page.mouse.click(p.x, p.y);
    await b.page.locator('.remote-selection').first().waitFor({ timeout: 3000 });
    await shot(b.page, '05b-presenter-cursor-seen-by-bob');
    // Bob asks to present; Alice allows it; Bob becomes the presenter.
    await b.page.getByRole('button', { name: 'Ask to present' }).click();
    await a.page.getByRole('button', { name: 'Allow' }).click({ timeout: 3000 });
    await b.page.getByLabel('Show my cursor and selection to everyone').waitFor({ timeout: 3000 });
    assert.match((await a.page.getByTestId('participants').textContent()) ?? '', /Bob.*presenting/s);
    await a.context.close();
    await b.context.close();
  });

  it('a reader sees the diagram but cannot edit it', async () => {
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, carol);
    const a = await newUserPage(h.browser);
    await signIn(a.page, alice);
    await a.page.goto(`${BASE}/tm/${tmId}`);
    await share(a.page, carol, 'reader');
    await a.context.close();

    await page.goto(`${BASE}/tm/${tmId}`);
    assert.match((await page.getByTestId('role').textContent()) ?? '', /reader/);
    await page.getByTestId('tm-name').waitFor();
    assert.equal(await page.getByTestId('tm-edit').count(), 0, 'no Edit for a reader');
    await openDiagram(page, tmId, diagramId, /Read-only/);
    await until('the drawing', async () => (await graphCells(page)).some((c) => c.id === ids.store));
    assert.match((await page.getByTestId('collab-status').textContent()) ?? '', /Read-only/);
    assert.equal(await page.locator('button[data-shape]').count(), 0, 'no palette for readers');

    const before = (await graphCells(page)).find((c) => c.id === ids.actor)!;
    const from = await center(page, ids.actor);
    await drag(page, from, { x: from.x + 150, y: from.y + 80 });
    await page.mouse.click(from.x, from.y);
    await page.keyboard.press('Delete');
    await page.waitForTimeout(500);
    const afterCells = await graphCells(page);
    const actor = afterCells.find((c) => c.id === ids.actor);
    assert.ok(actor, 'the actor was not deleted');
    assert.deepEqual(actor.position, before.position, 'the actor did not move');
    const stored = await storedCells(page, tmId, diagramId);
    assert.ok(stored.some((c) => c.id === ids.actor));
    await shot(page, '06-reader-read-only');
    await context.close();
  });

  it('copy/paste, undo/redo and delete with the keyboard, and export as SVG and PNG', async () => {
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, alice);
    await openDiagram(page, tmId, diagramId);
    const count = async () => (await graphCells(page)).length;
    const n0 = await count();
    await page.mouse.click(...Object.values(await center(page, ids.actor)) as [number, number]);
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    const copy = await until('the pasted actor', async () => (await graphCells(page)).find((c) => c.shape === 'actor' && c.id !== ids.actor));
    assert.equal(labelOf(copy), 'Customer');
    assert.match(copy.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await until('the paste saved', async () => (await storedCells(page, tmId, diagramId)).some((c) => c.id === copy.id));
    await page.keyboard.press('Control+z');
    await until('undo removed the copy', async () => (await count()) === n0 && !(await storedCells(page, tmId, diagramId)).some((c) => c.id === copy.id));
    await page.keyboard.press('Control+Shift+z');
    await until('redo restored the copy', async () => (await storedCells(page, tmId, diagramId)).some((c) => c.id === copy.id));
    await page.mouse.click(...Object.values(await center(page, copy.id)) as [number, number]);
    await page.keyboard.press('Delete');
    await until('delete removed the copy', async () => !(await storedCells(page, tmId, diagramId)).some((c) => c.id === copy.id));

    const [svg] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export SVG' }).click()]);
    assert.match(svg.suggestedFilename(), /\.svg$/);
    const svgText = await new Promise<string>((resolve, reject) => {
      void svg.createReadStream().then((stream) => {
        let out = '';
        stream.on('data', (d: Buffer) => (out += d.toString()));
        stream.on('end', () => resolve(out));
        stream.on('error', reject);
      });
    });
    assert.match(svgText, /<svg/);
    assert.match(svgText, /Checkout service/);
    const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()]);
    assert.match(png.suggestedFilename(), /\.png$/);
    const head = await new Promise<Buffer>((resolve, reject) => {
      void png.createReadStream().then((stream) => {
        const chunks: Buffer[] = [];
        stream.on('data', (d: Buffer) => chunks.push(d));
        stream.on('end', () => resolve(Buffer.concat(chunks)));
        stream.on('error', reject);
      });
    });
    assert.deepEqual([...head.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG file');
    await context.close();
  });

  it('shows a lost connection, pauses editing, and resumes the live session when the server is back', async () => {
    const a = await newUserPage(h.browser);
    await signIn(a.page, alice);
    const b = await newUserPage(h.browser);
    await signIn(b.page, bob);
    await openDiagram(a.page, tmId, diagramId);
    await openDiagram(b.page, tmId, diagramId);
    // Bob edits, so Alice has seen operations and resumes after the last one she saw.
    const note = await addShape(b.page, 'text-box', 'Before the restart');
    await until('Alice sees Bob\'s text', async () => (await graphCells(a.page)).some((c) => c.id === note && labelOf(c) === 'Before the restart'));

    const restarting = h.restartServer(1500);
    for (const page of [a.page, b.page]) {
      await until('the lost connection shown', async () => /Connection lost/.test((await page.getByTestId('collab-status').textContent()) ?? ''), 15_000);
    }
    assert.equal(await a.page.locator('button[data-shape="actor"]').isDisabled(), true, 'the palette is paused while offline');
    await shot(a.page, '09-connection-lost');
    await restarting;
    for (const page of [a.page, b.page]) {
      await until('the session resumed', async () => /^Live/.test((await page.getByTestId('collab-status').textContent()) ?? ''), 30_000);
    }
    assert.ok((await graphCells(a.page)).some((c) => c.id === note), 'nothing was lost');

    // Edits flow again in both directions, and reach the server.
    const after = await addShape(a.page, 'text-box', 'Resumed after restart');
    await until('Bob sees Alice\'s edit after resuming', async () => (await graphCells(b.page)).some((c) => c.id === after && labelOf(c) === 'Resumed after restart'), 3000);
    await b.page.mouse.click(...Object.values(await center(b.page, note)) as [number, number]);
    await b.page.locator('input[name="cell_label"]').fill('After the restart');
    await until('Alice sees Bob\'s edit after resuming', async () => (await graphCells(a.page)).some((c) => c.id === note && labelOf(c) === 'After the restart'), 3000);
    await until('the edits saved after resuming', async () => {
      const cells = await storedCells(a.page, tmId, diagramId);
      return cells.some((c) => c.id === after) && cells.some((c) => c.id === note && labelOf(c) === 'After the restart');
    });
    await a.context.close();
    await b.context.close();
  });

  it('records an asset and a note whose markdown preview never injects HTML', async () => {
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, alice);
    await page.goto(`${BASE}/tm/${tmId}#assets`);
    await page.getByRole('button', { name: 'Add asset' }).click();
    const dialog = page.getByRole('dialog', { name: 'New asset' });
    await dialog.locator('input[name="name"]').fill('Card numbers');
    await dialog.locator('select[name="type"]').selectOption('data');
    await dialog.locator('input[name="criticality"]').fill('high');
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('assets-table').getByText('Card numbers').waitFor();

    await page.getByRole('tab', { name: 'Notes' }).click();
    await page.getByRole('button', { name: 'New note' }).click();
    await page.locator('input[name="note_name"]').fill('Review notes');
    await page.locator('textarea[name="note_content"]').fill('# Findings\n\n**Rotate** the keys.\n\n<img src=x onerror="window.__pwned=1">\n\n[bad](javascript:alert(1))');
    const preview = page.getByTestId('note-preview');
    await preview.locator('h1', { hasText: 'Findings' }).waitFor();
    assert.equal(await preview.locator('strong').textContent(), 'Rotate');
    assert.equal(await preview.locator('img').count(), 0, 'no image element from the note');
    assert.equal(await preview.locator('a[href^="javascript"]').count(), 0, 'no javascript: link');
    assert.match((await preview.textContent()) ?? '', /<img src=x onerror/);
    await page.getByRole('button', { name: 'Save note' }).click();
    await page.locator('.note-list').getByText('Review notes').waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    await shot(page, '10-note-safe-preview');
    await context.close();
  });

  it('shares with everyone and with a TMI group from the sharing dialog', async () => {
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, alice);
    const shared = await createThreatModel(page, 'Shared widely');
    await page.getByRole('button', { name: 'Share…' }).click();
    await page.getByLabel('Share with').selectOption('everyone');
    await page.getByLabel('Role', { exact: true }).selectOption('reader');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel('Share with').selectOption('group');
    await page.locator('input[name="share_with"]').fill('auditors');
    await page.getByLabel('Role', { exact: true }).selectOption('writer');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('button', { name: 'Save sharing' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const authorization = await page.evaluate(async (id) => {
      const res = await fetch(`/threat_models/${id}`, { headers: { accept: 'application/json' } });
      return ((await res.json()) as { authorization: { principal_type: string; provider: string; provider_id: string; role: string }[] }).authorization;
    }, shared);
    const groups = authorization.filter((a) => a.principal_type === 'group').map(({ provider, provider_id, role }) => ({ provider, provider_id, role }));
    assert.deepEqual(
      groups.filter((g) => ['everyone', 'auditors'].includes(g.provider_id)),
      [
        { provider: 'tmi', provider_id: 'everyone', role: 'reader' },
        { provider: 'tmi', provider_id: 'auditors', role: 'writer' },
      ],
    );
    await context.close();

    // Someone it was never shared with by name reads it through `everyone`.
    const d = await newUserPage(h.browser);
    await signIn(d.page, uniqueName('dave'));
    await d.page.goto(`${BASE}/tm/${shared}`);
    assert.match((await d.page.getByTestId('role').textContent()) ?? '', /reader/);
    assert.equal(await d.page.getByRole('button', { name: 'Share…' }).count(), 0, 'only the owner shares');
    await d.context.close();
  });

  it('finds a person by typing part of their name in the sharing dialog, with the keyboard', async () => {
    const erin = uniqueName('erin');
    const e = await newUserPage(h.browser);
    await signIn(e.page, erin); // people are listed once they have signed in
    await e.context.close();
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, alice);
    const model = await createThreatModel(page, 'Found by name');
    await page.getByRole('button', { name: 'Share…' }).click();
    await page.getByLabel('Role', { exact: true }).selectOption('writer');
    // The development provider names her "Erin <suffix> (TMI User)": type part of the suffix.
    const box = page.getByRole('combobox', { name: 'Add a person or group' });
    await box.fill(erin.slice(5).toUpperCase());
    const option = page.getByRole('option', { name: new RegExp(`${erin}@tmi.local`) });
    await option.waitFor();
    await shot(page, '09b-sharing-search');
    // Escape closes the list and leaves the dialog open; ArrowDown opens it again, Enter picks.
    await box.press('Escape');
    await option.waitFor({ state: 'hidden' });
    assert.equal(await page.getByRole('dialog').count(), 1);
    await box.press('ArrowDown');
    await option.waitFor();
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    await box.press('Enter');
    await page.getByTestId('sharing-table').getByText(`${erin}@tmi.local`).waitFor();
    assert.equal(await box.inputValue(), '');
    await page.getByRole('button', { name: 'Save sharing' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const authorization = await page.evaluate(async (id) => {
      const res = await fetch(`/threat_models/${id}`, { headers: { accept: 'application/json' } });
      return ((await res.json()) as { authorization: { principal_type: string; provider: string; provider_id: string; role: string }[] }).authorization;
    }, model);
    assert.deepEqual(
      authorization.filter((a) => a.provider_id === erin).map(({ principal_type, provider, provider_id, role }) => ({ principal_type, provider, provider_id, role })),
      [{ principal_type: 'user', provider: 'tmi', provider_id: erin, role: 'writer' }],
    );
    await context.close();
  });

  it('adds a threat to a cell from the editor and finds it in the threats table', async () => {
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, alice);
    await openDiagram(page, tmId, diagramId);
    await page.mouse.click(...Object.values(await center(page, ids.process)) as [number, number]);
    await page.getByRole('button', { name: 'Add threat to this shape' }).click();
    await page.locator('input[name="threat_name"]').fill('SQL injection in checkout');
    await page.locator('select[name="severity"]').selectOption('High');
    await page.getByLabel('Tampering').check();
    await page.locator('input[name="cwe"]').fill('CWE-89');
    await page.getByRole('button', { name: 'Add threat' }).click();
    await page.getByTestId('cell-threats').getByText('SQL injection in checkout').waitFor();
    await shot(page, '07-threat-on-cell');

    await page.goto(`${BASE}/tm/${tmId}#threats`);
    const row = page.getByTestId('threats-table').locator('tr', { hasText: 'SQL injection in checkout' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Tampering/);
    // The diagram's name appears once the diagram list (loaded beside the threats) is in.
    await until('the linked diagram name', async () => /Checkout DFD · cell/.test((await row.textContent()) ?? ''));
    await shot(page, '08-threats-table');
    await context.close();
  });

  it('ends the live session when the user signs out in another tab: it says so, and signing in again comes back to the diagram', async () => {
    const { context, page } = await newUserPage(h.browser);
    await signIn(page, alice);
    await openDiagram(page, tmId, diagramId);
    const other = await context.newPage();
    await other.goto(`${BASE}/`);
    await other.getByRole('button', { name: 'Sign out' }).click();
    await other.locator('input[name="login_hint"]').waitFor();
    const status = async () => (await page.getByTestId('collab-status').textContent()) ?? '';
    await until('the signed-out status', async () => /sign-in session has ended/.test(await status()));
    await new Promise((r) => setTimeout(r, 1500));
    assert.match(await status(), /sign-in session has ended/, 'no retry replaces it');
    await shot(page, '11-signed-out');
    await page.getByTestId('sign-in-again').click();
    await page.locator('input[name="login_hint"]').fill(alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${BASE}/tm/${tmId}/dfd/${diagramId}`);
    await until('the live session again', async () => /^Live/.test(await status()), 10_000);
    await context.close();
  });
});
