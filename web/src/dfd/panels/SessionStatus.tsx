// The line under the toolbar: how the diagram is being edited (live, alone over REST, paused,
// ended), whether the user may change it, and the session's errors and notices.
import type { Mode } from '../useCollabSession.ts';
import { ErrorNote } from '../../ui.tsx';

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
    default:
      return mode.detail ?? '';
  }
}

export function SessionStatus({ mode, writable, error, onDismissError, notice, onDismissNotice }: {
  mode: Mode;
  writable: boolean;
  error: unknown;
  onDismissError: () => void;
  notice: string | undefined;
  onDismissNotice: () => void;
}) {
  return (
    <>
      <div className={`editor-status ${mode.kind === 'collab' ? mode.status : 'rest'}`} role="status" data-testid="collab-status">
        {statusText(mode, writable)}
        {!writable && <strong> Read-only: you can view this diagram but not change it.</strong>}
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
