// Security events: the log lines an operator searches for sign-ins, token misuse, revocations,
// changes of who may see a threat model, and administrators' actions. Each line carries a stable
// `event` name from the catalogue below, the request id (`reqId`) and the client address
// (`client_ip`, as trusted-proxy settings resolve it); never a token, code, verifier, cookie or
// secret, only ids. docs/security.md lists every event with a jq query.
//
// The request a line belongs to is found through an AsyncLocalStorage scope entered at onRequest,
// so that the use cases (sessions, users, threat models) that know what happened can say so in
// one line without being handed the request.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from './http/errors.ts';

/** Who acted, or whom the line is about: the identity provider's names for them, and ours. */
export interface Party {
  provider: string;
  provider_id: string;
  user_uuid?: string;
}

/** One entry of a threat model's access list, as the API shows it. */
export interface AccessEntry {
  principal_type: string;
  provider: string;
  provider_id: string;
  role: string;
}

/** Why an access token was refused. */
export type TokenFailure = 'malformed_header' | 'too_long' | 'expired' | 'bad_signature' | 'bad_claims' | 'malformed' | 'unknown_user' | 'revoked';

/**
 * The catalogue: every security event and the fields it carries (besides reqId and client_ip).
 * Features add their events here (with a level and message below, and a row in docs/security.md).
 */
export interface SecurityEventFields {
  'auth.signin.success': Party & { user_uuid: string; session_id: string };
  /** `provider_id` only once the provider has vouched for an identity (e.g. account_conflict). */
  'auth.signin.failure': Partial<Party> & { reason: string; detail?: string };
  'auth.token.invalid': Partial<Party> & { reason: TokenFailure; session_id?: string };
  /** How many auth.token.invalid lines were left out in the last window, and for which addresses. */
  'auth.token.invalid.suppressed': { suppressed: number; window_seconds: number; client_ips: string[] };
  'auth.refresh.success': { user_uuid: string; session_id: string };
  'auth.refresh.failure': { reason: 'unknown' | 'expired' | 'revoked'; user_uuid?: string; session_id?: string };
  /** A spent refresh token came back: its whole session was revoked. */
  'auth.refresh.reuse': { user_uuid?: string; revoked_session_id: string };
  'auth.logout': Party & { revoked_session_id?: string; revoked_token_id: string };
  /** RFC 7009 revocation by the caller; the ids are absent when the token was not ours or spent. */
  'auth.revoke': Party & { token_type_hint?: string; revoked_session_id?: string; revoked_token_id?: string };
  'access.changed': Party & { threat_model_id: string; added: AccessEntry[]; removed: AccessEntry[]; role_changed: (AccessEntry & { previous_role: string })[] };
  'owner.changed': Party & { threat_model_id: string; previous_owner: Party; new_owner: Party };
  'admin.granted': Party & { groups: string[]; via: 'first_user' | 'configuration' };
  'admin.threat_models.include_deleted': Party;
  /** An administrator without the owner role listed a model's deleted children (`kind`: threats, diagrams, ...). */
  'admin.children.include_deleted': Party & { threat_model_id: string; kind: string };
  /** A signed-in person was sent to re-authenticate (before an administrative write). */
  'auth.step_up.started': Party;
  'auth.step_up.success': Party & { session_id: string };
  'auth.step_up.failure': Partial<Party> & { reason: string };
  /** Linking a second identity to an account: who, and the provider of the identity. */
  'auth.identity.link_started': Party & { linked_provider: string };
  'auth.identity.linked': Party & { linked_provider: string; identity_id: string };
  'auth.identity.link_failed': Party & { linked_provider: string; reason: string };
  /** `user_uuid` of the actor; `account_uuid` whose identity it was (an administrator may unlink). */
  'auth.identity.unlinked': Party & { account_uuid: string; identity_id: string };
  'auth.client_credentials.created': Party & { credential_id: string; account_uuid: string; automation?: boolean };
  'auth.client_credentials.deleted': Party & { credential_id: string; account_uuid: string };
  /** A client credential was exchanged for an access token. */
  'auth.client_credentials.used': { credential_id: string; account_uuid: string };
  /** `client_id` is the public half of a credential, cut to 64 characters. */
  'auth.client_credentials.failure': { client_id: string; reason: string };
  /** A signed IdP logout request ended this many TMI sessions. */
  'auth.saml.logout': { provider: string; sessions_ended: number };
  'auth.saml.logout_refused': { provider: string; reason: string };
  /** An administrator uploaded, replaced or deleted an organisation rule pack (threat suggestions). */
  'admin.rule_pack.created': Party & { pack_id: string; version: string; rule_count: number };
  'admin.rule_pack.updated': Party & { pack_id: string; version: string; rule_count: number };
  'admin.rule_pack.deleted': Party & { pack_id: string };
  /** Administration (server/admin): `account_uuid` is the account acted on, the party the actor. */
  'admin.user.updated': Party & { account_uuid: string; fields: string[] };
  'admin.user.admin_granted': Party & { account_uuid: string };
  'admin.user.admin_revoked': Party & { account_uuid: string };
  'admin.user.deactivated': Party & { account_uuid: string };
  'admin.user.reactivated': Party & { account_uuid: string };
  /** An account was deleted (`self`: by its owner through DELETE /me), with what became of its models. */
  'admin.user.deleted': Party & { account_uuid: string; self: boolean; transferred: string[]; deleted: string[] };
  'admin.ownership.transferred': Party & { from_uuid: string; to_uuid: string; threat_model_ids: string[] };
  'admin.group.changed': Party & { group_uuid: string; change: 'created' | 'updated' | 'deleted' | 'member_added' | 'member_removed'; member_uuid?: string };
  'admin.quota.changed': Party & { account_uuid: string; quota: string; change: 'updated' | 'deleted' };
  /** A runtime setting written or removed (its key, never its value), or every stored setting re-encrypted. */
  'admin.setting.changed': Party & { key?: string; change: 'updated' | 'deleted' | 'reencrypted'; reencrypted?: number; failed?: number };
  /** A model file refused as hostile or oversized (too_large, too_deep, unsafe_content: a DTD or entities, too many YAML aliases). */
  'model.import.refused': Party & { reason: string; bytes: number };
}

