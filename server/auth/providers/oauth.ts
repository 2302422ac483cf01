// Upstream providers (GitHub, Google, Microsoft, any OIDC or plain OAuth 2 server), through
// openid-client: authorization code with PKCE and, for OIDC, a nonce-checked ID token. TMI keeps
// the client secret; browsers only ever talk PKCE to TMI. openid-client does not follow redirects,
// so the client secret and the user's token never reach a host other than the configured ones.
import * as oidc from 'openid-client';
import type { OAuthProviderConfig } from '../../config.ts';
import { ProviderError, type IdentityProvider, type ProviderIdentity, type UpstreamFlow } from './provider.ts';

/** Reads `a.b`, `[0].email` style paths from a JSON value. */
export function claimAt(value: unknown, path: string): unknown {
  if (!path) return undefined;
  let cur: unknown = value;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const asString = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

export class OAuthProvider implements IdentityProvider {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly cfg: OAuthProviderConfig,
    private readonly callbackUrl: string,
    private readonly allowInsecure: boolean,
  ) {}

  get id() {
    return this.cfg.id;
  }
  get name() {
    return this.cfg.name;
  }
  get icon() {
    return this.cfg.icon;
  }
  get clientId() {
    return this.cfg.clientId;
  }
  private get isOidc() {
    return Boolean(this.cfg.issuer) && this.cfg.scopes.includes('openid');
  }

  private config(): Promise<oidc.Configuration> {
    this.configuration ??= (async () => {
      const auth = oidc.ClientSecretPost(this.cfg.clientSecret);
      const options = this.allowInsecure ? { execute: [oidc.allowInsecureRequests] } : undefined;
      let c: oidc.Configuration;
      if (this.cfg.issuer && !this.cfg.authorizationUrl) {
        c = await oidc.discovery(new URL(this.cfg.issuer), this.cfg.clientId, undefined, auth, options);
      } else {
        c = new oidc.Configuration(
          {
            issuer: this.cfg.issuer || new URL(this.cfg.authorizationUrl).origin,
            authorization_endpoint: this.cfg.authorizationUrl,
            token_endpoint: this.cfg.tokenUrl,
            userinfo_endpoint: this.cfg.userinfoUrl || undefined,
            jwks_uri: this.cfg.jwksUrl || undefined,
          },
          this.cfg.clientId,
          undefined,
          auth,
        );
        if (this.allowInsecure) oidc.allowInsecureRequests(c);
      }
      // Verify ID token signatures against the provider's published keys, not only the claims:
      // a token endpoint reached over plain HTTP (development) or a misrouted proxy must not be
      // able to hand us an identity of its choosing.
      if (this.isOidc && c.serverMetadata().jwks_uri) oidc.enableNonRepudiationChecks(c);
      return c;
    })().catch((err: unknown) => {
      this.configuration = undefined; // retry discovery on the next sign-in
      throw err;
    });
    return this.configuration;
  }

  async authorizationUrl(flow: UpstreamFlow): Promise<string> {
    const config = await this.config();
    const params: Record<string, string> = {
      redirect_uri: this.callbackUrl,
      response_type: 'code',
      scope: this.cfg.scopes.join(' '),
      state: flow.state,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (this.isOidc) params.nonce = flow.nonce;
    return oidc.buildAuthorizationUrl(config, params).href;
  }

  async exchange(code: string, flow: UpstreamFlow): Promise<ProviderIdentity> {
    const config = await this.config();
    const current = new URL(this.callbackUrl);
    current.searchParams.set('code', code);
    current.searchParams.set('state', flow.state);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        expectedState: flow.state,
        pkceCodeVerifier: flow.codeVerifier,
        ...(this.isOidc ? { expectedNonce: flow.nonce, idTokenExpected: true } : {}),
      });
    } catch (err) {
      throw new ProviderError(`code exchange with ${this.cfg.id} failed: ${(err as Error).message}`, 'exchange');
    }
    const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
    let info: Record<string, unknown> = {};
    if (this.cfg.userinfoUrl || config.serverMetadata().userinfo_endpoint) {
      info = await this.fetchJson(config, tokens.access_token, this.cfg.userinfoUrl || config.serverMetadata().userinfo_endpoint!);
    }
    const c = this.cfg.claims;
    const subject = asString(claimAt(info, c.subject)) || asString(idClaims.sub);
    if (!subject) throw new ProviderError(`${this.cfg.id} returned no subject`, 'invalid_response');
    let email = asString(claimAt(info, c.email)) || asString(idClaims.email);
    if (!email && this.cfg.userinfoSecondaryUrl) {
      const secondary = await this.fetchJson(config, tokens.access_token, this.cfg.userinfoSecondaryUrl);
      email = asString(claimAt(Array.isArray(secondary) ? { 0: secondary[0] } : secondary, this.cfg.secondaryEmailClaim || 'email'));
    }
    if (!email) email = `${this.cfg.id}-${subject}@${this.cfg.id}.oauth.tmi`;
    const name = asString(claimAt(info, c.name)) || asString(idClaims.name) || email;
    const verified = claimAt(info, c.emailVerified) === true || idClaims.email_verified === true;
    const rawGroups = claimAt(info, c.groups) ?? idClaims.groups;
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string').slice(0, 200) : [];
    return { provider: this.cfg.id, providerUserId: subject, email, name, emailVerified: verified, groups };
  }

  private async fetchJson(config: oidc.Configuration, accessToken: string, url: string): Promise<Record<string, unknown>> {
    const headers = new Headers({ accept: this.cfg.acceptHeader });
    const res = await oidc.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, headers);
    if (!res.ok) throw new ProviderError(`${this.cfg.id} userinfo answered ${res.status}`, 'userinfo');
    const text = await res.text();
    if (text.length > 1_000_000) throw new ProviderError(`${this.cfg.id} userinfo response is too large`, 'userinfo');
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ProviderError(`${this.cfg.id} userinfo is not JSON`, 'userinfo');
    }
  }
}
