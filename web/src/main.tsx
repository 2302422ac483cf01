// The app shell: who is signed in, the header, and the routes.
import { lazy, StrictMode, Suspense, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { currentUser, signOut, type Me } from './api/session.ts';
import { Link, match, navigate, useLocation } from './router.tsx';
import { ErrorNote, Spinner } from './ui.tsx';
import { SignInPage, CallbackPage } from './pages/SignIn.tsx';
import { ThreatModelList } from './pages/ThreatModelList.tsx';
import { MeContext } from './me.ts';
import { UserMenu } from './account/UserMenu.tsx';
import { FlashNote } from './account/StepUp.tsx';
import './styles.css';

// Pages beyond the list load on demand; the diagram editor (X6) is its own chunk.
const ThreatModelPage = lazy(() => import('./pages/ThreatModelPage.tsx'));
const DiagramPage = lazy(() => import('./dfd/DiagramPage.tsx'));
const AccountPage = lazy(() => import('./account/AccountPage.tsx'));


function App() {
  const { pathname, search } = useLocation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (pathname === '/login/callback') return;
    if (me === undefined) void currentUser().then(setMe);
  }, [pathname, me]);

  if (pathname === '/login/callback') {
    return <CallbackPage search={search} onSignedIn={(to) => {
      setMe(undefined);
      navigate(to, true);
    }} />;
  }
  if (me === undefined) return <Spinner label="Checking your session…" />;
  if (me === null || pathname === '/login') {
    const returnTo = pathname === '/login' ? new URLSearchParams(search).get('next') ?? '/' : pathname + search;
    return <SignInPage returnTo={returnTo} signedInAs={me} />;
  }

  let page;
  let params;
  if ((params = match('/tm/:id/dfd/:did', pathname))) page = <DiagramPage tmId={params.id!} diagramId={params.did!} />;
  else if ((params = match('/tm/:id', pathname))) page = <ThreatModelPage id={params.id!} />;
  else if (pathname === '/' || pathname === '/tm') page = <ThreatModelList />;
  else if (pathname === '/account') page = <AccountPage />;
  else page = <p>There is no page at {pathname}. <Link to="/">Go to your threat models</Link>.</p>;

  return (
    <MeContext.Provider value={me}>
      <header className="topbar">
        <Link to="/" className="brand">
          TMI
        </Link>
        <nav>
          <Link to="/">Threat models</Link>
        </nav>
        <span className="grow" />
        <UserMenu me={me} />
        <button
          onClick={async () => {
            try {
              await signOut();
              setMe(null);
              navigate('/login', true);
            } catch (err) {
              setError(err);
            }
          }}
        >
          Sign out
        </button>
      </header>
      <ErrorNote error={error} onClose={() => setError(undefined)} />
      <FlashNote key={pathname} />
      <main>
        {/* Keyed by path: a page left while another was loading must not come back with stale state. */}
        <Suspense key={pathname} fallback={<Spinner />}>
          {page}
        </Suspense>
      </main>
    </MeContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
