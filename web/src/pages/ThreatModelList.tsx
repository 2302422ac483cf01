// Threat models: search, filters (status, owner), sort, pagination, counts; create, open, delete.
import { useMemo, useState } from 'react';
import { api, query } from '../api/client.ts';
import { FRAMEWORKS, TM_STATUSES, type ThreatModel, type TMListItem } from '../api/types.ts';
import { Link, navigate } from '../router.tsx';
import { Confirm, ErrorNote, Modal, Spinner, formatDate, useLoad } from '../ui.tsx';
import { useMe } from '../me.ts';

const PAGE_SIZE = 20;
type SortKey = 'name' | 'modified_at' | 'created_at' | 'threat_count' | 'status';

export function ThreatModelList() {
  const me = useMe();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [mine, setMine] = useState(false);
  const [owner, setOwner] = useState('');
  const [offset, setOffset] = useState(0);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'modified_at', desc: true });
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<TMListItem>();

  const { data, error, loading, reload } = useLoad(
    (signal) =>
      api.get<{ threat_models: TMListItem[]; total: number }>(
        `/threat_models${query({ name: search.trim(), status, owner: mine ? me.email : owner.trim() || undefined, limit: PAGE_SIZE, offset })}`,
        signal,
      ),
    [search, status, mine, owner, offset],
  );

  // The API has no sort parameter: the current page is sorted here.
  const rows = useMemo(() => {
    const list = [...(data?.threat_models ?? [])];
    list.sort((a, b) => {
      const x = a[sort.key];
      const y = b[sort.key];
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sort.desc ? -c : c;
    });
    return list;
  }, [data, sort]);

  const header = (key: SortKey, label: string) => (
    <th>
      <button className="link sort" onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : key !== 'name' }))}>
        {label} {sort.key === key ? (sort.desc ? '▼' : '▲') : ''}
      </button>
    </th>
  );
  const total = data?.total ?? 0;

  return (
    <section>
      <div className="toolbar">
        <h1>Threat models</h1>
        <span className="grow" />
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
        <select aria-label="Status" value={status} onChange={(e) => (setStatus(e.target.value), setOffset(0))}>
          <option value="">Any status</option>
          {TM_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace(/_/g, ' ')}
            </option>
          ))}
        </select>
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
      <ErrorNote error={error} />
      {loading && !data && <Spinner />}
      {data && rows.length === 0 && <p className="empty">No threat models{search || status || mine || owner ? ' match these filters' : ' yet: create the first one'}.</p>}
      {rows.length > 0 && (
        <table className="grid" data-testid="tm-list">
          <thead>
            <tr>
              {header('name', 'Name')}
              {header('status', 'Status')}
              <th>Owner</th>
              <th>Framework</th>
              {header('threat_count', 'Threats')}
              <th title="Diagrams / assets / documents / notes / repositories">Contents</th>
              {header('modified_at', 'Modified')}
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((tm) => (
              <tr key={tm.id}>
                <td>
                  <Link to={`/tm/${tm.id}`}>{tm.name}</Link>
                  {tm.description && <div className="muted clip">{tm.description}</div>}
                </td>
                <td>{tm.status.replace(/_/g, ' ')}</td>
                <td>{tm.owner.display_name}</td>
                <td>{tm.threat_model_framework}</td>
                <td className="num">{tm.threat_count}</td>
                <td className="muted">
                  {tm.diagram_count} diagrams · {tm.asset_count} assets · {tm.document_count} docs · {tm.note_count} notes · {tm.repo_count} repos
                </td>
                <td>{formatDate(tm.modified_at)}</td>
                <td>
                  {tm.owner.provider_id === me.provider_id && tm.owner.provider === me.provider && (
                    <button className="link danger" onClick={() => setDeleting(tm)} aria-label={`Delete ${tm.name}`}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
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
      {deleting && (
        <Confirm
          title="Delete threat model"
          message={
            <>
              Delete <strong>{deleting.name}</strong> with all its diagrams, threats, assets, documents and notes? This cannot be undone.
            </>
          }
          onConfirm={async () => {
            await api.del(`/threat_models/${deleting.id}`);
            reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </section>
  );
}

function CreateThreatModel({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [framework, setFramework] = useState<string>('STRIDE');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <Modal title="New threat model" onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            const tm = await api.post<ThreatModel>('/threat_models', {
              name: name.trim(),
              ...(description.trim() ? { description: description.trim() } : {}),
              threat_model_framework: framework,
            });
            navigate(`/tm/${tm.id}`);
          } catch (err) {
            setError(err);
            setBusy(false);
          }
        }}
      >
        <label>
          Name
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={256} />
        </label>
        <label>
          Description
          <textarea name="description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2048} rows={3} />
        </label>
        <label>
          Framework
          <select name="framework" value={framework} onChange={(e) => setFramework(e.target.value)}>
            {FRAMEWORKS.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
        <ErrorNote error={error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