export type SecurityEvent = keyof SecurityEventFields;

export const SECURITY_EVENTS: { [E in SecurityEvent]: { level: 'info' | 'warn'; message: string } } = {
  'auth.signin.success': { level: 'info', message: 'sign-in succeeded' },
  'auth.signin.failure': { level: 'warn', message: 'sign-in failed' },
  'auth.token.invalid': { level: 'warn', message: 'access token refused' },
  'auth.token.invalid.suppressed': { level: 'warn', message: 'refused access tokens not logged one by one' },
  'auth.refresh.success': { level: 'info', message: 'refresh token rotated' },
  'auth.refresh.failure': { level: 'warn', message: 'refresh token refused' },
  'auth.refresh.reuse': { level: 'warn', message: 'refresh token reused: session revoked' },
  'auth.logout': { level: 'info', message: 'signed out' },
  'auth.revoke': { level: 'info', message: 'token revoked' },
  'access.changed': { level: 'info', message: 'threat model access list changed' },
  'owner.changed': { level: 'info', message: 'threat model owner changed' },
  'admin.granted': { level: 'info', message: 'administrator role granted' },
  'admin.threat_models.include_deleted': { level: 'info', message: 'administrator listed deleted threat models' },
  'admin.children.include_deleted': { level: 'info', message: "administrator listed a threat model's deleted children" },
  'auth.step_up.started': { level: 'info', message: 'step-up started' },
  'auth.step_up.success': { level: 'info', message: 'step-up succeeded' },
  'auth.step_up.failure': { level: 'warn', message: 'step-up failed' },
  'auth.identity.link_started': { level: 'info', message: 'identity link started' },
  'auth.identity.linked': { level: 'info', message: 'identity linked' },
  'auth.identity.link_failed': { level: 'warn', message: 'identity link failed' },
  'auth.identity.unlinked': { level: 'info', message: 'identity unlinked' },
  'auth.client_credentials.created': { level: 'info', message: 'client credential created' },
  'auth.client_credentials.deleted': { level: 'info', message: 'client credential deleted' },
  'auth.client_credentials.used': { level: 'info', message: 'client credential used' },
  'auth.client_credentials.failure': { level: 'warn', message: 'client authentication failed' },
  'auth.saml.logout': { level: 'info', message: 'SAML single logout' },
  'auth.saml.logout_refused': { level: 'warn', message: 'SAML logout refused' },
  'admin.rule_pack.created': { level: 'info', message: 'rule pack uploaded' },
  'admin.rule_pack.updated': { level: 'info', message: 'rule pack replaced' },
  'admin.rule_pack.deleted': { level: 'info', message: 'rule pack deleted' },
  'admin.user.updated': { level: 'info', message: 'administrator changed a user' },
  'admin.user.admin_granted': { level: 'info', message: 'administrator role granted to a user' },
  'admin.user.admin_revoked': { level: 'warn', message: 'administrator role withdrawn from a user' },
  'admin.user.deactivated': { level: 'warn', message: 'user account deactivated' },
  'admin.user.reactivated': { level: 'info', message: 'user account reactivated' },
  'admin.user.deleted': { level: 'warn', message: 'user account deleted' },
  'admin.ownership.transferred': { level: 'info', message: 'ownership of threat models transferred' },
  'admin.group.changed': { level: 'info', message: 'TMI group changed' },
  'admin.quota.changed': { level: 'info', message: 'user quota changed' },
  'admin.setting.changed': { level: 'warn', message: 'runtime setting changed' },
  'model.import.refused': { level: 'warn', message: 'model import refused as hostile or oversized' },
};

