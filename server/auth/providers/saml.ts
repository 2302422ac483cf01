// A SAML 2.0 identity provider, through @node-saml/node-saml: SP metadata, SP-initiated login
// (HTTP-Redirect AuthnRequest, signed), the assertion consumer (signed assertions only, audience,
// issuer, clock skew, maximum age, InResponseTo of a request we made, each assertion accepted
// once), and single logout with signed LogoutRequests and signed LogoutResponses. Request ids and
// used assertion ids live in the shared store, so any instance can finish a flow.
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
// node-saml (with its XML signature stack) is loaded when a SAML provider is first used, not at start.
import type { CacheProvider, Profile, SAML, SamlConfig } from '@node-saml/node-saml';
import type { SamlProviderConfig } from '../../config.ts';
import type { KeyValueStore } from '../../store/shared-state.ts';
import type { FetchLike } from '../outbound.ts';
import { ProviderError, type ProviderIdentity } from './provider.ts';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const REQUEST_TTL_SECONDS = 600;

/** What TMI needs from the IdP's metadata. */
export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  sloUrl: string;
  certificates: string[];
}

const pem = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64.replace(/\s+/g, '').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;

export function parseIdpMetadata(xml: string): IdpMetadata {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  if (!root || root.localName !== 'EntityDescriptor') throw new Error('not a SAML EntityDescriptor');
  const idp = root.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  if (!idp) throw new Error('no IDPSSODescriptor');
  const location = (tag: string) => {
    const all = Array.from(idp.getElementsByTagNameNS(MD, tag)) as Element[];
    const el = all.find((e) => e.getAttribute('Binding') === REDIRECT_BINDING) ?? all[0];
    return el?.getAttribute('Location') ?? '';
  };
  const certificates = (Array.from(idp.getElementsByTagNameNS(MD, 'KeyDescriptor')) as Element[])
    .filter((k) => !k.getAttribute('use') || k.getAttribute('use') === 'signing')
    .flatMap((k) => Array.from(k.getElementsByTagNameNS(DSIG, 'X509Certificate')) as Element[])
    .map((c) => pem(c.textContent ?? ''));
  const entityId = root.getAttribute('entityID') ?? '';
  const ssoUrl = location('SingleSignOnService');
  if (!entityId || !ssoUrl || !certificates.length) throw new Error('the metadata lacks an entityID, a SingleSignOnService or a signing certificate');
  return { entityId, ssoUrl, sloUrl: location('SingleLogoutService'), certificates };
}

/** The Issuer of a SAML message (to find its provider), without trusting anything else in it. */
export function issuerOf(base64Message: string): string | null {
  try {
    const raw = Buffer.from(base64Message, 'base64');
    // The HTTP-Redirect binding deflates the message; HTTP-POST does not.
    const xml = raw.subarray(0, 1).toString() === '<' ? raw.toString('utf8') : inflateRawSync(raw, { maxOutputLength: 1_000_000 }).toString('utf8');
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const issuer = Array.from(doc.documentElement?.childNodes ?? []).find((n) => (n as Element).localName === 'Issuer');
    return issuer?.textContent?.trim() || null;
  } catch {
    return null;
  }
}

/** node-saml's request-id cache in the shared store. */
function sharedCache(kv: KeyValueStore, prefix: string): CacheProvider {
  return {
    async saveAsync(key, value) {
      await kv.set(`${prefix}${key}`, value, REQUEST_TTL_SECONDS);
      return { value, createdAt: Date.now() };
    },
    getAsync: (key) => kv.get(`${prefix}${key}`),
    async removeAsync(key) {
      return key ? kv.take(`${prefix}${key}`) : null;
    },
  };
}

export interface SamlAssertionResult {
  identity: ProviderIdentity;
  nameId: string;
  nameIdFormat: string;
  sessionIndex?: string;
}

const first = (v: unknown): string => (Array.isArray(v) ? first(v[0]) : typeof v === 'string' ? v : '');

