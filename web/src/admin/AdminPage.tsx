// The Administration area (administrators only; the server refuses everyone else anyway): users
// (search, detail, administrator role, deactivation, transfer and deletion with the plan shown
// first), TMI groups with their members, the organisation's rule packs (RulePacks.tsx), the system
// audit log, and the runtime settings (secrets masked by the server: the app never receives their values).
import { useState } from 'react';
import { SETTING_TEXT, SETTING_TYPES } from '../../../contract/limits.ts';
import { admin, type AdminGroup, type AdminUser, type DeletionPlan, type ReencryptResult, type SystemAuditEntry, type SystemSetting } from '../api/admin.ts';
import { useMe } from '../me.ts';
import { DataTable, ListState, type Column } from '../table.tsx';
import { FormActions, ModalForm, TextInput, useAction } from '../forms.tsx';
import { StepUpOrError } from '../account/StepUp.tsx';
import { ErrorNote, formatDate, Modal, useLoad } from '../ui.tsx';
import { Link } from '../router.tsx';
import { SearchPicker } from '../picker.tsx';
import { RulePacksTab } from './RulePacks.tsx';
import { ADMIN_TABS, type AdminTab as Tab } from './tabs.ts';

const TAB_LABELS: Record<Tab, string> = { users: 'Users', groups: 'Groups', 'rule-packs': 'Rule packs', audit: 'Audit log', settings: 'Settings' };

export default function AdminPage({ tab }: { tab: Tab }) {
  const me = useMe();
  if (!me.is_admin) {
    return (
      <p className="error" data-testid="admin-refused">
        The administration area is for administrators. <Link to="/">Back to your threat models</Link>
      </p>
    );
  }
  return (
    <section data-testid="admin-area">
      <h1>Administration</h1>
      <nav className="toolbar" role="tablist">
        {ADMIN_TABS.map((t) => (
          <Link key={t} to={`/administration/${t}`} className={t === tab ? 'tab active' : 'tab'}>
            {TAB_LABELS[t]}
          </Link>
        ))}
      </nav>
      {tab === 'users' && <UsersTab />}
      {tab === 'groups' && <GroupsTab />}
      {tab === 'rule-packs' && <RulePacksTab />}
      {tab === 'audit' && <AuditTab />}
      {tab === 'settings' && <SettingsTab />}
    </section>
  );
}

function UsersTab() {
  const [q, setQ] = useState('');
  const [filter, setFilter] = useState<'all' | 'admins' | 'deactivated'>('all');
  const [selected, setSelected] = useState<AdminUser | null>(null);
  const list = useLoad(
    (signal) => admin.users({ q: q || undefined, is_admin: filter === 'admins' ? true : undefined, active: filter === 'deactivated' ? false : undefined, limit: 200 }, signal),
    [q, filter],
  );
  const columns: Column<AdminUser>[] = [
    { key: 'name', label: 'Name', cell: (u) => <button className="link" onClick={() => setSelected(u)}>{u.name || '(no name)'}</button>, sortBy: (u) => u.name, ascFirst: true },
    { key: 'email', label: 'E-mail', cell: (u) => u.email, sortBy: (u) => u.email, ascFirst: true },
    { key: 'provider', label: 'Provider', cell: (u) => u.provider },
    { key: 'role', label: 'Role', cell: (u) => (u.is_admin ? 'Administrator' : u.automation ? 'Automation' : 'User') },
    { key: 'active', label: 'Status', cell: (u) => (u.active === false ? 'Deactivated' : 'Active') },
    { key: 'models', label: 'Models owned', cell: (u) => u.active_threat_models ?? 0, sortBy: (u) => u.active_threat_models ?? 0 },
    { key: 'login', label: 'Last sign-in', cell: (u) => formatDate(u.last_login) || 'never', sortBy: (u) => u.last_login ?? '' },
  ];
  return (
    <>
      <div className="filters">
        <input type="search" name="user_search" placeholder="Search by name or e-mail" value={q} onChange={(e) => setQ(e.target.value)} aria-label="Search users" />
        <select value={filter} onChange={(e) => setFilter(e.target.value as typeof filter)} aria-label="Which users">
          <option value="all">All users</option>
          <option value="admins">Administrators</option>
          <option value="deactivated">Deactivated</option>
        </select>
        <span className="muted">{list.data ? `${list.data.total} user(s)` : ''}</span>
      </div>
      <ListState error={list.error} loading={list.loading} loaded={list.data !== undefined} empty={list.data?.users.length === 0} emptyText="No user matches." />
      <DataTable columns={columns} rows={list.data?.users ?? []} rowKey={(u) => u.internal_uuid} testId="admin-users" />
      {selected && (
        <UserDetail
          user={selected}
          onClose={() => setSelected(null)}
          onChanged={(u) => {
            setSelected(u);
            list.reload();
          }}
        />
      )}
    </>
  );
}

