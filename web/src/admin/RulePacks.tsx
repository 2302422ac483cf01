// Administration > Rule packs: the packs the suggestions engine runs (built in, from TMI_RULE_PACKS,
// uploaded by administrators) with their rules; upload a pack as a JSON or YAML file or pasted text
// (the server validates it in full and its problems are listed), replace or delete an uploaded one.
// The API is /admin/rule_packs (docs/compatibility.md); the pack format is docs/rules.md.
import { useState } from 'react';
import { admin, type RulePackDetail, type RulePackSummary } from '../api/admin.ts';
import { ApiError } from '../api/client.ts';
import { StepUpOrError } from '../account/StepUp.tsx';
import { Confirm, Form, useAction } from '../forms.tsx';
import { DataTable, ListState, type Column } from '../table.tsx';
import { ErrorNote, formatDate, Modal, Spinner, useLoad } from '../ui.tsx';

const SOURCE_LABELS: Record<RulePackSummary['source'], string> = {
  builtin: 'Built in',
  config: 'Configuration (TMI_RULE_PACKS)',
  uploaded: 'Uploaded',
};

/**
 * Pack text as the server would read a file of it (rules/pack.ts parsePack): JSON when it starts
 * with `{`, YAML otherwise (aliases bounded). The YAML parser is loaded only when needed.
 */
export async function parsePackText(text: string): Promise<unknown> {
  if (!text.trim()) throw new Error('Choose a file or paste a pack first.');
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Error(`This is not valid JSON: ${(e as Error).message}`);
    }
  }
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) throw new Error(`This is not valid YAML: ${doc.errors[0]!.message}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new Error(`This is not valid YAML: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('A rule pack is an object with id, name, version and rules (docs/rules.md).');
  return value;
}

