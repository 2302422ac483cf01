// Sharing: users and groups (including the `everyone` group) with reader / writer / owner roles,
// and transfer of ownership. Only the owner changes anything; others see who has access.
import { useState } from 'react';
import { api } from '../api/client.ts';
import type { Authorization, Role, ThreatModel } from '../api/types.ts';
import { ErrorNote, Modal } from '../ui.tsx';

const ROLES: Role[] = ['reader', 'writer', 'owner'];

export function SharingDialog({ tm, isOwner, onClose, onSaved }: { tm: ThreatModel; isOwner: boolean; onClose: () => void; onSaved: (tm: ThreatModel) => void }) {
  const [entries, setEntries] = useState<Authorization[]>(tm.authorization);
  const [kind, setKind] = useState<'user' | 'group' | 'everyone'>('user');
  const [who, setWho] = useState('');
  const [provider, setProvider] = useState(tm.owner.provider);
  const [role, setRole] = useState<Role>('reader');
  const [newOwner, setNewOwner] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const label = (a: Authorization) =>
    a.principal_type === 'group' && a.provider_id === 'everyone' ? 'Everyone (all signed-in users)' : `${a.display_name || a.email || a.provider_id}${a.principal_type === 'group' ? ' (group)' : ''}`;

  const add = () => {
    const entry: Authorization =
      kind === 'everyone'
        ? { principal_type: 'group', provider: '*', provider_id: 'everyone', role }
        : { principal_type: kind, provider: kind === 'group' ? '*' : provider, provider_id: who.trim(), role };
    setEntries([...entries.filter((e) => !(e.principal_type === entry.principal_type && e.provider_id === entry.provider_id)), entry]);
    setWho('');
  };

  const save = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const value = entries.map(({ principal_type, provider, provider_id, role }) => ({ principal_type, provider, provider_id, role }));
      const ops = [{ op: 'replace' as const, path: '/authorization', value }];
      if (newOwner.trim()) ops.push({ op: 'replace', path: '/owner', value: { principal_type: 'user', provider, provider_id: newOwner.trim() } as never });
      onSaved(await api.patch<ThreatModel>(`/threat_models/${tm.id}`, ops));
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={isOwner ? 'Share threat model' : 'People with access'} onClose={onClose} wide>
      <p className="muted">Owner: {tm.owner.display_name} ({tm.owner.email})</p>
      {entries.length === 0 && <p className="empty">Only the owner has access.</p>}
      <table className="grid" data-testid="sharing-table">
        <tbody>
          {entries.map((a, i) => (
            <tr key={`${a.principal_type}:${a.provider}:${a.provider_id}`}>
              <td>{label(a)}</td>
              <td>
                <select
                  aria-label={`Role of ${label(a)}`}
                  disabled={!isOwner}
                  value={a.role}
                  onChange={(e) => setEntries(entries.map((x, j) => (j === i ? { ...x, role: e.target.value as Role } : x)))}
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                {isOwner && (
                  <button className="link danger" onClick={() => setEntries(entries.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {isOwner && (
        <>
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              add();
            }}
          >
            <select aria-label="Share with" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
              <option value="user">User</option>
              <option value="group">Group</option>
              <option value="everyone">Everyone</option>
            </select>
            {kind === 'user' && <input aria-label="Identity provider" value={provider} onChange={(e) => setProvider(e.target.value)} size={8} />}
            {kind !== 'everyone' && (
              <input
                name="share_with"
                aria-label={kind === 'user' ? 'User (provider id or email)' : 'Group name'}
                placeholder={kind === 'user' ? 'user id or email' : 'group name'}
                value={who}
                onChange={(e) => setWho(e.target.value)}
                required
              />
            )}
            <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
            <button type="submit">Add</button>
          </form>
          <details>
            <summary>Transfer ownership</summary>
            <label>
              New owner (user id at provider {provider})
              <input name="new_owner" value={newOwner} onChange={(e) => setNewOwner(e.target.value)} placeholder="user id" />
            </label>
            <p className="muted">The current owner keeps owner access through the list above only if listed there.</p>
          </details>
        </>
      )}
      <ErrorNote error={error} />
      <div className="actions">
        <button onClick={onClose}>{isOwner ? 'Cancel' : 'Close'}</button>
        {isOwner && (
          <button className="primary" disabled={busy} onClick={() => void save()}>
            {busy ? 'Saving…' : 'Save sharing'}
          </button>
        )}
      </div>
    </Modal>
  );
}