function UserDetail({ user, onClose, onChanged }: { user: AdminUser; onClose: () => void; onChanged: (u: AdminUser | null) => void }) {
  const me = useMe();
  const [mode, setMode] = useState<'view' | 'transfer' | 'delete'>('view');
  const [target, setTarget] = useState<AdminUser | null>(null);
  const update = useAction(async (body: { is_admin?: boolean; active?: boolean }) => onChanged(await admin.updateUser(user.internal_uuid, body)));
  const transfer = useAction(async () => {
    const res = await admin.transfer(user.internal_uuid, target!.internal_uuid);
    setMode('view');
    onChanged({ ...user, active_threat_models: 0 });
    return res;
  });
  const remove = useAction(async () => {
    await admin.deleteUser(user.internal_uuid, target?.internal_uuid);
    onChanged(null);
    onClose();
  });
  const plan = useLoad((signal) => (mode === 'delete' ? admin.deletionPlan(user.internal_uuid, target?.internal_uuid, signal) : Promise.resolve(undefined)), [mode, target?.internal_uuid]);
  const self = user.email === me.email && user.provider === me.provider;
  return (
    <Modal title={user.name || user.email} onClose={onClose} wide>
      <div data-testid="admin-user-detail">
        <dl className="facts">
          <dt>E-mail</dt>
          <dd>{user.email}</dd>
          <dt>Provider</dt>
          <dd>
            {user.provider} · {user.provider_user_id}
          </dd>
          <dt>Groups</dt>
          <dd>{user.groups.join(', ') || 'none'}</dd>
          <dt>Models owned</dt>
          <dd>{user.active_threat_models ?? 0}</dd>
          <dt>Created</dt>
          <dd>{formatDate(user.created_at)}</dd>
          <dt>Last sign-in</dt>
          <dd>{formatDate(user.last_login) || 'never'}</dd>
          <dt>Status</dt>
          <dd>{user.active === false ? 'Deactivated' : 'Active'}</dd>
        </dl>
        <ErrorNote error={update.error ?? transfer.error ?? remove.error} />
        {mode === 'view' && (
          <div className="actions">
            <button onClick={() => void update.run({ is_admin: !user.is_admin })} disabled={update.busy}>
              {user.is_admin ? 'Remove administrator role' : 'Make administrator'}
            </button>
            {!self && (
              <button onClick={() => void update.run({ active: user.active === false })} disabled={update.busy}>
                {user.active === false ? 'Reactivate' : 'Deactivate'}
              </button>
            )}
            <button onClick={() => setMode('transfer')}>Transfer models…</button>
            {!self && (
              <button className="danger" onClick={() => setMode('delete')}>
                Delete user…
              </button>
            )}
          </div>
        )}
        {mode !== 'view' && (
          <>
            <UserPicker label={mode === 'transfer' ? 'Give every model to' : 'Give the models to (optional)'} exclude={user.internal_uuid} value={target} onChange={setTarget} />
            {mode === 'delete' && plan.data && <PlanView plan={plan.data} />}
            <div className="actions">
              <button onClick={() => setMode('view')}>Cancel</button>
              {mode === 'transfer' ? (
                <button className="primary" disabled={!target || transfer.busy} onClick={() => void transfer.run()}>
                  Transfer
                </button>
              ) : (
                <button className="danger" disabled={remove.busy || !plan.data} onClick={() => void remove.run()}>
                  Delete {user.email || user.name} permanently
                </button>
              )}
            </div>
          </>
        )}
      </div>
    </Modal>
  );
}

