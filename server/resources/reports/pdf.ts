// The report as PDF (pdfkit), from ReportData. Diagrams are drawn as vector paths from the same
// scene the SVG uses. DejaVu Sans (Bitstream Vera licence, shipped by the dejavu-fonts-ttf
// package) is embedded as a subset so any script the model uses prints. Reproducible: creation and
// modification dates are the report's date and the file id derives from them, so the same model on
// the same date gives the same bytes.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import PDFDocument from 'pdfkit';
import { label, type Paper, type ReportData, type ReportThreat } from './data.ts';
import { fitLabel, type Scene } from './scene.ts';

type Doc = InstanceType<typeof PDFDocument>;

let fonts: { regular: Buffer; bold: Buffer } | undefined;
function loadFonts() {
  if (!fonts) {
    const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    fonts = { regular: readFileSync(path.join(dir, 'DejaVuSans.ttf')), bold: readFileSync(path.join(dir, 'DejaVuSans-Bold.ttf')) };
  }
  return fonts;
}

const SEV_COLORS: Record<string, string> = { critical: '#c92a2a', high: '#e8590c', medium: '#f08c00', low: '#2f9e44', informational: '#1c7ed6' };
const MARGIN = 54;

class Writer {
  constructor(readonly doc: Doc) {}

  get width() {
    return this.doc.page.width - 2 * MARGIN;
  }

  get bottom() {
    return this.doc.page.height - MARGIN;
  }

  /** A new page unless `height` still fits on this one. */
  room(height: number) {
    if (this.doc.y + height > this.bottom) this.doc.addPage();
  }

  heading(text: string, level: 1 | 2 | 3 | 4 | 5, color = '#111') {
    const size = [0, 20, 15, 12.5, 11, 10][level]!;
    if (level === 2 && this.doc.y > MARGIN + 10) this.doc.addPage();
    this.room(size * 3);
    this.doc.moveDown(level <= 2 ? 0.4 : 0.3);
    this.doc.font('bold').fontSize(size).fillColor(color).text(text, MARGIN, this.doc.y, { width: this.width });
    if (level <= 2) this.doc.outline.addItem(text);
    this.doc.moveDown(0.25);
    this.doc.font('regular').fontSize(9.5).fillColor('#111');
  }

  para(text: string, opts: { color?: string; size?: number } = {}) {
    if (!text) return;
    this.doc
      .font('regular')
      .fontSize(opts.size ?? 9.5)
      .fillColor(opts.color ?? '#111')
      .text(text.replace(/\r\n?/g, '\n'), MARGIN, this.doc.y, { width: this.width });
    this.doc.moveDown(0.35);
    this.doc.fillColor('#111');
  }

  /** "Label: value" lines, the label in bold. */
  facts(pairs: [string, string][]) {
    for (const [k, v] of pairs) {
      this.room(14);
      this.doc.font('bold').fontSize(9.5).fillColor('#111').text(`${k}: `, MARGIN, this.doc.y, { continued: true, width: this.width });
      this.doc.font('regular').text(v || '—');
    }
    this.doc.moveDown(0.4);
  }

  /** A simple table: fixed column widths (fractions), rows wrap, header repeated on each new page. */
  table(head: string[], rows: string[][], fractions: number[]) {
    const widths = fractions.map((f) => f * this.width);
    const pad = 3;
    const doc = this.doc;
    const heightOf = (cells: string[], font: string) => {
      doc.font(font).fontSize(8.5);
      return Math.max(...cells.map((c, i) => doc.heightOfString(c || ' ', { width: widths[i]! - 2 * pad }))) + 2 * pad;
    };
    const draw = (cells: string[], font: string, fill?: string, height?: number) => {
      const h = height ?? heightOf(cells, font);
      const y = doc.y;
      let x = MARGIN;
      cells.forEach((c, i) => {
        if (fill) doc.rect(x, y, widths[i]!, h).fill(fill);
        doc.rect(x, y, widths[i]!, h).lineWidth(0.5).strokeColor('#bbb').stroke();
        doc.font(font).fontSize(8.5).fillColor('#111').text(c, x + pad, y + pad, { width: widths[i]! - 2 * pad });
        x += widths[i]!;
      });
      doc.x = MARGIN;
      doc.y = y + h;
    };
    this.room(heightOf(head, 'bold') + 20);
    draw(head, 'bold', '#f1f3f5');
    for (const r of rows) {
      const h = heightOf(r, 'regular');
      if (doc.y + h > this.bottom) {
        doc.addPage();
        draw(head, 'bold', '#f1f3f5');
      }
      draw(r, 'regular', undefined, h);
    }
    doc.moveDown(0.6);
    doc.font('regular').fontSize(9.5);
  }

