// Who is in the live session, who hosts and who presents; presenting and handing it over.
import type { User } from '../../../../contract/common.ts';
import { sameUser, type Participant } from '../collab.ts';

export function ParticipantsPanel(props: {
  participants: Participant[];
  host?: User;
  presenter: User | null;
  me: User;
  presenting: boolean;
  requests: User[];
  onTogglePresenting: () => void;
  onRequest: () => void;
  onApprove: (u: User) => void;
  onDeny: (u: User) => void;
  onTakeBack: () => void;
}) {
  const { participants, host, presenter, me, presenting, requests } = props;
  const iAmHost = sameUser(host, me);
  const iAmPresenter = sameUser(presenter, me);
  return (
    <section className="panel" data-testid="participants">
      <h3>In this session ({participants.length})</h3>
      <ul className="people">
        {participants.map((p) => (
          <li key={`${p.user.provider}:${p.user.provider_id}`}>
            <span className="avatar">{(p.user.display_name || p.user.email || '?')[0]!.toUpperCase()}</span>
            {p.user.display_name || p.user.email}
            {sameUser(p.user, me) && ' (you)'}
            <small className="muted">
              {' '}
              {p.permissions}
              {sameUser(p.user, host) ? ' · host' : ''}
              {sameUser(p.user, presenter) ? ' · presenting' : ''}
            </small>
          </li>
        ))}
      </ul>
      {iAmPresenter ? (
        <label className="inline">
          <input type="checkbox" checked={presenting} onChange={props.onTogglePresenting} /> Show my cursor and selection to everyone
        </label>
      ) : iAmHost ? (
        <button onClick={props.onTakeBack}>Take back presenting</button>
      ) : (
        <button onClick={props.onRequest}>Ask to present</button>
      )}
      {iAmHost &&
        requests.map((u) => (
          <div key={u.provider_id} className="request">
            {u.display_name} asks to present.{' '}
            <button onClick={() => props.onApprove(u)}>Allow</button> <button onClick={() => props.onDeny(u)}>Decline</button>
          </div>
        ))}
    </section>
  );
}
