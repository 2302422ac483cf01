// The data-flow diagram editor: the X6 canvas (useCanvas), kept in step with the live session or
// the saved diagram (useCellSync, useCollabSession), with the toolbar, the session's status, the
// people in the session, what the presenter points at, and the selected cell's properties and threats.
import { useRef, useState } from 'react';
import type { User } from '../../../contract/common.ts';
import type { DfdDiagram } from '../../../contract/diagrams.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import type { Me } from '../api/session.ts';
import type { ApiCell } from './cells.ts';
import { sameUser } from './collab.ts';
import { EditorToolbar } from './panels/EditorToolbar.tsx';
import { ParticipantsPanel } from './panels/ParticipantsPanel.tsx';
import { PresenterOverlay } from './panels/PresenterOverlay.tsx';
import { PropertiesPanel } from './panels/PropertiesPanel.tsx';
import { SessionStatus } from './panels/SessionStatus.tsx';
import { SuggestionBadges, SuggestionsPanel } from './panels/SuggestionsPanel.tsx';
import { useSuggestions, useViewportTick } from './useSuggestions.ts';
import { useCanvas } from './useCanvas.ts';
import { useCellSync } from './useCellSync.ts';
import { useCollabSession, usePresenting, type Mode } from './useCollabSession.ts';

interface Props {
  tm: ThreatModel;
  diagram: DfdDiagram;
  writable: boolean;
  me: Me;
}

/** Whether a writer may change the diagram in this state: live, or alone over REST; not while the connection is down. */
const editableIn = (mode: Mode) => mode.kind === 'rest' || mode.status === 'live';

export function Editor({ tm, diagram, writable, me }: Props) {
  const editableNow = useRef(false);
  const canvas = useCanvas(editableNow);
  const sync = useCellSync(canvas.graph, diagram.cells as ApiCell[], writable, (ops, cells) => session.publish(ops, cells));
  const session = useCollabSession({ tmId: tm.id, diagramId: diagram.id, writable, ready: !!canvas.graph, onState: sync.loadCells, onOperations: sync.applyRemote });
  const editable = writable && editableIn(session.mode);
  editableNow.current = editable;
  const [presenting, setPresenting] = useState(false);
  const meUser: User = { principal_type: 'user', provider: me.provider, provider_id: me.provider_id, display_name: me.display_name, email: me.email };
  const isPresenter = sameUser(session.presenter, meUser);
  usePresenting(canvas.graph, canvas.hostRef, session.collabRef, presenting && isPresenter);
  const { graph } = canvas;
  const suggestions = useSuggestions(tm.id, diagram.id, graph);
  useViewportTick(graph);
  const selectCell = (id: string) => {
    const cell = graph?.getCellById(id);
    if (!graph || !cell) return;
    graph.cleanSelection();
    graph.select(cell);
  };
  const selectedCellId = canvas.selected.length === 1 ? canvas.selected[0]!.id : undefined;

  return (
    <div className="editor" data-testid="dfd-editor" data-mode={session.mode.kind} data-status={session.mode.kind === 'collab' ? session.mode.status : 'rest'}>
      <EditorToolbar
        graph={graph}
        diagramName={diagram.name}
        writable={writable}
        editable={editable}
        hasSelection={canvas.selected.length > 0}
        clipboardReady={canvas.clipboardReady}
        zoom={canvas.zoom}
        onCopy={canvas.copy}
      />
      <SessionStatus
        mode={session.mode}
        writable={writable}
        returnTo={`${location.pathname}${location.search}`}
        error={session.error}
        onDismissError={() => session.setError(undefined)}
        notice={session.notice}
        onDismissNotice={() => session.setNotice(undefined)}
      />
      <div className="editor-body">
        <div className="canvas-wrap">
          <div ref={canvas.hostRef} className={`canvas${editable ? '' : ' readonly'}`} data-testid="canvas" />
          {graph && <SuggestionBadges graph={graph} counts={suggestions.counts} onClick={selectCell} />}
          {graph && !isPresenter && <PresenterOverlay graph={graph} cursor={session.cursor} name={session.presenter?.display_name ?? 'Presenter'} selection={session.presenterSelection} />}
        </div>
        <aside className="side">
          {session.mode.kind === 'collab' && (
            <ParticipantsPanel
              participants={session.participants}
              host={session.host}
              presenter={session.presenter}
              me={meUser}
              presenting={presenting}
              requests={session.requests}
              onTogglePresenting={() => setPresenting((p) => !p)}
              onRequest={session.requestPresenter}
              onApprove={session.allowPresenter}
              onDeny={session.denyPresenter}
              onTakeBack={() => session.takePresenter(meUser)}
            />
          )}
          <PropertiesPanel tm={tm} diagramId={diagram.id} cells={canvas.selected} editable={editable} writable={writable} threatsChanged={suggestions.threatsChanged} />
          <SuggestionsPanel
            items={suggestions.items}
            error={suggestions.error}
            selectedCellId={selectedCellId}
            writable={writable}
            onAccept={suggestions.accept}
            onDismiss={suggestions.dismiss}
            onRefresh={suggestions.reload}
            onSelectCell={selectCell}
          />
        </aside>
      </div>
      <p className="hint muted">
        Drag from a shape's ports to draw a flow · drop shapes into a trust boundary to embed them · Shift+drag pans · Ctrl+wheel zooms · Ctrl+Z / Ctrl+Shift+Z undo/redo · Del deletes
      </p>
    </div>
  );
}
