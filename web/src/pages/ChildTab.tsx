// A generic list + form for the simple children of a threat model (assets, documents,
// repositories): list, create, edit (PUT), delete with confirmation.
import { useState } from 'react';
import type { AssetInput } from '../../../contract/assets.ts';
import type { DocumentInput } from '../../../contract/documents.ts';
import { ASSET_TEXT, ASSET_TYPES, DOCUMENT_TEXT, REPOSITORY_TEXT, REPOSITORY_TYPES, type ChildKind, type TextRule } from '../../../contract/limits.ts';
import type { RepositoryInput } from '../../../contract/repositories.ts';
import type { ChildCollection } from '../api/children.ts';
import { Confirm, EnumSelect, FormActions, ModalForm, TextInput, useAction } from '../forms.tsx';
import { DataTable, ListState, type Column } from '../table.tsx';
import { useLoad } from '../ui.tsx';

export interface Field<Input> {
  name: keyof Input & string;
  label: string;
  /** How the form asks for it (a line of text when absent). */
  input?: 'text' | 'textarea' | 'select' | 'url' | 'list';
  options?: readonly string[];
  required?: boolean;
  /** The contract's rule for the text (for a list: for each entry). */
  rule?: TextRule;
  inTable?: boolean;
}

export const ASSET_FIELDS: Field<AssetInput>[] = [
  { name: 'name', label: 'Name', required: true, rule: ASSET_TEXT.name, inTable: true },
  { name: 'type', label: 'Type', input: 'select', options: ASSET_TYPES, required: true, inTable: true },
  { name: 'criticality', label: 'Criticality', rule: ASSET_TEXT.attribute, inTable: true },
  { name: 'sensitivity', label: 'Sensitivity', rule: ASSET_TEXT.attribute, inTable: true },
  { name: 'classification', label: 'Classification (comma separated)', input: 'list' },
  { name: 'description', label: 'Description', input: 'textarea', rule: ASSET_TEXT.description },
];
export const DOCUMENT_FIELDS: Field<DocumentInput>[] = [
  { name: 'name', label: 'Name', required: true, rule: DOCUMENT_TEXT.name, inTable: true },
  { name: 'uri', label: 'Link', input: 'url', required: true, rule: DOCUMENT_TEXT.uri, inTable: true },
  { name: 'description', label: 'Description', input: 'textarea', rule: DOCUMENT_TEXT.description, inTable: true },
];
export const REPOSITORY_FIELDS: Field<RepositoryInput>[] = [
  { name: 'name', label: 'Name', rule: REPOSITORY_TEXT.name, inTable: true },
  { name: 'uri', label: 'Repository URL', input: 'url', required: true, rule: REPOSITORY_TEXT.uri, inTable: true },
  { name: 'type', label: 'Type', input: 'select', options: REPOSITORY_TYPES, inTable: true },
  { name: 'description', label: 'Description', input: 'textarea', rule: REPOSITORY_TEXT.description },
];

type Item = { id: string };

