// Reports, export and import of whole threat models (TMI-TS extensions; docs/reports.md).
import type { ExportFormatName, ImportFormatName } from '../../../contract/limits.ts';
import type { ImportResponse } from '../../../contract/transfer.ts';
import { fetchFile, query, request, url } from './client.ts';

export type ReportFormat = 'pdf' | 'md' | 'html';
export type Paper = 'a4' | 'letter';

/** Saves a blob under a name through a temporary link (the browser's download). */
export function save(blob: Blob, fileName: string): void {
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 30_000);
}

export const transfer = {
  report: (id: string, format: ReportFormat, paper: Paper) => fetchFile(`${url`/threat_models/${id}/report`}${query({ format, paper })}`),
  export: (id: string, format: ExportFormatName) => fetchFile(`${url`/threat_models/${id}/export`}${query({ format })}`),
  import: (text: string, opts: { format?: ImportFormatName; fileName?: string }) =>
    request<ImportResponse>('POST', `/threat_models/import${query({ format: opts.format, file_name: opts.fileName })}`, { raw: text, contentType: 'application/octet-stream' }),
};