/** The problems of a pack the server refused (400 invalid_rule_pack), one per entry; undefined for any other error. */
export function packProblems(error: unknown): string[] | undefined {
  if (!(error instanceof ApiError) || error.code !== 'invalid_rule_pack') return undefined;
  return error.description
    .replace(/^Invalid rule pack:\s*/, '')
    .split('; ')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** A refused pack's problems as a list; other failures as usual (a step-up asks for a fresh sign-in). */
function UploadError({ error, onClose }: { error: unknown; onClose: () => void }) {
  const problems = packProblems(error);
  if (!problems) return <StepUpOrError error={error} onClose={onClose} />;
  return (
    <div className="error" role="alert" data-testid="rule-pack-problems">
      <div>
        <strong>The server refused the pack ({problems.length === 1 ? 'one problem' : `${problems.length} problems`}):</strong>
        <ul>
          {problems.map((p, i) => (
            <li key={i}>
              <code>{p}</code>
            </li>
          ))}
        </ul>
      </div>
      <button className="link" onClick={onClose} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}

export function RulePacksTab() {
  const list = useLoad((signal) => admin.rulePacks(signal), []);
  const [open, setOpen] = useState<string>();
  const [deleting, setDeleting] = useState<RulePackSummary>();
  const packs = list.data?.rule_packs ?? [];
  const columns: Column<RulePackSummary>[] = [
    { key: 'name', label: 'Pack', cell: (p) => <button className="link" onClick={() => setOpen(p.id)}>{p.name}</button>, sortBy: (p) => p.name, ascFirst: true },
    { key: 'id', label: 'Id', cell: (p) => <code>{p.id}</code>, sortBy: (p) => p.id, ascFirst: true },
    { key: 'version', label: 'Version', cell: (p) => p.version },
    { key: 'source', label: 'Source', cell: (p) => SOURCE_LABELS[p.source], sortBy: (p) => p.source, ascFirst: true },
    { key: 'rules', label: 'Rules', cell: (p) => p.rule_count, sortBy: (p) => p.rule_count },
    { key: 'modified', label: 'Uploaded or changed', cell: (p) => formatDate(p.modified_at) || '—', sortBy: (p) => p.modified_at ?? '' },
    {
      key: 'actions',
      label: '',
      cell: (p) =>
        p.source === 'uploaded' && (
          <button className="link danger" onClick={() => setDeleting(p)}>
            Delete…
          </button>
        ),
    },
  ];
  return (
    <div data-testid="admin-rule-packs">
      <p className="muted">
        The rules that suggest threats on every model's diagrams (docs/rules.md). Built-in and configured packs are read-only; uploaded packs can be replaced (upload a pack with the same id) or deleted.
      </p>
      <ListState error={list.error} loading={list.loading} loaded={list.data !== undefined} empty={packs.length === 0} emptyText="No rule packs." />
      <DataTable columns={columns} rows={packs} rowKey={(p) => p.id} testId="rule-packs" />
      <UploadPack packs={packs} onSaved={list.reload} />
      {open && <PackDetail id={open} onClose={() => setOpen(undefined)} />}
      {deleting && (
        <Confirm
          title="Delete rule pack"
          message={
            <>
              Delete the uploaded pack <strong>{deleting.name}</strong> ({deleting.id}, {deleting.rule_count} rules)? Its rules stop suggesting threats at once; threats already accepted from them stay.
            </>
          }
          onConfirm={async () => {
            await admin.deleteRulePack(deleting.id);
            list.reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </div>
  );
}

function UploadPack({ packs, onSaved }: { packs: readonly RulePackSummary[]; onSaved: () => void }) {
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string>();
  const [done, setDone] = useState<string>();
  // A pack whose id an uploaded pack already has replaces it, once the administrator says so.
  const [replacing, setReplacing] = useState<{ pack: unknown; current: RulePackSummary }>();
  const finish = (saved: RulePackDetail, verb: string) => {
    setDone(`${verb} ${saved.name} ${saved.version} (${saved.rule_count} rule${saved.rule_count === 1 ? '' : 's'}).`);
    setText('');
    setFileName(undefined);
    setReplacing(undefined);
    onSaved();
  };
  const upload = useAction(async () => {
    setDone(undefined);
    replace.clearError();
    const pack = await parsePackText(text);
    const id = (pack as { id?: unknown }).id;
    const current = packs.find((p) => p.source === 'uploaded' && p.id === id);
    if (current) setReplacing({ pack, current });
    else finish(await admin.uploadRulePack(pack), 'Uploaded');
  });
  const replace = useAction(async () => finish(await admin.replaceRulePack(replacing!.current.id, replacing!.pack), 'Replaced with'));
  const edited = () => {
    setReplacing(undefined);
    setDone(undefined);
    upload.clearError();
    replace.clearError();
  };
  return (
    <section className="panel" data-testid="rule-pack-upload">
      <h3>Upload a pack</h3>
      <Form onSubmit={upload.run}>
        <label>
          A JSON or YAML file
          <input
            type="file"
            name="rule_pack_file"
            accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              e.target.value = ''; // choosing the same file again reloads it
              if (!file) return;
              edited(); // the old refusal goes at once, not after the file is read
              setText(await file.text());
              setFileName(file.name);
            }}
          />
        </label>
        <label>
          or the pack's text{fileName ? ` (from ${fileName})` : ''}
          <textarea
            name="rule_pack_text"
            rows={10}
            spellCheck={false}
            placeholder={'id: acme\nname: ACME rules\nversion: 1.0.0\nrules:\n  - id: acme-no-ftp\n    …'}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setFileName(undefined);
              edited();
            }}
          />
        </label>
        <UploadError error={upload.error ?? replace.error} onClose={edited} />
        {done && (
          <p className="ok" role="status">
            {done}
          </p>
        )}
        {replacing ? (
          <div className="notice" role="alert" data-testid="rule-pack-replace">
            <p>
              An uploaded pack <strong>{replacing.current.name}</strong> has this id ({replacing.current.id}, version {replacing.current.version}, {replacing.current.rule_count} rules). Replace it with
              this one?
            </p>
            <div className="actions">
              <button type="button" onClick={() => setReplacing(undefined)}>
                Cancel
              </button>
              <button type="button" className="primary" disabled={replace.busy} onClick={() => void replace.run()}>
                {replace.busy ? 'Replacing…' : 'Replace pack'}
              </button>
            </div>
          </div>
        ) : (
          <div className="actions">
            <button type="submit" className="primary" disabled={upload.busy || !text.trim()}>
              {upload.busy ? 'Uploading…' : 'Upload pack'}
            </button>
          </div>
        )}
      </Form>
    </section>
  );
}

interface RuleView {
  id: string;
  title: string;
  appliesTo?: string;
  enabled?: boolean;
  categories?: Record<string, string[]>;
  threat?: { severity?: string; cwe?: string[] };
}

function PackDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const detail = useLoad((signal) => admin.rulePack(id, signal), [id]);
  const d = detail.data;
  const columns: Column<RuleView>[] = [
    { key: 'id', label: 'Rule', cell: (r) => <code>{r.id}</code>, sortBy: (r) => r.id, ascFirst: true },
    { key: 'title', label: 'Title', cell: (r) => (r.enabled === false ? <span className="muted">{r.title} (switched off)</span> : r.title), sortBy: (r) => r.title, ascFirst: true },
    { key: 'applies', label: 'Applies to', cell: (r) => r.appliesTo ?? '' },
    {
      key: 'categories',
      label: 'Categories',
      cell: (r) =>
        Object.entries(r.categories ?? {})
          .map(([framework, values]) => `${framework}: ${values.join(', ')}`)
          .join(' · '),
    },
    { key: 'severity', label: 'Severity', cell: (r) => <span className={`sev sev-${r.threat?.severity ?? ''}`}>{r.threat?.severity}</span>, sortBy: (r) => SEVERITY_ORDER.indexOf(r.threat?.severity ?? '') },
    { key: 'cwe', label: 'CWE', cell: (r) => (r.threat?.cwe ?? []).join(', ') },
  ];
  return (
    <Modal title={d ? d.name : 'Rule pack'} onClose={onClose} wide>
      <div data-testid="rule-pack-detail">
        {!d && (detail.error ? <ErrorNote error={detail.error} /> : <Spinner />)}
        {d && (
          <>
            <dl className="facts">
              <dt>Id</dt>
              <dd>
                <code>{d.id}</code>
              </dd>
              <dt>Version</dt>
              <dd>{d.version}</dd>
              <dt>Source</dt>
              <dd>{SOURCE_LABELS[d.source]}</dd>
              {d.description && (
                <>
                  <dt>Description</dt>
                  <dd>{d.description}</dd>
                </>
              )}
              {d.created_at && (
                <>
                  <dt>Uploaded</dt>
                  <dd>
                    {formatDate(d.created_at)}
                    {d.modified_at && d.modified_at !== d.created_at ? `, replaced ${formatDate(d.modified_at)}` : ''}
                  </dd>
                </>
              )}
              <dt>Rules</dt>
              <dd>{d.rule_count}</dd>
            </dl>
            <DataTable columns={columns} rows={d.pack.rules as unknown as RuleView[]} rowKey={(r) => r.id} testId="rule-pack-rules" />
          </>
        )}
      </div>
    </Modal>
  );
}

const SEVERITY_ORDER = ['informational', 'low', 'medium', 'high', 'critical'];
