// Sharing: users and groups (including the `everyone` group) with reader / writer / owner roles,
// and transfer of ownership. Only those the server lets share (the owner) change anything; others
// see who has access.
import { useState } from 'react';
import type { Authorization, JsonPatchDocument, Role } from '../../../contract/common.ts';
import { EVERYONE_GROUP, ROLES, TMI_GROUP_PROVIDER } from '../../../contract/limits.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import { threatModels } from '../api/threat-models.ts';
import { EnumSelect, FormActions, useAction } from '../forms.tsx';
import { useMe } from '../me.ts';
import { DataTable, type Column } from '../table.tsx';
import { Modal } from '../ui.tsx';

export function SharingDialog({ tm, canShare, onClose, onSaved }: { tm: ThreatModel; canShare: boolean; onClose: () => void; onSaved: (tm: ThreatModel) => void }) {
  const me = useMe();
  const [entries, setEntries] = useState<Authorization[]>(tm.authorization);
  const [subject, setSubject] = useState<'user' | 'group' | 'everyone'>('user');
  const [who, setWho] = useState('');
  const [provider, setProvider] = useState(tm.owner.provider);
  // A group is one of the user's identity provider or one TMI keeps.
  const groupProviders = [...new Set([me.provider, TMI_GROUP_PROVIDER])];
  const [groupProvider, setGroupProvider] = useState(groupProviders[0]!);
  const [role, setRole] = useState<Role>('reader');
  const [newOwner, setNewOwner] = useState('');

  const keyOf = (a: Authorization) => `${a.principal_type}:${a.provider}:${a.provider_id}`;
  const label = (a: Authorization) =>
    a.principal_type === 'group' && a.provider_id === EVERYONE_GROUP ? 'Everyone (all signed-in users)' : `${a.display_name || a.email || a.provider_id}${a.principal_type === 'group' ? ' (group)' : ''}`;

  const add = () => {
    const entry: Authorization =
      subject === 'everyone'
        ? { principal_type: 'group', provider: TMI_GROUP_PROVIDER, provider_id: EVERYONE_GROUP, role }
        : { principal_type: subject, provider: subject === 'group' ? groupProvider : provider, provider_id: who.trim(), role };
    setEntries([...entries.filter((e) => keyOf(e) !== keyOf(entry)), entry]);
    setWho('');
  };

  const save = useAction(async () => {
    const value = entries.map(({ principal_type, provider, provider_id, role }) => ({ principal_type, provider, provider_id, role }));
    const ops: JsonPatchDocument = [{ op: 'replace', path: '/authorization', value }];
    if (newOwner.trim()) ops.push({ op: 'replace', path: '/owner', value: { principal_type: 'user', provider, provider_id: newOwner.trim() } });
    onSaved(await threatModels.patch(tm.id, ops));
    onClose();
  });

  const columns: Column<Authorization>[] = [
    { key: 'who', label: 'Who', cell: label },
    {
      key: 'role',
      label: 'Role',
      cell: (a) => (
        <EnumSelect
          aria-label={`Role of ${label(a)}`}
          disabled={!canShare}
          options={ROLES}
          value={a.role}
          onChange={(r) => setEntries(entries.map((x) => (x === a ? { ...x, role: r as Role } : x)))}
        />
      ),
    },
    {
      key: 'remove',
      label: '',
      cell: (a) =>
        canShare && (
          <button className="link danger" onClick={() => setEntries(entries.filter((x) => x !== a))}>
            Remove
          </button>
        ),
    },
  ];

  return (
    <Modal title={canShare ? 'Share threat model' : 'People with access'} onClose={onClose} wide>
      <p className="muted">Owner: {tm.owner.display_name} ({tm.owner.email})</p>
      {entries.length === 0 && <p className="empty">Only the owner has access.</p>}
      <DataTable columns={columns} rows={entries} rowKey={keyOf} testId="sharing-table" head={false} />
      {canShare && (
        <>
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              add();
            }}
          >
            <select aria-label="Share with" value={subject} onChange={(e) => setSubject(e.target.value as typeof subject)}>
              <option value="user">User</option>
              <option value="group">Group</option>
              <option value="everyone">Everyone</option>
            </select>
            {subject === 'user' && <input aria-label="Identity provider" value={provider} onChange={(e) => setProvider(e.target.value)} size={8} />}
            {subject === 'group' && groupProviders.length > 1 && (
              <select aria-label="Group of" value={groupProvider} onChange={(e) => setGroupProvider(e.target.value)}>
                {groupProviders.map((p) => (
                  <option key={p} value={p}>
                    {p === TMI_GROUP_PROVIDER ? 'TMI group' : `${p} group`}
                  </option>
                ))}
              </select>
            )}
            {subject !== 'everyone' && (
              <input
                name="share_with"
                aria-label={subject === 'user' ? 'User (provider id or email)' : 'Group name'}
                placeholder={subject === 'user' ? 'user id or email' : 'group name'}
                value={who}
                onChange={(e) => setWho(e.target.value)}
                required
              />
            )}
            <EnumSelect aria-label="Role" options={ROLES} value={role} onChange={(r) => setRole(r as Role)} />
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
      <FormActions action={save} submit="Save sharing" writable={canShare} onCancel={onClose} onSubmit={() => void save.run()} />
    </Modal>
  );
}
