// One threat model: its fields (read first; the form behind Edit), sharing, and a tab for each kind
// of child (CHILD_KINDS) and for metadata. What the page offers follows what the server says the
// user may do (me.ts).
import { useState, type ReactNode } from 'react';
import type { JsonPatchDocument, Metadata } from '../../../contract/common.ts';
import type { DiagramListItem } from '../../../contract/diagrams.ts';
import { CHILD_KINDS, DIAGRAM_TEXT, FRAMEWORKS, METADATA_TEXT, THREAT_MODEL_STATUSES, THREAT_MODEL_TEXT, type ChildKind, type ChildKindName } from '../../../contract/limits.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import { assets } from '../api/assets.ts';
import { diagrams as diagramsApi } from '../api/diagrams.ts';
import { documents } from '../api/documents.ts';
import { repositories } from '../api/repositories.ts';
import { threatModels } from '../api/threat-models.ts';
import { projects } from '../api/review.ts';
import { Confirm, EnumSelect, Form, FormActions, ModalForm, TextInput, spaced, useAction } from '../forms.tsx';
import { may, usePermissions, type Permissions } from '../me.ts';
import { Link, navigate } from '../router.tsx';
import { DataTable, ListState, type Column } from '../table.tsx';
import { ErrorNote, Spinner, formatDate, useLoad } from '../ui.tsx';
import { ChildTab, ASSET_FIELDS, DOCUMENT_FIELDS, REPOSITORY_FIELDS } from './ChildTab.tsx';
import { NotesTab } from './NotesTab.tsx';
import { ThreatsTab } from './ThreatsTab.tsx';
import { OverviewTab } from './OverviewTab.tsx';
import { SharingDialog } from './SharingDialog.tsx';
import { ReportAndExport } from './Transfer.tsx';

type Tab = ChildKindName | 'metadata' | 'overview';
const TABS: readonly Tab[] = ['overview', ...CHILD_KINDS.map((k) => k.name), 'metadata'];
/** The tab a threat model opens on. */
const FIRST_TAB: Tab = 'diagrams';
const tabLabel = (t: Tab) => t[0]!.toUpperCase() + t.slice(1);

interface TabProps {
  tm: ThreatModel;
  kind: ChildKind;
  permissions: Permissions;
}

/** The tab of each kind of child; a kind added to CHILD_KINDS does not compile until it has one. */
const KIND_TABS: Record<ChildKindName, (p: TabProps) => ReactNode> = {
  threats: ({ tm, permissions }) => <ThreatsTab tm={tm} writable={may(permissions, 'write')} />,
  diagrams: ({ tm, permissions }) => <DiagramsTab tmId={tm.id} writable={may(permissions, 'write')} deletable={may(permissions, 'delete')} />,
  documents: ({ tm, kind, permissions }) => <ChildTab tmId={tm.id} collection={documents} kind={kind} fields={DOCUMENT_FIELDS} writable={may(permissions, 'write')} />,
  repositories: ({ tm, kind, permissions }) => <ChildTab tmId={tm.id} collection={repositories} kind={kind} fields={REPOSITORY_FIELDS} writable={may(permissions, 'write')} />,
  notes: ({ tm, permissions }) => <NotesTab tmId={tm.id} writable={may(permissions, 'write')} />,
  assets: ({ tm, kind, permissions }) => <ChildTab tmId={tm.id} collection={assets} kind={kind} fields={ASSET_FIELDS} writable={may(permissions, 'write')} />,
};

