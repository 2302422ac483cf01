// The line under the toolbar: how the diagram is being edited (live, alone over REST, paused,
// ended, signed out), whether the user may change it, and the session's errors and notices.
import { SIGNED_OUT } from '../collab.ts';
import type { Mode } from '../useCollabSession.ts';
import { ErrorNote } from '../../ui.tsx';

/**
 * The sign-in page, coming back to `returnTo` afterwards. A full page load, not an in-app
 * navigation: the app then learns afresh that nobody is signed in.
 */
export const signInAgainHref = (returnTo: string) => `/login?next=${encodeURIComponent(returnTo)}`;

export function statusText(mode: Mode, writable: boolean): string {
  if (mode.kind === 'rest') return mode.saving ? 'Saving…' : writable ? 'Editing alone: changes are saved automatically.' : 'Nobody is editing live; showing the saved diagram.';
  switch (mode.status) {
    case 'connecting':
      return 'Connecting to the live session…';
    case 'live':
      return 'Live: everyone in this session sees changes as they happen.';
    case 'reconnecting':
      return `Connection lost: editing is paused until it is back. ${mode.detail ?? ''}`;
    case 'ended':
      return `The live session ended. ${mode.detail ?? ''}`;
    case 'signed-out':
      return mode.detail ?? SIGNED_OUT;
    default:
      return mode.detail ?? '';
  }
}

export function SessionStatus({ mode, writable, returnTo, error, onDismissError, notice, onDismissNotice }: {
  mode: Mode;
  writable: boolean;
  /** Where the user comes back to after signing in again (this page). */
  returnTo: string;
  error: unknown;
  onDismissError: () => void;
  notice: string | undefined;
  onDismissNotice: () => void;
}) {
  return (
    <>
      <div className={`editor-status ${mode.kind === 'collab' ? mode.status : 'rest'}`} role="status" data-testid="collab-status">
        {statusText(mode, writable)}
        {mode.kind === 'collab' && mode.status === 'signed-out' ? (
          <>
            {' '}
            <a href={signInAgainHref(returnTo)} data-testid="sign-in-again">
              Sign in again
            </a>
          </>
        ) : (
          !writable && <strong> Read-only: you can view this diagram but not change it.</strong>
        )}
      </div>
      <ErrorNote error={error} onClose={onDismissError} />
      {notice && (
        <div className="notice" role="status">
          {notice}{' '}
          <button className="link" onClick={onDismissNotice}>
            ×
          </button>
        </div>
      )}
    </>
  );
}
