// Notes: markdown editing with a live, safe preview (rendered to React elements, never as HTML).
import { useState } from 'react';
import { NOTE_TEXT } from '../../../contract/limits.ts';
import type { Note, NoteListItem } from '../../../contract/notes.ts';
import { notes as notesApi } from '../api/notes.ts';
import { Confirm, Form, FormActions, TextInput, useAction } from '../forms.tsx';
import { Markdown } from '../markdown.tsx';
import { ListState } from '../table.tsx';
import { ErrorNote, Spinner, formatDate, useLoad } from '../ui.tsx';

/** What the editor needs of a note; a new one has no id yet. */
type Draft = Pick<Note, 'name' | 'content' | 'description'> & { id?: string };

export function NotesTab({ tmId, writable }: { tmId: string; writable: boolean }) {
  const { data, error, loading, reload } = useLoad((signal) => notesApi.list(tmId, signal), [tmId]);
  const notes = data ?? [];
  const [open, setOpen] = useState<string | 'new'>();
  const [deleting, setDeleting] = useState<NoteListItem>();
  return (
    <div className="notes">
      <aside>
        <ListState error={error} loading={loading} loaded={!!data} empty={notes.length === 0} emptyText="No notes yet." />
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
      {open && <NoteEditor key={open} tmId={tmId} id={open} writable={writable} onSaved={(id) => (reload(), setOpen(id))} />}
      {deleting && (
        <Confirm
          title="Delete note"
          message={`Delete the note "${deleting.name}"?`}
          onConfirm={async () => {
            await notesApi.remove(tmId, deleting.id);
            if (open === deleting.id) setOpen(undefined);
            reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </div>
  );
}

function NoteEditor({ tmId, id, writable, onSaved }: { tmId: string; id: string; writable: boolean; onSaved: (id: string) => void }) {
  const { data, error, loading } = useLoad(
    (signal): Promise<Draft> => (id === 'new' ? Promise.resolve({ name: '', content: '' }) : notesApi.get(tmId, id, signal)),
    [tmId, id],
  );
  if (loading && !data) return <Spinner />;
  if (!data) return <ErrorNote error={error} />;
  return <NoteForm tmId={tmId} note={data} writable={writable} onSaved={onSaved} />;
}

function NoteForm({ tmId, note, writable, onSaved }: { tmId: string; note: Draft; writable: boolean; onSaved: (id: string) => void }) {
  const [name, setName] = useState(note.name);
  const [content, setContent] = useState(note.content);
  const save = useAction(async () => {
    const body = { name: name.trim(), content, ...(note.description ? { description: note.description } : {}) };
    const out = note.id ? await notesApi.replace(tmId, note.id, body) : await notesApi.create(tmId, body);
    onSaved(out.id);
  });
  return (
    <Form className="note-editor" onSubmit={save.run}>
      <label>
        Title
        <TextInput name="note_name" value={name} onChange={setName} required rule={NOTE_TEXT.name} disabled={!writable} />
      </label>
      <div className="split">
        <label>
          Markdown
          <TextInput multiline name="note_content" value={content} onChange={setContent} rows={16} rule={NOTE_TEXT.content} required readOnly={!writable} />
        </label>
        <div>
          <div className="label">Preview</div>
          <div className="preview" data-testid="note-preview">
            <Markdown source={content} />
          </div>
        </div>
      </div>
      <FormActions action={save} submit="Save note" writable={writable} savedNote />
    </Form>
  );
}
