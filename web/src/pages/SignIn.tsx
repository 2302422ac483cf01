// Sign-in: every provider the server offers (OAuth / OpenID from /oauth2/providers, SAML from
// /saml/providers) with its name and icon; the development provider, offered only in dev mode,
// asks for a user name. The callback route finishes any flow (sign-in, step-up, identity link)
// and says clearly why one failed.
import { useEffect, useState } from 'react';
import { DEV_LOGIN_HINT } from '../../../contract/limits.ts';
import { beginSignIn, completeSignIn, FlowError, signInOptions, type CallbackResult, type Me, type SignInOption } from '../api/session.ts';
import { ProviderIcon } from '../account/ProviderIcon.tsx';
import { setFlash } from '../flash.ts';
import { TextInput, patternHint } from '../forms.tsx';
import { ErrorNote, Spinner, useLoad } from '../ui.tsx';

export function SignInPage({ returnTo, signedInAs, initialError }: { returnTo: string; signedInAs: Me | null; initialError?: unknown }) {
  const { data, error, loading } = useLoad(signInOptions, []);
  const [userName, setUserName] = useState('');
  const [busy, setBusy] = useState<string>();
  const [failure, setFailure] = useState<unknown>(initialError);

  const start = async (option: SignInOption, hint?: string) => {
    setBusy(option.id);
    setFailure(undefined);
    try {
      await beginSignIn(option, hint, returnTo === '/login' ? '/' : returnTo);
    } catch (err) {
      setFailure(err);
      setBusy(undefined);
    }
  };

  const dev = data?.filter((p) => p.kind === 'dev') ?? [];
  const others = data?.filter((p) => p.kind !== 'dev') ?? [];

  return (
    <div className="signin">
      <h1>TMI — Threat Modeling Improved</h1>
      {signedInAs && <p>You are signed in as {signedInAs.display_name}. Sign in again to switch user.</p>}
      <p>Sign in to see and edit your threat models.</p>
      {loading && <Spinner label="Loading sign-in options…" />}
      <ErrorNote error={failure} onClose={() => setFailure(undefined)} />
      <ErrorNote error={error} />
      {data?.length === 0 && <p>No sign-in provider is configured on this server. Ask your administrator.</p>}
      {others.length > 0 && (
        <div className="card provider-list" aria-label="Sign-in providers">
          {others.map((p) => (
            <button key={`${p.kind}:${p.id}`} className="provider-button" disabled={busy !== undefined} onClick={() => void start(p)} data-provider={p.id}>
              <ProviderIcon icon={p.icon} name={p.name} />
              <span>{busy === p.id ? 'Redirecting…' : `Sign in with ${p.name}`}</span>
            </button>
          ))}
        </div>
      )}
      {dev.map((p) => (
        <form
          key={p.id}
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void start(p, userName.trim());
          }}
        >
          <h2 className="row">
            <ProviderIcon icon={p.icon} name={p.name} /> {p.name}
          </h2>
          <p className="muted small">Development mode only: signs in as any user name, without a password.</p>
          <label>
            User name
            <TextInput name="login_hint" value={userName} onChange={setUserName} placeholder="alice" rule={DEV_LOGIN_HINT} title={patternHint(DEV_LOGIN_HINT)} required autoFocus={others.length === 0} />
          </label>
          <button type="submit" className="primary" disabled={busy !== undefined}>
            {busy === p.id ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      ))}
    </div>
  );
}

// One exchange per callback URL even if the effect runs twice (React StrictMode in development).
const exchanges = new Map<string, Promise<CallbackResult>>();

/**
 * The callback of every flow. A failed sign-in shows the sign-in page with the reason; a failed
 * step-up or link returns to the page it started from, which shows the reason.
 */
export function CallbackPage({ search, onSignedIn }: { search: string; onSignedIn: (to: string) => void }) {
  const [error, setError] = useState<FlowError>();
  useEffect(() => {
    let done = false;
    if (!exchanges.has(search)) exchanges.set(search, completeSignIn(search));
    exchanges
      .get(search)!
      .then((r) => !done && onSignedIn(r.to))
      .catch((err: unknown) => {
        if (done) return;
        const failure = err instanceof FlowError ? err : new FlowError(err instanceof Error ? err.message : String(err), 'signin', '/');
        if (failure.purpose === 'signin') setError(failure);
        else {
          setFlash(failure.purpose === 'link' ? `The identity was not linked: ${failure.message}` : `Signing in again did not succeed: ${failure.message}`);
          onSignedIn(failure.returnTo);
        }
      });
    return () => {
      done = true;
    };
    // The code is single-use: run once per callback URL.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);
  if (error) return <SignInPage returnTo={error.returnTo} signedInAs={null} initialError={error} />;
  return <Spinner label="Signing you in…" />;
}