  /** The scene scaled into the content width (at most half a page high), as vector paths. */
  diagram(scene: Scene) {
    const doc = this.doc;
    const maxH = (doc.page.height - 2 * MARGIN) * 0.55;
    const scale = Math.min(1, this.width / scene.bounds.width, maxH / scene.bounds.height);
    const w = scene.bounds.width * scale;
    const h = scene.bounds.height * scale;
    this.room(h + 10);
    const ox = MARGIN + (this.width - w) / 2;
    const oy = doc.y;
    const X = (x: number) => ox + (x - scene.bounds.x) * scale;
    const Y = (y: number) => oy + (y - scene.bounds.y) * scale;
    doc.save();
    doc.rect(ox, oy, w, h).lineWidth(0.5).strokeColor('#dee2e6').stroke();
    const fontSize = Math.max(5, 11 * scale);
    for (const it of scene.items) {
      if (it.type === 'flow') {
        const pts = it.points.map((p) => [X(p.x), Y(p.y)] as const);
        doc.moveTo(pts[0]![0], pts[0]![1]);
        for (const p of pts.slice(1)) doc.lineTo(p[0], p[1]);
        doc.lineWidth(1).strokeColor('#333').stroke();
        const [ax, ay] = pts[pts.length - 1]!;
        const [bx, by] = pts[pts.length - 2] ?? pts[0]!;
        const ang = Math.atan2(ay - by, ax - bx);
        const s = Math.max(4, 8 * scale);
        doc
          .polygon([ax, ay], [ax - s * Math.cos(ang - 0.4), ay - s * Math.sin(ang - 0.4)], [ax - s * Math.cos(ang + 0.4), ay - s * Math.sin(ang + 0.4)])
          .fill('#333');
        if (it.label) {
          const text = fitLabel(it.label, 160, 11);
          doc.font('regular').fontSize(fontSize);
          const tw = doc.widthOfString(text);
          doc.fillColor('#222').text(text, X(it.labelAt.x) - tw / 2, Y(it.labelAt.y) - fontSize - 1, { lineBreak: false });
        }
        continue;
      }
      const x = X(it.box.x);
      const y = Y(it.box.y);
      const bw = it.box.width * scale;
      const bh = it.box.height * scale;
      const hl = 'highlight' in it && it.highlight;
      const stroke = hl ? '#d9480f' : '#333';
      if (it.type === 'boundary') {
        doc.roundedRect(x, y, bw, bh, 6 * scale).lineWidth(1).dash(5 * scale, { space: 3 * scale }).strokeColor('#c92a2a').stroke().undash();
        if (it.label) doc.font('regular').fontSize(fontSize).fillColor('#c92a2a').text(fitLabel(it.label, it.box.width - 16, 12), x + 6 * scale, y + 4 * scale, { lineBreak: false });
        continue;
      }
      if (it.type === 'actor') doc.rect(x, y, bw, bh).fillAndStroke('#ffffff', stroke);
      else if (it.type === 'process') doc.ellipse(x + bw / 2, y + bh / 2, bw / 2, bh / 2).fillAndStroke('#ffffff', stroke);
      else if (it.type === 'store') {
        doc.rect(x, y, bw, bh).fill('#ffffff');
        doc.moveTo(x, y).lineTo(x + bw, y).moveTo(x, y + bh).lineTo(x + bw, y + bh).lineWidth(1).strokeColor(stroke).stroke();
      }
      if (it.label) {
        const text = fitLabel(it.label, it.box.width - 8, 12);
        doc.font('regular').fontSize(fontSize);
        const tw = doc.widthOfString(text);
        doc.fillColor('#111').text(text, x + bw / 2 - tw / 2, y + bh / 2 - fontSize / 2, { lineBreak: false });
      }
    }
    doc.restore();
    doc.x = MARGIN;
    doc.y = oy + h + 8;
  }
}

function threat(w: Writer, t: ReportThreat) {
  w.room(60);
  w.doc.font('bold').fontSize(10).fillColor('#111').text(t.name, MARGIN, w.doc.y, { width: w.width });
  const facts = [
    t.target && `Affects: ${t.target}`,
    t.threatType.length > 0 && `Type: ${t.threatType.join(', ')}`,
    t.cwe.length > 0 && `CWE: ${t.cwe.join(', ')}`,
    t.cvss.length > 0 && `CVSS: ${t.cvss.join('; ')}`,
    t.score !== null && `Score: ${t.score}`,
    t.priority && `Priority: ${label(t.priority)}`,
    t.issueUri && `Issue: ${t.issueUri}`,
  ].filter(Boolean) as string[];
  if (facts.length) w.para(facts.join(' · '), { color: '#495057', size: 8.5 });
  w.para(t.description);
  w.doc.font('bold').fontSize(9.5).text('Mitigation: ', MARGIN, w.doc.y, { continued: true, width: w.width });
  w.doc.font('regular').text(t.mitigation || 'none recorded');
  w.doc.moveDown(0.6);
}

