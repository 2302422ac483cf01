// Step-up in the web app: when the server answers that an operation needs a recent sign-in
// (401 insufficient_user_authentication), the person reads why and can sign in again with their
// provider; they come back to the same page and retry. Other errors show as usual.
import { useEffect, useState } from 'react';
import { clearFlash, peekFlash } from '../flash.ts';
import { needsStepUp } from '../api/client.ts';
import { beginStepUp } from '../api/session.ts';
import { useMe } from '../me.ts';
import { ErrorNote } from '../ui.tsx';

/** Where to come back to after the fresh sign-in: this page, without one-time query parameters. */
function here(): string {
  const u = new URL(location.href);
  u.searchParams.delete('link_pending');
  u.searchParams.delete('stepped_up');
  return u.pathname + u.search;
}

export function StepUpOrError({ error, onClose }: { error: unknown; onClose?: () => void }) {
  const me = useMe();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  if (!needsStepUp(error)) return <ErrorNote error={error} onClose={onClose} />;
  return (
    <div className="notice" role="alert" data-testid="step-up">
      <p>For your security, this needs a recent sign-in. Sign in again with your provider to confirm it is you; you will come back here and can retry.</p>
      <div className="row">
        <button
          className="primary"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await beginStepUp(me.provider, here());
            } catch (err) {
              setFailure(err);
              setBusy(false);
            }
          }}
        >
          {busy ? 'Redirecting…' : 'Sign in again'}
        </button>
        {onClose && (
          <button className="link" onClick={onClose}>
            Not now
          </button>
        )}
      </div>
      <ErrorNote error={failure} />
    </div>
  );
}

/**
 * What a flow that ended on the callback route left to say (a failed step-up or link), shown once
 * on the page the person came back to.
 */
export function FlashNote() {
  const [text, setText] = useState(peekFlash);
  useEffect(() => clearFlash(), []);
  return <ErrorNote error={text} onClose={() => setText(undefined)} />;
}
