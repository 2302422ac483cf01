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
import { AccountMenuEntries, AdminNavLink } from './admin/AccountMenu.tsx';
import { isAdminTab } from './admin/tabs.ts';
import './styles.css';

// Pages beyond the list load on demand; the diagram editor (X6) is its own chunk.
const ThreatModelPage = lazy(() => import('./pages/ThreatModelPage.tsx'));
const DiagramPage = lazy(() => import('./dfd/DiagramPage.tsx'));
const ThreatPage = lazy(() => import('./pages/ThreatPage.tsx'));
const ModelHistoryPage = lazy(() => import('./insight/History.tsx'));
const AccountPage = lazy(() => import('./account/AccountPage.tsx'));
const AdminPage = lazy(() => import('./admin/AdminPage.tsx'));
const PreferencesPage = lazy(() => import('./admin/AccountPages.tsx').then((m) => ({ default: m.PreferencesPage })));
const MyGroupsPage = lazy(() => import('./admin/AccountPages.tsx').then((m) => ({ default: m.MyGroupsPage })));
const DeleteAccountPage = lazy(() => import('./admin/AccountPages.tsx').then((m) => ({ default: m.DeleteAccountPage })));
// The review workflow: intake, triage, teams; the SurveyJS renderer is a chunk of its own below them.
const IntakePage = lazy(() => import('./review/IntakePages.tsx').then((m) => ({ default: m.IntakePage })));
const IntakeResponsePage = lazy(() => import('./review/IntakePages.tsx').then((m) => ({ default: m.IntakeResponsePage })));
const TriageQueuePage = lazy(() => import('./review/TriagePages.tsx').then((m) => ({ default: m.TriageQueuePage })));
const TriageResponsePage = lazy(() => import('./review/TriagePages.tsx').then((m) => ({ default: m.TriageResponsePage })));
const TeamsPage = lazy(() => import('./review/TeamPages.tsx').then((m) => ({ default: m.TeamsPage })));
const TeamPage = lazy(() => import('./review/TeamPages.tsx').then((m) => ({ default: m.TeamPage })));
const SurveyAdminPage = lazy(() => import('./review/SurveyAdminPage.tsx'));


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
  else if ((params = match('/tm/:id/threats/:tid', pathname))) page = <ThreatPage key={params.tid} tmId={params.id!} threatId={params.tid!} />;
  else if ((params = match('/tm/:id/history', pathname))) page = <ModelHistoryPage tmId={params.id!} />;
  else if ((params = match('/tm/:id', pathname))) page = <ThreatModelPage id={params.id!} />;
  else if (pathname === '/' || pathname === '/tm') page = <ThreatModelList />;
  else if (pathname === '/administration' || (params = match('/administration/:tab', pathname))) page = <AdminPage tab={isAdminTab(params?.tab) ? params.tab : 'users'} />;
  else if (pathname === '/account/preferences') page = <PreferencesPage />;
  else if (pathname === '/account/groups') page = <MyGroupsPage />;
  else if (pathname === '/account/delete') page = <DeleteAccountPage onDeleted={() => { setMe(null); navigate('/login', true); }} />;
  else if (pathname === '/account') page = <AccountPage />;
  else if (pathname === '/review/intake') page = <IntakePage />;
  else if ((params = match('/review/intake/:id', pathname))) page = <IntakeResponsePage id={params.id!} />;
  else if (pathname === '/review/triage') page = <TriageQueuePage />;
  else if ((params = match('/review/triage/:id', pathname))) page = <TriageResponsePage id={params.id!} />;
  else if (pathname === '/review/teams') page = <TeamsPage />;
  else if ((params = match('/review/teams/:id', pathname))) page = <TeamPage id={params.id!} />;
  else if (pathname === '/review/templates') page = <SurveyAdminPage />;
  else page = <p>There is no page at {pathname}. <Link to="/">Go to your threat models</Link>.</p>;

  return (
    <MeContext.Provider value={me}>
      <header className="topbar">
        <Link to="/" className="brand">
          TMI
        </Link>
        <nav>
          <Link to="/">Threat models</Link>
          <Link to="/review/intake">Requests</Link>
          {(me.is_admin || me.groups.some((g) => g.group_name === 'security-reviewers' || g.group_name === 'confidential-project-reviewers')) && <Link to="/review/triage">Triage</Link>}
          <Link to="/review/teams">Teams</Link>
          {me.is_admin && <Link to="/review/templates">Survey templates</Link>}
          <AdminNavLink me={me} />
        </nav>
        <span className="grow" />
        <UserMenu me={me}>
          <AccountMenuEntries />
        </UserMenu>
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
