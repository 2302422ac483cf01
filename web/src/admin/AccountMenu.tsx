// The entries this feature adds to the header: Administration (administrators only) and, inside the
// user menu (account/UserMenu.tsx), the person's own pages.
import { useEffect } from 'react';
import { account, applyTheme, PREFERENCES_CLIENT, type Theme } from '../api/admin.ts';
import { Link } from '../router.tsx';
import type { Me } from '../api/session.ts';

export function AdminNavLink({ me }: { me: Me }) {
  return me.is_admin ? <Link to="/administration/users">Administration</Link> : null;
}

export function AccountMenuEntries() {
  // The stored theme applies as soon as someone is signed in.
  useEffect(() => {
    const ctl = new AbortController();
    account
      .preferences(ctl.signal)
      .then((p) => applyTheme(((p[PREFERENCES_CLIENT]?.theme as Theme | undefined) ?? 'auto')))
      .catch(() => undefined);
    return () => ctl.abort();
  }, []);
  return (
    <>
      <Link to="/account/preferences">Preferences</Link>
      <Link to="/account/groups">My groups</Link>
      <Link to="/account/delete">Delete my account</Link>
    </>
  );
}
