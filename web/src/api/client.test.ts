// What a person reads for an API failure.
import { describe, expect, it } from 'vitest';
import { ApiError, friendlyMessage } from './client.ts';

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