export class SamlProvider {
  private loaded: Promise<{ meta: IdpMetadata; saml: SAML; forced: SAML }> | undefined;

  constructor(
    readonly cfg: SamlProviderConfig,
    private readonly kv: KeyValueStore,
    private readonly fetcher: FetchLike,
    private readonly clock: { skewSeconds: number; maxAssertionAgeSeconds: number },
  ) {}

  get id() {
    return this.cfg.id;
  }
  get initialized(): boolean {
    return this.ready;
  }
  private ready = false;

  private load() {
    this.loaded ??= (async () => {
      let xml = this.cfg.idpMetadataXml;
      if (!xml) {
        const res = await this.fetcher(this.cfg.idpMetadataUrl, { headers: { accept: 'application/samlmetadata+xml, application/xml' } });
        if (!res.ok) throw new Error(`IdP metadata answered ${res.status}`);
        xml = await res.text();
      }
      const meta = parseIdpMetadata(xml);
      const { SAML, ValidateInResponseTo } = await import('@node-saml/node-saml');
      const options = (forceAuthn: boolean): SamlConfig => ({
        callbackUrl: this.cfg.acsUrl,
        entryPoint: meta.ssoUrl,
        issuer: this.cfg.entityId,
        audience: this.cfg.entityId,
        idpIssuer: meta.entityId,
        idpCert: meta.certificates,
        publicCert: this.cfg.spCertificate,
        ...(this.cfg.signRequests ? { privateKey: this.cfg.spPrivateKey } : {}),
        signatureAlgorithm: 'sha256',
        digestAlgorithm: 'sha256',
        wantAssertionsSigned: true,
        wantAuthnResponseSigned: false,
        acceptedClockSkewMs: this.clock.skewSeconds * 1000,
        maxAssertionAgeMs: this.clock.maxAssertionAgeSeconds * 1000,
        validateInResponseTo: this.cfg.allowIdpInitiated ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
        requestIdExpirationPeriodMs: REQUEST_TTL_SECONDS * 1000,
        cacheProvider: sharedCache(this.kv, `saml_request:${this.cfg.id}:`),
        logoutUrl: meta.sloUrl || meta.ssoUrl,
        logoutCallbackUrl: this.cfg.sloUrl,
        identifierFormat: null,
        disableRequestedAuthnContext: true,
        forceAuthn,
      });
      const saml = new SAML(options(this.cfg.forceAuthn));
      // Step-up asks the IdP for a fresh sign-in (ForceAuthn) whatever the provider's default.
      const forced = new SAML(options(true));
      this.ready = true;
      return { meta, saml, forced };
    })().catch((err: unknown) => {
      this.loaded = undefined;
      throw err;
    });
    return this.loaded;
  }

