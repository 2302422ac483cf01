// What the OAuth broker needs from an identity provider.
import type { IdentityFromProvider } from '../users.ts';

export interface ProviderIdentity extends IdentityFromProvider {
  /** Groups from the provider's groups claim, when it has one. */
  groups: string[];
}

/** Carried from /oauth2/authorize through the callback to /oauth2/token in the shared store. */
export interface UpstreamFlow {
  state: string;
  codeVerifier: string;
  nonce: string;
  /**
   * Step-up: the provider was asked for a fresh interactive sign-in (prompt=login, max_age=0);
   * an OpenID provider's ID token must then carry an auth_time no older than this many seconds.
   */
  maxAge?: number;
  /** The `iss` of the provider's authorization response (RFC 9207), when it sent one. */
  iss?: string;
  /** Identity linking: the provider was asked to let the person choose the account. */
  selectAccount?: boolean;
}

/**
 * How far a provider honours a request for a fresh sign-in. `strong`: OpenID providers, whose ID
 * token proves the time of the sign-in (auth_time). `weak`: plain OAuth 2 providers (GitHub),
 * which ignore prompt=login; TMI still sends the person through them (the reference instead
 * rotates tokens without any re-authentication).
 */
export type StepUpStrength = 'strong' | 'weak';

export interface IdentityProvider {
  readonly id: string;
  readonly name: string;
  readonly icon: string;
  readonly clientId: string;
  readonly stepUpStrength: StepUpStrength;
  /** The upstream authorization URL to send the browser to (with our callback as redirect_uri). */
  authorizationUrl(flow: UpstreamFlow): Promise<string>;
  /** Exchanges the upstream code and reads the user's identity. */
  exchange(code: string, flow: UpstreamFlow): Promise<ProviderIdentity>;
}

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly kind: 'exchange' | 'userinfo' | 'invalid_response',
  ) {
    super(message);
  }
}
