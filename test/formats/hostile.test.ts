// Bad and hostile files are refused quickly with a message for a person: too large, nested too
// deeply, XML with entities or a DTD (expansion bombs, external entities), YAML alias bombs,
// malformed text, and files that are not a model at all.
import { describe, expect, it } from 'vitest';
import { ImportError, importModel, type ImportErrorCode } from '../../formats/index.ts';

function refused(text: string, code: ImportErrorCode, message: RegExp, options: Parameters<typeof importModel>[1] = {}) {
  const t0 = performance.now();
  let err: unknown;
  try {
    importModel(text, options);
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  expect(err, 'the import should be refused').toBeInstanceOf(ImportError);
  expect((err as ImportError).code).toBe(code);
  expect((err as ImportError).message).toMatch(message);
  expect(ms).toBeLessThan(2000);
}

const laughs = (levels: number) => {
  const lines = ['lol0: &lol0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= levels; i++) lines.push(`lol${i}: &lol${i} [${Array.from({ length: 10 }, () => `*lol${i - 1}`).join(',')}]`);
  return lines.join('\n');
};

describe('hostile and bad files', () => {
  it('refuses a file over the size limit before parsing it', () => {
    refused(`{"name":"x","pad":"${'x'.repeat(16 * 1024 * 1024)}"}`, 'too_large', /files up to 16 MiB are accepted/);
    refused('threagile_version: 1.0.0\n', 'too_large', /The model file is 0 MiB; files up to 0 MiB are accepted/, { limits: { maxChars: 10, maxDepth: 64, maxAliases: 100 } });
  });

  it('refuses deeply nested JSON without recursing into it', () => {
    refused(`${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}`, 'too_deep', /nested more than 64 levels/);
    refused(`{"summary":{},"detail":{"diagrams":[{"cells":[${'['.repeat(100)}${']'.repeat(100)}]}]}}`, 'too_deep', /Threat Dragon file is nested more than 64 levels/);
  });

  it('refuses a YAML "billion laughs" alias bomb', () => {
    refused(`threagile_version: 1.0.0\n${laughs(9)}\n`, 'unsafe_content', /expands YAML aliases too often/);
    refused(`otmVersion: 0.2.0\nproject: {name: x, id: x}\n${laughs(9)}\n`, 'unsafe_content', /billion laughs/);
  });

  it('refuses deeply nested YAML, in flow and in block style', () => {
    refused(`otmVersion: 0.2.0\nproject: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, 'too_deep', /OTM file is nested more than 64 levels/);
    const block = Array.from({ length: 300 }, (_, i) => `${' '.repeat(i * 2)}k${i}:`).join('\n');
    refused(`threagile_version: 1.0.0\ntechnical_assets:\n${block}\n`, 'too_deep', /Threagile file is nested more than 64 levels/);
  });

  it('refuses XML with a DTD: entity expansion bombs and external entities', () => {
    const bomb = `<?xml version="1.0"?>
<!DOCTYPE ThreatModel [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<ThreatModel><MetaInformation><ThreatModelName>&lol2;</ThreatModelName></MetaInformation><DrawingSurfaceList/></ThreatModel>`;
    refused(bomb, 'unsafe_content', /declares a DTD or XML entities, which are refused/);
    const xxe = `<?xml version="1.0"?><!DOCTYPE ThreatModel [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ThreatModel><MetaInformation><ThreatModelName>&xxe;</ThreatModelName></MetaInformation><DrawingSurfaceList/></ThreatModel>`;
    refused(xxe, 'unsafe_content', /DTD or XML entities/);
    refused(xxe, 'unsafe_content', /DTD or XML entities/, { fileName: 'model.tm7' });
  });

  it('refuses deeply nested or malformed XML', () => {
    refused(`<ThreatModel><DrawingSurfaceList>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</DrawingSurfaceList></ThreatModel>`, 'too_deep', /nested more than 64 levels/);
    refused('<ThreatModel><DrawingSurfaceList></ThreatModel>', 'invalid_syntax', /not well-formed XML/);
  });

  it('refuses malformed JSON and YAML, and files that are no model', () => {
    refused('{"name": "x",', 'invalid_syntax', /not valid JSON/);
    refused('threagile_version: 1.0.0\ntitle: [unclosed\n', 'invalid_syntax', /not valid YAML/);
    refused('{"description": "no name"}', 'invalid_model', /not a threat model: it has no name/);
    refused('{"summary": {}, "detail": {"diagrams": 3}}', 'invalid_model', /not a threat model|not a Threat Dragon model/, { format: 'threat-dragon' });
    refused('just some text\n', 'unrecognised_format', /not in a format TMI imports/);
  });
});
