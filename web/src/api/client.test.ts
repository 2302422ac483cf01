// Building request URLs, and what a person reads for an API failure.
import { describe, expect, it } from 'vitest';
import { ApiError, friendlyMessage, needsStepUp, onUnauthorized, query, request, STEP_UP_REQUIRED, url } from './client.ts';

describe('url', () => {
  it('puts ids into the path encoded, so an id cannot change the path', () => {
    expect(url`/threat_models/${'0f1e2d3c-4b5a-4697-8877-665544332211'}/threats`).toBe('/threat_models/0f1e2d3c-4b5a-4697-8877-665544332211/threats');
    expect(url`/threat_models/${'../admin'}/notes/${'a?b#c'}`).toBe('/threat_models/..%2Fadmin/notes/a%3Fb%23c');
  });
});

describe('query', () => {
  it('keeps the defined, non-empty values in order; a list repeats its parameter', () => {
    expect(query({ name: 'pay ments', status: '', owner: undefined, limit: 20, offset: 0 })).toBe('?name=pay+ments&limit=20&offset=0');
    expect(query({ status: ['open', 'closed'], include_deleted: false })).toBe('?status=open&status=closed&include_deleted=false');
    expect(query({})).toBe('');
  });
});

describe('friendlyMessage', () => {
  it('explains a sign-in refused because the e-mail belongs to an account of another provider', () => {
    const message = new ApiError(409, 'account_conflict', 'This email is already linked to a different sign-in method.').message;
    expect(message).toMatch(/already belongs to an account that signs in another way/);
    expect(message).not.toMatch(/changed this at the same time/);
  });

  it('keeps the concurrent-change sentence for other conflicts', () => {
    expect(friendlyMessage(409, 'version_mismatch', '')).toMatch(/changed this at the same time/);
  });
});

describe('a step-up answer', () => {
  const reply = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  it('is not taken for an ended session: no refresh, a message that asks for a fresh sign-in', async () => {
    const calls: string[] = [];
    let refreshes = 0;
    onUnauthorized(async () => {
      refreshes++;
      return true;
    });
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL) => {
      calls.push(String(input));
      return reply(401, { error: STEP_UP_REQUIRED, error_description: 'Recent re-authentication required' });
    }) as typeof fetch;
    try {
      const err = await request('DELETE', '/me/identities/x').catch((e: unknown) => e);
      expect(needsStepUp(err)).toBe(true);
      expect((err as ApiError).message).toMatch(/needs a recent sign-in/);
      expect((err as ApiError).message).not.toMatch(/session has ended/);
      expect(refreshes).toBe(0);
      expect(calls).toEqual(['/me/identities/x']);
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  it('differs from an expired token, which is refreshed and retried once', async () => {
    let refreshes = 0;
    onUnauthorized(async () => {
      refreshes++;
      return true;
    });
    const answers = [reply(401, { error: 'unauthorized', error_description: '' }), reply(200, { ok: true })];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async () => answers.shift()!) as typeof fetch;
    try {
      expect(await request('GET', '/me')).toEqual({ ok: true });
      expect(refreshes).toBe(1);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});

describe('sign-in failures', () => {
  it('name the cause for the codes the server and providers send', () => {
    expect(friendlyMessage(502, 'provider_unreachable', '')).toMatch(/identity provider could not be reached/);
    expect(friendlyMessage(400, 'identity_mismatch', '')).toMatch(/another person/);
    expect(friendlyMessage(400, 'invalid_grant', '')).toMatch(/expired or was already used/);
    expect(friendlyMessage(409, 'identity_already_bound', '')).toMatch(/already belongs to a TMI account/);
  });
});
