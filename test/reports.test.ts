// GET /threat_models/{id}/report (our extension): roles, bad input, the three formats, the
// include_in_report flags, a large model, the PDF's text (pdftotext) and reproducible output.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../server/resources/reports/data.ts';
import { render } from '../server/resources/reports/service.ts';
import { call, errorOf, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';
import { largeModel, seedModel } from './support/report-models.ts';

let t: TestApp;
let owner: SignedIn;
let reader: SignedIn;
let stranger: SignedIn;

const pdftotext = (() => {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    process.stderr.write('reports.test.ts: pdftotext is not installed (apt-get install -y poppler-utils): the PDF text checks are skipped\n');
    return false;
  }
})();
const PDFTOTEXT = ' (needs pdftotext from poppler-utils; skipped without it)';

beforeAll(async () => {
  t = await startTestApp();
  [owner, reader, stranger] = await Promise.all([signIn(t.app), signIn(t.app), signIn(t.app)]);
});
afterAll(async () => t?.close());

/** GET with the raw bytes of the answer. */
async function download(url: string, token?: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.statusCode, headers: res.headers, bytes: res.rawPayload, text: res.body };
}

function pdfText(bytes: Buffer): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tmi-report-'));
  const file = path.join(dir, 'r.pdf');
  writeFileSync(file, bytes);
  return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

describe('GET /threat_models/{id}/report', () => {
  let tm: string;
  beforeAll(async () => {
    tm = await seedModel(t.app, owner.accessToken, { reader: reader.user });
  });

  it('is in the OpenAPI document with its query and media types', async () => {
    const op = (await call(t.app, 'GET', '/openapi.json')).body.paths['/threat_models/{threat_model_id}/report'].get;
    expect(op.operationId).toBe('getThreatModelReport');
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(['threat_model_id', 'format', 'paper']);
    expect(Object.keys(op.responses['200'].content)).toEqual(['application/pdf', 'text/markdown', 'text/html']);
    expect(Object.keys(op.responses['400'].content)).toEqual(['application/json']);
  });

  it('requires authentication', async () => {
    const res = await call(t.app, 'GET', `/threat_models/${tm}/report`);
    expect(res.status).toBe(401);
    expect(errorOf(res).error).toBe('unauthorized');
  });

  it('lets a reader download; a stranger gets 403 and an unknown model 404, as the rest of the API', async () => {
    const ok = await download(`/threat_models/${tm}/report?format=md`, reader.accessToken);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(ok.headers['content-disposition']).toBe('attachment; filename="checkout-service-report.md"');
    expect(ok.headers['cache-control']).toBe('private, no-store');
    const no = await call(t.app, 'GET', `/threat_models/${tm}/report`, { token: stranger.accessToken });
    expect(no.status).toBe(403);
    errorOf(no);
    const missing = await call(t.app, 'GET', '/threat_models/00000000-0000-4000-8000-000000000000/report', { token: owner.accessToken });
    expect(missing.status).toBe(404);
    errorOf(missing);
  });

  it('refuses a bad format, paper, unknown parameter or id with 400 and the envelope', async () => {
    for (const q of ['format=docx', 'format=', 'paper=a3', 'colour=red', 'format=PDF']) {
      const res = await call(t.app, 'GET', `/threat_models/${tm}/report?${q}`, { token: owner.accessToken });
      expect(res.status, q).toBe(400);
      errorOf(res);
    }
    const badId = await call(t.app, 'GET', '/threat_models/not-a-uuid/report', { token: owner.accessToken });
    expect(badId.status).toBe(400);
    errorOf(badId);
  });

  it('answers PDF by default, A4 or Letter, and HTML with the diagram as inline SVG', async () => {
    const a4 = await download(`/threat_models/${tm}/report`, owner.accessToken);
    expect(a4.status).toBe(200);
    expect(a4.headers['content-type']).toBe('application/pdf');
    expect(a4.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(a4.bytes.toString('latin1')).toMatch(/\/MediaBox \[0 0 595\.28 841\.89\]/);
    const letter = await download(`/threat_models/${tm}/report?paper=letter`, owner.accessToken);
    expect(letter.bytes.toString('latin1')).toMatch(/\/MediaBox \[0 0 612 792\]/);
    const html = await download(`/threat_models/${tm}/report?format=html`, owner.accessToken);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.text).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html.text).toContain('<ellipse');
  });

  it('respects include_in_report and lists threats by severity, assets and open suggestions', async () => {
    const md = (await download(`/threat_models/${tm}/report?format=md`, owner.accessToken)).text;
    expect(md).toContain('## Threats');
    expect(md.indexOf('### Critical (1)')).toBeLessThan(md.indexOf('### High (2)'));
    expect(md).toContain('SQL injection in orders');
    expect(md).toContain('**Mitigation:** Parameterised queries');
    expect(md).not.toContain('Hidden threat');
    expect(md).toContain('Card data');
    expect(md).not.toContain('Hidden asset');
    expect(md).toContain('### Main flow');
    expect(md).not.toContain('Internal sketch');
    expect(md).toContain('## Open suggestions');
    expect(md).toMatch(/\| (High|Critical|Medium) \| .+ \| (flow|process|store|actor) /);
    expect(md).toContain('## Review');
  });

  it('gives the same Markdown bytes twice (apart from the date line)', async () => {
    const strip = (s: string) => s.replace(/^Generated .* by TMI\.$/m, '');
    const a = (await download(`/threat_models/${tm}/report?format=md`, owner.accessToken)).text;
    const b = (await download(`/threat_models/${tm}/report?format=md`, owner.accessToken)).text;
    expect(strip(b)).toBe(strip(a));
  });

  it.skipIf(!pdftotext)(`prints every threat name in the PDF${PDFTOTEXT}`, async () => {
    const pdf = await download(`/threat_models/${tm}/report?paper=letter`, owner.accessToken);
    const text = pdfText(pdf.bytes).replace(/\s+/g, ' ');
    for (const name of ['SQL injection in orders', 'Token replay', 'Spoofed customer']) expect(text).toContain(name);
    expect(text).not.toContain('Hidden threat');
  });

  // Last in this block: it dismisses the model's suggestions.
  it('lists the open suggestions of GET .../suggestions: a dismissed suggestion leaves the report', async () => {
    const openCount = (md: string) => Number(/\| Open suggestions \| (\d+) \|/.exec(md)?.[1]);
    const before = openCount((await download(`/threat_models/${tm}/report?format=md`, owner.accessToken)).text);
    expect(before).toBeGreaterThan(0);
    const open = (await call(t.app, 'GET', `/threat_models/${tm}/suggestions`, { token: owner.accessToken })).body.suggestions as { id: string }[];
    for (const s of open) {
      expect((await call(t.app, 'POST', `/threat_models/${tm}/suggestions/${s.id}/dismissal`, { token: owner.accessToken })).status).toBe(200);
    }
    const md = (await download(`/threat_models/${tm}/report?format=md`, owner.accessToken)).text;
    expect(openCount(md)).toBe(0);
    expect(md).toContain('_The rules engine has no open suggestions._');
  });
});

