// Upstream providers (GitHub, Google, Microsoft, any OIDC or plain OAuth 2 server), through
// openid-client: authorization code with PKCE and, for OIDC, a nonce-checked ID token whose
// signature is verified against the provider's published keys. TMI keeps the client secret;
// browsers only ever talk PKCE to TMI. Every request goes through the outbound client
// (../outbound.ts): no redirects, bounded time and size, the address policy.
import * as oidc from 'openid-client';
import { createRemoteJWKSet, customFetch as joseCustomFetch, decodeJwt, jwtVerify } from 'jose';
import type { OAuthProviderConfig } from '../../config.ts';
import type { FetchLike } from '../outbound.ts';
import { ProviderError, type IdentityProvider, type ProviderIdentity, type StepUpStrength, type UpstreamFlow } from './provider.ts';

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

/** Entra ID's tenant of personal Microsoft accounts. */
const MSA_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);

export class OAuthProvider implements IdentityProvider {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly cfg: OAuthProviderConfig,
    private readonly callbackUrl: string,
    private readonly fetcher: FetchLike,
    /** http:// endpoints allowed (dev and test; production refuses them in config). */
    private readonly allowHttp: boolean,
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
  get kind() {
    return this.cfg.kind;
  }
  get stepUpStrength(): StepUpStrength {
    return this.isOidc ? 'strong' : 'weak';
  }
  private get isOidc() {
    return Boolean(this.cfg.issuer) && this.cfg.scopes.includes('openid');
  }

