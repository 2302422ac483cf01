// Browser tests of administration and the account pages (issue 14): an administrator finds a
// user, makes and unmakes an administrator, transfers a leaver's models and deletes the account
// after seeing the plan, manages a group's members, uploads (a refused one shows why) and deletes a
// rule pack, reads the audit log and changes runtime settings (a secret stays masked, an edit and a
// deletion, re-encryption); a non-administrator
// sees no Administration entry and is refused the page; preferences (theme) survive a reload;
// someone deletes their own account after seeing what happens to their models.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { BASE, createThreatModel, newUserPage, shot, signIn, startHarness, uniqueName, type Harness } from './support.ts';

let h: Harness;

before(async () => {
  // A settings encryption key, so that the settings page's re-encryption has something to do.
  h = await startHarness({ env: { TMI_SECRET_SETTINGS_ENCRYPTION_KEY: randomBytes(32).toString('hex') } });
});
after(async () => {
  await h?.stop();
});

async function openUser(page: Page, name: string) {
  await page.goto(`${BASE}/administration/users`);
  await page.locator('input[name="user_search"]').fill(name);
  // Development-provider users are shown as "Name Xyz (TMI User)"; the row is found by e-mail.
  await page.getByTestId('admin-users').locator('tr', { hasText: `${name}@tmi.local` }).getByRole('button').click();
  await page.getByTestId('admin-user-detail').waitFor();
}

