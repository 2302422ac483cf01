// One threat model: its fields, sharing, and tabs for diagrams, threats, assets, documents, notes,
// repositories and metadata. Readers see everything read-only.
import { useState } from 'react';
import type { JsonPatchDocument, Metadata } from '../../../contract/common.ts';
import type { DiagramListItem } from '../../../contract/diagrams.ts';
import { DIAGRAM_TEXT, FRAMEWORKS, METADATA_TEXT, THREAT_MODEL_STATUSES, THREAT_MODEL_TEXT } from '../../../contract/limits.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import { assets } from '../api/assets.ts';
import { diagrams as diagramsApi } from '../api/diagrams.ts';
import { documents } from '../api/documents.ts';
import { repositories } from '../api/repositories.ts';
import { threatModels } from '../api/threat-models.ts';
import { Confirm, EnumSelect, Form, FormActions, ModalForm, TextInput, spaced, useAction } from '../forms.tsx';
import { canWrite, roleOn, useMe } from '../me.ts';
import { Link, navigate } from '../router.tsx';
import { DataTable, ListState, type Column } from '../table.tsx';
import { ErrorNote, Spinner, formatDate, useLoad } from '../ui.tsx';
import { ChildTab, ASSET_FIELDS, DOCUMENT_FIELDS, REPOSITORY_FIELDS } from './ChildTab.tsx';
import { NotesTab } from './NotesTab.tsx';
import { ThreatsTab } from './ThreatsTab.tsx';
import { SharingDialog } from './SharingDialog.tsx';

const TABS = ['diagrams', 'threats', 'assets', 'documents', 'notes', 'repositories', 'metadata'] as const;
type Tab = (typeof TABS)[number];

export default function ThreatModelPage({ id }: { id: string }) {
  const me = useMe();
  const { data: tm, error, loading, reload, setData } = useLoad((signal) => threatModels.get(id, signal), [id]);
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
        {tab === 'assets' && <ChildTab tmId={id} collection={assets} kind="assets" singular="asset" fields={ASSET_FIELDS} writable={writable} />}
        {tab === 'documents' && <ChildTab tmId={id} collection={documents} kind="documents" singular="document" fields={DOCUMENT_FIELDS} writable={writable} />}
        {tab === 'notes' && <NotesTab tmId={id} writable={writable} />}
        {tab === 'repositories' && <ChildTab tmId={id} collection={repositories} kind="repositories" singular="repository" fields={REPOSITORY_FIELDS} writable={writable} />}
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
  const changes = (): JsonPatchDocument => {
    const ops: JsonPatchDocument = [];
    if (draft.name !== tm.name) ops.push({ op: 'replace', path: '/name', value: draft.name.trim() });
    if (draft.description !== (tm.description ?? '')) ops.push({ op: 'replace', path: '/description', value: draft.description || null });
    if (draft.threat_model_framework !== tm.threat_model_framework) ops.push({ op: 'replace', path: '/threat_model_framework', value: draft.threat_model_framework });
    if (draft.issue_uri !== (tm.issue_uri ?? '')) ops.push({ op: 'replace', path: '/issue_uri', value: draft.issue_uri.trim() || null });
    if (draft.status !== tm.status) ops.push({ op: 'replace', path: '/status', value: draft.status });
    return ops;
  };
  const save = useAction(async () => onSaved(await threatModels.patch(tm.id, changes())));

  return (
    <Form className="details" onSubmit={save.run}>
      <fieldset disabled={!writable}>
        <label className="wide">
          Name
          <TextInput name="name" value={draft.name} required rule={THREAT_MODEL_TEXT.name} onChange={(name) => setDraft({ ...draft, name })} />
        </label>
        <label className="wide">
          Description
          <TextInput multiline name="description" rows={2} rule={THREAT_MODEL_TEXT.description} value={draft.description} onChange={(description) => setDraft({ ...draft, description })} />
        </label>
        <label>
          Framework
          <EnumSelect name="framework" options={FRAMEWORKS} value={draft.threat_model_framework} onChange={(f) => setDraft({ ...draft, threat_model_framework: f })} />
        </label>
        <label title={reviewer ? '' : 'Only security reviewers change the status'}>
          Status
          <EnumSelect name="status" options={THREAT_MODEL_STATUSES} label={spaced} value={draft.status} disabled={!reviewer} onChange={(status) => setDraft({ ...draft, status })} />
        </label>
        <label>
          Issue link
          <TextInput name="issue_uri" type="url" placeholder="https://…" rule={THREAT_MODEL_TEXT.issue_uri} value={draft.issue_uri} onChange={(issue_uri) => setDraft({ ...draft, issue_uri })} />
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
      <FormActions action={save} submit="Save changes" writable={writable} disabled={changes().length === 0} dismissible savedNote />
    </Form>
  );
}

