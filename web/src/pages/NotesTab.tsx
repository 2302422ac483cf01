// Notes: markdown editing with a live, safe preview (rendered to React elements, never as HTML).
import { useState } from 'react';
import { api } from '../api/client.ts';
import { Markdown } from '../markdown.tsx';
import { Confirm, ErrorNote, Spinner, formatDate, useLoad } from '../ui.tsx';

interface Note {
  id: string;
  name: string;
  content?: string;
  description?: string | null;
  modified_at?: string;
}

export function NotesTab({ tmId, writable }: { tmId: string; writable: boolean }) {
  const base = `/threat_models/${tmId}/notes`;
  const { data, error, loading, reload } = useLoad((signal) => api.get<Note[] | { notes: Note[] }>(`${base}?limit=100`, signal), [base]);
  const notes = Array.isArray(data) ? data : (data?.notes ?? []);
  const [open, setOpen] = useState<string | 'new'>();
  const [deleting, setDeleting] = useState<Note>();
  return (
    <div className="notes">
      <aside>
        <ErrorNote error={error} />
        {loading && !data && <Spinner />}
        {data && notes.length === 0 && <p className="empty">No notes yet.</p>}
        <ul className="note-list">
          {notes.map((n) => (
            <li key={n.id} className={open === n.id ? 'active' : ''}>
              <button className="link" onClick={() => setOpen(n.id)}>
                {n.name}
              </button>
              <small className="muted">{formatDate(n.modified_at)}</small>
              {writable && (
                <button className="link danger" onClick={() => setDeleting(n)} aria-label={`Delete note ${n.name}`}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
        {writable && (
          <button className="primary" onClick={() => setOpen('new')}>
            New note
          </button>
        )}
      </aside>
      {open && <NoteEditor key={open} base={base} id={open} writable={writable} onSaved={(id) => (reload(), setOpen(id))} />}
      {deleting && (
        <Confirm
          title="Delete note"
          message={`Delete the note "${deleting.name}"?`}
          onConfirm={async () => {
            await api.del(`${base}/${deleting.id}`);
            if (open === deleting.id) setOpen(undefined);
            reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </div>
  );
}

function NoteEditor({ base, id, writable, onSaved }: { base: string; id: string; writable: boolean; onSaved: (id: string) => void }) {
  const { data, error, loading } = useLoad(
    (signal) => (id === 'new' ? Promise.resolve({ id: 'new', name: '', content: '' } as Note) : api.get<Note>(`${base}/${id}`, signal)),
    [base, id],
  );
  if (loading && !data) return <Spinner />;
  if (!data) return <ErrorNote error={error} />;
  return <NoteForm base={base} note={data} writable={writable} onSaved={onSaved} />;
}

function NoteForm({ base, note, writable, onSaved }: { base: string; note: Note; writable: boolean; onSaved: (id: string) => void }) {
  const [name, setName] = useState(note.name);
  const [content, setContent] = useState(note.content ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  return (
    <form
      className="note-editor"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        try {
          const body = { name: name.trim(), content, ...(note.description ? { description: note.description } : {}) };
          const out = note.id === 'new' ? await api.post<Note>(base, body) : await api.put<Note>(`${base}/${note.id}`, body);
          setSaved(true);
          setTimeout(() => setSaved(false), 2000);
          onSaved(out.id);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <label>
        Title
        <input name="note_name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={256} disabled={!writable} />
      </label>
      <div className="split">
        <label>
          Markdown
          <textarea name="note_content" value={content} onChange={(e) => setContent(e.target.value)} rows={16} maxLength={262144} required readOnly={!writable} />
        </label>
        <div>
          <div className="label">Preview</div>
          <div className="preview" data-testid="note-preview">
            <Markdown source={content} />
          </div>
        </div>
      </div>
      <ErrorNote error={error} />
      {writable && (
        <div className="actions">
          {saved && <span className="ok">Saved</span>}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save note'}
          </button>
        </div>
      )}
    </form>
  );
}