export default function ThreatModelPage({ id }: { id: string }) {
  const { data: tm, error, loading, reload, setData } = useLoad((signal) => threatModels.get(id, signal), [id]);
  const { data: permissions, error: permissionsError, reload: reloadPermissions } = usePermissions(id);
  const [tab, setTab] = useState<Tab>(() => (TABS.includes(location.hash.slice(1) as Tab) ? (location.hash.slice(1) as Tab) : FIRST_TAB));
  const [sharing, setSharing] = useState(false);
  const [deleting, setDeleting] = useState(false);

  if (!tm || !permissions) {
    const failure = error ?? permissionsError;
    return failure ? <ErrorNote error={failure} /> : <Spinner label="Loading the threat model…" />;
  }
  const writable = may(permissions, 'write');
  const kind = CHILD_KINDS.find((k) => k.name === tab);

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Threat models</Link> / {tm.name}
      </p>
      <ErrorNote error={error} />
      <Details tm={tm} writable={writable} statusWritable={may(permissions, 'change_status')} onSaved={setData} />
      <div className="toolbar">
        <span className="badge" data-testid="role">
          Your role: {permissions.role}
        </span>
        {!writable && <span className="muted">You can read this threat model but not change it.</span>}
        <span className="grow" />
        <ReportAndExport tmId={tm.id} />
        <button onClick={() => setSharing(true)}>{may(permissions, 'share') ? 'Share…' : 'People with access'}</button>
        {may(permissions, 'delete') && (
          <button className="danger" onClick={() => setDeleting(true)}>
            Delete…
          </button>
        )}
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
            {tabLabel(t)}
          </button>
        ))}
      </nav>
      <div className="tab-body">
        {kind ? KIND_TABS[kind.name]({ tm, kind, permissions }) : tab === 'overview' ? <OverviewTab tmId={tm.id} /> : <MetadataTab tm={tm} writable={writable} onSaved={setData} />}
      </div>
      {sharing && (
        <SharingDialog
          tm={tm}
          canShare={may(permissions, 'share')}
          onClose={() => setSharing(false)}
          onSaved={(next) => {
            setData(next);
            reload();
            // Sharing may change the user's own role (ownership transferred, own entry changed).
            reloadPermissions();
          }}
        />
      )}
      {deleting && (
        <Confirm
          title="Delete threat model"
          message={
            <>
              Delete <strong>{tm.name}</strong> with all its diagrams, threats, assets, documents and notes? This cannot be undone.
            </>
          }
          onConfirm={async () => {
            await threatModels.remove(tm.id);
            navigate('/');
          }}
          onClose={() => setDeleting(false)}
        />
      )}
    </section>
  );
}

/**
 * The model's fields, read first: name, description and the key facts as text, and for those who
 * may change them an Edit button that turns the panel into the form; Save or Cancel return to
 * reading.
 */
