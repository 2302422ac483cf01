// Access tokens: JWTs signed with jose (HS256, RS256 or ES256 from config), with the reference's
// claims plus `sid`, the refresh session they belong to (so a session can be revoked as a whole).
import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { Config, SigningMethod } from '../config.ts';

export interface AccessClaims extends JWTPayload {
  sub: string;
  email: string;
  email_verified?: boolean;
  name: string;
  idp: string;
  groups?: string[];
  tmi_is_administrator?: boolean;
  tmi_is_security_reviewer?: boolean;
  auth_time?: number;
  sid?: string;
  jti: string;
  exp: number;
}

export interface TokenSubject {
  provider: string;
  providerUserId: string;
  email: string;
  emailVerified: boolean;
  name: string;
  groups: string[];
  isAdministrator: boolean;
  isSecurityReviewer: boolean;
}

export class TokenService {
  private constructor(
    readonly method: SigningMethod,
    private readonly signingKey: KeyObject | CryptoKey,
    private readonly verifyKey: KeyObject | CryptoKey,
    readonly keyId: string | undefined,
    readonly publicJwk: JWK | undefined,
    readonly issuer: string,
    readonly ttlSeconds: number,
  ) {}

  /**
   * Key files were checked by loadConfig (type, curve, size). `hs256Secret` is the configured
   * secret, or the generated one from the shared store (config.jwt.generatedSecret).
   */
  static async create(config: Config, hs256Secret = config.jwt.secret): Promise<TokenService> {
    const issuer = new URL(config.oauth.callbackUrl).origin;
    const { signingMethod: method, expirationSeconds } = config.jwt;
    if (method === 'HS256') {
      if (!hs256Secret) throw new Error('TokenService: no HS256 secret');
      // Imported once: handing jose raw bytes would import the key again on every sign and verify.
      const secret = await crypto.subtle.importKey('raw', new TextEncoder().encode(hs256Secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
      return new TokenService(method, secret, secret, undefined, undefined, issuer, expirationSeconds);
    }
    const privateKey = createPrivateKey(readFileSync(config.jwt.privateKeyFile));
    const publicKey = config.jwt.publicKeyFile ? createPublicKey(readFileSync(config.jwt.publicKeyFile)) : createPublicKey(privateKey);
    const jwk = await exportJWK(publicKey);
    const kid = config.jwt.keyId || (await calculateJwkThumbprint(jwk));
    const publicJwk: JWK = { ...jwk, kid, alg: method, use: 'sig', key_ops: ['verify'] };
    return new TokenService(method, privateKey, publicKey, kid, publicJwk, issuer, expirationSeconds);
  }

  /** `ttlSeconds` shortens the configured lifetime (a client credential that expires sooner). */
  async sign(subject: TokenSubject, opts: { sessionId: string; authTime: number; ttlSeconds?: number }): Promise<{ token: string; claims: AccessClaims }> {
    const now = Math.floor(Date.now() / 1000);
    const claims: AccessClaims = {
      email: subject.email,
      ...(subject.emailVerified ? { email_verified: true } : {}),
      name: subject.name,
      idp: subject.provider,
      ...(subject.groups.length ? { groups: subject.groups } : {}),
      tmi_is_administrator: subject.isAdministrator,
      tmi_is_security_reviewer: subject.isSecurityReviewer,
      auth_time: opts.authTime,
      sid: opts.sessionId,
      iss: this.issuer,
      sub: subject.providerUserId,
      aud: [this.issuer],
      exp: now + Math.max(1, Math.min(this.ttlSeconds, opts.ttlSeconds ?? this.ttlSeconds)),
      nbf: now,
      iat: now,
      jti: randomUUID(),
    };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: this.method, typ: 'JWT', ...(this.keyId ? { kid: this.keyId } : {}) })
      .sign(this.signingKey);
    return { token, claims };
  }

  /**
   * Tokens whose signature was already checked, with their claims. A token is an immutable string,
   * so its signature stays valid; lifetime is re-checked on every hit and revocation is checked by
   * the caller on every request. This saves a Web Crypto round trip per request for a client that
   * reuses its token (all of them).
   */
  private readonly verified = new Map<string, AccessClaims>();
  private static readonly VERIFIED_MAX = 10_000;

  /** Verifies signature, algorithm, issuer, audience and lifetime; throws on any failure. */
  async verify(token: string): Promise<AccessClaims> {
    const now = Math.floor(Date.now() / 1000);
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.exp > now && (hit.nbf === undefined || hit.nbf <= now)) return hit;
      this.verified.delete(token);
    }
    const { payload } = await jwtVerify(token, this.verifyKey, {
      algorithms: [this.method],
      issuer: this.issuer,
      audience: this.issuer,
    });
    if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.idp !== 'string' || typeof payload.exp !== 'number') {
      throw new Error('token lacks required claims');
    }
    if (this.verified.size >= TokenService.VERIFIED_MAX) this.verified.clear();
    this.verified.set(token, payload as AccessClaims);
    return payload as AccessClaims;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.publicJwk ? [this.publicJwk] : [] };
  }
}
