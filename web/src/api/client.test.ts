// Building request URLs, and what a person reads for an API failure.
import { describe, expect, it } from 'vitest';
import { ApiError, friendlyMessage, query, url } from './client.ts';

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