describe('administration', () => {
  it('an administrator manages users, groups and rule packs and reads the audit log; a non-administrator is refused', async () => {
    // The development server makes the first person to sign in an administrator.
    const adminName = uniqueName('boss');
    const a = await newUserPage(h.browser);
    await signIn(a.page, adminName);
    const leaverName = uniqueName('leaver');
    const heirName = uniqueName('heir');
    const l = await newUserPage(h.browser);
    await signIn(l.page, leaverName);
    const leaverModel = await createThreatModel(l.page, uniqueName('legacy'));
    const heir = await newUserPage(h.browser);
    await signIn(heir.page, heirName);

    // The non-administrator: no entry, and the page says no.
    assert.equal(await l.page.getByRole('link', { name: 'Administration' }).count(), 0);
    await l.page.goto(`${BASE}/administration/users`);
    await l.page.getByTestId('admin-refused').waitFor();
    const refused = await l.page.evaluate(async () => (await fetch('/admin/users')).status);
    assert.equal(refused, 403);

    // The administrator: search, promote, demote.
    await a.page.getByRole('link', { name: 'Administration' }).click();
    await a.page.getByTestId('admin-area').waitFor();
    await openUser(a.page, heirName);
    await a.page.getByRole('button', { name: 'Make administrator' }).click();
    await a.page.getByRole('button', { name: 'Remove administrator role' }).waitFor();
    await a.page.getByRole('button', { name: 'Remove administrator role' }).click();
    await a.page.getByRole('button', { name: 'Make administrator' }).waitFor();
    await a.page.keyboard.press('Escape');

    // Delete the leaver, giving their model to the heir: the plan says so first.
    await openUser(a.page, leaverName);
    await a.page.getByRole('button', { name: 'Delete user…' }).click();
    await a.page.locator('input[name="user_pick"]').fill(heirName);
    await a.page.getByRole('option', { name: new RegExp(heirName) }).click();
    await a.page.getByTestId('deletion-plan').getByText(`${heirName}@tmi.local`).waitFor();
    await shot(a.page, 'admin-delete-plan');
    await a.page.getByRole('button', { name: /permanently/ }).click();
    await a.page.getByTestId('admin-user-detail').waitFor({ state: 'detached' });
    const owner = await heir.page.evaluate(async (id) => (await (await fetch(`/threat_models/${id}`)).json()).owner.provider_id, leaverModel);
    assert.equal(owner, heirName);

    // A group with a member.
    const group = uniqueName('grp').replace(/-/g, '_');
    await a.page.goto(`${BASE}/administration/groups`);
    await a.page.locator('input[name="group_name"]').fill(group);
    await a.page.locator('input[name="group_display_name"]').fill(`Team ${group}`);
    await a.page.getByRole('button', { name: 'New group' }).click();
    await a.page.getByTestId('admin-groups').getByRole('button', { name: `Team ${group}` }).click();
    await a.page.locator('input[name="user_pick"]').fill(heirName);
    await a.page.getByRole('option', { name: new RegExp(heirName) }).click();
    await a.page.getByRole('button', { name: 'Add member' }).click();
    await a.page.getByTestId('group-members').getByText(`${heirName}@tmi.local`).waitFor();
    await a.page.keyboard.press('Escape');
    await heir.page.goto(`${BASE}/account/groups`);
    await heir.page.getByTestId('my-groups').getByText(`Team ${group}`).waitFor();

    // Rule packs: the built-in one with its rules; an invalid upload refused with the server's
    // problems listed and nothing stored; a valid YAML file uploaded, listed, then deleted after a
    // confirmation.
    await a.page.getByRole('link', { name: 'Rule packs' }).click();
    const packs = a.page.getByTestId('rule-packs');
    const builtin = packs.locator('tr', { hasText: 'tmi-builtin' });
    await builtin.waitFor();
    assert.match((await builtin.textContent()) ?? '', /Built in/);
    await builtin.getByRole('button', { name: 'TMI built-in threat rules' }).click();
    const rules = a.page.getByTestId('rule-pack-rules');
    await rules.locator('tr', { has: a.page.getByText('stride-spoofing-external-entity', { exact: true }) }).getByRole('cell', { name: 'STRIDE: S', exact: true }).waitFor();
    await a.page.keyboard.press('Escape');
    const packId = uniqueName('acme');
    const packYaml = (severity: string) =>
      [
        `id: ${packId}`,
        'name: ACME rules',
        'version: 1.0.0',
        'rules:',
        `  - id: ${packId}-no-ftp`,
        '    title: FTP is banned',
        '    appliesTo: flow',
        '    match: { property: protocol, in: [ftp, tftp] }',
        '    categories: { STRIDE: [I, T] }',
        '    threat:',
        '      name: FTP between {source} and {target}',
        '      description: ACME policy bans FTP.',
        `      severity: ${severity}`,
        '      cwe: [CWE-319]',
        '      mitigation: Use SFTP.',
        '',
      ].join('\n');
    const upload = a.page.getByTestId('rule-pack-upload');
    await upload.locator('textarea[name="rule_pack_text"]').fill(packYaml('huge'));
    await upload.getByRole('button', { name: 'Upload pack' }).click();
    await upload.getByTestId('rule-pack-problems').getByText('/rules/0/threat/severity', { exact: false }).waitFor();
    await shot(a.page, 'admin-rule-pack-refused');
    const listed = async () => a.page.evaluate(async () => ((await (await fetch('/admin/rule_packs')).json()) as { rule_packs: { id: string }[] }).rule_packs.map((p) => p.id));
    assert.ok(!(await listed()).includes(packId), 'the refused pack was not stored');
    await upload.locator('input[name="rule_pack_file"]').setInputFiles({ name: 'acme.yaml', mimeType: 'application/yaml', buffer: Buffer.from(packYaml('high')) });
    // Choosing a new file clears the old refusal (the file is read asynchronously: wait for the text).
    await upload.getByTestId('rule-pack-problems').waitFor({ state: 'detached' });
    await upload.getByText('(from acme.yaml)').waitFor();
    await upload.getByRole('button', { name: 'Upload pack' }).click();
    await upload.getByRole('status').getByText('Uploaded ACME rules 1.0.0 (1 rule).').waitFor();
    const row = packs.locator('tr', { hasText: packId });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Uploaded.*1/);
    assert.ok((await listed()).includes(packId));
    await shot(a.page, 'admin-rule-packs');
    await row.getByRole('button', { name: 'Delete…' }).click();
    await a.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.ok(!(await listed()).includes(packId), 'the pack is gone');

    // The audit log shows what happened, with before and after.
    await a.page.goto(`${BASE}/administration/audit`);
    await a.page.getByTestId('admin-audit').getByRole('button', { name: /Deleted account/ }).first().click();
    const detail = await a.page.getByTestId('audit-detail').textContent();
    assert.match(detail ?? '', new RegExp(`${leaverName}@tmi.local`));
    await shot(a.page, 'admin-audit');
    // The model given to the heir: its owner change, among the sharing and owner changes.
    await a.page.keyboard.press('Escape');
    await a.page.getByLabel('Kind of entry').selectOption('access');
    await a.page.getByTestId('admin-audit').getByRole('button', { name: new RegExp(`owner tmi:${leaverName} → tmi:${heirName}`) }).click();
    assert.match((await a.page.getByTestId('audit-detail').textContent()) ?? '', new RegExp(`threat_models\\.${leaverModel}\\.owner`));
    await a.page.keyboard.press('Escape');

    // Runtime settings: a secret set through the form is never shown again; a plain one is
    // edited, then deleted; re-encryption reports what it did.
    await a.page.getByRole('link', { name: 'Settings' }).click();
    const settings = a.page.getByTestId('admin-settings');
    await settings.getByText('auth.everyone_is_a_reviewer').waitFor();
    const secretKey = `e2e.${uniqueName('s').replace(/[^a-z0-9]/g, '')}.smtp_password`;
    const secret = `pw-${randomBytes(6).toString('hex')}`;
    await a.page.getByRole('button', { name: 'New setting' }).click();
    await a.page.locator('input[name="setting_key"]').fill(secretKey);
    await a.page.locator('input[name="setting_value"]').fill(secret);
    await a.page.getByTestId('setting-form').getByRole('button', { name: 'Save' }).click();
    const secretRow = settings.locator('tr', { hasText: secretKey });
    await secretRow.getByText('<configured>').waitFor();
    assert.equal(await a.page.getByText(secret).count(), 0);
    await secretRow.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await a.page.locator('input[name="setting_value"]').inputValue(), '');
    assert.equal(await a.page.locator('input[name="setting_value"]').getAttribute('type'), 'password');
    await a.page.keyboard.press('Escape');

    const plainKey = `e2e.${uniqueName('p').replace(/[^a-z0-9]/g, '')}.banner`;
    await a.page.getByRole('button', { name: 'New setting' }).click();
    await a.page.locator('input[name="setting_key"]').fill(plainKey);
    await a.page.locator('select[name="setting_type"]').selectOption('int');
    await a.page.locator('input[name="setting_value"]').fill('41');
    await a.page.getByTestId('setting-form').getByRole('button', { name: 'Save' }).click();
    const plainRow = settings.locator('tr', { hasText: plainKey });
    // Exact: the row also shows when it changed, and a time such as 3:41 PM holds the value too.
    await plainRow.getByText('41', { exact: true }).waitFor();
    await plainRow.getByRole('button', { name: 'Edit' }).click();
    await a.page.locator('input[name="setting_value"]').fill('42');
    await a.page.getByTestId('setting-form').getByRole('button', { name: 'Save' }).click();
    await plainRow.getByText('42', { exact: true }).waitFor();
    assert.match((await plainRow.textContent()) ?? '', /Database/);
    await a.page.getByRole('button', { name: 'Re-encrypt' }).click();
    assert.match((await a.page.getByTestId('reencrypt-result').textContent()) ?? '', /Re-encrypted \d+ of \d+/);
    await shot(a.page, 'admin-settings');
    await plainRow.getByRole('button', { name: 'Delete' }).click();
    await plainRow.waitFor({ state: 'detached' });
    await secretRow.getByRole('button', { name: 'Delete' }).click();
    await secretRow.waitFor({ state: 'detached' });
    for (const p of [a, l, heir]) await p.context.close();
  });
});

describe('the person\'s own account', () => {
  it('keeps the theme across a reload, and deletes the account after showing the plan', async () => {
    const name = uniqueName('self');
    const u = await newUserPage(h.browser);
    await signIn(u.page, name);
    const model = await createThreatModel(u.page, uniqueName('mine'));
    await u.page.locator('details.user-menu > summary').click();
    await u.page.getByRole('link', { name: 'Preferences' }).click();
    await u.page.getByLabel('Dark').check();
    await u.page.getByText('Saved').waitFor();
    await u.page.reload();
    await u.page.getByTestId('preferences').waitFor();
    assert.equal(await u.page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    assert.equal(await u.page.getByLabel('Dark').isChecked(), true);

    await u.page.goto(`${BASE}/account/delete`);
    await u.page.getByRole('button', { name: 'Show what will happen' }).click();
    await u.page.getByTestId('deletion-plan').getByText('Deleted for good').waitFor();
    await shot(u.page, 'delete-my-account');
    await u.page.getByRole('button', { name: 'Delete my account permanently' }).click();
    await u.page.waitForURL(/\/login/);
    const status = await u.page.evaluate(async (id) => (await fetch(`/threat_models/${id}`)).status, model);
    assert.equal(status, 401);
    await u.context.close();
  });
});
