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
}

export interface IdentityProvider {
  readonly id: string;
  readonly name: string;
  readonly icon: string;
  readonly clientId: string;
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
