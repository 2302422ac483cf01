// Reports, export and import in the app: the Report and Export menus of a model's page and the
// Import dialog of the model list, which shows what the file held, what was imported and what
// could not be mapped before the new model is opened.
import { useState } from 'react';
import { EXPORT_FORMATS, IMPORT_FORMATS, type ExportFormatName, type ImportFormatName } from '../../../contract/limits.ts';
import type { ImportResponse } from '../../../contract/transfer.ts';
import { transfer, save, type Paper, type ReportFormat } from '../api/transfer.ts';
import { EnumSelect, FormActions, ModalForm, useAction } from '../forms.tsx';
import { navigate } from '../router.tsx';
import { ErrorNote, Modal } from '../ui.tsx';

const REPORTS: { label: string; format: ReportFormat; paper: Paper }[] = [
  { label: 'PDF (A4)', format: 'pdf', paper: 'a4' },
  { label: 'PDF (Letter)', format: 'pdf', paper: 'letter' },
  { label: 'Markdown', format: 'md', paper: 'a4' },
  { label: 'HTML', format: 'html', paper: 'a4' },
];

const EXPORT_LABELS: Record<ExportFormatName, string> = { 'tmi-json': 'TMI JSON', 'threat-dragon': 'OWASP Threat Dragon v2', otm: 'Open Threat Model (OTM)' };
const IMPORT_LABELS: Record<ImportFormatName, string> = {
  'tmi-json': 'TMI JSON',
  'threat-dragon': 'OWASP Threat Dragon (v1 or v2)',
  otm: 'Open Threat Model (JSON or YAML)',
  tm7: 'Microsoft Threat Modeling Tool (.tm7)',
  threagile: 'Threagile YAML',
};

/** A drop-down of buttons (a <details>, closed again after a choice). */
function Menu({ label, testId, items }: { label: string; testId: string; items: { label: string; run: () => Promise<void> }[] }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <details className="menu" data-testid={testId}>
      <summary className="button">{busy ? 'Preparing…' : label}</summary>
      <div className="menu-items" role="menu">
        {items.map((it) => (
          <button
            key={it.label}
            role="menuitem"
            disabled={busy}
            onClick={async (e) => {
              const details = (e.currentTarget as HTMLElement).closest('details');
              setBusy(true);
              setError(undefined);
              try {
                await it.run();
                details?.removeAttribute('open');
              } catch (err) {
                setError(err);
              } finally {
                setBusy(false);
              }
            }}
          >
            {it.label}
          </button>
        ))}
        <ErrorNote error={error} onClose={() => setError(undefined)} />
      </div>
    </details>
  );
}

/** Report and Export menus for a model (anyone who may read it). */
export function ReportAndExport({ tmId }: { tmId: string }) {
  return (
    <>
      <Menu
        label="Report ▾"
        testId="report-menu"
        items={REPORTS.map((r) => ({
          label: r.label,
          run: async () => {
            const { blob, fileName } = await transfer.report(tmId, r.format, r.paper);
            save(blob, fileName);
          },
        }))}
      />
      <Menu
        label="Export ▾"
        testId="export-menu"
        items={EXPORT_FORMATS.map((f) => ({
          label: EXPORT_LABELS[f],
          run: async () => {
            const { blob, fileName } = await transfer.export(tmId, f);
            save(blob, fileName);
          },
        }))}
      />
    </>
  );
}

const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Picks a model file, imports it, then shows the import report. */
export function ImportDialog({ onClose }: { onClose: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState('');
  const [result, setResult] = useState<ImportResponse | null>(null);
  const run = useAction(async () => {
    if (!file) throw new Error('Choose a file to import.');
    if (file.size > MAX_FILE_BYTES) throw new Error(`The file is ${(file.size / 1024 / 1024).toFixed(1)} MiB; files up to 16 MiB can be imported.`);
    const text = (await file.text()).replace(/^\uFEFF/, '');
    setResult(await transfer.import(text, { format: (format || undefined) as ImportFormatName | undefined, fileName: file.name }));
  });
  if (result) return <ImportReport result={result} onClose={onClose} />;
  return (
    <ModalForm title="Import a threat model" onClose={onClose} onSubmit={run.run}>
      <p className="muted">
        A TMI JSON export, an OWASP Threat Dragon model, an Open Threat Model file, a Microsoft Threat Modeling Tool <code>.tm7</code> or a Threagile YAML. The new threat model is
        yours; nothing is shared.
      </p>
      <label>
        File
        <input type="file" name="file" accept=".json,.yaml,.yml,.otm,.tm7,.xml,application/json,application/yaml,text/yaml" onChange={(e) => setFile(e.target.files?.[0] ?? null)} required />
      </label>
      <label>
        Format
        <EnumSelect name="format" options={IMPORT_FORMATS} label={(f) => IMPORT_LABELS[f as ImportFormatName]} none="Detect from the file" value={format} onChange={setFormat} />
      </label>
      <FormActions action={run} submit="Import" busyLabel="Importing…" onCancel={onClose} disabled={!file} />
    </ModalForm>
  );
}

const KINDS = ['diagrams', 'elements', 'flows', 'boundaries', 'threats', 'assets'] as const;

function ImportReport({ result, onClose }: { result: ImportResponse; onClose: () => void }) {
  const { report, threat_model: tm } = result;
  return (
    <Modal title="Import finished" onClose={onClose} wide>
      <p data-testid="import-summary">
        <strong>{tm.name}</strong> was created from a {report.format_name} file.
      </p>
      <table className="compact" data-testid="import-counts">
        <thead>
          <tr>
            <th />
            {KINDS.map((k) => (
              <th key={k}>{k[0]!.toUpperCase() + k.slice(1)}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            <th>In the file</th>
            {KINDS.map((k) => (
              <td key={k} className="num">
                {report.found[k]}
              </td>
            ))}
          </tr>
          <tr>
            <th>Imported</th>
            {KINDS.map((k) => (
              <td key={k} className="num">
                {report.imported[k]}
              </td>
            ))}
          </tr>
        </tbody>
      </table>
      {report.unmapped.length > 0 ? (
        <>
          <h3>Not imported ({report.unmapped.length})</h3>
          <ul data-testid="import-unmapped">
            {report.unmapped.map((u, i) => (
              <li key={i}>
                {u.kind} {u.source}: {u.reason}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="ok">Everything in the file was imported.</p>
      )}
      {report.notes.length > 0 && (
        <details>
          <summary>Notes on the mapping ({report.notes.length})</summary>
          <ul data-testid="import-notes">
            {report.notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        </details>
      )}
      <div className="actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
        <button type="button" className="primary" onClick={() => navigate(`/tm/${tm.id}`)}>
          Open the threat model
        </button>
      </div>
    </Modal>
  );
}
