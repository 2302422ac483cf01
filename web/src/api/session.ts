// Sign-in with authorization code + PKCE (S256) against /oauth2/authorize (OAuth / OpenID and the
// development provider) or /saml/{id}/login (SAML), token exchange with the cookies set by the
// server (the app never keeps a token in script-readable storage), refresh before expiry,
// step-up (a fresh sign-in when the server asks for one), the start of identity linking,
// sign-out; the providers offered and the signed-in user (/me).
import type { IdentityLinkStartResponse, MeResponse, ProvidersResponse, SamlProvidersResponse, StepUpResponse, TokenResponse } from '../../../contract/auth.ts';
import { DEV_PROVIDER_ID } from '../../../contract/limits.ts';
import { api, ApiError, friendlyMessage, onUnauthorized, query, request } from './client.ts';


export type Me = MeResponse;
export type Provider = ProvidersResponse['providers'][number];

/** A way to sign in: an OAuth / OpenID provider, the development provider, or a SAML provider. */
export interface SignInOption {
  id: string;
  name: string;
  icon: string;
  kind: 'oauth' | 'saml' | 'dev';
}

const FLOW_KEY = 'tmi.signin';
/** When the access token expires (epoch ms): not a secret, it only schedules the refresh. */
const EXPIRY_KEY = 'tmi.expires_at';

export const CALLBACK_PATH = '/login/callback';
const callbackUrl = () => `${location.origin}${CALLBACK_PATH}`;

/** The OAuth / OpenID sign-in providers this server offers (the development one included in dev mode). */
export const providers = async (signal?: AbortSignal): Promise<Provider[]> => (await api.get<ProvidersResponse>('/oauth2/providers', signal)).providers;

/** The SAML providers this server offers; none when SAML is off. */
export async function samlProviders(signal?: AbortSignal): Promise<SamlProvidersResponse['providers']> {
  try {
    return (await api.get<SamlProvidersResponse>('/saml/providers', signal)).providers;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return [];
    throw err;
  }
}

/** Every way to sign in, OAuth / OpenID first, then SAML, in the server's order. */
export async function signInOptions(signal?: AbortSignal): Promise<SignInOption[]> {
  const [oauth, saml] = await Promise.all([providers(signal), samlProviders(signal)]);
  return [
    ...oauth.map((p) => ({ id: p.id, name: p.name, icon: p.icon, kind: p.id === DEV_PROVIDER_ID ? ('dev' as const) : ('oauth' as const) })),
    ...saml.map((p) => ({ id: p.id, name: p.name, icon: p.icon, kind: 'saml' as const })),
  ];
}

/**
 * What this tab remembers between leaving for a provider and coming back to the callback: the
 * state it sent, the PKCE verifier (sign-in and step-up), and why it left.
 */
