// The development identity provider `tmi` (dev and test modes only): `login_hint=alice` signs in
// as alice@tmi.local, as the reference does. There is no upstream; the broker issues the code.
import { randomInt } from 'node:crypto';
import type { ProviderIdentity } from './provider.ts';

export const DEV_PROVIDER_ID = 'tmi';

/** The reference's rules: trimmed, lower-cased, 3-20 of [a-z0-9-], no hyphen at either end. */
export function normaliseLoginHint(hint: string | undefined): string | null {
  if (!hint) return null;
  const h = hint.trim().toLowerCase();
  return /^[a-z0-9](?:[a-z0-9-]{1,18})[a-z0-9]$/.test(h) ? h : null;
}

export function devIdentity(loginHint: string | undefined): ProviderIdentity {
  const hint = normaliseLoginHint(loginHint);
  if (!hint) {
    const n = String(randomInt(0, 100_000_000)).padStart(8, '0');
    return {
      provider: DEV_PROVIDER_ID,
      providerUserId: `testuser-${n}`,
      email: `testuser-${n}@tmi.local`,
      name: `Test User ${n}`,
      emailVerified: false,
      groups: [],
    };
  }
  const words = hint
    .split('-')
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1));
  return {
    provider: DEV_PROVIDER_ID,
    providerUserId: hint,
    email: `${hint}@tmi.local`,
    name: `${words.join(' ')} (TMI User)`,
    emailVerified: false,
    groups: [],
  };
}
