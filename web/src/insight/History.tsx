// The audit trail in the app: a model's history (/tm/{id}/history) and one object's (on its page),
// each entry with the recorded before/after of its fields, rollback to that state and restore of
// deleted objects, both behind a confirmation.
import { useState } from 'react';
import type { AuditEntry, ListAuditTrailResponse, ListThreatModelAuditTrailResponse } from '../../../contract/audit.ts';
import { CHILD_KINDS, type ChildKindName } from '../../../contract/limits.ts';
import { api, query, url } from '../api/client.ts';
import { Confirm } from '../forms.tsx';
import { usePermissions, may } from '../me.ts';
import { Link } from '../router.tsx';
import { ErrorNote, Spinner, formatDate, useLoad } from '../ui.tsx';

type State = Record<string, unknown> | null;
interface Diff {
  entry: AuditEntry;
  before: State;
  after: State;
}

/** Fields that change on every write and say nothing about the content. */
const NOISE = new Set(['modified_at', 'version', 'update_vector']);
const show = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

/** The fields that differ between two recorded states, in a stable order. */
export function changedFields(before: State, after: State): { field: string; before: unknown; after: unknown }[] {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].filter((k) => !NOISE.has(k)).sort();
  return keys.filter((k) => JSON.stringify(before?.[k]) !== JSON.stringify(after?.[k])).map((k) => ({ field: k, before: before?.[k], after: after?.[k] }));
}

const kindOf = (objectType: string) => CHILD_KINDS.find((k) => k.objectType === objectType);