describe('a large model (50 elements, 200 threats)', () => {
  let tm: string;
  let names: string[];
  beforeAll(async () => {
    ({ id: tm, threatNames: names } = await largeModel(t.app, owner.accessToken));
  }, 120_000);

  it('renders all three formats, and the Markdown names every threat', async () => {
    for (const format of ['pdf', 'md', 'html']) {
      const res = await download(`/threat_models/${tm}/report?format=${format}`, owner.accessToken);
      expect(res.status, format).toBe(200);
      if (format === 'md') for (const n of names) expect(res.text).toContain(n);
    }
  }, 60_000);

  it.skipIf(!pdftotext)(`the PDF holds every one of the 200 threat names${PDFTOTEXT}`, async () => {
    const pdf = await download(`/threat_models/${tm}/report`, owner.accessToken);
    const text = pdfText(pdf.bytes).replace(/\s+/g, ' ');
    const missing = names.filter((n) => !text.includes(n));
    expect(missing).toEqual([]);
  }, 60_000);
});

describe('reproducible output', () => {
  it('gives the same PDF, Markdown and HTML bytes for the same model and date', async () => {
    const tm = await seedModel(t.app, owner.accessToken, {});
    const model = (await call(t.app, 'GET', `/threat_models/${tm}`, { token: owner.accessToken })).body;
    const at = new Date('2026-03-01T12:00:00Z');
    for (const format of ['pdf', 'md', 'html'] as const) {
      const a = await render(buildReport(model, { generatedAt: at }), format, 'a4');
      const b = await render(buildReport(structuredClone(model), { generatedAt: at }), format, 'a4');
      expect(a.equals(b), format).toBe(true);
    }
    const other = await render(buildReport(model, { generatedAt: new Date('2026-03-02T12:00:00Z') }), 'pdf', 'a4');
    expect(other.equals(await render(buildReport(model, { generatedAt: at }), 'pdf', 'a4'))).toBe(false);
  });

  it('escapes model text in HTML and Markdown (never markup)', async () => {
    const tm = await seedModel(t.app, owner.accessToken, {});
    const model = (await call(t.app, 'GET', `/threat_models/${tm}`, { token: owner.accessToken })).body;
    model.name = 'Shop <script>alert(1)</script>';
    model.threats.find((x: { name: string }) => x.name === 'SQL injection in orders').description = '<img src=x onerror=alert(1)> *bold* [link](javascript:x)';
    const data = buildReport(model, { generatedAt: new Date('2026-03-01T12:00:00Z') });
    const html = (await render(data, 'html', 'letter')).toString('utf8');
    expect(html).toContain('Shop &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    const md = (await render(data, 'md', 'a4')).toString('utf8');
    expect(md).toContain('\\<img src=x onerror=alert\\(1\\)\\> \\*bold\\* \\[link\\]\\(javascript:x\\)');
  });
});
