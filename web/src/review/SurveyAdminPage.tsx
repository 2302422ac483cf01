// Survey templates for administrators: the list, and an editor of the SurveyJS JSON with a live
// preview (the commercial SurveyJS Creator is not used), publish, deactivate and archive.
import { lazy, Suspense, useMemo, useState } from 'react';
import { surveys } from '../api/review.ts';
import { useAction } from '../forms.tsx';
import { ErrorNote, formatDate, Spinner, useLoad } from '../ui.tsx';

const SurveyView = lazy(() => import('./SurveyView.tsx'));

const STARTER = JSON.stringify(
  {
    pages: [
      {
        name: 'about',
        elements: [
          { type: 'text', name: 'service_name', title: 'Name of the service', isRequired: true, mapsToTmField: 'name' },
          { type: 'comment', name: 'summary', title: 'What does it do?', mapsToTmField: 'description' },
        ],
      },
    ],
  },
  null,
  2,
);

export default function SurveyAdminPage() {
  const list = useLoad((signal) => surveys.listAll(signal), []);
  const [editing, setEditing] = useState<{ id?: string; name: string; version: string; description: string; json: string; status?: string }>();
  const parsed = useMemo(() => {
    if (!editing) return { json: null as Record<string, unknown> | null, problem: '' };
    try {
      const v = JSON.parse(editing.json) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v) || !Array.isArray((v as { pages?: unknown }).pages)) return { json: null, problem: 'The definition needs a "pages" array.' };
      return { json: v as Record<string, unknown>, problem: '' };
    } catch (err) {
      return { json: null, problem: `Not valid JSON: ${(err as Error).message}` };
    }
  }, [editing]);
  const open = useAction(async (id: string) => {
    const s = await surveys.get(id);
    setEditing({ id: s.id, name: s.name, version: s.version, description: s.description ?? '', json: JSON.stringify(s.survey_json, null, 2), status: s.status });
  });
  const save = useAction(async () => {
    if (!editing || !parsed.json) return;
    const body = { name: editing.name, version: editing.version, description: editing.description || null, survey_json: parsed.json };
    const s = editing.id ? await surveys.replace(editing.id, body) : await surveys.create(body);
    setEditing({ ...editing, id: s.id, status: s.status });
    list.reload();
  });
  const setStatus = useAction(async (status: 'active' | 'inactive' | 'archived') => {
    if (!editing?.id) return;
    const s = await surveys.setStatus(editing.id, status);
    setEditing({ ...editing, status: s.status });
    list.reload();
  });
  return (
    <section>
      <h1>Survey templates</h1>
      <ErrorNote error={list.error ?? open.error ?? save.error ?? setStatus.error} />
      <table className="table" data-testid="survey-templates">
        <thead>
          <tr>
            <th>Name</th>
            <th>Version</th>
            <th>Status</th>
            <th>Modified</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.surveys.map((s) => (
            <tr key={s.id}>
              <td>
                <button className="link" onClick={() => void open.run(s.id)}>
                  {s.name}
                </button>
              </td>
              <td>{s.version}</td>
              <td>{s.status}</td>
              <td>{formatDate(s.modified_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <button onClick={() => setEditing({ name: '', version: 'v1', description: '', json: STARTER })}>New template</button>
      </p>
      {editing && (
        <div className="survey-editor">
          <div>
            <label>
              Name <input value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} maxLength={256} />
            </label>{' '}
            <label>
              Version <input value={editing.version} onChange={(e) => setEditing({ ...editing, version: e.target.value })} maxLength={64} />
            </label>
            <label>
              Description <input value={editing.description} onChange={(e) => setEditing({ ...editing, description: e.target.value })} maxLength={2048} />
            </label>
            <textarea aria-label="Survey JSON" className="code" rows={24} value={editing.json} onChange={(e) => setEditing({ ...editing, json: e.target.value })} spellCheck={false} />
            {parsed.problem && <p className="error">{parsed.problem}</p>}
            <p>
              <button onClick={() => void save.run()} disabled={save.busy || !parsed.json || !editing.name.trim()}>
                Save
              </button>{' '}
              {editing.id && editing.status !== 'active' && editing.status !== 'archived' && <button onClick={() => void setStatus.run('active')}>Publish</button>}{' '}
              {editing.id && editing.status === 'active' && <button onClick={() => void setStatus.run('inactive')}>Deactivate</button>}{' '}
              {editing.id && editing.status !== 'archived' && <button onClick={() => void setStatus.run('archived')}>Archive</button>}{' '}
              {editing.status && <small className="muted">Status: {editing.status}. A published version cannot change its questions; save them under a new version.</small>}
            </p>
          </div>
          <div>
            <h2>Preview</h2>
            {parsed.json && (
              <Suspense fallback={<Spinner />}>
                <SurveyView json={parsed.json} />
              </Suspense>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
