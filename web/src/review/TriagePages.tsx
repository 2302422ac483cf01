// Triage for security reviewers: the queue with a status filter, and one response with its
// answers, notes, reviewer assignment, status changes and "create threat model".
import { lazy, Suspense, useState } from 'react';
import { triage } from '../api/review.ts';
import { useAction } from '../forms.tsx';
import { useMe } from '../me.ts';
import { Link, navigate } from '../router.tsx';
import { ErrorNote, formatDate, Spinner, useLoad } from '../ui.tsx';
import { STATUS_LABEL } from './IntakePages.tsx';

const SurveyView = lazy(() => import('./SurveyView.tsx'));

export function TriageQueuePage() {
  const [status, setStatus] = useState('submitted,needs_revision,ready_for_review');
  const { data, error, loading } = useLoad((signal) => triage.queue({ status, limit: 100 }, signal), [status]);
  return (
    <section>
      <h1>Triage</h1>
      <label>
        Show{' '}
        <select value={status} onChange={(e) => setStatus(e.target.value)} data-testid="triage-filter">
          <option value="submitted,needs_revision,ready_for_review">Open</option>
          <option value="submitted">Submitted</option>
          <option value="needs_revision">Needs revision</option>
          <option value="ready_for_review">Ready for review</option>
          <option value="review_created">Threat model created</option>
          <option value="">All</option>
        </select>
      </label>
      <ErrorNote error={error} />
      {loading && <Spinner />}
      <table className="table" data-testid="triage-queue">
        <thead>
          <tr>
            <th>Survey</th>
            <th>Requester</th>
            <th>Status</th>
            <th>Submitted</th>
          </tr>
        </thead>
        <tbody>
          {data?.survey_responses.map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/review/triage/${r.id}`}>{r.survey_name}</Link> {r.is_confidential && <small>(confidential)</small>}
              </td>
              <td>{r.owner?.display_name}</td>
              <td>{STATUS_LABEL[r.status] ?? r.status}</td>
              <td>{formatDate(r.submitted_at ?? r.created_at)}</td>
            </tr>
          ))}
          {data && data.survey_responses.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                Nothing to triage.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

export function TriageResponsePage({ id }: { id: string }) {
  const me = useMe();
  const { data: r, error, reload } = useLoad((signal) => triage.get(id, signal), [id]);
  const notes = useLoad((signal) => triage.notes(id, signal), [id]);
  const [revision, setRevision] = useState('');
  const [noteName, setNoteName] = useState('');
  const [noteText, setNoteText] = useState('');
  const status = useAction(async (to: string) => {
    await triage.setStatus(id, to, to === 'needs_revision' ? revision : undefined);
    reload();
  });
  const assign = useAction(async () => {
    await triage.assign(id, { provider: me.provider, provider_id: me.provider_id });
    reload();
  });
  const addNote = useAction(async () => {
    await triage.addNote(id, { name: noteName, content: noteText });
    setNoteName('');
    setNoteText('');
    notes.reload();
  });
  const create = useAction(async () => {
    const out = await triage.createThreatModel(id);
    navigate(`/tm/${out.threat_model_id}`);
  });
  if (error) return <ErrorNote error={error} />;
  if (!r) return <Spinner />;
  return (
    <section>
      <p>
        <Link to="/review/triage">← Triage queue</Link>
      </p>
      <h1>Review request from {r.owner?.display_name ?? 'a deleted user'}</h1>
      <p>
        Status: <strong data-testid="triage-status">{STATUS_LABEL[r.status] ?? r.status}</strong> · Reviewer: {r.reviewed_by?.display_name ?? 'none'}{' '}
        {r.reviewed_by?.provider_id !== me.provider_id && (
          <button onClick={() => void assign.run()} disabled={assign.busy}>
            Assign to me
          </button>
        )}
        {r.created_threat_model_id && (
          <>
            {' '}
            · <Link to={`/tm/${r.created_threat_model_id}`}>Open the threat model</Link>
          </>
        )}
      </p>
      <ErrorNote error={status.error ?? assign.error ?? create.error ?? addNote.error} />
      <div className="actions">
        {(r.status === 'submitted' || r.status === 'needs_revision') && (
          <button onClick={() => void status.run('ready_for_review')} disabled={status.busy}>
            Accept for review
          </button>
        )}
        {r.status === 'ready_for_review' && !r.created_threat_model_id && (
          <button className="primary" onClick={() => void create.run()} disabled={create.busy}>
            Create threat model
          </button>
        )}
      </div>
      {(r.status === 'submitted' || r.status === 'ready_for_review') && (
        <div>
          <textarea aria-label="Revision request" placeholder="What should the requester change?" value={revision} onChange={(e) => setRevision(e.target.value)} maxLength={4096} />
          <button onClick={() => void status.run('needs_revision')} disabled={status.busy || revision.trim() === ''}>
            Request revision
          </button>
        </div>
      )}
      <h2>Answers</h2>
      <Suspense fallback={<Spinner label="Loading the form…" />}>
        <SurveyView json={r.survey_json} data={r.answers} readOnly />
      </Suspense>
      <h2>Triage notes</h2>
      <ul data-testid="triage-notes">
        {notes.data?.triage_notes.map((n) => (
          <li key={n.id}>
            {n.name} <small className="muted">{n.created_by?.display_name} · {formatDate(n.created_at)}</small>
          </li>
        ))}
      </ul>
      <div>
        <input aria-label="Note title" placeholder="Title" value={noteName} onChange={(e) => setNoteName(e.target.value)} maxLength={256} />
        <textarea aria-label="Note" placeholder="Note (markdown)" value={noteText} onChange={(e) => setNoteText(e.target.value)} maxLength={32768} />
        <button onClick={() => void addNote.run()} disabled={addNote.busy || !noteName.trim() || !noteText.trim()}>
          Add note
        </button>
      </div>
    </section>
  );
}
