// One threat model: its fields, sharing, and tabs for diagrams, threats, assets, documents, notes,
// repositories and metadata. Readers see everything read-only.
import { useState } from 'react';
import { api, type JsonPatchOp } from '../api/client.ts';
import { FRAMEWORKS, TM_STATUSES, type DiagramSummary, type Metadata, type ThreatModel } from '../api/types.ts';
import { canWrite, roleOn, useMe } from '../me.ts';
import { Link, navigate } from '../router.tsx';
import { Confirm, ErrorNote, Modal, Spinner, formatDate, useLoad } from '../ui.tsx';
import { ChildTab, ASSET_FIELDS, DOCUMENT_FIELDS, REPOSITORY_FIELDS } from './ChildTab.tsx';
import { NotesTab } from './NotesTab.tsx';
import { ThreatsTab } from './ThreatsTab.tsx';
import { SharingDialog } from './SharingDialog.tsx';

const TABS = ['diagrams', 'threats', 'assets', 'documents', 'notes', 'repositories', 'metadata'] as const;
type Tab = (typeof TABS)[number];

export default function ThreatModelPage({ id }: { id: string }) {
  const me = useMe();
  const { data: tm, error, loading, reload, setData } = useLoad((signal) => api.get<ThreatModel>(`/threat_models/${id}`, signal), [id]);
  const [tab, setTab] = useState<Tab>(() => (TABS.includes(location.hash.slice(1) as Tab) ? (location.hash.slice(1) as Tab) : 'diagrams'));
  const [sharing, setSharing] = useState(false);

  if (loading && !tm) return <Spinner label="Loading the threat model…" />;
  if (!tm) return <ErrorNote error={error} />;
  const role = roleOn(tm, me);
  const writable = canWrite(role);

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Threat models</Link> / {tm.name}
      </p>
      <ErrorNote error={error} />
      <Details tm={tm} writable={writable} reviewer={me.is_security_reviewer} onSaved={setData} />
      <div className="toolbar">
        <span className="badge" data-testid="role">
          Your role: {role ?? 'none'}
        </span>
        {!writable && <span className="muted">You can read this threat model but not change it.</span>}
        <span className="grow" />
        <button onClick={() => setSharing(true)}>{role === 'owner' ? 'Share…' : 'People with access'}</button>
      </div>
      <nav className="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            key={t}
            role="tab"
            aria-selected={tab === t}
            className={tab === t ? 'active' : ''}
            onClick={() => {
              setTab(t);
              history.replaceState(null, '', `#${t}`);
            }}
          >
            {t[0]!.toUpperCase() + t.slice(1)}
          </button>
        ))}
      </nav>
      <div className="tab-body">
        {tab === 'diagrams' && <DiagramsTab tmId={id} writable={writable} />}
        {tab === 'threats' && <ThreatsTab tm={tm} writable={writable} />}
        {tab === 'assets' && <ChildTab tmId={id} kind="assets" singular="asset" fields={ASSET_FIELDS} writable={writable} />}
        {tab === 'documents' && <ChildTab tmId={id} kind="documents" singular="document" fields={DOCUMENT_FIELDS} writable={writable} />}
        {tab === 'notes' && <NotesTab tmId={id} writable={writable} />}
        {tab === 'repositories' && <ChildTab tmId={id} kind="repositories" singular="repository" fields={REPOSITORY_FIELDS} writable={writable} />}
        {tab === 'metadata' && <MetadataTab tm={tm} writable={writable} onSaved={setData} />}
      </div>
      {sharing && (
        <SharingDialog
          tm={tm}
          isOwner={role === 'owner'}
          onClose={() => setSharing(false)}
          onSaved={(next) => {
            setData(next);
            reload();
          }}
        />
      )}
    </section>
  );
}

