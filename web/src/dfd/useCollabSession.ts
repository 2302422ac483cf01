// The diagram's live session as React state: the connection (or, when nobody can edit live, saving
// over REST), who is in the session and who presents, the presenter's cursor and selection, and
// the editor's own cursor and selection while it presents.
import { useEffect, useRef, useState, type RefObject } from 'react';
import type { Graph } from '@antv/x6';
import type { User } from '../../../contract/common.ts';
import { diagrams } from '../api/diagrams.ts';
import type { ApiCell, CellOp } from './cells.ts';
import { CollabClient, sameUser, type CollabStatus, type Participant } from './collab.ts';
import type { Publish } from './useCellSync.ts';

export type Mode = { kind: 'collab'; status: CollabStatus; detail?: string } | { kind: 'rest'; saving: boolean };

/** How long the presenter's cursor stays visible after it last moved. */
const CURSOR_SHOWN_MS = 2000;
/** At most one cursor position is sent in this time. */
const CURSOR_INTERVAL_MS = 50;

export function useCollabSession({ tmId, diagramId, writable, ready, onState, onOperations }: {
  tmId: string;
  diagramId: string;
  writable: boolean;
  /** The canvas exists: the session may deliver cells. */
  ready: boolean;
  onState: (cells: ApiCell[]) => void;
  onOperations: (ops: CellOp[]) => void;
}) {
  const collabRef = useRef<CollabClient>(undefined);
  const saving = useRef<Promise<unknown>>(Promise.resolve());
  const receivers = useRef({ onState, onOperations });
  receivers.current = { onState, onOperations };

  const [mode, setMode] = useState<Mode>({ kind: 'collab', status: 'connecting' });
  const [participants, setParticipants] = useState<Participant[]>([]);
  const [host, setHost] = useState<User>();
  const [presenter, setPresenter] = useState<User | null>(null);
  const [cursor, setCursor] = useState<{ x: number; y: number }>();
  const [presenterSelection, setPresenterSelection] = useState<string[]>([]);
  const [requests, setRequests] = useState<User[]>([]);
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (!ready) return;
    saving.current = Promise.resolve();
    const collab = new CollabClient(tmId, diagramId, writable, {
      onStatus: (status, detail) => {
        if (status === 'unavailable') {
          // No live session to join (or no collaboration on this server): edit over REST.
          collabRef.current = undefined;
          setMode({ kind: 'rest', saving: false });
          return;
        }
        setMode({ kind: 'collab', status, detail });
      },
      onState: (cells) => receivers.current.onState(cells),
      onOperation: (ops) => receivers.current.onOperations(ops),
      onParticipants: (p, h, pr) => {
        setParticipants(p);
        setHost(h);
        setPresenter(pr);
      },
      onCursor: setCursor,
      onSelection: setPresenterSelection,
      onPresenterRequest: (user) => setRequests((r) => [...r.filter((x) => !sameUser(x, user)), user]),
      onNotice: setNotice,
      onRejected: setNotice,
    });
    collabRef.current = collab;
    void collab.start();
    return () => collab.stop();
    // A session belongs to one diagram; `writable` is fixed for the editor's life.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, tmId, diagramId]);

  useEffect(() => {
    if (!cursor) return;
    const t = setTimeout(() => setCursor(undefined), CURSOR_SHOWN_MS);
    return () => clearTimeout(t);
  }, [cursor]);

  const saveOverRest = (cells: ApiCell[]) => {
    setMode({ kind: 'rest', saving: true });
    saving.current = saving.current
      .then(() => diagrams.replaceCells(tmId, diagramId, cells))
      .then(() => setMode({ kind: 'rest', saving: false }))
      .catch((err: unknown) => {
        setError(err);
        setMode({ kind: 'rest', saving: false });
      });
  };

  /** Local edits go to the live session, or are saved over REST when there is none; held while the connection is down. */
  const publish: Publish = (ops, cells) => {
    const collab = collabRef.current;
    if (collab?.live) {
      collab.sendOperations(ops);
      return true;
    }
    if (!collab || mode.kind === 'rest') {
      saveOverRest(cells);
      return true;
    }
    return false;
  };

  const answer = (user: User, allow: boolean) => {
    if (allow) collabRef.current?.changePresenter(user);
    else collabRef.current?.denyPresenter(user);
    setRequests((r) => r.filter((x) => !sameUser(x, user)));
  };

  return {
    collabRef,
    mode,
    publish,
    participants,
    host,
    presenter,
    cursor,
    presenterSelection,
    requests,
    notice,
    setNotice,
    error,
    setError,
    requestPresenter: () => {
      collabRef.current?.requestPresenter();
      setNotice('Asked the host to let you present.');
    },
    allowPresenter: (user: User) => answer(user, true),
    denyPresenter: (user: User) => answer(user, false),
    takePresenter: (me: User) => collabRef.current?.changePresenter(me),
  };
}

/** While `active`, shows this user's cursor (over `hostRef`) and selection to the session. */
export function usePresenting(graph: Graph | undefined, hostRef: RefObject<HTMLElement | null>, collabRef: RefObject<CollabClient | undefined>, active: boolean) {
  useEffect(() => {
    const collab = collabRef.current;
    const host = hostRef.current;
    if (!graph || !collab || !host || !active) return;
    let last = 0;
    const onMove = (e: MouseEvent) => {
      if (Date.now() - last < CURSOR_INTERVAL_MS) return;
      last = Date.now();
      collab.cursor(graph.clientToLocal(e.clientX, e.clientY));
    };
    const onSelection = () => collab.selection(graph.getSelectedCells().map((c) => c.id));
    host.addEventListener('mousemove', onMove);
    graph.on('selection:changed', onSelection);
    onSelection();
    return () => {
      host.removeEventListener('mousemove', onMove);
      graph.off('selection:changed', onSelection);
      collab.selection([]);
    };
  }, [graph, hostRef, collabRef, active]);
}
