// Use case: the report of a threat model, for anyone who may read it. The model is read through the
// threat-model service (its access check and its embedding), the data built once, then written in
// the asked format.
import type { Principal } from '../../auth/authenticate.ts';
import type { ThreatModelService } from '../threat-models/service.ts';
import type { Pack } from '../../../rules/index.ts';
import { buildReport, type Paper, type ReportData, type ReportFormat } from './data.ts';
import { toHtml, toMarkdown } from './text.ts';

export const MEDIA_TYPES: Record<ReportFormat, string> = {
  pdf: 'application/pdf',
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

/** A file name from the model's name: ASCII letters, digits and dashes only (safe in a header). */
export function fileStem(name: string): string {
  const stem = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return stem || 'threat-model';
}

/** The report file of `data` in `format`. */
export async function render(data: ReportData, format: ReportFormat, paper: Paper): Promise<Buffer> {
  // pdfkit and its font machinery (about 60 modules) load with the first PDF, not with the server.
  if (format === 'pdf') return (await import('./pdf.ts')).toPdf(data, paper);
  if (format === 'html') return Buffer.from(toHtml(data, paper), 'utf8');
  return Buffer.from(toMarkdown(data), 'utf8');
}

/** What the suggestions endpoint evaluates a model with: its rule packs and the model's dismissals. */
export type SuggestionInputs = (threatModelId: string) => Promise<{ packs: readonly Pack[]; dismissed: readonly string[] }>;

export class ReportService {
  constructor(
    private readonly threatModels: ThreatModelService,
    private readonly suggestionInputs: SuggestionInputs,
  ) {}

  async report(p: Principal, id: string, format: ReportFormat, paper: Paper, now = new Date()) {
    const tm = await this.threatModels.get(p, id);
    // The open suggestions of the report are those the app and GET .../suggestions show.
    const { packs, dismissed } = await this.suggestionInputs(id);
    // The date to the second: two reports made in one second are the same bytes.
    const data = buildReport(tm, { generatedAt: new Date(Math.floor(now.getTime() / 1000) * 1000), packs, dismissed });
    const body = await render(data, format, paper);
    return { body, mediaType: MEDIA_TYPES[format], fileName: `${fileStem(tm.name)}-report.${format}` };
  }
}
