// Intake for requesters: the active surveys, "my requests" with their status, and one request's
// form (drafts saved, then submitted) with what reviewers sent back.
import { lazy, Suspense, useCallback, useRef, useState } from 'react';
import { intake, projects, surveys } from '../api/review.ts';
import { useAction } from '../forms.tsx';
import { Link, navigate } from '../router.tsx';
import { ErrorNote, formatDate, Spinner, useLoad } from '../ui.tsx';

const SurveyView = lazy(() => import('./SurveyView.tsx'));

export const STATUS_LABEL: Record<string, string> = {
  draft: 'Draft',
  submitted: 'Submitted',
  needs_revision: 'Needs revision',
  ready_for_review: 'Ready for review',
  review_created: 'Threat model created',
};

export function IntakePage() {
  const available = useLoad((signal) => surveys.listActive(signal), []);
  const mine = useLoad((signal) => intake.mine(signal), []);
  const myProjects = useLoad((signal) => projects.list({ limit: 100 }, signal), []);
  const [project, setProject] = useState('');
  const start = useAction(async (surveyId: string) => {
    const r = await intake.start(surveyId, project || undefined);
    navigate(`/review/intake/${r.id}`);
  });
  return (
    <section>
      <h1>Request a security review</h1>
      <ErrorNote error={available.error ?? mine.error ?? start.error} />
      <h2>Surveys</h2>
      {(myProjects.data?.projects.length ?? 0) > 0 && (
        <label>
          For project{' '}
          <select value={project} onChange={(e) => setProject(e.target.value)} data-testid="intake-project">
            <option value="">(none)</option>
            {myProjects.data!.projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.team_name ? `${p.team_name} / ` : ''}
                {p.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {available.loading && <Spinner />}
      <ul className="cards" data-testid="intake-surveys">
        {available.data?.surveys.map((s) => (
          <li key={s.id}>
            <strong>{s.name}</strong> <small className="muted">{s.version}</small>
            {s.description && <div className="muted">{s.description}</div>}
            <button disabled={start.busy} onClick={() => void start.run(s.id)}>
              Start
            </button>
          </li>
        ))}
        {available.data && available.data.surveys.length === 0 && <li className="muted">No survey is open at the moment.</li>}
      </ul>
      <h2>My requests</h2>
      <table className="table" data-testid="my-requests">
        <thead>
          <tr>
            <th>Survey</th>
            <th>Status</th>
            <th>Threat model</th>
            <th>Modified</th>
          </tr>
        </thead>
        <tbody>
          {mine.data?.survey_responses.map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/review/intake/${r.id}`}>{r.survey_name ?? 'Survey'}</Link> <small className="muted">{r.survey_version}</small>
              </td>
              <td data-testid="request-status">{STATUS_LABEL[r.status] ?? r.status}</td>
              <td>{r.created_threat_model_id ? <Link to={`/tm/${r.created_threat_model_id}`}>Open threat model</Link> : '—'}</td>
              <td>{formatDate(r.modified_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function IntakeResponsePage({ id }: { id: string }) {
  const { data: r, error, reload } = useLoad((signal) => intake.get(id, signal), [id]);
  const notes = useLoad((signal) => intake.notes(id, signal), [id]);
  const answers = useRef<Record<string, unknown> | null>(null);
  const [savedAt, setSavedAt] = useState<string>();
  const save = useAction(async () => {
    if (!answers.current) return;
    await intake.save(id, answers.current, {});
    setSavedAt(new Date().toLocaleTimeString());
  });
  const submit = useAction(async (data: Record<string, unknown>) => {
    await intake.save(id, data, {});
    await intake.submit(id);
    reload();
  });
  const onChange = useCallback((data: Record<string, unknown>) => {
    answers.current = data;
  }, []);
  const onComplete = useCallback((data: Record<string, unknown>) => void submit.run(data), [submit]);
  if (error) return <ErrorNote error={error} />;
  if (!r) return <Spinner />;
  const editable = r.status === 'draft' || r.status === 'needs_revision';
  return (
    <section>
      <p>
        <Link to="/review/intake">← My requests</Link>
      </p>
      <h1>Security review request</h1>
      <p>
        Status: <strong data-testid="response-status">{STATUS_LABEL[r.status] ?? r.status}</strong>
        {r.created_threat_model_id && (
          <>
            {' '}
            · <Link to={`/tm/${r.created_threat_model_id}`}>Open the threat model</Link>
          </>
        )}
      </p>
      {r.status === 'needs_revision' && r.revision_notes && (
        <div className="note" data-testid="revision-notes">
          <strong>The reviewer asks:</strong> {r.revision_notes}
        </div>
      )}
      <ErrorNote error={save.error ?? submit.error} />
      {editable && (
        <p>
          <button onClick={() => void save.run()} disabled={save.busy}>
            Save draft
          </button>{' '}
          {savedAt && <small className="muted">Saved at {savedAt}</small>}
        </p>
      )}
      <Suspense fallback={<Spinner label="Loading the form…" />}>
        <SurveyView json={r.survey_json} data={r.answers} readOnly={!editable} onChange={onChange} onComplete={onComplete} />
      </Suspense>
      {(notes.data?.total ?? 0) > 0 && (
        <>
          <h2>Reviewer notes</h2>
          <ul>
            {notes.data!.triage_notes.map((n) => (
              <li key={n.id}>
                {n.name} <small className="muted">{n.created_by?.display_name} · {formatDate(n.created_at)}</small>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