function Details({ tm, writable, statusWritable, onSaved }: { tm: ThreatModel; writable: boolean; statusWritable: boolean; onSaved: (tm: ThreatModel) => void }) {
  const [editing, setEditing] = useState(false);
  // After the form closes, the Edit button takes the focus back (not on the page's first load).
  const [returned, setReturned] = useState(false);
  const close = () => {
    setEditing(false);
    setReturned(true);
  };
  if (editing && writable) {
    return (
      <DetailsForm
        tm={tm}
        statusWritable={statusWritable}
        onCancel={close}
        onSaved={(next) => {
          onSaved(next);
          close();
        }}
      />
    );
  }
  return (
    <section className="details reading" data-testid="tm-details" aria-label="Threat model details">
      <div className="row">
        <h1 data-testid="tm-name">{tm.name}</h1>
        <span className="badge" data-testid="tm-status">
          {spaced(tm.status)}
        </span>
        <span className="grow" />
        {writable && (
          <button data-testid="tm-edit" title="Change the name, description, framework, status, issue link or project" autoFocus={returned} onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
      </div>
      {tm.description ? (
        <p className="description" data-testid="tm-description">
          {tm.description}
        </p>
      ) : (
        <p className="muted">No description.</p>
      )}
      <dl className="facts across">
        <dt>Framework</dt>
        <dd data-testid="tm-framework">{tm.threat_model_framework}</dd>
        <dt>Project</dt>
        <dd>{tm.project_id ? <ProjectName id={tm.project_id} /> : '—'}</dd>
        <dt>Issue</dt>
        <dd data-testid="tm-issue">
          {tm.issue_uri && /^https?:\/\//i.test(tm.issue_uri) ? (
            <a href={tm.issue_uri} target="_blank" rel="noopener noreferrer">
              {tm.issue_uri} ↗
            </a>
          ) : (
            tm.issue_uri || '—'
          )}
        </dd>
      </dl>
      <div className="meta muted">
        Owner {tm.owner.display_name} · created {formatDate(tm.created_at)} · modified {formatDate(tm.modified_at)}
      </div>
    </section>
  );
}

/** A project's name (with its team), or a note when the caller cannot see it. */
function ProjectName({ id }: { id: string }) {
  const project = useLoad((signal) => projects.get(id, signal), [id]);
  if (project.data) return <>{project.data.name}</>;
  return <span className="muted">{project.error ? 'a project you cannot see' : '…'}</span>;
}

function DetailsForm({ tm, statusWritable, onSaved, onCancel }: { tm: ThreatModel; statusWritable: boolean; onSaved: (tm: ThreatModel) => void; onCancel: () => void }) {
  const [draft, setDraft] = useState({
    name: tm.name,
    description: tm.description ?? '',
    threat_model_framework: tm.threat_model_framework,
    issue_uri: tm.issue_uri ?? '',
    status: tm.status,
    project_id: tm.project_id ?? '',
  });
  // The project picker offers the projects of the caller's teams (and keeps the current one).
  const projectList = useLoad((signal) => projects.list({ limit: 100 }, signal), []);
  const changes = (): JsonPatchDocument => {
    const ops: JsonPatchDocument = [];
    if (draft.name !== tm.name) ops.push({ op: 'replace', path: '/name', value: draft.name.trim() });
    if (draft.description !== (tm.description ?? '')) ops.push({ op: 'replace', path: '/description', value: draft.description || null });
    if (draft.threat_model_framework !== tm.threat_model_framework) ops.push({ op: 'replace', path: '/threat_model_framework', value: draft.threat_model_framework });
    if (draft.issue_uri !== (tm.issue_uri ?? '')) ops.push({ op: 'replace', path: '/issue_uri', value: draft.issue_uri.trim() || null });
    if (draft.status !== tm.status) ops.push({ op: 'replace', path: '/status', value: draft.status });
    if (draft.project_id !== (tm.project_id ?? '')) ops.push({ op: 'replace', path: '/project_id', value: draft.project_id || null });
    return ops;
  };
  const save = useAction(async () => {
    const ops = changes();
    onSaved(ops.length ? await threatModels.patch(tm.id, ops) : tm);
  });

  return (
    <Form className="details" onSubmit={save.run}>
      <fieldset data-testid="tm-details-form">
        <label className="wide">
          Name
          <TextInput name="name" value={draft.name} required autoFocus rule={THREAT_MODEL_TEXT.name} onChange={(name) => setDraft({ ...draft, name })} />
        </label>
        <label className="wide">
          Description
          <TextInput multiline name="description" rows={3} rule={THREAT_MODEL_TEXT.description} value={draft.description} onChange={(description) => setDraft({ ...draft, description })} />
        </label>
        <label>
          Framework
          <EnumSelect name="framework" options={FRAMEWORKS} value={draft.threat_model_framework} onChange={(f) => setDraft({ ...draft, threat_model_framework: f })} />
        </label>
        <label title={statusWritable ? '' : 'Only security reviewers change the status'}>
          Status
          <EnumSelect name="status" options={THREAT_MODEL_STATUSES} label={spaced} value={draft.status} disabled={!statusWritable} onChange={(status) => setDraft({ ...draft, status })} />
        </label>
        <label>
          Issue link
          <TextInput name="issue_uri" type="url" placeholder="https://…" rule={THREAT_MODEL_TEXT.issue_uri} value={draft.issue_uri} onChange={(issue_uri) => setDraft({ ...draft, issue_uri })} />
        </label>
        <label>
          Project
          <select name="project_id" value={draft.project_id} onChange={(e) => setDraft({ ...draft, project_id: e.target.value })} data-testid="project-picker">
            <option value="">(none)</option>
            {tm.project_id && !projectList.data?.projects.some((p) => p.id === tm.project_id) && <option value={tm.project_id}>Current project</option>}
            {projectList.data?.projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.team_name ? `${p.team_name} / ` : ''}
                {p.name}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      <FormActions action={save} submit="Save changes" onCancel={onCancel} dismissible />
    </Form>
  );
}

function DiagramsTab({ tmId, writable, deletable }: { tmId: string; writable: boolean; deletable: boolean }) {
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
            {deletable && (
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
