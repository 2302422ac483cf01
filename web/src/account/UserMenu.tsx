// The signed-in person's menu in the top bar: their account page (identities, client
// credentials). Other parts of the app add their own entries as children; sign-out stays a
// button of its own in the top bar.
import { useEffect, useRef, type ReactNode } from 'react';
import type { Me } from '../api/session.ts';
import { Link, useLocation } from '../router.tsx';

export function UserMenu({ me, children }: { me: Me; children?: ReactNode }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const { pathname } = useLocation();
  // Close on navigation, on a click elsewhere and on Escape.
  useEffect(() => {
    if (ref.current) ref.current.open = false;
  }, [pathname]);
  useEffect(() => {
    const close = (e: Event) => {
      const el = ref.current;
      if (!el?.open) return;
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !el.contains(e.target as Node)) el.open = false;
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, []);
  return (
    <details className="user-menu" ref={ref}>
      <summary aria-label="Account menu">
        <span className="who" data-testid="who">
          {me.display_name} <small>({me.email})</small>
        </span>
      </summary>
      <nav className="menu" aria-label="Account">
        <Link to="/account">Your account</Link>
        <Link to="/account#identities">Sign-in identities</Link>
        <Link to="/account#client-credentials">Client credentials</Link>
        {children}
      </nav>
    </details>
  );
}
