// Every identity provider the configuration names, built once: the upstream OAuth/OIDC ones and
// the SAML ones, each with its own outbound client (its address policy depends on `_INTERNAL`).
import type { Config } from '../../config.ts';
import type { KeyValueStore } from '../../store/shared-state.ts';
import { outboundFetch, type OutboundPolicy } from '../outbound.ts';
import { OAuthProvider } from './oauth.ts';
import { SamlProvider } from './saml.ts';
import { DEV_PROVIDER_ID } from './tmi.ts';

export class ProviderRegistry {
  readonly oauth = new Map<string, OAuthProvider>();
  readonly saml = new Map<string, SamlProvider>();

  constructor(
    private readonly config: Config,
    kv: KeyValueStore,
  ) {
    const production = config.buildMode === 'production';
    const policy = (internal: boolean): OutboundPolicy => ({
      httpsOnly: production,
      allowPrivateAddresses: internal,
      // Outside production a provider on the same machine (a local Keycloak) needs no flag.
      allowLoopback: !production,
      ...config.idpHttp,
    });
    for (const p of config.oauth.providers) {
      this.oauth.set(p.id, new OAuthProvider(p, config.oauth.callbackUrl, outboundFetch(policy(p.internal)), !production));
    }
    for (const p of config.saml.providers) {
      this.saml.set(p.id, new SamlProvider(p, kv, outboundFetch(policy(p.internal)), { skewSeconds: config.saml.clockSkewSeconds, maxAssertionAgeSeconds: config.saml.maxAssertionAgeSeconds }));
    }
  }

  /** Any provider id people can sign in with here (the development one included when on). */
  known(id: string): boolean {
    return (id === DEV_PROVIDER_ID && this.config.auth.devProviderEnabled) || this.oauth.has(id) || this.saml.has(id);
  }
}