interface PendingFlow {
  purpose: 'signin' | 'step_up' | 'link';
  state: string;
  verifier: string;
  idp: string;
  returnTo: string;
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function remember(flow: PendingFlow): void {
  sessionStorage.setItem(FLOW_KEY, JSON.stringify(flow));
}

/** Starts a sign-in: remembers state + verifier for this tab and leaves for the provider. */
export async function beginSignIn(option: Pick<SignInOption, 'id' | 'kind'>, loginHint: string | undefined, returnTo: string): Promise<void> {
  const flow: PendingFlow = { purpose: 'signin', state: randomString(24), verifier: randomString(48), idp: option.id, returnTo };
  remember(flow);
  const pkce = { state: flow.state, code_challenge: await s256(flow.verifier), code_challenge_method: 'S256' };
  if (option.kind === 'saml') {
    // SAML: the assertion consumer hands this callback a code, finished at /oauth2/token?idp=<id>.
    location.assign(`/saml/${encodeURIComponent(option.id)}/login?${new URLSearchParams({ client_callback: callbackUrl(), ...pkce })}`);
    return;
  }
  const params = new URLSearchParams({ idp: option.id, client_callback: callbackUrl(), scope: 'openid profile email', response_type: 'code', ...pkce });
  if (loginHint) params.set('login_hint', loginHint);
  location.assign(`/oauth2/authorize?${params}`);
}

/**
 * Step-up: a fresh sign-in with the provider of the signed-in account (GET /oauth2/step_up),
 * then back to `returnTo` with tokens that show it.
 */
export async function beginStepUp(provider: string, returnTo: string): Promise<void> {
  const flow: PendingFlow = { purpose: 'step_up', state: randomString(24), verifier: randomString(48), idp: provider, returnTo };
  const params = new URLSearchParams({ client_callback: callbackUrl(), state: flow.state, code_challenge: await s256(flow.verifier), code_challenge_method: 'S256' });
  const answer = await api.get<StepUpResponse>(`/oauth2/step_up?${params}`);
  if (!answer.redirect_url) throw new Error('The server did not say where to sign in again.');
  remember(flow);
  location.assign(answer.redirect_url);
}

/**
 * Linking another identity: the server starts the flow at that provider (POST
 * /me/identities/link/start); the callback then carries a pending link to confirm on `returnTo`.
 */
export async function beginLink(idp: string, returnTo: string): Promise<void> {
  const started = await api.post<IdentityLinkStartResponse>(`/me/identities/link/start${query({ idp, client_callback: callbackUrl() })}`);
  remember({ purpose: 'link', state: started.link_state, verifier: '', idp, returnTo });
  location.assign(started.authorization_url);
}

/** Sentences for the error codes a provider or TMI can put in the callback URL. */
export function callbackErrorMessage(code: string, description: string | null): string {
  const detail = description ? ` (${description})` : '';
  switch (code) {
    case 'access_denied':
      return 'The sign-in was cancelled or refused at the identity provider.';
    case 'account_conflict':
      return friendlyMessage(409, code, description ?? '');
    case 'identity_already_bound':
      return 'That identity already belongs to a TMI account, so it cannot be linked to this one. Sign in with it to use that account, or ask an administrator.';
    case 'code_exchange_failed':
      return 'The identity provider did not confirm the identity to link. Please try again.';
    case 'saml_error':
      return `The identity provider's answer could not be accepted${detail}. Please try again, or ask an administrator to check the SAML configuration.`;
    case 'login_required':
    case 'interaction_required':
    case 'consent_required':
      return `The identity provider needs you to sign in there first${detail}.`;
    default:
      return `The identity provider refused the sign-in: ${code}${detail}`;
  }
}

/** What the callback settled: where to go next. */
export interface CallbackResult {
  to: string;
  purpose: PendingFlow['purpose'];
}

/** A flow that failed, with what it was for, so the app can say so in the right place. */
export class FlowError extends Error {
  constructor(
    message: string,
    readonly purpose: PendingFlow['purpose'],
    readonly returnTo: string,
  ) {
    super(message);
  }
}

/** `path` with one more query parameter. */
function withParam(path: string, key: string, value: string): string {
  const to = new URL(path, location.origin);
  to.searchParams.set(key, value);
  return to.pathname + to.search;
}

/** Finishes a flow on the callback route; returns where the user wanted to go. */
export async function completeSignIn(search: string): Promise<CallbackResult> {
  const q = new URLSearchParams(search);
  const raw = sessionStorage.getItem(FLOW_KEY);
  sessionStorage.removeItem(FLOW_KEY);
  const flow = raw ? (JSON.parse(raw) as PendingFlow) : undefined;
  const purpose = flow?.purpose ?? 'signin';
  const returnTo = flow?.returnTo || '/';
  const fail = (message: string) => new FlowError(message, purpose, returnTo);
  const error = q.get('error');
  if (error) throw fail(callbackErrorMessage(error, q.get('error_description')));
  if (!flow) throw fail('This sign-in was not started in this browser tab. Please start again.');
  if (q.get('state') !== flow.state) throw fail('The sign-in response does not match the request. Please start again.');
  if (flow.purpose === 'link') {
    const pending = q.get('link_pending');
    if (!pending) throw fail('The identity provider did not return an identity to link. Please try again.');
    return { to: withParam(returnTo, 'link_pending', pending), purpose: 'link' };
  }
  const code = q.get('code');
  if (!code) throw fail('The sign-in response does not match the request. Please start again.');
  let tokens: TokenResponse;
  try {
    tokens = await request<TokenResponse>('POST', `/oauth2/token${query({ idp: flow.idp })}`, {
      body: { grant_type: 'authorization_code', code, code_verifier: flow.verifier, redirect_uri: callbackUrl() },
      noRetry: true,
    });
  } catch (err) {
    throw fail(err instanceof Error ? err.message : String(err));
  }
  scheduleRefresh(tokens.expires_in);
  return { to: flow.purpose === 'step_up' ? withParam(returnTo, 'stepped_up', '1') : returnTo, purpose: flow.purpose };
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | undefined;

function scheduleRefresh(expiresIn: number) {
  const expiresAt = Date.now() + expiresIn * 1000;
  localStorage.setItem(EXPIRY_KEY, String(expiresAt));
  armTimer(expiresAt);
}

function armTimer(expiresAt: number) {
  clearTimeout(refreshTimer);
  // Refresh at 80% of the lifetime, at least 5 s from now.
  const lifetime = expiresAt - Date.now();
  refreshTimer = setTimeout(() => void refresh(), Math.max(5_000, lifetime * 0.8));
}

/** Rotates the session with the refresh cookie; false when the session is gone. */
export function refresh(): Promise<boolean> {
  refreshing ??= request<TokenResponse>('POST', '/oauth2/refresh', { body: {}, noRetry: true })
    .then((t) => {
      scheduleRefresh(t.expires_in);
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

onUnauthorized(refresh);

/** The signed-in user, or null; resumes the refresh schedule of an earlier page load. */
export async function currentUser(): Promise<Me | null> {
  try {
    const me = await api.get<Me>('/me');
    const at = Number(localStorage.getItem(EXPIRY_KEY));
    if (at > Date.now()) armTimer(at);
    else void refresh();
    return me;
  } catch {
    return null;
  }
}

export async function signOut(): Promise<void> {
  clearTimeout(refreshTimer);
  localStorage.removeItem(EXPIRY_KEY);
  try {
    await request('POST', '/me/logout', { noRetry: true });
  } catch {
    /* already signed out: nothing to revoke */
  }
}
