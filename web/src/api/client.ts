// The HTTP client under the resource modules of this folder: same-origin fetch with the HttpOnly
// session cookies, one retry after a silent refresh on 401, and errors turned into sentences a user
// understands. Pages call the resource modules, never a URL.
import type { ErrorBody, JsonPatchDocument } from '../../../contract/common.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
  ) {
    super(friendlyMessage(status, code, description));
  }
}

/** What a person should read for an API failure: the cause in plain words, then the server's detail. */
export function friendlyMessage(status: number, code: string, description: string): string {
  const detail = description ? ` (${description})` : '';
  if (code === 'account_conflict') {
    return 'This e-mail address already belongs to an account that signs in another way. Sign in with that provider instead.';
  }
  if (code === STEP_UP_REQUIRED) return 'For your security, this needs a recent sign-in. Confirm it is you by signing in again, then retry.';
  if (code === 'provider_unreachable') return 'The identity provider could not be reached to finish the sign-in. Try again in a moment.';
  if (code === 'provider_response_invalid') return 'The identity provider answered with an identity TMI cannot use. Ask an administrator to check the provider settings.';
  if (code === 'identity_mismatch') return 'You signed in as another person than the one signed in here. Sign in again as yourself.';
  if (code === 'invalid_grant' && status === 400) return 'This sign-in has expired or was already used. Please start again.';
  if (code === 'identity_already_bound') return 'That identity already belongs to a TMI account, so it cannot be linked to this one.';
  if (status === 0) return 'The server cannot be reached. Check your connection and try again.';
  if (status === 400) return `The server did not accept this: ${description || code}`;
  if (status === 401) return 'Your session has ended. Please sign in again.';
  if (status === 403) return `You do not have permission to do this${detail}.`;
  if (status === 404) return `This item does not exist any more; it may have been deleted${detail}.`;
  if (status === 409) return `Someone else changed this at the same time, or it is locked by a live session. Reload and try again${detail}.`;
  if (status === 413) return 'This is too large for the server.';
  if (status === 415) return 'The server did not understand the request format.';
  if (status === 429) return 'Too many requests in a short time. Wait a moment and try again.';
  if (status === 501) return 'The server does not support this yet.';
  if (status >= 500) return `The server had a problem and could not finish. Try again in a moment${detail}.`;
  return `Request failed (${status})${detail}`;
}

/** The server's answer when an operation needs a recent interactive sign-in (step-up). */
export const STEP_UP_REQUIRED = 'insufficient_user_authentication';

/** Whether an error asks for a fresh sign-in (step-up) rather than saying the session ended. */
export const needsStepUp = (err: unknown): boolean => err instanceof ApiError && err.code === STEP_UP_REQUIRED;

async function errorCodeOf(res: Response): Promise<string | undefined> {
  try {
    return ((await res.clone().json()) as Partial<ErrorBody>).error;
  } catch {
    return undefined;
  }
}

type RefreshHook = () => Promise<boolean>;
let refreshHook: RefreshHook | undefined;
/** The session module installs its refresh here, so any call can recover from an expired token. */
export function onUnauthorized(hook: RefreshHook): void {
  refreshHook = hook;
}

export interface RequestOptions {
  body?: unknown;
  /** A body sent as it is (a file), instead of `body` as JSON. */
  raw?: string;
  /** Content type for the body; JSON by default. */
  contentType?: string;
  ifMatch?: string;
  /** Do not try a refresh on 401 (used by the refresh itself). */
  noRetry?: boolean;
  signal?: AbortSignal;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', '');
  }
  // A step-up answer is a 401 too, but a refresh cannot cure it: only a fresh sign-in can.
  if (res.status === 401 && !opts.noRetry && refreshHook && (await errorCodeOf(res)) !== STEP_UP_REQUIRED && (await refreshHook())) {
    return request<T>(method, path, { ...opts, noRetry: true });
  }
  if (!res.ok) {
    let body: Partial<ErrorBody> = {};
    try {
      body = (await res.json()) as Partial<ErrorBody>;
    } catch {
      /* not JSON: keep the status only */
    }
    throw new ApiError(res.status, body.error ?? 'error', body.error_description ?? '');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A file the server answers (a report, an export): its bytes and the name it suggests. */
export async function fetchFile(path: string, noRetry = false): Promise<{ blob: Blob; fileName: string }> {
  let res: Response;
  try {
    res = await fetch(path, { credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', '');
  }
  if (res.status === 401 && !noRetry && refreshHook && (await refreshHook())) return fetchFile(path, true);
  if (!res.ok) {
    let body: Partial<ErrorBody> = {};
    try {
      body = (await res.json()) as Partial<ErrorBody>;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, body.error ?? 'error', body.error_description ?? '');
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'download';
  return { blob: await res.blob(), fileName: name };
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, { signal }),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} }),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }),
  patch: <T>(path: string, ops: JsonPatchDocument) => request<T>('PATCH', path, { body: ops, contentType: 'application/json-patch+json' }),
  del: (path: string) => request<void>('DELETE', path),
};

type QueryValue = string | number | boolean | undefined;

/** Builds a query string from the defined, non-empty values only; a list repeats its parameter. */
export function query(params: Record<string, QueryValue | QueryValue[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined && one !== '') q.append(k, String(one));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A URL path from a template whose interpolations are ids: each is encoded, so none can change the path. */
export function url(parts: TemplateStringsArray, ...ids: string[]): string {
  return parts.reduce((out, part, i) => out + part + (i < ids.length ? encodeURIComponent(ids[i]!) : ''), '');
}