function Details({ tm, writable, reviewer, onSaved }: { tm: ThreatModel; writable: boolean; reviewer: boolean; onSaved: (tm: ThreatModel) => void }) {
  const [draft, setDraft] = useState({
    name: tm.name,
    description: tm.description ?? '',
    threat_model_framework: tm.threat_model_framework,
    issue_uri: tm.issue_uri ?? '',
    status: tm.status,
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const dirty =
    draft.name !== tm.name ||
    draft.description !== (tm.description ?? '') ||
    draft.threat_model_framework !== tm.threat_model_framework ||
    draft.issue_uri !== (tm.issue_uri ?? '') ||
    draft.status !== tm.status;

  const save = async () => {
    const ops: JsonPatchOp[] = [];
    if (draft.name !== tm.name) ops.push({ op: 'replace', path: '/name', value: draft.name.trim() });
    if (draft.description !== (tm.description ?? '')) ops.push({ op: 'replace', path: '/description', value: draft.description || null });
    if (draft.threat_model_framework !== tm.threat_model_framework) ops.push({ op: 'replace', path: '/threat_model_framework', value: draft.threat_model_framework });
    if (draft.issue_uri !== (tm.issue_uri ?? '')) ops.push({ op: 'replace', path: '/issue_uri', value: draft.issue_uri.trim() || null });
    if (draft.status !== tm.status) ops.push({ op: 'replace', path: '/status', value: draft.status });
    setBusy(true);
    setError(undefined);
    try {
      onSaved(await api.patch<ThreatModel>(`/threat_models/${tm.id}`, ops));
      setSaved(true);
      setTimeout(() => setSaved(false), 2000);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="details"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <fieldset disabled={!writable}>
        <label className="wide">
          Name
          <input name="name" value={draft.name} required maxLength={256} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </label>
        <label className="wide">
          Description
          <textarea name="description" rows={2} maxLength={2048} value={draft.description} onChange={(e) => setDraft({ ...draft, description: e.target.value })} />
        </label>
        <label>
          Framework
          <select name="framework" value={draft.threat_model_framework} onChange={(e) => setDraft({ ...draft, threat_model_framework: e.target.value })}>
            {FRAMEWORKS.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
        <label title={reviewer ? '' : 'Only security reviewers change the status'}>
          Status
          <select name="status" value={draft.status} disabled={!reviewer} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
            {[...new Set([draft.status, ...TM_STATUSES])].map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Issue link
          <input name="issue_uri" type="url" placeholder="https://…" value={draft.issue_uri} maxLength={1000} onChange={(e) => setDraft({ ...draft, issue_uri: e.target.value })} />
        </label>
        {tm.issue_uri && /^https?:\/\//i.test(tm.issue_uri) && (
          <a className="issue-link" href={tm.issue_uri} target="_blank" rel="noopener noreferrer">
            Open issue ↗
          </a>
        )}
      </fieldset>
      <div className="meta muted">
        Owner {tm.owner.display_name} · created {formatDate(tm.created_at)} · modified {formatDate(tm.modified_at)}
      </div>
      <ErrorNote error={error} onClose={() => setError(undefined)} />
      {writable && (
        <div className="actions">
          {saved && <span className="ok">Saved</span>}
          <button type="submit" className="primary" disabled={!dirty || busy}>
            {busy ? 'Saving…' : 'Save changes'}
          </button>
        </div>
      )}
    </form>
  );
}

function DiagramsTab({ tmId, writable }: { tmId: string; writable: boolean }) {
  const { data, error, loading, reload } = useLoad(
    (signal) => api.get<{ diagrams: DiagramSummary[] } | DiagramSummary[]>(`/threat_models/${tmId}/diagrams?limit=100`, signal),
    [tmId],
  );
  const diagrams = Array.isArray(data) ? data : (data?.diagrams ?? []);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const [deleting, setDeleting] = useState<DiagramSummary>();
  return (
    <div>
      <ErrorNote error={error ?? failure} onClose={() => setFailure(undefined)} />
      {loading && !data && <Spinner />}
      {data && diagrams.length === 0 && <p className="empty">No diagrams yet.</p>}
      <ul className="cards">
        {diagrams.map((d) => (
          <li key={d.id} className="card">
            <Link to={`/tm/${tmId}/dfd/${d.id}`}>{d.name}</Link>
            <div className="muted">
              {d.type} · modified {formatDate(d.modified_at)}
            </div>
            {writable && (
              <button className="link danger" onClick={() => setDeleting(d)}>
                Delete
              </button>
            )}
          </li>
        ))}
      </ul>
      {writable && (
        <form
          className="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            try {
              const d = await api.post<DiagramSummary>(`/threat_models/${tmId}/diagrams`, { name: name.trim(), type: 'DFD-1.0.0' });
              navigate(`/tm/${tmId}/dfd/${d.id}`);
            } catch (err) {
              setFailure(err);
              setBusy(false);
            }
          }}
        >
          <input name="diagram_name" placeholder="New diagram name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={256} />
          <button type="submit" className="primary" disabled={busy}>
            Create diagram
          </button>
        </form>
      )}
      {deleting && (
        <Confirm
          title="Delete diagram"
          message={`Delete the diagram "${deleting.name}"? This cannot be undone.`}
          onConfirm={async () => {
            await api.del(`/threat_models/${tmId}/diagrams/${deleting.id}`);
            reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </div>
  );
}

function MetadataTab({ tm, writable, onSaved }: { tm: ThreatModel; writable: boolean; onSaved: (tm: ThreatModel) => void }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();
  const [editing, setEditing] = useState<Metadata>();
  const save = async (metadata: Metadata[]) => {
    try {
      onSaved(await api.patch<ThreatModel>(`/threat_models/${tm.id}`, [{ op: 'replace', path: '/metadata', value: metadata }]));
      setError(undefined);
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  return (
    <div>
      <ErrorNote error={error} onClose={() => setError(undefined)} />
      {tm.metadata.length === 0 && <p className="empty">No metadata.</p>}
      {tm.metadata.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th>Key</th>
              <th>Value</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tm.metadata.map((m) => (
              <tr key={m.key}>
                <td>{m.key}</td>
                <td>{m.value}</td>
                <td>
                  {writable && (
                    <>
                      <button className="link" onClick={() => setEditing(m)}>
                        Edit
                      </button>{' '}
                      <button className="link danger" onClick={() => void save(tm.metadata.filter((x) => x.key !== m.key))}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {writable && (
        <form
          className="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await save([...tm.metadata.filter((m) => m.key !== key.trim()), { key: key.trim(), value }])) {
              setKey('');
              setValue('');
            }
          }}
        >
          <input placeholder="key" aria-label="Metadata key" value={key} onChange={(e) => setKey(e.target.value)} required pattern="[a-zA-Z0-9_./:-]+" maxLength={256} />
          <input placeholder="value" aria-label="Metadata value" value={value} onChange={(e) => setValue(e.target.value)} required maxLength={1024} />
          <button type="submit" className="primary">
            Add
          </button>
        </form>
      )}
      {editing && (
        <MetadataEdit
          entry={editing}
          onClose={() => setEditing(undefined)}
          onSave={(v) => save(tm.metadata.map((m) => (m.key === editing.key ? { key: m.key, value: v } : m)))}
        />
      )}
    </div>
  );
}

function MetadataEdit({ entry, onClose, onSave }: { entry: Metadata; onClose: () => void; onSave: (value: string) => Promise<boolean> }) {
  const [value, setValue] = useState(entry.value);
  return (
    <Modal title={`Edit ${entry.key}`} onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (await onSave(value)) onClose();
        }}
      >
        <label>
          Value
          <input value={value} onChange={(e) => setValue(e.target.value)} required maxLength={1024} />
        </label>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