/**
 * Refused tokens are what a scanner or a flood produces, so they are sampled: per client address,
 * the first TOKEN_FAILURE_LINES lines of each minute are written and the rest counted; the first
 * refusal after a minute with left-out lines writes one auth.token.invalid.suppressed line with
 * the count. At most TOKEN_FAILURE_ADDRESSES addresses have their own budget per minute; further
 * ones share one, so many addresses cannot multiply the volume either. Per instance.
 */
const TOKEN_FAILURE_WINDOW_MS = 60_000;
export const TOKEN_FAILURE_LINES = 5;
const TOKEN_FAILURE_ADDRESSES = 200;
const OTHER_ADDRESSES = '*';

class TokenFailureSampler {
  private windowStart = 0;
  private readonly counts = new Map<string, number>();
  private suppressed = 0;

  /** Whether this refusal gets its line, and the summary of the previous minute if lines were left out. */
  admit(address: string, now: number): { write: boolean; summary?: SecurityEventFields['auth.token.invalid.suppressed'] } {
    let summary: SecurityEventFields['auth.token.invalid.suppressed'] | undefined;
    if (now - this.windowStart >= TOKEN_FAILURE_WINDOW_MS) {
      if (this.suppressed > 0) {
        const loudest = [...this.counts].filter(([, n]) => n > TOKEN_FAILURE_LINES).sort((a, b) => b[1] - a[1]);
        summary = { suppressed: this.suppressed, window_seconds: TOKEN_FAILURE_WINDOW_MS / 1000, client_ips: loudest.slice(0, 10).map(([a]) => a) };
      }
      this.windowStart = now;
      this.counts.clear();
      this.suppressed = 0;
    }
    const key = this.counts.has(address) || this.counts.size < TOKEN_FAILURE_ADDRESSES ? address : OTHER_ADDRESSES;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n > TOKEN_FAILURE_LINES) this.suppressed++;
    return { write: n <= TOKEN_FAILURE_LINES, summary };
  }
}

/** One app's security log: where its lines go outside a request, and its sampler. */
interface AppSecurityLog {
  log: FastifyBaseLogger;
  tokenFailures: TokenFailureSampler;
}

const requestScope = new AsyncLocalStorage<{ request: FastifyRequest; app: AppSecurityLog }>();
/** The app built last: it takes lines written outside any request (a server process has one app). */
let processApp: AppSecurityLog | undefined;

/** Enters each request's scope; call once per app, before any hook that may write an event. */
export function registerSecurityEvents(app: FastifyInstance): void {
  const own: AppSecurityLog = { log: app.log, tokenFailures: new TokenFailureSampler() };
  processApp = own;
  app.addHook('onRequest', (request, _reply, done) => requestScope.run({ request, app: own }, done));
}

/** Writes one security event, with the request id and client address of the request under way. */
export function securityEvent<E extends SecurityEvent>(event: E, fields: SecurityEventFields[E]): void {
  const scope = requestScope.getStore();
  const log = scope?.request.log ?? processApp?.log;
  if (!log) return; // no app built yet, so no log to write to
  const { level, message } = SECURITY_EVENTS[event];
  const line: Record<string, unknown> = { event, ...(scope ? { client_ip: scope.request.ip } : {}), ...fields };
  log[level](line, message);
}