/** What deleting an account does to each model it owns. */
export function PlanView({ plan }: { plan: DeletionPlan }) {
  if (!plan.transferred.length && !plan.deleted.length) return <p data-testid="deletion-plan">No threat models are owned: nothing else changes.</p>;
  return (
    <div data-testid="deletion-plan">
      {plan.transferred.length > 0 && (
        <>
          <h3>Given to another owner</h3>
          <ul>
            {plan.transferred.map((t) => (
              <li key={t.threat_model_id}>
                {t.name} → {t.new_owner_email}
              </li>
            ))}
          </ul>
        </>
      )}
      {plan.deleted.length > 0 && (
        <>
          <h3>Deleted for good (no other owner)</h3>
          <ul>
            {plan.deleted.map((t) => (
              <li key={t.threat_model_id}>{t.name}</li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** An account, found by name or e-mail as you type (the app's one picker, web/src/picker.tsx). */
export function UserPicker({ label, exclude, value, onChange }: { label: string; exclude?: string; value: AdminUser | null; onChange: (u: AdminUser | null) => void }) {
  if (value) {
    return (
      <div className="label">
        {label}
        <div className="row">
          <span data-testid="picked-user">
            {value.name} ({value.email})
          </span>
          <button className="link" onClick={() => onChange(null)}>
            change
          </button>
        </div>
      </div>
    );
  }
  return (
    <SearchPicker<AdminUser>
      label={label}
      name="user_pick"
      placeholder="Type a name or e-mail"
      search={async (q, signal) => (await admin.users({ q, active: true, limit: 8 }, signal)).users.filter((u) => u.internal_uuid !== exclude)}
      optionKey={(u) => u.internal_uuid}
      optionLabel={(u) => `${u.name} (${u.email})`}
      onPick={onChange}
    />
  );
}

function GroupsTab() {
  const [selected, setSelected] = useState<AdminGroup | null>(null);
  const [form, setForm] = useState({ group_name: '', name: '' });
  const list = useLoad((signal) => admin.groups({}, signal), []);
  const create = useAction(async () => {
    await admin.createGroup(form);
    setForm({ group_name: '', name: '' });
    list.reload();
  });
  const columns: Column<AdminGroup>[] = [
    { key: 'name', label: 'Group', cell: (g) => <button className="link" onClick={() => setSelected(g)}>{g.name ?? g.group_name}</button>, sortBy: (g) => g.group_name, ascFirst: true },
    { key: 'id', label: 'Identifier', cell: (g) => `${g.provider}:${g.group_name}` },
    { key: 'members', label: 'Members', cell: (g) => g.member_count },
    { key: 'used', label: 'Used in sharing', cell: (g) => g.usage_count },
    { key: 'kind', label: '', cell: (g) => (g.is_builtin ? 'built-in' : '') },
  ];
  return (
    <>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}
      >
        <input name="group_name" placeholder="identifier (letters, digits, - _)" value={form.group_name} onChange={(e) => setForm({ ...form, group_name: e.target.value })} />
        <input name="group_display_name" placeholder="display name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <button className="primary" disabled={!form.group_name || !form.name || create.busy}>
          New group
        </button>
      </form>
      <ErrorNote error={create.error} />
      <ListState error={list.error} loading={list.loading} loaded={list.data !== undefined} empty={list.data?.groups.length === 0} emptyText="No groups." />
      <DataTable columns={columns} rows={list.data?.groups ?? []} rowKey={(g) => g.internal_uuid} testId="admin-groups" />
      {selected && (
        <GroupDetail
          group={selected}
          onClose={() => {
            setSelected(null);
            list.reload();
          }}
        />
      )}
    </>
  );
}

function GroupDetail({ group, onClose }: { group: AdminGroup; onClose: () => void }) {
  const members = useLoad((signal) => admin.members(group.internal_uuid, signal), [group.internal_uuid]);
  const [pick, setPick] = useState<AdminUser | null>(null);
  const add = useAction(async () => {
    await admin.addMember(group.internal_uuid, pick!.internal_uuid);
    setPick(null);
    members.reload();
  });
  const remove = useAction(async (user: string) => {
    await admin.removeMember(group.internal_uuid, user);
    members.reload();
  });
  const del = useAction(async () => {
    await admin.deleteGroup(group.internal_uuid);
    onClose();
  });
  const tmiGroup = group.provider === 'tmi' && group.group_name !== 'everyone';
  return (
    <Modal title={group.name ?? group.group_name} onClose={onClose} wide>
      <div data-testid="admin-group-detail">
        <p className="muted">
          {group.provider}:{group.group_name} {group.description ? `— ${group.description}` : ''}
        </p>
        <ErrorNote error={add.error ?? remove.error ?? del.error} />
        <ul data-testid="group-members">
          {(members.data?.members ?? []).map((m) => (
            <li key={m.id}>
              {m.user_name} ({m.user_email}){' '}
              {tmiGroup && (
                <button className="link danger" onClick={() => void remove.run(m.user_internal_uuid!)}>
                  remove
                </button>
              )}
            </li>
          ))}
        </ul>
        {tmiGroup && (
          <>
            <UserPicker label="Add a member" value={pick} onChange={setPick} />
            <div className="actions">
              {!group.is_builtin && (
                <button className="danger" onClick={() => void del.run()} disabled={del.busy}>
                  Delete group
                </button>
              )}
              <button className="primary" disabled={!pick || add.busy} onClick={() => void add.run()}>
                Add member
              </button>
            </div>
          </>
        )}
      </div>
    </Modal>
  );
}

/** The kinds of system audit entries the audit page filters by, as filters of /admin/audit/system. */
const AUDIT_KINDS = {
  all: { label: 'Everything', filter: {} },
  access: { label: 'Sharing and owners of threat models', filter: { field_path: 'threat_models.' } },
  administration: { label: 'Administrative changes', filter: { path_prefix: '/admin/' } },
  self: { label: 'People\'s own transfers and account deletions', filter: { path_prefix: '/me' } },
  signins: { label: 'Administrators\' sign-ins', filter: { action: 'admin.signed_in' } },
} as const;

function AuditTab() {
  const [actor, setActor] = useState('');
  const [kind, setKind] = useState<keyof typeof AUDIT_KINDS>('all');
  const [cursor, setCursor] = useState<string | undefined>();
  const [open, setOpen] = useState<SystemAuditEntry | null>(null);
  const list = useLoad((signal) => admin.audit({ actor_email: actor.includes('@') ? actor : undefined, ...AUDIT_KINDS[kind].filter, cursor }, signal), [actor, kind, cursor]);
  const columns: Column<SystemAuditEntry>[] = [
    { key: 'when', label: 'When', cell: (e) => formatDate(e.created_at) },
    { key: 'who', label: 'Who', cell: (e) => e.actor.email || e.actor.display_name },
    { key: 'what', label: 'What', cell: (e) => <button className="link" onClick={() => setOpen(e)}>{e.change_summary ?? e.action}</button> },
    { key: 'how', label: 'Request', cell: (e) => `${e.http_method} ${e.http_path}` },
  ];
  return (
    <>
      <div className="filters">
        <input type="search" placeholder="Actor e-mail" value={actor} onChange={(e) => { setActor(e.target.value); setCursor(undefined); }} aria-label="Actor e-mail" />
        <select
          aria-label="Kind of entry"
          value={kind}
          onChange={(e) => {
            setKind(e.target.value as keyof typeof AUDIT_KINDS);
            setCursor(undefined);
          }}
        >
          {Object.entries(AUDIT_KINDS).map(([k, v]) => (
            <option key={k} value={k}>
              {v.label}
            </option>
          ))}
        </select>
        <span className="muted">{list.data ? `${list.data.total} entries` : ''}</span>
      </div>
      <ListState error={list.error} loading={list.loading} loaded={list.data !== undefined} empty={list.data?.entries.length === 0} emptyText="No entries." />
      <DataTable columns={columns} rows={list.data?.entries ?? []} rowKey={(e) => e.id} testId="admin-audit" />
      <div className="pager">
        {cursor && <button onClick={() => setCursor(undefined)}>Newest</button>}
        {list.data?.next_cursor && <button onClick={() => setCursor(list.data!.next_cursor!)}>Older</button>}
      </div>
      {open && (
        <Modal title={open.change_summary ?? open.action ?? 'Entry'} onClose={() => setOpen(null)} wide>
          <dl className="facts" data-testid="audit-detail">
            <dt>When</dt>
            <dd>{formatDate(open.created_at)}</dd>
            <dt>Who</dt>
            <dd>
              {open.actor.display_name} ({open.actor.email}, {open.actor.provider})
            </dd>
            <dt>Target</dt>
            <dd>{open.field_path}</dd>
            <dt>Before</dt>
            <dd>
              <pre>{open.old_value_redacted ?? '—'}</pre>
            </dd>
            <dt>After</dt>
            <dd>
              <pre>{open.new_value_redacted ?? '—'}</pre>
            </dd>
          </dl>
        </Modal>
      )}
    </>
  );
}

const SOURCE_LABELS: Record<string, string> = { database: 'Database', environment: 'Environment', config: 'Default', vault: 'Vault' };
/** The values the server shows instead of a secret. */
const MASKS = new Set(['<configured>', '<not configured>']);

function SettingsTab() {
  const list = useLoad((signal) => admin.settings(signal), []);
  const [editing, setEditing] = useState<SystemSetting | 'new' | null>(null);
  const [result, setResult] = useState<ReencryptResult | null>(null);
  const remove = useAction(async (key: string) => {
    await admin.deleteSetting(key);
    list.reload();
  });
  const reencrypt = useAction(async () => {
    setResult(await admin.reencryptSettings());
    list.reload();
  });
  const columns: Column<SystemSetting>[] = [
    { key: 'key', label: 'Key', cell: (s) => <code>{s.key}</code>, sortBy: (s) => s.key, ascFirst: true },
    { key: 'value', label: 'Value', cell: (s) => (MASKS.has(s.value) ? <span className="muted">{s.value}</span> : <code>{s.value}</code>) },
    { key: 'type', label: 'Type', cell: (s) => s.type },
    {
      key: 'source',
      label: 'Source',
      cell: (s) => (s.read_only ? <span title="Set in the server's environment: change it there">{SOURCE_LABELS[s.source ?? ''] ?? s.source} (read-only)</span> : SOURCE_LABELS[s.source ?? ''] ?? s.source),
    },
    { key: 'modified', label: 'Changed', cell: (s) => formatDate(s.modified_at) },
    {
      key: 'actions',
      label: '',
      cell: (s) =>
        s.read_only ? null : (
          <span className="row">
            <button className="link" onClick={() => setEditing(s)}>
              {s.source === 'database' ? 'Edit' : 'Set'}
            </button>
            {s.source === 'database' && (
              <button className="link danger" disabled={remove.busy} onClick={() => void remove.run(s.key)}>
                Delete
              </button>
            )}
          </span>
        ),
    },
  ];
  return (
    <>
      <p className="muted">
        The environment wins over the database, the database over the default. Secret values are never shown. Changes apply at once, without a restart.
      </p>
      <div className="toolbar">
        <button className="primary" onClick={() => setEditing('new')}>
          New setting
        </button>
        <button onClick={() => void reencrypt.run()} disabled={reencrypt.busy} title="Seal every stored setting with the current encryption key">
          {reencrypt.busy ? 'Re-encrypting…' : 'Re-encrypt'}
        </button>
      </div>
      <StepUpOrError error={remove.error ?? reencrypt.error} onClose={remove.error ? remove.clearError : reencrypt.clearError} />
      {result && (
        <p className={result.errors.length ? 'error' : 'ok'} data-testid="reencrypt-result">
          Re-encrypted {result.reencrypted} of {result.total} setting(s).
          {result.errors.length > 0 && ` Not opened: ${result.errors.map((e) => e.key).join(', ')}.`}
        </p>
      )}
      <ListState error={list.error} loading={list.loading} loaded={list.data !== undefined} empty={list.data?.length === 0} emptyText="No settings." />
      <DataTable columns={columns} rows={list.data ?? []} rowKey={(s) => s.key} testId="admin-settings" />
      {editing && (
        <SettingForm
          setting={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            list.reload();
          }}
        />
      )}
    </>
  );
}

function SettingForm({ setting, onClose, onSaved }: { setting: SystemSetting | null; onClose: () => void; onSaved: () => void }) {
  const masked = setting !== null && MASKS.has(setting.value);
  const [key, setKey] = useState(setting?.key ?? '');
  // A secret's value is never sent to the browser: the field starts empty and is a password field.
  const [value, setValue] = useState(setting && !masked ? setting.value : '');
  const [type, setType] = useState<SystemSetting['type']>(setting?.type ?? 'string');
  const [description, setDescription] = useState(setting?.description ?? '');
  const save = useAction(async () => {
    await admin.saveSetting(key, { value, type, ...(description ? { description } : {}) });
    onSaved();
  });
  return (
    <ModalForm title={setting ? `Setting ${setting.key}` : 'New setting'} onClose={onClose} onSubmit={() => save.run()}>
      <div data-testid="setting-form">
        <label>
          Key
          <TextInput name="setting_key" value={key} onChange={setKey} rule={SETTING_TEXT.key} hint="Lower-case letters, digits, _ and ., starting with a letter" required disabled={setting !== null} />
        </label>
        <label>
          Type
          <select name="setting_type" value={type} onChange={(e) => setType(e.target.value as SystemSetting['type'])} disabled={setting !== null && setting.source !== 'database'}>
            {SETTING_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Value{masked ? ' (secret: type a new value)' : ''}
          <TextInput name="setting_value" type={masked ? 'password' : 'text'} autoComplete="off" value={value} onChange={setValue} rule={SETTING_TEXT.value} required />
        </label>
        <label>
          Description
          <TextInput name="setting_description" value={description} onChange={setDescription} rule={SETTING_TEXT.description} multiline rows={2} />
        </label>
        {save.error !== undefined && <StepUpOrError error={save.error} onClose={save.clearError} />}
        <FormActions action={{ ...save, error: undefined }} submit="Save" onCancel={onClose} />
      </div>
    </ModalForm>
  );
}
