// Threat models: search, filters (status, owner), sort, pagination, counts; create and open.
// Deleting is on a threat model's page, which knows what the user may do with it.
import { useState } from 'react';
import { CHILD_KINDS, FRAMEWORKS, THREAT_MODEL_STATUSES, THREAT_MODEL_TEXT } from '../../../contract/limits.ts';
import type { TMListItem } from '../../../contract/threat-models.ts';
import { threatModels } from '../api/threat-models.ts';
import { EnumSelect, FormActions, ModalForm, TextInput, spaced, useAction } from '../forms.tsx';
import { useMe } from '../me.ts';
import { Link, navigate } from '../router.tsx';
import { DataTable, ListState, type Column } from '../table.tsx';
import { formatDate, useLoad } from '../ui.tsx';
import { ImportDialog } from './Transfer.tsx';

const PAGE_SIZE = 20;
/** The kinds the Contents column counts (threats have a column of their own). */
const CONTENTS = CHILD_KINDS.filter((k) => k.name !== 'threats');

export function ThreatModelList() {
  const me = useMe();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [mine, setMine] = useState(false);
  const [owner, setOwner] = useState('');
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);

  const { data, error, loading } = useLoad(
    (signal) => threatModels.list({ name: search.trim(), status, owner: mine ? me.email : owner.trim() || undefined, limit: PAGE_SIZE, offset }, signal),
    [search, status, mine, owner, offset],
  );
  const rows = data?.threat_models ?? [];
  const total = data?.total ?? 0;

  // The API has no sort parameter: the table sorts the current page.
  const columns: Column<TMListItem>[] = [
    {
      key: 'name',
      label: 'Name',
      sortBy: (tm) => tm.name,
      ascFirst: true,
      cell: (tm) => (
        <>
          <Link to={`/tm/${tm.id}`}>{tm.name}</Link>
          {tm.description && <div className="muted clip">{tm.description}</div>}
        </>
      ),
    },
    { key: 'status', label: 'Status', sortBy: (tm) => tm.status, cell: (tm) => spaced(tm.status) },
    { key: 'owner', label: 'Owner', cell: (tm) => tm.owner.display_name },
    { key: 'framework', label: 'Framework', cell: (tm) => tm.threat_model_framework },
    { key: 'threat_count', label: 'Threats', sortBy: (tm) => tm.threat_count, className: 'num', cell: (tm) => tm.threat_count },
    {
      key: 'contents',
      label: 'Contents',
      title: CONTENTS.map((k) => k.name).join(' / '),
      className: 'muted',
      cell: (tm) => CONTENTS.map((k) => `${tm[k.count]} ${k.name}`).join(' · '),
    },
    { key: 'modified_at', label: 'Modified', sortBy: (tm) => tm.modified_at, cell: (tm) => formatDate(tm.modified_at) },
  ];

  return (
    <section>
      <div className="toolbar">
        <h1>Threat models</h1>
        <span className="grow" />
        <button onClick={() => setImporting(true)}>Import…</button>
        <button className="primary" onClick={() => setCreating(true)}>
          New threat model
        </button>
      </div>
      <div className="filters">
        <input
          type="search"
          placeholder="Search by name"
          aria-label="Search by name"
          value={search}
          onChange={(e) => {
            setSearch(e.target.value);
            setOffset(0);
          }}
        />
        <EnumSelect aria-label="Status" options={THREAT_MODEL_STATUSES} label={spaced} none="Any status" value={status} onChange={(v) => (setStatus(v), setOffset(0))} />
        <input
          type="search"
          placeholder="Owner (name or email)"
          aria-label="Owner"
          value={owner}
          disabled={mine}
          onChange={(e) => {
            setOwner(e.target.value);
            setOffset(0);
          }}
        />
        <label className="inline">
          <input type="checkbox" checked={mine} onChange={(e) => (setMine(e.target.checked), setOffset(0))} /> Owned by me
        </label>
      </div>
      <ListState
        error={error}
        loading={loading}
        loaded={!!data}
        empty={rows.length === 0}
        emptyText={`No threat models${search || status || mine || owner ? ' match these filters' : ' yet: create the first one'}.`}
      />
      <DataTable columns={columns} rows={rows} rowKey={(tm) => tm.id} initialSort={{ key: 'modified_at', desc: true }} testId="tm-list" />
      {total > PAGE_SIZE && (
        <div className="pager">
          <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            Previous
          </button>
          <span>
            {offset + 1}–{Math.min(offset + PAGE_SIZE, total)} of {total}
          </span>
          <button disabled={offset + PAGE_SIZE >= total} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </button>
        </div>
      )}
      {total > 0 && total <= PAGE_SIZE && <p className="muted">{total} threat model{total === 1 ? '' : 's'}</p>}
      {creating && <CreateThreatModel onClose={() => setCreating(false)} />}
      {importing && <ImportDialog onClose={() => setImporting(false)} />}
    </section>
  );
}

function CreateThreatModel({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [framework, setFramework] = useState<string>(FRAMEWORKS[0]);
  const create = useAction(async () => {
    const tm = await threatModels.create({
      name: name.trim(),
      ...(description.trim() ? { description: description.trim() } : {}),
      threat_model_framework: framework,
    });
    navigate(`/tm/${tm.id}`);
  });
  return (
    <ModalForm title="New threat model" onClose={onClose} onSubmit={create.run}>
      <label>
        Name
        <TextInput name="name" value={name} onChange={setName} required rule={THREAT_MODEL_TEXT.name} />
      </label>
      <label>
        Description
        <TextInput multiline name="description" value={description} onChange={setDescription} rule={THREAT_MODEL_TEXT.description} rows={3} />
      </label>
      <label>
        Framework
        <EnumSelect name="framework" options={FRAMEWORKS} value={framework} onChange={setFramework} />
      </label>
      <FormActions action={create} submit="Create" busyLabel="Creating…" onCancel={onClose} />
    </ModalForm>
  );
}
