// Sign-in with authorization code + PKCE (S256) against /oauth2/authorize, token exchange with
// the cookies set by the server (the app never keeps a token in script-readable storage), refresh
// before expiry, sign-out; the providers offered and the signed-in user (/me).
import type { MeResponse, ProvidersResponse, TokenResponse } from '../../../contract/auth.ts';
import { api, onUnauthorized, query, request } from './client.ts';

export type Me = MeResponse;
export type Provider = ProvidersResponse['providers'][number];

const FLOW_KEY = 'tmi.signin';
/** When the access token expires (epoch ms): not a secret, it only schedules the refresh. */
const EXPIRY_KEY = 'tmi.expires_at';

export const CALLBACK_PATH = '/login/callback';

/** The sign-in providers this server offers. */
export const providers = async (signal?: AbortSignal): Promise<Provider[]> => (await api.get<ProvidersResponse>('/oauth2/providers', signal)).providers;

interface PendingFlow {
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

/** Starts the flow: remembers state + verifier for this tab and leaves for the authorize endpoint. */
export async function beginSignIn(idp: string, loginHint: string | undefined, returnTo: string): Promise<void> {
  const flow: PendingFlow = { state: randomString(24), verifier: randomString(48), idp, returnTo };
  sessionStorage.setItem(FLOW_KEY, JSON.stringify(flow));
  const params = new URLSearchParams({
    idp,
    client_callback: `${location.origin}${CALLBACK_PATH}`,
    scope: 'openid profile email',
    response_type: 'code',
    state: flow.state,
    code_challenge: await s256(flow.verifier),
    code_challenge_method: 'S256',
  });
  if (loginHint) params.set('login_hint', loginHint);
  location.assign(`/oauth2/authorize?${params}`);
}

/** Finishes the flow on the callback route; returns where the user wanted to go. */
export async function completeSignIn(search: string): Promise<string> {
  const q = new URLSearchParams(search);
  const raw = sessionStorage.getItem(FLOW_KEY);
  sessionStorage.removeItem(FLOW_KEY);
  if (q.get('error')) throw new Error(`Sign-in was refused: ${q.get('error_description') ?? q.get('error')}`);
  if (!raw) throw new Error('This sign-in was not started in this browser tab. Please start again.');
  const flow = JSON.parse(raw) as PendingFlow;
  const code = q.get('code');
  if (!code || q.get('state') !== flow.state) throw new Error('The sign-in response does not match the request. Please start again.');
  const tokens = await request<TokenResponse>('POST', `/oauth2/token${query({ idp: flow.idp })}`, {
    body: { grant_type: 'authorization_code', code, code_verifier: flow.verifier, redirect_uri: `${location.origin}${CALLBACK_PATH}` },
    noRetry: true,
  });
  scheduleRefresh(tokens.expires_in);
  return flow.returnTo || '/';
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
