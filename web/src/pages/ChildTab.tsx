// A generic list + form for the simple children of a threat model (assets, documents,
// repositories): list, create, edit (PUT), delete with confirmation.
import { useState } from 'react';
import { api } from '../api/client.ts';
import { Confirm, ErrorNote, Modal, Spinner, useLoad } from '../ui.tsx';

export interface Field {
  name: string;
  label: string;
  kind?: 'text' | 'textarea' | 'select' | 'url' | 'list';
  options?: string[];
  required?: boolean;
  maxLength?: number;
  inTable?: boolean;
}

export const ASSET_FIELDS: Field[] = [
  { name: 'name', label: 'Name', required: true, maxLength: 256, inTable: true },
  { name: 'type', label: 'Type', kind: 'select', options: ['data', 'hardware', 'software', 'infrastructure', 'service', 'personnel'], required: true, inTable: true },
  { name: 'criticality', label: 'Criticality', maxLength: 128, inTable: true },
  { name: 'sensitivity', label: 'Sensitivity', maxLength: 128, inTable: true },
  { name: 'classification', label: 'Classification (comma separated)', kind: 'list' },
  { name: 'description', label: 'Description', kind: 'textarea', maxLength: 2048 },
];
export const DOCUMENT_FIELDS: Field[] = [
  { name: 'name', label: 'Name', required: true, maxLength: 256, inTable: true },
  { name: 'uri', label: 'Link', kind: 'url', required: true, maxLength: 1000, inTable: true },
  { name: 'description', label: 'Description', kind: 'textarea', maxLength: 2048, inTable: true },
];
export const REPOSITORY_FIELDS: Field[] = [
  { name: 'name', label: 'Name', maxLength: 256, inTable: true },
  { name: 'uri', label: 'Repository URL', kind: 'url', required: true, maxLength: 1000, inTable: true },
  { name: 'type', label: 'Type', kind: 'select', options: ['git', 'svn', 'mercurial', 'other'], inTable: true },
  { name: 'description', label: 'Description', kind: 'textarea', maxLength: 2048 },
];

type Item = Record<string, unknown> & { id: string };

export function ChildTab({ tmId, kind, singular, fields, writable }: { tmId: string; kind: string; singular: string; fields: Field[]; writable: boolean }) {
  const base = `/threat_models/${tmId}/${kind}`;
  const { data, error, loading, reload } = useLoad((signal) => api.get<Item[] | Record<string, Item[]>>(`${base}?limit=100`, signal), [base]);
  const items: Item[] = Array.isArray(data) ? data : ((data?.[kind] as Item[] | undefined) ?? []);
  const [editing, setEditing] = useState<Item | 'new'>();
  const [deleting, setDeleting] = useState<Item>();
  const columns = fields.filter((f) => f.inTable);
  return (
    <div>
      <ErrorNote error={error} />
      {loading && !data && <Spinner />}
      {data && items.length === 0 && <p className="empty">No {kind} yet.</p>}
      {items.length > 0 && (
        <table className="grid" data-testid={`${kind}-table`}>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.name}>{c.label}</th>
              ))}
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((it) => (
              <tr key={it.id}>
                {columns.map((c) => (
                  <td key={c.name}>{display(it[c.name], c)}</td>
                ))}
                <td className="row-actions">
                  <button className="link" onClick={() => setEditing(it)}>
                    {writable ? 'Edit' : 'View'}
                  </button>
                  {writable && (
                    <button className="link danger" onClick={() => setDeleting(it)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {writable && (
        <button className="primary" onClick={() => setEditing('new')}>
          Add {singular}
        </button>
      )}
      {editing && (
        <ItemForm
          title={editing === 'new' ? `New ${singular}` : `${writable ? 'Edit' : 'View'} ${singular}`}
          fields={fields}
          item={editing === 'new' ? undefined : editing}
          writable={writable}
          onClose={() => setEditing(undefined)}
          onSave={async (body) => {
            if (editing === 'new') await api.post(base, body);
            else await api.put(`${base}/${editing.id}`, body);
            reload();
          }}
        />
      )}
      {deleting && (
        <Confirm
          title={`Delete ${singular}`}
          message={`Delete "${String(deleting.name ?? deleting.uri ?? deleting.id)}"?`}
          onConfirm={async () => {
            await api.del(`${base}/${deleting.id}`);
            reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </div>
  );
}

function display(v: unknown, f: Field) {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(', ');
  if (f.kind === 'url' && typeof v === 'string' && /^https?:\/\//i.test(v))
    return (
      <a href={v} target="_blank" rel="noopener noreferrer">
        {v}
      </a>
    );
  return String(v);
}

export function ItemForm({ title, fields, item, writable, onClose, onSave }: { title: string; fields: Field[]; item?: Record<string, unknown>; writable: boolean; onClose: () => void; onSave: (body: Record<string, unknown>) => Promise<void> }) {
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.map((f) => [f.name, Array.isArray(item?.[f.name]) ? (item![f.name] as string[]).join(', ') : String(item?.[f.name] ?? (f.kind === 'select' && f.required ? f.options![0] : ''))])),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <Modal title={title} onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const body: Record<string, unknown> = {};
          for (const f of fields) {
            const v = values[f.name]!.trim();
            if (f.kind === 'list') {
              const list = v.split(',').map((s) => s.trim()).filter(Boolean);
              if (list.length) body[f.name] = list;
            } else if (v) body[f.name] = v;
          }
          setBusy(true);
          try {
            await onSave(body);
            onClose();
          } catch (err) {
            setError(err);
            setBusy(false);
          }
        }}
      >
        <fieldset disabled={!writable}>
          {fields.map((f) => (
            <label key={f.name}>
              {f.label}
              {f.kind === 'textarea' ? (
                <textarea name={f.name} rows={3} maxLength={f.maxLength} required={f.required} value={values[f.name]} onChange={(e) => setValues({ ...values, [f.name]: e.target.value })} />
              ) : f.kind === 'select' ? (
                <select name={f.name} required={f.required} value={values[f.name]} onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}>
                  {!f.required && <option value="">—</option>}
                  {f.options!.map((o) => (
                    <option key={o}>{o}</option>
                  ))}
                </select>
              ) : (
                <input name={f.name} type={f.kind === 'url' ? 'url' : 'text'} maxLength={f.maxLength} required={f.required} value={values[f.name]} onChange={(e) => setValues({ ...values, [f.name]: e.target.value })} />
              )}
            </label>
          ))}
        </fieldset>
        <ErrorNote error={error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            {writable ? 'Cancel' : 'Close'}
          </button>
          {writable && (
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}
