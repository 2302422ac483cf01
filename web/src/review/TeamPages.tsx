// Teams and projects: the caller's teams, a team with its members, projects and notes.
import { useState } from 'react';
import { projects, teams } from '../api/review.ts';
import { useAction } from '../forms.tsx';
import { Link } from '../router.tsx';
import { ErrorNote, formatDate, Spinner, useLoad } from '../ui.tsx';

export function TeamsPage() {
  const { data, error, reload } = useLoad((signal) => teams.list({ limit: 100 }, signal), []);
  const [name, setName] = useState('');
  const create = useAction(async () => {
    await teams.create({ name: name.trim() });
    setName('');
    reload();
  });
  return (
    <section>
      <h1>Teams</h1>
      <ErrorNote error={error ?? create.error} />
      <table className="table" data-testid="teams">
        <thead>
          <tr>
            <th>Team</th>
            <th>Status</th>
            <th>Members</th>
            <th>Projects</th>
            <th>Modified</th>
          </tr>
        </thead>
        <tbody>
          {data?.teams.map((t) => (
            <tr key={t.id}>
              <td>
                <Link to={`/review/teams/${t.id}`}>{t.name}</Link>
              </td>
              <td>{t.status}</td>
              <td className="num">{t.member_count}</td>
              <td className="num">{t.project_count}</td>
              <td>{formatDate(t.modified_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <input aria-label="New team name" placeholder="New team" value={name} onChange={(e) => setName(e.target.value)} maxLength={256} />{' '}
        <button onClick={() => void create.run()} disabled={create.busy || !name.trim()}>
          Create team
        </button>
      </p>
    </section>
  );
}

export function TeamPage({ id }: { id: string }) {
  const { data: team, error, reload } = useLoad((signal) => teams.get(id, signal), [id]);
  const list = useLoad((signal) => projects.list({ team_id: id, limit: 100 }, signal), [id]);
  const [projectName, setProjectName] = useState('');
  const [memberId, setMemberId] = useState('');
  const [noteName, setNoteName] = useState('');
  const [noteText, setNoteText] = useState('');
  const addProject = useAction(async () => {
    await projects.create({ name: projectName.trim(), team_id: id });
    setProjectName('');
    list.reload();
  });
  const addMember = useAction(async () => {
    await teams.patch(id, [{ op: 'add', path: '/members/-', value: { user_id: memberId.trim(), role: 'engineer' } }]);
    setMemberId('');
    reload();
  });
  const addNote = useAction(async () => {
    await teams.addNote(id, { name: noteName.trim(), content: noteText });
    setNoteName('');
    setNoteText('');
    reload();
  });
  if (error) return <ErrorNote error={error} />;
  if (!team) return <Spinner />;
  return (
    <section>
      <p>
        <Link to="/review/teams">← Teams</Link>
      </p>
      <h1>{team.name}</h1>
      {team.description && <p>{team.description}</p>}
      <ErrorNote error={addProject.error ?? addMember.error ?? addNote.error} />
      <h2>Members</h2>
      <ul>
        {team.members.map((m) => (
          <li key={m.user_id}>
            {m.user?.display_name ?? m.user_id} <small className="muted">{m.role.replace(/_/g, ' ')}</small>
          </li>
        ))}
      </ul>
      <p>
        <input aria-label="User id of the new member" placeholder="User id" value={memberId} onChange={(e) => setMemberId(e.target.value)} />{' '}
        <button onClick={() => void addMember.run()} disabled={addMember.busy || !memberId.trim()}>
          Add member
        </button>
      </p>
      <h2>Projects</h2>
      <ul data-testid="team-projects">
        {list.data?.projects.map((p) => (
          <li key={p.id}>
            {p.name} <small className="muted">{p.status}</small> · <Link to={`/?project_id=${p.id}`}>threat models</Link>
          </li>
        ))}
      </ul>
      <p>
        <input aria-label="New project name" placeholder="New project" value={projectName} onChange={(e) => setProjectName(e.target.value)} maxLength={256} />{' '}
        <button onClick={() => void addProject.run()} disabled={addProject.busy || !projectName.trim()}>
          Create project
        </button>
      </p>
      <h2>Notes</h2>
      <ul>
        {team.notes?.map((n) => (
          <li key={n.id}>
            {n.name} <small className="muted">{formatDate(n.modified_at)}</small>
          </li>
        ))}
      </ul>
      <p>
        <input aria-label="Note title" placeholder="Title" value={noteName} onChange={(e) => setNoteName(e.target.value)} maxLength={256} />
        <textarea aria-label="Note" placeholder="Note (markdown)" value={noteText} onChange={(e) => setNoteText(e.target.value)} />
        <button onClick={() => void addNote.run()} disabled={addNote.busy || !noteName.trim() || !noteText.trim()}>
          Add note
        </button>
      </p>
    </section>
  );
}