export async function toPdf(r: ReportData, paper: Paper): Promise<Buffer> {
  const date = new Date(r.generatedAt);
  const doc = new PDFDocument({
    size: paper === 'a4' ? 'A4' : 'LETTER',
    margin: MARGIN,
    bufferPages: false,
    compress: true,
    lang: 'en',
    displayTitle: true,
    info: { Title: r.title, Subject: `Threat model ${r.model.id}`, Author: r.model.owner, Creator: 'TMI', Producer: 'TMI (pdfkit)', CreationDate: date, ModDate: date },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const f = loadFonts();
  doc.registerFont('regular', f.regular);
  doc.registerFont('bold', f.bold);
  const w = new Writer(doc);
  const m = r.model;

  doc.font('bold').fontSize(22).fillColor('#111').text(r.title, { width: w.width });
  doc.outline.addItem(r.title);
  doc.moveDown(0.3);
  w.para(`Generated ${r.generatedAt} by TMI.`, { color: '#495057', size: 9 });
  w.heading('Summary', 3);
  w.para(m.description);
  w.facts([
    ['Framework', m.framework],
    ['Status', `${label(m.status)} (since ${m.statusUpdated})`],
    ['Owner', m.owner],
    ['Security reviewer', r.review.reviewer ?? 'none assigned'],
    ['Created', m.createdAt],
    ['Last modified', `${m.modifiedAt} (version ${m.version})`],
    ...(m.issueUri ? [['Issue', m.issueUri] as [string, string]] : []),
    ['Threats', `${r.summary.threats} (${r.summary.openWithoutMitigation} open without mitigation)`],
    ['Open suggestions', String(r.summary.openSuggestions)],
    ['Diagrams, elements, flows', `${r.summary.diagrams}, ${r.summary.elements}, ${r.summary.flows}`],
    ['Assets', String(r.summary.assets)],
  ]);
  if (r.summary.bySeverity.length) {
    w.table(['Severity', 'Threats'], r.summary.bySeverity.map((s) => [label(s.severity), String(s.count)]), [0.5, 0.5]);
    w.table(['Status', 'Threats'], r.summary.byStatus.map((s) => [label(s.status), String(s.count)]), [0.5, 0.5]);
  }
  w.heading('Review', 3);
  w.para(`${r.review.reviewer ? `Reviewed by ${r.review.reviewer}` : 'No security reviewer is assigned'}; status ${label(r.review.status)} since ${r.review.statusUpdated}.`);
  if (m.metadata.length) w.table(['Metadata', 'Value'], m.metadata.map((x) => [x.key, x.value]), [0.35, 0.65]);

  w.heading('Scope', 2);
  if (!r.diagrams.length) w.para('No diagrams in the report.');
  for (const d of r.diagrams) {
    w.heading(d.name, 3);
    w.para(d.description);
    w.diagram(d.scene);
    if (d.elements.length) w.table(['Element', 'Kind'], d.elements.map((e) => [e.name, e.kind]), [0.7, 0.3]);
    if (d.flows.length) w.table(['Flow', 'From', 'To'], d.flows.map((x) => [x.name, x.from, x.to]), [0.4, 0.3, 0.3]);
    if (d.boundaries.length) w.para(`Trust boundaries: ${d.boundaries.join(', ')}.`);
  }

  w.heading('Threats', 2);
  if (!r.threatGroups.length) w.para('No threats recorded.');
  for (const g of r.threatGroups) {
    w.heading(`${label(g.severity)} (${g.count})`, 3, SEV_COLORS[g.severity] ?? '#495057');
    for (const s of g.byStatus) {
      w.heading(`${label(s.status)} (${s.threats.length})`, 4);
      for (const t of s.threats) threat(w, t);
    }
  }

  w.heading('Assets', 2);
  if (!r.assets.length) w.para('No assets in the report.');
  else
    w.table(
      ['Asset', 'Type', 'Criticality', 'Classification', 'Sensitivity', 'Description'],
      r.assets.map((a) => [a.name, a.type, a.criticality, a.classification.join(', '), a.sensitivity, a.description]),
      [0.18, 0.1, 0.12, 0.15, 0.12, 0.33],
    );

  w.heading('Open suggestions', 2);
  if (!r.suggestions.length) w.para('The rules engine has no open suggestions.');
  else
    w.table(
      ['Severity', 'Suggested threat', 'Where', 'Rule', 'Categories'],
      r.suggestions.map((s) => [label(s.severity), s.name, s.target, s.rule, [...s.tags, ...s.cwe].join(' ')]),
      [0.11, 0.33, 0.26, 0.12, 0.18],
    );

  if (r.notes.length) {
    w.heading('Notes', 2);
    for (const n of r.notes) {
      w.heading(n.name, 3);
      w.para(n.description, { color: '#495057' });
      w.para(n.content);
    }
  }
  if (r.documents.length) {
    w.heading('Documents', 2);
    w.table(['Document', 'Location', 'Description'], r.documents.map((d) => [d.name, d.uri, d.description]), [0.25, 0.4, 0.35]);
  }
  if (r.repositories.length) {
    w.heading('Repositories', 2);
    w.table(['Repository', 'Type', 'Location', 'Description'], r.repositories.map((d) => [d.name, d.type, d.uri, d.description]), [0.22, 0.1, 0.38, 0.3]);
  }
  doc.end();
  return done;
}
