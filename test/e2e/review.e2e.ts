// The review workflow in the browser: an administrator publishes an intake survey in the template
// editor; a requester fills and submits it; a security reviewer triages it and creates the threat
// model; the requester sees the model linked from their request. Run with
// `npx tsx --test test/e2e/review.e2e.ts` after a web build.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASE, newUserPage, shot, signIn, startHarness, uniqueName, type Harness } from './support.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h?.stop());

describe('review workflow', () => {
  it('request, triage, create the threat model, and the requester sees it linked', async () => {
    // The first user of a fresh server administers it and is a security reviewer (development default).
    const { page: reviewer } = await newUserPage(h.browser);
    await signIn(reviewer, uniqueName('rev'));
    const surveyName = uniqueName('Intake');
    await reviewer.goto(`${BASE}/review/templates`);
    await reviewer.getByRole('button', { name: 'New template' }).click();
    await reviewer.getByLabel('Name').fill(surveyName);
    // The live preview renders the starter definition.
    await reviewer.getByTestId('survey-form').getByText('Name of the service').waitFor();
    await reviewer.getByRole('button', { name: 'Save', exact: true }).click();
    await reviewer.getByRole('button', { name: 'Publish' }).click();
    await reviewer.getByText('Status: active').waitFor();
    await shot(reviewer, 'review-template-editor');

    // The requester fills and submits the survey.
    const { page: requester } = await newUserPage(h.browser);
    await signIn(requester, uniqueName('req'));
    await requester.goto(`${BASE}/review/intake`);
    const card = requester.getByTestId('intake-surveys').locator('li', { hasText: surveyName });
    await card.getByRole('button', { name: 'Start' }).click();
    await requester.waitForURL(/\/review\/intake\/[0-9a-f-]{36}$/);
    const serviceName = uniqueName('Payments API');
    await requester.getByTestId('survey-form').locator('input[type="text"]').first().fill(serviceName);
    await requester.getByTestId('survey-form').locator('textarea').first().fill('Takes card payments');
    await requester.getByRole('button', { name: 'Save draft' }).click();
    await requester.getByText(/Saved at/).waitFor();
    await requester.getByRole('button', { name: 'Submit for review' }).click();
    await requester.getByTestId('response-status').filter({ hasText: 'Submitted' }).waitFor();
    await shot(requester, 'review-submitted');

    // The reviewer triages it and creates the threat model.
    await reviewer.goto(`${BASE}/review/triage`);
    await reviewer.getByTestId('triage-queue').getByRole('link', { name: surveyName }).click();
    await reviewer.getByTestId('triage-status').filter({ hasText: 'Submitted' }).waitFor();
    await reviewer.getByTestId('survey-form').waitFor();
    await reviewer.getByLabel('Note title').fill('Assessment');
    await reviewer.getByLabel('Note', { exact: true }).fill('Card data in scope: full review.');
    await reviewer.getByRole('button', { name: 'Add note' }).click();
    await reviewer.getByTestId('triage-notes').getByText('Assessment').waitFor();
    await reviewer.getByRole('button', { name: 'Accept for review' }).click();
    await reviewer.getByTestId('triage-status').filter({ hasText: 'Ready for review' }).waitFor();
    await reviewer.getByRole('button', { name: 'Create threat model' }).click();
    await reviewer.waitForURL(/\/tm\/[0-9a-f-]{36}$/);
    const tmId = new URL(reviewer.url()).pathname.split('/')[2]!;
    // The model page opens for reading: the name as text, the form behind Edit.
    await reviewer.getByTestId('tm-name').waitFor();
    assert.equal(await reviewer.getByTestId('tm-name').textContent(), serviceName);
    await shot(reviewer, 'review-model-created');

    // The requester sees the model linked from their request, and opens it.
    await requester.goto(`${BASE}/review/intake`);
    const row = requester.getByTestId('my-requests').locator('tr', { hasText: surveyName });
    await row.getByTestId('request-status').filter({ hasText: 'Threat model created' }).waitFor();
    await row.getByRole('link', { name: 'Open threat model' }).click();
    await requester.waitForURL(new RegExp(`/tm/${tmId}$`));
    await requester.getByTestId('tm-name').waitFor();
    assert.equal(await requester.getByTestId('tm-name').textContent(), serviceName);
    assert.equal(await requester.getByTestId('tm-description').textContent(), 'Takes card payments');
    await shot(requester, 'review-requester-sees-model');
  });
});
