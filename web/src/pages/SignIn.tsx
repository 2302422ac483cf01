// Sign-in: the providers the server offers; the development provider asks for a user name.
import { useEffect, useState } from 'react';
import { DEV_LOGIN_HINT, DEV_PROVIDER_ID } from '../../../contract/limits.ts';
import { beginSignIn, completeSignIn, providers, type Me } from '../api/session.ts';
import { TextInput, patternHint } from '../forms.tsx';
import { ErrorNote, Spinner, useLoad } from '../ui.tsx';

export function SignInPage({ returnTo, signedInAs }: { returnTo: string; signedInAs: Me | null }) {
  const { data, error, loading } = useLoad(providers, []);
  const [userName, setUserName] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();

  const start = async (idp: string, hint?: string) => {
    setBusy(true);
    try {
      await beginSignIn(idp, hint, returnTo === '/login' ? '/' : returnTo);
    } catch (err) {
      setFailure(err);
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <h1>TMI — Threat Modeling Improved</h1>
      {signedInAs && <p>You are signed in as {signedInAs.display_name}. Sign in again to switch user.</p>}
      <p>Sign in to see and edit your threat models.</p>
      {loading && <Spinner label="Loading sign-in options…" />}
      <ErrorNote error={error ?? failure} />
      {data?.length === 0 && <p>No sign-in provider is configured on this server.</p>}
      {data?.map((p) =>
        p.id === DEV_PROVIDER_ID ? (
          <form
            key={p.id}
            className="card"
            onSubmit={(e) => {
              e.preventDefault();
              void start(p.id, userName.trim());
            }}
          >
            <h2>{p.name}</h2>
            <label>
              User name
              <TextInput name="login_hint" value={userName} onChange={setUserName} placeholder="alice" rule={DEV_LOGIN_HINT} title={patternHint(DEV_LOGIN_HINT)} required autoFocus />
            </label>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </form>
        ) : (
          <div key={p.id} className="card">
            <button className="primary" disabled={busy} onClick={() => void start(p.id)}>
              Sign in with {p.name}
            </button>
          </div>
        ),
      )}
    </div>
  );
}

// One exchange per callback URL even if the effect runs twice (React StrictMode in development).
const exchanges = new Map<string, Promise<string>>();

export function CallbackPage({ search, onSignedIn }: { search: string; onSignedIn: (to: string) => void }) {
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let done = false;
    if (!exchanges.has(search)) exchanges.set(search, completeSignIn(search));
    exchanges
      .get(search)!
      .then((to) => !done && onSignedIn(to))
      .catch((err: unknown) => !done && setError(err));
    return () => {
      done = true;
    };
    // The code is single-use: run once per callback URL.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);
  if (error)
    return (
      <div className="signin">
        <ErrorNote error={error} />
        <a href="/login">Back to sign-in</a>
      </div>
    );
  return <Spinner label="Signing you in…" />;
}