  /** TMI's SP metadata for this provider: entity id, ACS, SLO, signing certificate. */
  async spMetadata(): Promise<string> {
    const { saml } = await this.load();
    const xml = saml.generateServiceProviderMetadata(null, this.cfg.spCertificate);
    // /saml/slo takes both bindings; node-saml lists only HTTP-POST.
    return xml.replace(
      /(<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-POST" Location="([^"]*)"\/>)/,
      `$1<SingleLogoutService Binding="${REDIRECT_BINDING}" Location="$2"/>`,
    );
  }

  /** The IdP URL carrying a (signed) AuthnRequest; `relayState` comes back to the ACS. */
  async loginUrl(relayState: string, opts: { forceAuthn?: boolean } = {}): Promise<string> {
    const { saml, forced } = await this.load();
    return (opts.forceAuthn ? forced : saml).getAuthorizeUrlAsync(relayState, undefined, {});
  }

  /** True when the IdP metadata is loaded or can be (for /saml/providers). */
  async check(): Promise<boolean> {
    try {
      await this.load();
      return true;
    } catch {
      return false;
    }
  }

  async issuer(): Promise<string> {
    return (await this.load()).meta.entityId;
  }

  /**
   * Validates a SAMLResponse posted to the ACS and maps its attributes. Each assertion id is
   * accepted once, for as long as an assertion could be valid (replay protection beyond the
   * one-time request ids, which IdP-initiated responses do not have).
   */
  async consume(samlResponse: string): Promise<SamlAssertionResult> {
    const { saml } = await this.load();
    let profile: Profile | null;
    try {
      ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (err) {
      throw new ProviderError(`SAML response from ${this.cfg.id} refused: ${(err as Error).message}`, 'invalid_response');
    }
    if (!profile) throw new ProviderError(`SAML response from ${this.cfg.id} carries no assertion`, 'invalid_response');
    const assertion = profile.getAssertion?.() as { Assertion?: { $?: { ID?: string } } } | undefined;
    const assertionId = assertion?.Assertion?.$?.ID;
    if (!assertionId) throw new ProviderError('SAML assertion has no ID', 'invalid_response');
    const key = `saml_assertion:${this.cfg.id}:${createHash('sha256').update(assertionId).digest('hex')}`;
    if (!(await this.kv.setIfAbsent(key, '1', this.clock.maxAssertionAgeSeconds + 2 * this.clock.skewSeconds))) {
      throw new ProviderError(`SAML assertion ${assertionId} was already used (replay)`, 'invalid_response');
    }
    const attrs = profile as Record<string, unknown>;
    const a = this.cfg.attributes;
    const subject =
      (a.nameId && first(attrs[a.nameId])) ||
      first(attrs['urn:oasis:names:tc:SAML:attribute:subject-id']) ||
      first(attrs['urn:oasis:names:tc:SAML:attribute:pairwise-id']) ||
      profile.nameID;
    if (!subject) throw new ProviderError('SAML assertion names no subject', 'invalid_response');
    const email = first(attrs[a.email]) || (profile.nameIDFormat?.endsWith(':emailAddress') ? profile.nameID : '') || `${this.cfg.id}-${subject}@${this.cfg.id}.saml.tmi`;
    const given = first(attrs[a.givenName]);
    const family = first(attrs[a.familyName]);
    const name = first(attrs[a.name]) || [given, family].filter(Boolean).join(' ') || email;
    const rawGroups = attrs[a.groups];
    const groups = (Array.isArray(rawGroups) ? rawGroups : rawGroups === undefined ? [] : [rawGroups])
      .filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 256)
      .slice(0, 200);
    return {
      // The IdP signed the assertion: its e-mail is the IdP's word, as the reference treats it.
      identity: { provider: this.cfg.id, providerUserId: subject, email, name, emailVerified: true, groups },
      nameId: profile.nameID,
      nameIdFormat: profile.nameIDFormat,
      sessionIndex: profile.sessionIndex,
    };
  }

  /**
   * Validates an IdP's LogoutRequest: HTTP-Redirect with a query signature, or HTTP-POST with an
   * XML signature. Unsigned requests are refused (the reference accepts some).
   */
  async logoutRequest(binding: { query: Record<string, string>; originalQuery: string } | { body: Record<string, string> }): Promise<Profile> {
    const { saml } = await this.load();
    let result: { profile: Profile | null };
    try {
      if ('query' in binding) {
        if (!binding.query.Signature || !binding.query.SigAlg) throw new Error('the LogoutRequest is not signed');
        result = await saml.validateRedirectAsync(binding.query, binding.originalQuery);
      } else {
        result = await saml.validatePostRequestAsync(binding.body);
      }
    } catch (err) {
      throw new ProviderError(`SAML logout request from ${this.cfg.id} refused: ${(err as Error).message}`, 'invalid_response');
    }
    if (!result.profile) throw new ProviderError('not a LogoutRequest', 'invalid_response');
    return result.profile;
  }

  /** The IdP URL carrying our signed LogoutResponse, or null when the IdP has no SLO endpoint. */
  async logoutResponseUrl(request: Profile, relayState: string): Promise<string | null> {
    const { saml, meta } = await this.load();
    if (!meta.sloUrl) return null;
    return saml.getLogoutResponseUrlAsync(request, relayState, {}, true);
  }
}
