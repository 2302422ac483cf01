// Sharing: users and groups (including the `everyone` group) with reader / writer / owner roles,
// and transfer of ownership. People and groups are found by name or e-mail as you type (GET
// /principals, the shared SearchPicker); someone who has never signed in is added by their
// provider id. Only those the server lets share (the owner) change anything; others see who has
// access.
import { useState } from 'react';
import type { Authorization, JsonPatchDocument, Role } from '../../../contract/common.ts';
import { EVERYONE_GROUP, PRINCIPAL_SEARCH, ROLES, TMI_GROUP_PROVIDER } from '../../../contract/limits.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import { principals, type PrincipalMatch } from '../api/principals.ts';
import { threatModels } from '../api/threat-models.ts';
import { EnumSelect, FormActions, useAction } from '../forms.tsx';
import { useMe } from '../me.ts';
import { SearchPicker } from '../picker.tsx';
import { DataTable, type Column } from '../table.tsx';
import { Modal } from '../ui.tsx';

const keyOf = (a: { principal_type: string; provider: string; provider_id: string }) => `${a.principal_type}:${a.provider}:${a.provider_id}`;
const isEveryone = (a: { principal_type: string; provider_id: string }) => a.principal_type === 'group' && a.provider_id === EVERYONE_GROUP;

/** How a person or group reads in the list and among the matches. */
function principalLabel(a: { principal_type: string; provider: string; provider_id: string; display_name?: string; email?: string }): string {
  if (isEveryone(a)) return 'Everyone (all signed-in users)';
  if (a.principal_type === 'group') return `${a.display_name || a.provider_id} (${a.provider === TMI_GROUP_PROVIDER ? 'TMI group' : `${a.provider} group`})`;
  const name = a.display_name || a.email || a.provider_id;
  return a.email && a.email !== name ? `${name} (${a.email})` : name;
}

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
  const [newOwner, setNewOwner] = useState<PrincipalMatch | null>(null);
  const [newOwnerId, setNewOwnerId] = useState('');

  const put = (entry: Authorization) => setEntries((list) => [...list.filter((e) => keyOf(e) !== keyOf(entry)), entry]);

  const add = () => {
    put(
      subject === 'everyone'
        ? { principal_type: 'group', provider: TMI_GROUP_PROVIDER, provider_id: EVERYONE_GROUP, role }
        : { principal_type: subject, provider: subject === 'group' ? groupProvider : provider, provider_id: who.trim(), role },
    );
    setWho('');
  };

  const save = useAction(async () => {
    const value = entries.map(({ principal_type, provider, provider_id, role }) => ({ principal_type, provider, provider_id, role }));
    const ops: JsonPatchDocument = [{ op: 'replace', path: '/authorization', value }];
    const owner = newOwner ?? (newOwnerId.trim() ? { provider, provider_id: newOwnerId.trim() } : null);
    if (owner) ops.push({ op: 'replace', path: '/owner', value: { principal_type: 'user', provider: owner.provider, provider_id: owner.provider_id } });
    onSaved(await threatModels.patch(tm.id, ops));
    onClose();
  });

  const columns: Column<Authorization>[] = [
    { key: 'who', label: 'Who', cell: principalLabel },
    {
      key: 'role',
      label: 'Role',
      cell: (a) => (
        <EnumSelect
          aria-label={`Role of ${principalLabel(a)}`}
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
          <div className="share-find">
            <EnumSelect aria-label="Role" options={ROLES} value={role} onChange={(r) => setRole(r as Role)} />
            <SearchPicker<PrincipalMatch>
              label="Add a person or group"
              name="share_search"
              placeholder="Type a name or e-mail"
              search={(text, signal) => principals.search(text, {}, signal)}
              optionKey={keyOf}
              optionLabel={(m) => principalLabel(m)}
              onPick={(m) => put({ principal_type: m.principal_type, provider: m.provider, provider_id: m.provider_id, display_name: m.display_name, ...(m.email ? { email: m.email } : {}), role })}
              hint={`Type at least ${PRINCIPAL_SEARCH.minQuery} characters of a name or e-mail; the choice is added with the role beside it. People are listed once they have signed in.`}
            />
          </div>
          <form
            className="inline-form"
            aria-label="Add by provider id"
            onSubmit={(e) => {
              e.preventDefault();
              add();
            }}
          >
            <span className="muted">Not listed (never signed in yet)? Add by identity provider id:</span>
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
            <button type="submit">Add</button>
          </form>
          <details>
            <summary>Transfer ownership</summary>
            {newOwner ? (
              <p className="row">
                <span data-testid="new-owner">New owner: {principalLabel(newOwner)}</span>
                <button className="link" onClick={() => setNewOwner(null)}>
                  change
                </button>
              </p>
            ) : (
              <>
                <SearchPicker<PrincipalMatch>
                  label="New owner"
                  name="new_owner_search"
                  placeholder="Type a name or e-mail"
                  search={(text, signal) => principals.search(text, { principalType: 'user' }, signal)}
                  optionKey={keyOf}
                  optionLabel={(m) => principalLabel(m)}
                  onPick={setNewOwner}
                />
                <label>
                  Or their user id at provider {provider} (someone who has never signed in)
                  <input name="new_owner" value={newOwnerId} onChange={(e) => setNewOwnerId(e.target.value)} placeholder="user id" />
                </label>
              </>
            )}
            <p className="muted">The current owner keeps owner access through the list above only if listed there.</p>
          </details>
        </>
      )}
      <FormActions action={save} submit="Save sharing" writable={canShare} onCancel={onClose} onSubmit={() => void save.run()} />
    </Modal>
  );
}