function DiagramsTab({ tmId, writable }: { tmId: string; writable: boolean }) {
  const { data, error, loading, reload } = useLoad((signal) => diagramsApi.list(tmId, signal), [tmId]);
  const diagrams = data ?? [];
  const [name, setName] = useState('');
  const [deleting, setDeleting] = useState<DiagramListItem>();
  const create = useAction(async () => {
    const d = await diagramsApi.create(tmId, name.trim());
    navigate(`/tm/${tmId}/dfd/${d.id}`);
  });
  return (
    <div>
      <ListState error={error ?? create.error} onDismiss={create.clearError} loading={loading} loaded={!!data} empty={diagrams.length === 0} emptyText="No diagrams yet." />
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
        <Form className="inline-form" onSubmit={create.run}>
          <TextInput name="diagram_name" placeholder="New diagram name" value={name} onChange={setName} required rule={DIAGRAM_TEXT.create_name} />
          <button type="submit" className="primary" disabled={create.busy}>
            Create diagram
          </button>
        </Form>
      )}
      {deleting && (
        <Confirm
          title="Delete diagram"
          message={`Delete the diagram "${deleting.name}"? This cannot be undone.`}
          onConfirm={async () => {
            await diagramsApi.remove(tmId, deleting.id);
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
  const [editing, setEditing] = useState<Metadata>();
  const persist = async (metadata: Metadata[]) => onSaved(await threatModels.patch(tm.id, [{ op: 'replace', path: '/metadata', value: metadata }]));
  const save = useAction(persist);
  const columns: Column<Metadata>[] = [
    { key: 'key', label: 'Key', cell: (m) => m.key },
    { key: 'value', label: 'Value', cell: (m) => m.value },
    {
      key: 'actions',
      label: '',
      cell: (m) =>
        writable && (
          <>
            <button className="link" onClick={() => setEditing(m)}>
              Edit
            </button>{' '}
            <button className="link danger" onClick={() => void save.run(tm.metadata.filter((x) => x.key !== m.key))}>
              Delete
            </button>
          </>
        ),
    },
  ];
  return (
    <div>
      <ListState error={save.error} onDismiss={save.clearError} loading={false} loaded empty={tm.metadata.length === 0} emptyText="No metadata." />
      <DataTable columns={columns} rows={tm.metadata} rowKey={(m) => m.key} />
      {writable && (
        <Form
          className="inline-form"
          onSubmit={async () => {
            if (await save.run([...tm.metadata.filter((m) => m.key !== key.trim()), { key: key.trim(), value }])) {
              setKey('');
              setValue('');
            }
          }}
        >
          <TextInput placeholder="key" aria-label="Metadata key" value={key} onChange={setKey} required rule={METADATA_TEXT.key} />
          <TextInput placeholder="value" aria-label="Metadata value" value={value} onChange={setValue} required rule={METADATA_TEXT.value} />
          <button type="submit" className="primary">
            Add
          </button>
        </Form>
      )}
      {editing && (
        <MetadataEdit entry={editing} onClose={() => setEditing(undefined)} onSave={(v) => persist(tm.metadata.map((m) => (m.key === editing.key ? { key: m.key, value: v } : m)))} />
      )}
    </div>
  );
}

function MetadataEdit({ entry, onClose, onSave }: { entry: Metadata; onClose: () => void; onSave: (value: string) => Promise<void> }) {
  const [value, setValue] = useState(entry.value);
  const save = useAction(async () => {
    await onSave(value);
    onClose();
  });
  return (
    <ModalForm title={`Edit ${entry.key}`} onClose={onClose} onSubmit={save.run}>
      <label>
        Value
        <TextInput value={value} onChange={setValue} required rule={METADATA_TEXT.value} />
      </label>
      <FormActions action={save} submit="Save" onCancel={onClose} />
    </ModalForm>
  );
}