/** Who a signed-in principal is, for the fields of an event. */
export function partyOf(p: { provider: string; providerId: string; userUuid: string }): Party {
  return { provider: p.provider, provider_id: p.providerId, user_uuid: p.userUuid };
}

/** An access token was refused: logged as auth.token.invalid, sampled per client address. */
export function tokenRejected(reason: TokenFailure, fields: Partial<Party> & { session_id?: string } = {}): void {
  const scope = requestScope.getStore();
  if (scope) {
    const { write, summary } = scope.app.tokenFailures.admit(scope.request.ip, Date.now());
    if (summary) securityEvent('auth.token.invalid.suppressed', summary);
    if (!write) return;
  }
  securityEvent('auth.token.invalid', { reason, ...fields });
}

/** jose's error codes, in the words of auth.token.invalid; anything else is a malformed token. */
export function verificationFailure(err: unknown): TokenFailure {
  switch ((err as { code?: unknown } | null)?.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad_signature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'bad_claims';
    default:
      return 'malformed';
  }
}

const reportedSignInFailures = new WeakSet<object>();

/**
 * A sign-in failed with `err`: logged as auth.signin.failure, once per error (the route hook below
 * does not repeat what a use case already said with more detail). The error's description becomes
 * `detail` unless `withDetail` is false. Returns `err`, to rethrow.
 */
export function signInFailed<T>(err: T, fields: Partial<Party> = {}, withDetail = true): T {
  if (typeof err !== 'object' || err === null || reportedSignInFailures.has(err)) return err;
  reportedSignInFailures.add(err);
  const api = toApiError(err as unknown as FastifyError);
  // An unknown error's message may name internals: it goes to the error line, not here.
  const detail = api && withDetail ? { detail: api.description } : {};
  securityEvent('auth.signin.failure', { ...fields, reason: api?.code ?? 'server_error', ...detail });
  return err;
}

/**
 * A step-up (re-authentication of someone already signed in) failed with `err`: logged once as
 * auth.step_up.failure, which the route hook below then does not repeat. Returns `err`, to rethrow.
 */
export function stepUpFailed<T>(err: T, fields: SecurityEventFields['auth.step_up.failure']): T {
  if (typeof err === 'object' && err !== null && !reportedSignInFailures.has(err)) {
    reportedSignInFailures.add(err);
    securityEvent('auth.step_up.failure', fields);
  }
  return err;
}

/**
 * Route onError hook for endpoints that finish a sign-in (the token endpoint's code grant, a
 * provider's callback): every failure becomes auth.signin.failure with its error code as reason.
 * Errors of parsing and validation get no detail: their descriptions quote the body, which holds
 * codes and verifiers. Refresh grants are left to the session store, which knows why a refresh
 * token was refused; requests the rate limiter turned away attempted nothing.
 */
export async function signInFailureHook(request: FastifyRequest, _reply: FastifyReply, err: FastifyError): Promise<void> {
  const body = request.body as { grant_type?: unknown } | undefined;
  if (body?.grant_type === 'refresh_token' || toApiError(err)?.status === 429) return;
  const idp = (request.query as { idp?: unknown } | undefined)?.idp;
  const bodyParsed = request.method === 'GET' || body !== undefined;
  signInFailed(err, typeof idp === 'string' ? { provider: idp } : {}, bodyParsed && !err.validation);
}

/** What changed between two access lists: entries added, removed, and given another role. */
export function accessDiff(before: AccessEntry[], after: AccessEntry[]): Pick<SecurityEventFields['access.changed'], 'added' | 'removed' | 'role_changed'> | null {
  const key = (e: AccessEntry) => `${e.principal_type}\u0000${e.provider}\u0000${e.provider_id}`;
  const entry = ({ principal_type, provider, provider_id, role }: AccessEntry): AccessEntry => ({ principal_type, provider, provider_id, role });
  const old = new Map(before.map((e) => [key(e), e]));
  const now = new Map(after.map((e) => [key(e), e]));
  const added = after.filter((e) => !old.has(key(e))).map(entry);
  const removed = before.filter((e) => !now.has(key(e))).map(entry);
  const role_changed = after.flatMap((e) => {
    const was = old.get(key(e));
    return was && was.role !== e.role ? [{ ...entry(e), previous_role: was.role }] : [];
  });
  return added.length || removed.length || role_changed.length ? { added, removed, role_changed } : null;
}
