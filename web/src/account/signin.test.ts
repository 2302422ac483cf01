// What the sign-in page and the callback route show: a provider's icon from the reference's icon
// strings, and a sentence for each error a provider or TMI puts in the callback URL.
import { describe, expect, it } from 'vitest';
import { callbackErrorMessage } from '../api/session.ts';
import { brandOf } from './ProviderIcon.tsx';

describe('provider icons', () => {
  it('recognise the brands of Font Awesome classes, short names and logo paths', () => {
    expect(brandOf('fa-brands fa-github')).toBe('github');
    expect(brandOf('fa-brands fa-google')).toBe('google');
    expect(brandOf('fa-brands fa-microsoft')).toBe('microsoft');
    expect(brandOf('google')).toBe('google');
    expect(brandOf('fa-solid fa-key')).toBe('key');
    expect(brandOf('/static/provider-logos/signin/okta.svg')).toBe('okta');
    expect(brandOf('fa-solid fa-right-to-bracket')).toBeUndefined();
  });
});

describe('callback errors', () => {
  it('say what happened in words, never that the session ended', () => {
    expect(callbackErrorMessage('access_denied', null)).toMatch(/cancelled or refused at the identity provider/);
    expect(callbackErrorMessage('account_conflict', 'This email is already linked to a different sign-in method.')).toMatch(/already belongs to an account that signs in another way/);
    expect(callbackErrorMessage('identity_already_bound', null)).toMatch(/already belongs to a TMI account/);
    expect(callbackErrorMessage('saml_error', 'The SAML response was refused')).toMatch(/could not be accepted \(The SAML response was refused\)/);
    expect(callbackErrorMessage('temporarily_unavailable', 'try later')).toBe('The identity provider refused the sign-in: temporarily_unavailable (try later)');
    for (const code of ['access_denied', 'account_conflict', 'identity_already_bound', 'saml_error', 'login_required']) {
      expect(callbackErrorMessage(code, null)).not.toMatch(/session has ended/);
    }
  });
});