function EntryDiff({ tmId, entryId }: { tmId: string; entryId: string }) {
  const { data, error, loading } = useLoad((signal) => api.get<Diff>(url`/threat_models/${tmId}/audit_trail/${entryId}/diff`, signal), [tmId, entryId]);
  if (loading && !data) return <Spinner label="Loading the change…" />;
  if (!data) return <ErrorNote error={error} />;
  const rows = changedFields(data.before, data.after);
  if (!rows.length) return <p className="muted small">No recorded field changed (or the earlier state was not recorded).</p>;
  return (
    <table className="diff" data-testid="audit-diff">
      <thead>
        <tr>
          <th>Field</th>
          <th>Before</th>
          <th>After</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.field} data-field={r.field}>
            <th>{r.field}</th>
            <td className="before">
              <code>{show(r.before).slice(0, 2000)}</code>
            </td>
            <td className="after">
              <code>{show(r.after).slice(0, 2000)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EntryRow({ tmId, e, writable, onChanged, showObject }: { tmId: string; e: AuditEntry; writable: boolean; onChanged: () => void; showObject: boolean }) {
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState<'rollback' | 'restore'>();
  const kind = kindOf(e.object_type);
  const objectLink =
    e.object_type === 'threat' ? `/tm/${tmId}/threats/${e.object_id}` : e.object_type === 'diagram' ? `/tm/${tmId}/dfd/${e.object_id}` : e.object_type === 'threat_model' ? `/tm/${tmId}` : undefined;
  return (
    <li data-testid="audit-entry" data-change={e.change_type} data-object-type={e.object_type} data-entry-id={e.id}>
      <div>
        <strong>{e.change_type.replace('_', ' ')}</strong> {showObject && <>{objectLink && e.change_type !== 'deleted' ? <Link to={objectLink}>{e.object_type.replace('_', ' ')}</Link> : e.object_type.replace('_', ' ')} </>}
        {e.version !== null && <small className="muted">v{e.version} </small>}· {formatDate(e.created_at)} · {e.actor.display_name || e.actor.email}
        {e.change_summary && <small className="muted"> · {e.change_summary}</small>}
      </div>
      <div className="row-actions">
        <button className="link" onClick={() => setOpen((o) => !o)}>
          {open ? 'Hide changes' : 'Show changes'}
        </button>
        {writable && e.change_type !== 'deleted' && e.version !== null && (
          <button className="link" onClick={() => setConfirm('rollback')}>
            Roll back to this version…
          </button>
        )}
        {writable && e.change_type === 'deleted' && kind && (
          <button className="link" onClick={() => setConfirm('restore')}>
            Restore…
          </button>
        )}
      </div>
      {open && <EntryDiff tmId={tmId} entryId={e.id} />}
      {confirm === 'rollback' && (
        <Confirm
          title="Roll back"
          action="Roll back"
          message={`Put this ${e.object_type.replace('_', ' ')} back to its state as of ${formatDate(e.created_at)}? The current state stays in the history.`}
          onClose={() => setConfirm(undefined)}
          onConfirm={async () => {
            await api.post(url`/threat_models/${tmId}/audit_trail/${e.id}/rollback`);
            onChanged();
          }}
        />
      )}
      {confirm === 'restore' && kind && (
        <Confirm
          title="Restore"
          action="Restore"
          message={`Restore this deleted ${kind.label.toLowerCase()}?`}
          onClose={() => setConfirm(undefined)}
          onConfirm={async () => {
            await api.post(`${url`/threat_models/${tmId}`}/${kind.name}${url`/${e.object_id}`}/restore`);
            onChanged();
          }}
        />
      )}
    </li>
  );
}

export function ObjectHistory({ tmId, kind, objectId, writable, onRolledBack }: { tmId: string; kind: ChildKindName; objectId: string; writable: boolean; onRolledBack: () => void }) {
  const { data, error, loading, reload } = useLoad(
    (signal) => api.get<ListAuditTrailResponse>(`${url`/threat_models/${tmId}`}/${kind}${url`/${objectId}/audit_trail`}${query({ limit: 50 })}`, signal),
    [tmId, kind, objectId],
  );
  if (loading && !data) return <Spinner label="Loading the history…" />;
  if (!data) return <ErrorNote error={error} />;
  return (
    <ul className="audit" data-testid="object-history">
      {data.audit_entries.map((e) => (
        <EntryRow
          key={e.id}
          tmId={tmId}
          e={e}
          writable={writable}
          showObject={false}
          onChanged={() => {
            reload();
            onRolledBack();
          }}
        />
      ))}
    </ul>
  );
}

export default function ModelHistoryPage({ tmId }: { tmId: string }) {
  const [objectType, setObjectType] = useState('');
  const [cursor, setCursor] = useState<string>();
  const { data: permissions } = usePermissions(tmId);
  const { data, error, loading, reload } = useLoad(
    (signal) => api.get<ListThreatModelAuditTrailResponse>(`${url`/threat_models/${tmId}/audit_trail`}${query({ limit: 50, object_type: objectType || undefined, cursor })}`, signal),
    [tmId, objectType, cursor],
  );
  return (
    <section data-testid="model-history">
      <p className="crumbs">
        <Link to="/">Threat models</Link> / <Link to={`/tm/${tmId}`}>Threat model</Link> / History
      </p>
      <h2>History</h2>
      <div className="toolbar">
        <label>
          Show{' '}
          <select
            name="object_type"
            value={objectType}
            onChange={(e) => {
              setCursor(undefined);
              setObjectType(e.target.value);
            }}
          >
            <option value="">everything</option>
            <option value="threat_model">the threat model</option>
            {CHILD_KINDS.map((k) => (
              <option key={k.objectType} value={k.objectType}>
                {k.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={error} />
      {loading && !data && <Spinner label="Loading the history…" />}
      {data && (
        <>
          <ul className="audit">
            {data.audit_entries.map((e) => (
              <EntryRow key={e.id} tmId={tmId} e={e} writable={may(permissions, 'write')} showObject onChanged={reload} />
            ))}
          </ul>
          <div className="toolbar">
            {data.prev_cursor && <button onClick={() => setCursor(data.prev_cursor!)}>Newer</button>}
            {data.next_cursor && <button onClick={() => setCursor(data.next_cursor!)}>Older</button>}
          </div>
        </>
      )}
    </section>
  );
}