  private config(): Promise<oidc.Configuration> {
    this.configuration ??= (async () => {
      const auth = oidc.ClientSecretPost(this.cfg.clientSecret);
      const fetchOption = { [oidc.customFetch]: this.fetcher as unknown as oidc.CustomFetch };
      let c: oidc.Configuration;
      if (this.cfg.issuer && !this.cfg.authorizationUrl) {
        c = await oidc.discovery(new URL(this.cfg.issuer), this.cfg.clientId, undefined, auth, {
          ...fetchOption,
          ...(this.allowHttp ? { execute: [oidc.allowInsecureRequests] } : {}),
        });
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
        c[oidc.customFetch] = fetchOption[oidc.customFetch];
        if (this.allowHttp) oidc.allowInsecureRequests(c);
      }
      // Verify ID token signatures against the provider's published keys, not only the claims:
      // a token endpoint reached over plain HTTP (development) or a misrouted proxy must not be
      // able to hand us an identity of its choosing.
      if (this.isOidc && c.serverMetadata().jwks_uri && !this.entraMultiTenant) oidc.enableNonRepudiationChecks(c);
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
    if (flow.maxAge !== undefined) {
      params.prompt = 'login';
      params.max_age = String(flow.maxAge);
    } else if (flow.selectAccount && this.supportsPrompt(config, 'select_account')) {
      // Let the person pick another account than the one they are signed in with there. Only
      // where the provider has the value: others refuse an authorization request naming it.
      params.prompt = 'select_account';
    }
    return oidc.buildAuthorizationUrl(config, params).href;
  }

  private supportsPrompt(config: oidc.Configuration, value: string): boolean {
    const advertised = config.serverMetadata().prompt_values_supported;
    if (Array.isArray(advertised)) return advertised.includes(value);
    return this.cfg.kind === 'google' || this.cfg.kind === 'microsoft';
  }

  /**
   * Entra ID's multi-tenant aliases (common, organizations, consumers) publish an issuer with a
   * `{tenantid}` placeholder: the ID token's issuer must be that template with the token's own
   * `tid`. openid-client knows this rule only for login.microsoftonline.com itself, so TMI checks
   * those ID tokens (any authority, sovereign clouds included).
   */
  private get entraMultiTenant(): boolean {
    return this.cfg.kind === 'microsoft' && MULTI_TENANT.has(this.cfg.tenant.toLowerCase());
  }

  async exchange(code: string, flow: UpstreamFlow): Promise<ProviderIdentity> {
    const base = await this.config();
    const current = new URL(this.callbackUrl);
    current.searchParams.set('code', code);
    current.searchParams.set('state', flow.state);
    if (flow.iss) current.searchParams.set('iss', flow.iss);
    let idClaims: Record<string, unknown> = {};
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      if (this.entraMultiTenant) {
        let idToken: string | undefined;
        const config = this.withTokenResponseFilter(base, (body) => {
          idToken = typeof body.id_token === 'string' ? body.id_token : undefined;
          delete body.id_token;
        });
        tokens = await oidc.authorizationCodeGrant(config, current, { expectedState: flow.state, pkceCodeVerifier: flow.codeVerifier });
        if (!idToken) throw new Error('the token response carries no ID token');
        idClaims = await this.verifyEntraIdToken(base, idToken, flow);
      } else {
        tokens = await oidc.authorizationCodeGrant(base, current, {
          expectedState: flow.state,
          pkceCodeVerifier: flow.codeVerifier,
          ...(this.isOidc ? { expectedNonce: flow.nonce, idTokenExpected: true, ...(flow.maxAge !== undefined ? { maxAge: flow.maxAge } : {}) } : {}),
        });
        idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
      }
    } catch (err) {
      throw new ProviderError(`code exchange with ${this.cfg.id} failed: ${(err as Error).message}${(err as { cause?: Error }).cause?.message ? ` (${(err as { cause?: Error }).cause!.message})` : ''}`, 'exchange');
    }
    let info: Record<string, unknown> = {};
    const userinfoUrl = this.cfg.userinfoUrl || base.serverMetadata().userinfo_endpoint;
    if (userinfoUrl) info = (await this.fetchJson(base, tokens.access_token, userinfoUrl)) as Record<string, unknown>;
    const c = this.cfg.claims;
    const subject = asString(idClaims.sub) || asString(claimAt(info, c.subject));
    if (!subject) throw new ProviderError(`${this.cfg.id} returned no subject`, 'invalid_response');
    // With an ID token its subject is authoritative; a userinfo answer about someone else is refused.
    if (idClaims.sub && info.sub !== undefined && asString(info.sub) !== subject) {
      throw new ProviderError(`${this.cfg.id} userinfo names another subject than the ID token`, 'invalid_response');
    }
    let email = asString(claimAt(info, c.email)) || asString(idClaims.email);
    let verified = claimAt(info, c.emailVerified) === true || idClaims.email_verified === true;
    if (this.cfg.kind === 'github') ({ email, verified } = await this.githubEmail(base, tokens.access_token, email));
    else if (!email && this.cfg.userinfoSecondaryUrl) {
      const secondary = await this.fetchJson(base, tokens.access_token, this.cfg.userinfoSecondaryUrl);
      email = asString(claimAt(Array.isArray(secondary) ? { 0: secondary[0] } : secondary, this.cfg.secondaryEmailClaim || 'email'));
    }
    if (!email) email = `${this.cfg.id}-${subject}@${this.cfg.id}.oauth.tmi`;
    const name = asString(claimAt(info, c.name)) || asString(idClaims.name) || asString(info.login) || email;
    const rawGroups = claimAt(info, c.groups) ?? (c.groups ? claimAt(idClaims, c.groups) : undefined);
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string' && g.length <= 256).slice(0, 200) : [];
    return { provider: this.cfg.id, providerUserId: subject, email, name, emailVerified: verified, groups };
  }

  /**
   * GitHub's /user shows only the public e-mail, and says nothing of verification: the address
   * is the primary one from /user/emails, verified as GitHub says (a private address is found the
   * same way). Without the user:email scope the public one is kept, unverified.
   */
  private async githubEmail(config: oidc.Configuration, accessToken: string, publicEmail: string): Promise<{ email: string; verified: boolean }> {
    if (!this.cfg.userinfoSecondaryUrl) return { email: publicEmail, verified: false };
    let list: unknown;
    try {
      list = await this.fetchJson(config, accessToken, this.cfg.userinfoSecondaryUrl);
    } catch {
      return { email: publicEmail, verified: false };
    }
    const entries = Array.isArray(list) ? (list as { email?: unknown; primary?: unknown; verified?: unknown }[]) : [];
    const primary = entries.find((e) => e.primary === true && typeof e.email === 'string');
    if (primary) return { email: primary.email as string, verified: primary.verified === true };
    return { email: publicEmail, verified: false };
  }

  /** A configuration whose token-endpoint JSON answers pass through `edit` first. */
  private withTokenResponseFilter(base: oidc.Configuration, edit: (body: Record<string, unknown>) => void): oidc.Configuration {
    const meta = base.serverMetadata();
    const c = new oidc.Configuration(meta, this.cfg.clientId, undefined, oidc.ClientSecretPost(this.cfg.clientSecret));
    const fetcher = this.fetcher;
    const tokenEndpoint = meta.token_endpoint;
    c[oidc.customFetch] = (async (url: string, options: Parameters<FetchLike>[1]) => {
      const res = await fetcher(url, options);
      if (url !== tokenEndpoint || !res.ok) return res;
      const body = (await res.json()) as Record<string, unknown>;
      edit(body);
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    }) as unknown as oidc.CustomFetch;
    if (this.allowHttp) oidc.allowInsecureRequests(c);
    return c;
  }

  private async verifyEntraIdToken(config: oidc.Configuration, idToken: string, flow: UpstreamFlow): Promise<Record<string, unknown>> {
    const meta = config.serverMetadata();
    if (!meta.jwks_uri) throw new Error('no jwks_uri for the ID token');
    const tid = asString(decodeJwt(idToken).tid);
    if (!/^[0-9a-f-]{36}$/i.test(tid)) throw new Error('the ID token names no tenant (tid)');
    const tenant = this.cfg.tenant.toLowerCase();
    if (tenant === 'organizations' && tid === MSA_TENANT) throw new Error('personal Microsoft accounts are not accepted (tenant organizations)');
    if (tenant === 'consumers' && tid !== MSA_TENANT) throw new Error('only personal Microsoft accounts are accepted (tenant consumers)');
    const jwks = createRemoteJWKSet(new URL(meta.jwks_uri), { [joseCustomFetch]: this.fetcher as never });
    const { payload } = await jwtVerify(idToken, jwks, {
      issuer: meta.issuer.replace('{tenantid}', tid).replace(`/${this.cfg.tenant}/`, `/${tid}/`),
      audience: this.cfg.clientId,
      algorithms: ['RS256'],
      clockTolerance: 30,
    });
    if (payload.nonce !== flow.nonce) throw new Error('ID token nonce mismatch');
    if (flow.maxAge !== undefined && (typeof payload.auth_time !== 'number' || payload.auth_time + flow.maxAge + 30 < Date.now() / 1000)) {
      throw new Error('the ID token does not show a fresh sign-in (auth_time)');
    }
    return payload as Record<string, unknown>;
  }

  private async fetchJson(config: oidc.Configuration, accessToken: string, url: string): Promise<unknown> {
    const headers = new Headers({ accept: this.cfg.acceptHeader });
    const res = await oidc.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, headers);
    if (!res.ok) throw new ProviderError(`${this.cfg.id} userinfo answered ${res.status}`, 'userinfo');
    try {
      return JSON.parse(await res.text());
    } catch {
      throw new ProviderError(`${this.cfg.id} userinfo is not JSON`, 'userinfo');
    }
  }
}