export function ChildTab<T extends Item, Input>({ tmId, collection, kind, fields, writable }: {
  tmId: string;
  collection: ChildCollection<T, Input>;
  kind: ChildKind;
  fields: Field<Input>[];
  writable: boolean;
}) {
  const singular = kind.label.toLowerCase();
  const { data, error, loading, reload } = useLoad((signal) => collection.list(tmId, signal), [tmId, collection]);
  const items = data ?? [];
  const [editing, setEditing] = useState<T | 'new'>();
  const [deleting, setDeleting] = useState<T>();
  const valueOf = (it: T, name: string) => (it as Record<string, unknown>)[name];
  const columns: Column<T>[] = [
    ...fields.filter((f) => f.inTable).map((f): Column<T> => ({ key: f.name, label: f.label, cell: (it) => display(valueOf(it, f.name), f.input) })),
    {
      key: 'actions',
      label: '',
      className: 'row-actions',
      cell: (it) => (
        <>
          <button className="link" onClick={() => setEditing(it)}>
            {writable ? 'Edit' : 'View'}
          </button>
          {writable && (
            <button className="link danger" onClick={() => setDeleting(it)}>
              Delete
            </button>
          )}
        </>
      ),
    },
  ];
  return (
    <div>
      <ListState error={error} loading={loading} loaded={!!data} empty={items.length === 0} emptyText={`No ${kind.name} yet.`} />
      <DataTable columns={columns} rows={items} rowKey={(it) => it.id} testId={`${kind.name}-table`} />
      {writable && (
        <button className="primary" onClick={() => setEditing('new')}>
          Add {singular}
        </button>
      )}
      {editing && (
        <ItemForm
          title={editing === 'new' ? `New ${singular}` : `${writable ? 'Edit' : 'View'} ${singular}`}
          fields={fields}
          item={editing === 'new' ? undefined : (editing as Record<string, unknown>)}
          writable={writable}
          onClose={() => setEditing(undefined)}
          onSave={async (body) => {
            if (editing === 'new') await collection.create(tmId, body);
            else await collection.replace(tmId, editing.id, body);
            reload();
          }}
        />
      )}
      {deleting && (
        <Confirm
          title={`Delete ${singular}`}
          message={`Delete "${String(valueOf(deleting, 'name') ?? valueOf(deleting, 'uri') ?? deleting.id)}"?`}
          onConfirm={async () => {
            await collection.remove(tmId, deleting.id);
            reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </div>
  );
}

function display(v: unknown, input: Field<unknown>['input']) {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(', ');
  if (input === 'url' && typeof v === 'string' && /^https?:\/\//i.test(v))
    return (
      <a href={v} target="_blank" rel="noopener noreferrer">
        {v}
      </a>
    );
  return String(v);
}

/** The request body of the form's values: trimmed, empty fields left out, lists split at commas. */
export function bodyOf<Input>(fields: Field<Input>[], values: Record<string, string>): Input {
  const body: Record<string, unknown> = {};
  for (const f of fields) {
    const v = (values[f.name] ?? '').trim();
    if (f.input === 'list') {
      const list = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (list.length) body[f.name] = list;
    } else if (v) body[f.name] = v;
  }
  // The fields describe the resource's input; what they leave out is optional in it.
  return body as Input;
}

export function ItemForm<Input>({ title, fields, item, writable, onClose, onSave }: {
  title: string;
  fields: Field<Input>[];
  item?: Record<string, unknown>;
  writable: boolean;
  onClose: () => void;
  onSave: (body: Input) => Promise<void>;
}) {
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.map((f) => [f.name, Array.isArray(item?.[f.name]) ? (item![f.name] as string[]).join(', ') : String(item?.[f.name] ?? (f.input === 'select' && f.required ? f.options![0] : ''))])),
  );
  const save = useAction(async () => {
    await onSave(bodyOf(fields, values));
    onClose();
  });
  const set = (name: string) => (value: string) => setValues({ ...values, [name]: value });
  return (
    <ModalForm title={title} onClose={onClose} onSubmit={save.run}>
      <fieldset disabled={!writable}>
        {fields.map((f) => (
          <label key={f.name}>
            {f.label}
            {f.input === 'select' ? (
              <EnumSelect name={f.name} required={f.required} options={f.options!} none={f.required ? undefined : '—'} value={values[f.name]!} onChange={set(f.name)} />
            ) : (
              <TextInput
                name={f.name}
                multiline={f.input === 'textarea'}
                rows={3}
                type={f.input === 'url' ? 'url' : 'text'}
                rule={f.rule}
                required={f.required}
                value={values[f.name]!}
                onChange={set(f.name)}
              />
            )}
          </label>
        ))}
      </fieldset>
      <FormActions action={save} submit="Save" writable={writable} onCancel={onClose} />
    </ModalForm>
  );
}
