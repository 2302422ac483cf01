// Browser tests of sign-in and the account page: the sign-in page lists every provider; a person
// signs in with the development provider and through a real OpenID provider (the `oidc-provider`
// package on a local port, as in test/oidc-provider.test.ts); a refused sign-in says why; an
// identity is linked from the account page and then signs in to that account (one that has an
// account of its own is refused, with the reason); a client
// credential's secret is shown once, copied, and works; an unlink that needs a recent sign-in
// goes through step-up and then succeeds. Run with `npx tsx --test test/e2e/signin.e2e.ts`.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { startRealOp, type RealOp } from '../support/oidc-op.ts';
import { BASE, newUserPage, shot, signIn, startHarness, uniqueName, type Harness } from './support.ts';

const STEP_UP_WINDOW_SECONDS = 60;

let h: Harness;
let op: RealOp;

before(async () => {
  op = await startRealOp({ redirectUri: `${BASE}/oauth2/callback` });
  h = await startHarness({
    env: {
      TMI_OAUTH_CALLBACK_URL: `${BASE}/oauth2/callback`,
      OAUTH_PROVIDERS_CORP_ENABLED: 'true',
      OAUTH_PROVIDERS_CORP_NAME: 'Corp SSO',
      OAUTH_PROVIDERS_CORP_CLIENT_ID: op.clientId,
      OAUTH_PROVIDERS_CORP_CLIENT_SECRET: op.clientSecret,
      OAUTH_PROVIDERS_CORP_ISSUER: op.issuer,
      OAUTH_PROVIDERS_CORP_INTERNAL: 'true',
      TMI_AUTH_STEP_UP_WINDOW_SECONDS: String(STEP_UP_WINDOW_SECONDS),
    },
  });
});
/** Pages of the running test: on a failure each is photographed and its address printed. */
const open = new Set<Page>();
const track = <T extends { page: Page }>(p: T): T => {
  // Generous waits: the machine may be busy with other jobs.
  p.page.setDefaultTimeout(90_000);
  open.add(p.page);
  p.page.on('close', () => open.delete(p.page));
  return p;
};
afterEach(async (t) => {
  if ((t as unknown as { passed?: boolean }).passed === false) {
    let i = 0;
    for (const page of open) {
      process.stderr.write(`[${t.name}] page ${i}: ${page.url()}\n`);
      await shot(page, `failed-${t.name.slice(0, 40).replace(/\W+/g, '-')}-${i++}`).catch(() => {});
    }
  }
});
after(async () => {
  await h?.stop();
  await op?.close();
});

/** The first person of a fresh dev-mode server is its administrator (and security reviewer). */
let alice: { context: BrowserContext; page: Page; name: string; signedInAt: number };
const carol = { sub: `corp-${uniqueName('carol')}`, email: 'carol@corp.example', name: 'Carol Corp', email_verified: true };
const corpAlice = { sub: `corp-${uniqueName('alice')}`, email: 'alice.corp@corp.example', name: 'Alice at Corp', email_verified: true };

async function openAccount(page: Page): Promise<void> {
  await page.locator('details.user-menu > summary').click();
  await page.getByRole('link', { name: 'Your account' }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
}

describe('sign-in page', () => {
  it('lists every provider with its icon; the development provider signs in the first person', async () => {
    const { context, page } = track(await newUserPage(h.browser));
    await page.goto(`${BASE}/`);
    const corp = page.getByRole('button', { name: 'Sign in with Corp SSO' });
    await corp.waitFor();
    assert.equal(await corp.locator('.provider-icon').count(), 1);
    await page.locator('input[name="login_hint"]').waitFor();
    await shot(page, 'signin-page');
    const name = uniqueName('alice');
    await signIn(page, name);
    alice = { context, page, name, signedInAt: Date.now() };
    assert.match((await page.getByTestId('who').textContent()) ?? '', new RegExp(`${name}@tmi.local`));
  });

  it('signs in through a real OpenID provider', async () => {
    const { context, page } = track(await newUserPage(h.browser));
    op.user = carol;
    await page.goto(`${BASE}/`);
    await page.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
    await page.getByTestId('who').waitFor();
    assert.match((await page.getByTestId('who').textContent()) ?? '', /Carol Corp.*carol@corp\.example/);
    assert.equal(new URL(page.url()).pathname, '/');
    await context.close();
  });

  it('says why a sign-in was refused (an e-mail that belongs to an account of another provider), and offers the providers again', async () => {
    const bob = uniqueName('bob');
    const first = track(await newUserPage(h.browser));
    await signIn(first.page, bob);
    await first.context.close();
    const { context, page } = track(await newUserPage(h.browser));
    op.user = { sub: `corp-${bob}`, email: `${bob}@tmi.local`, name: 'Bob at Corp', email_verified: true };
    await page.goto(`${BASE}/`);
    await page.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /already belongs to an account that signs in another way/);
    assert.doesNotMatch((await alert.textContent()) ?? '', /session has ended|changed this at the same time/);
    await page.getByRole('button', { name: 'Sign in with Corp SSO' }).waitFor();
    await shot(page, 'signin-refused');
    await context.close();
  });
});

describe('account page', () => {
  it('creates a client credential whose secret is shown once, copies it, and the secret works', async () => {
    const { page, context } = alice;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    await openAccount(page);
    await page.getByRole('button', { name: 'New client credential' }).click();
    const dialog = page.getByRole('dialog', { name: 'New client credential' });
    await dialog.locator('input[name="name"]').fill('CI pipeline');
    await dialog.locator('textarea[name="description"]').fill('Nightly export');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const once = page.getByRole('dialog', { name: 'Save the client secret now' });
    await once.waitFor();
    const clientId = await once.locator('input[name="client_id"]').inputValue();
    const secret = await once.locator('input[name="client_secret"]').inputValue();
    assert.match(clientId, /^tmi_cc_/);
    assert.ok(secret.length >= 32);
    await once.getByRole('button', { name: 'Copy' }).nth(1).click();
    await once.getByText('Copied').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await shot(page, 'account-secret-once');
    await once.getByRole('button', { name: 'I have saved it' }).click();

    // Listed without its secret; the page never shows it again.
    const table = page.getByRole('table', { name: 'Client credentials' });
    await table.getByText('CI pipeline').waitFor();
    assert.equal(await table.getByText(clientId).count(), 1);
    assert.equal(await page.content().then((html) => html.includes(secret)), false);
    await page.reload();
    await page.getByRole('table', { name: 'Client credentials' }).getByText('CI pipeline').waitFor();
    assert.equal(await page.content().then((html) => html.includes(secret)), false);

    const token = await fetch(`${BASE}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    });
    assert.equal(token.status, 200);

    // Delete: the secret stops working at once.
    await page.getByRole('table', { name: 'Client credentials' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete client credential' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('You have no client credentials.').waitFor();
    const refused = await fetch(`${BASE}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    });
    assert.equal(refused.status, 401);
  });

  it('links an identity of the OpenID provider after confirmation; it then signs in to this account', async () => {
    const { page } = alice;
    op.user = corpAlice;
    await page.getByRole('button', { name: 'Corp SSO' }).click();
    const pending = page.getByTestId('pending-link');
    await pending.waitFor();
    assert.match((await pending.textContent()) ?? '', /alice\.corp@corp\.example/);
    await shot(page, 'account-pending-link');
    await pending.getByRole('button', { name: 'Link identity' }).click();
    const table = page.getByRole('table', { name: 'Sign-in identities' });
    await table.getByText('alice.corp@corp.example').waitFor();
    assert.doesNotMatch(page.url(), /link_pending/);

    const other = track(await newUserPage(h.browser));
    op.user = corpAlice;
    await other.page.goto(`${BASE}/`);
    await other.page.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
    await other.page.getByTestId('who').waitFor();
    assert.match((await other.page.getByTestId('who').textContent()) ?? '', new RegExp(`${alice.name}@tmi.local`));
    await other.context.close();
  });

  it('says why an identity with an account of its own cannot be linked', async () => {
    // A person of their own (fresh sign-in, no session at the OpenID provider yet).
    const { context, page } = track(await newUserPage(h.browser));
    await signIn(page, uniqueName('dave'));
    await openAccount(page);
    op.user = carol;
    await page.getByRole('button', { name: 'Corp SSO' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The identity was not linked' });
    await alert.waitFor();
    assert.match(new URL(page.url()).pathname, /^\/account$/);
    assert.match((await alert.textContent()) ?? '', /already belongs to a TMI account/);
    assert.equal(await page.getByTestId('pending-link').count(), 0);
    assert.equal(await page.getByRole('table', { name: 'Sign-in identities' }).getByText('carol@corp.example').count(), 0);
    await shot(page, 'account-link-refused');
    await context.close();
  });

  it('asks for a fresh sign-in before an unlink once the sign-in is old, and unlinks after it', async () => {
    const { page } = alice;
    // Past the step-up window of the sign-in in the first test.
    const wait = alice.signedInAt + (STEP_UP_WINDOW_SECONDS + 2) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const table = page.getByRole('table', { name: 'Sign-in identities' });
    await table.getByRole('button', { name: 'Unlink' }).click();
    await page.getByRole('dialog', { name: 'Unlink identity' }).getByRole('button', { name: 'Unlink' }).click();
    const stepUp = page.getByTestId('step-up');
    await stepUp.waitFor();
    assert.match((await stepUp.textContent()) ?? '', /needs a recent sign-in/);
    assert.doesNotMatch((await page.locator('main').textContent()) ?? '', /session has ended/);
    await shot(page, 'account-step-up');
    await stepUp.getByRole('button', { name: 'Sign in again' }).click();
    await page.waitForURL(/\/account\?stepped_up=1/);
    await page.getByText('You signed in again').waitFor();
    await page.getByRole('table', { name: 'Sign-in identities' }).getByRole('button', { name: 'Unlink' }).click();
    await page.getByRole('dialog', { name: 'Unlink identity' }).getByRole('button', { name: 'Unlink' }).click();
    await page.getByRole('table', { name: 'Sign-in identities' }).getByText('Primary identity of the account').waitFor();
    await page.waitForFunction(() => !document.body.textContent?.includes('alice.corp@corp.example'));
    assert.equal(await page.getByTestId('step-up').count(), 0);
  });
});
