// The engine's contract beyond single rules: fingerprints and order, scope, accepted and dismissed
// suggestions, thresholds, the threat an accepted suggestion becomes, containment, packs as data
// (JSON and YAML, validated with readable problems) and SARIF output.
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { ThreatInput } from '../../contract/threats.ts';
import { BUILTIN_PACK, evaluate, exceeds, fingerprintOf, PackError, parsePack, toSarif, toThreatInput, type ModelInput, type Pack } from '../../rules/index.ts';
import { Kit, scene } from './kit.ts';

const webShop = () =>
  scene((k, dmz) => {
    const user = k.actor('Customer', { technology: 'browser' });
    const shop = k.process('Shop', { technology: 'web-application' }, dmz);
    const db = k.store('Orders', { data_classification: 'confidential' }, dmz);
    k.flow(user, shop, { protocol: 'http' });
    k.flow(shop, db, { protocol: 'jdbc' });
  });

const cellsOf = (m: ModelInput) => (m.diagrams![0] as { cells: Record<string, unknown>[] }).cells;

describe('rules engine', () => {
  it('gives each finding the fingerprint rule id / cell id, and the same order whatever the cell order', () => {
    const model = webShop();
    const findings = evaluate(model, [BUILTIN_PACK]);
    const shop = cellsOf(model).find((c) => (c.attrs as { text: { text: string } }).text.text === 'Shop')!;
    const xss = findings.find((f) => f.ruleId === 'cross-site-scripting')!;
    expect(xss.fingerprint).toBe(fingerprintOf('cross-site-scripting', shop.id as string));
    expect(xss.fingerprint).toBe(`cross-site-scripting/${shop.id}`);
    expect(xss.subject).toMatchObject({ kind: 'process', name: 'Shop', diagramName: 'Main' });

    const reversed = { ...model, diagrams: [{ ...(model.diagrams[0] as object), cells: [...cellsOf(model)].reverse() }] };
    expect(evaluate(reversed, [BUILTIN_PACK]).map((f) => f.fingerprint)).toEqual(findings.map((f) => f.fingerprint));
    const ranks = findings.map((f) => ['informational', 'low', 'medium', 'high', 'critical'].indexOf(f.severity));
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
  });

  it('skips cells marked out of scope', () => {
    const model = scene((k) => k.process('Legacy', { out_of_scope: true }));
    expect(evaluate(model, [BUILTIN_PACK])).toEqual([]);
  });

  it('marks a suggestion accepted once a threat carries its fingerprint, and dismissed through the cell or the caller', () => {
    const model = webShop();
    const first = evaluate(model, [BUILTIN_PACK]);
    const xss = first.find((f) => f.ruleId === 'cross-site-scripting')!;
    const threat = { id: 'x', ...toThreatInput(xss, 'STRIDE') };
    const accepted = evaluate({ ...model, threats: [threat] }, [BUILTIN_PACK]);
    expect(accepted.find((f) => f.fingerprint === xss.fingerprint)!.state).toBe('accepted');
    expect(accepted.filter((f) => f.state === 'accepted')).toHaveLength(1);

    const shop = cellsOf(model).find((c) => c.id === xss.subject.cellId)!;
    (shop.data as { _metadata: { key: string; value: string }[] })._metadata.push({ key: 'dismissed_suggestions', value: 'cross-site-scripting, stride-spoofing-process' });
    const viaCell = evaluate(model, [BUILTIN_PACK]).filter((f) => f.state === 'dismissed').map((f) => f.ruleId);
    expect(viaCell.sort()).toEqual(['cross-site-scripting', 'stride-spoofing-process']);

    const dbFlow = first.find((f) => f.ruleId === 'sql-nosql-injection')!;
    const viaCaller = evaluate(model, [BUILTIN_PACK], { dismissed: [dbFlow.fingerprint] });
    expect(viaCaller.find((f) => f.fingerprint === dbFlow.fingerprint)!.state).toBe('dismissed');
  });

  it('exceeds a severity threshold only with open findings at or above it', () => {
    const findings = evaluate(webShop(), [BUILTIN_PACK]);
    expect(exceeds(findings, 'high')).toBe(true);
    expect(exceeds(findings, 'critical')).toBe(false);
    const highs = findings.filter((f) => f.severity === 'high' || f.severity === 'critical');
    expect(exceeds(evaluate(webShop(), [BUILTIN_PACK], { dismissed: highs.map((f) => f.fingerprint) }), 'high')).toBe(false);
  });

  it('turns a finding into a valid threat linked to its cell, typed in the model framework', () => {
    const check = Compile(ThreatInput);
    const findings = evaluate(webShop(), [BUILTIN_PACK]);
    for (const f of findings) {
      const t = toThreatInput(f, 'STRIDE');
      expect(check.Check(t), `${f.ruleId}: ${JSON.stringify([...check.Errors(t)][0])}`).toBe(true);
    }
    const http = findings.find((f) => f.ruleId === 'plain-http-across-trust-boundary')!;
    expect(toThreatInput(http, 'STRIDE')).toMatchObject({ cell_id: http.subject.cellId, diagram_id: http.subject.diagramId, severity: 'high', threat_type: ['Tampering', 'Information Disclosure'], cwe_id: ['CWE-319'] });
    expect(toThreatInput(http, 'CIA').threat_type).toEqual(['Confidentiality', 'Integrity']);
    // A framework the rule does not map to falls back to its STRIDE names.
    expect(toThreatInput(http, 'PLOT4ai').threat_type).toEqual(['Tampering', 'Information Disclosure']);
  });

  it('finds containment by geometry when cells are not embedded, and honours an explicit crossing', () => {
    const k = new Kit();
    k.cells.push(
      { id: 'b', shape: 'security-boundary', x: 500, y: 0, width: 400, height: 400 },
      { id: 'a', shape: 'actor', x: 0, y: 0, width: 100, height: 50 },
      { id: 'p', shape: 'process', position: { x: 600, y: 100 }, size: { width: 100, height: 50 } },
      { id: 'q', shape: 'process', x: 700, y: 200, width: 100, height: 50 },
      { id: 'f1', shape: 'flow', source: { cell: 'a' }, target: { cell: 'p' } },
      { id: 'f2', shape: 'flow', source: { cell: 'p' }, target: { cell: 'q' } },
      { id: 'f3', shape: 'flow', source: { cell: 'q' }, target: { cell: 'p' }, data: { properties: { crosses_trust_boundary: true } } },
    );
    const crossing = evaluate(k.model(), [BUILTIN_PACK]).filter((f) => f.ruleId === 'stride-tampering-flow-across-boundary').map((f) => f.subject.cellId);
    expect(crossing.sort()).toEqual(['f1', 'f3']);
  });
});

describe('rule packs', () => {
  const yamlPack = `
id: acme
name: ACME rules
version: 1.0.0
rules:
  - id: acme-no-ftp
    title: FTP is banned
    appliesTo: flow
    match: { property: protocol, in: [ftp, tftp] }
    categories: { STRIDE: [I], CIA: [confidentiality] }
    threat:
      name: FTP between {source} and {target}
      description: ACME policy bans FTP.
      severity: high
      cwe: [CWE-319]
      mitigation: Use SFTP.
`;

  it('loads an organisation pack from YAML and evaluates it beside the built-in one', () => {
    const pack = parsePack(yamlPack, 'acme.yaml');
    const model = scene((k) => k.flow(k.process('Batch'), k.process('Mainframe'), { protocol: 'ftp' }));
    const f = evaluate(model, [BUILTIN_PACK, pack]).find((x) => x.ruleId === 'acme-no-ftp')!;
    expect(f).toMatchObject({ packId: 'acme', severity: 'high', threat: { name: 'FTP between Batch and Mainframe' } });
    expect(parsePack(JSON.stringify(pack), 'acme.json')).toEqual(pack);
  });

  it('refuses a bad pack with every problem listed', () => {
    const bad = {
      id: 'bad',
      name: 'Bad',
      version: '1',
      rules: [
        { ...BUILTIN_PACK.rules[0], id: 'dup' },
        { ...BUILTIN_PACK.rules[0], id: 'dup', match: { property: 'encrypte', equals: true } },
        { ...BUILTIN_PACK.rules[0], id: 'x1', appliesTo: 'element', match: { source: { property: 'kind', equals: 'actor' } } },
        { ...BUILTIN_PACK.rules[0], id: 'x2', threat: { ...BUILTIN_PACK.rules[0]!.threat, severity: 'urgent' } },
        { ...BUILTIN_PACK.rules[0], id: 'x3', match: { property: 'data_classification', atLeast: 'top' } },
        { ...BUILTIN_PACK.rules[0], id: 'x4', match: { property: 'kind', equals: 'actor', in: ['x'] } },
        { ...BUILTIN_PACK.rules[0], id: 'x5', colour: 'red' },
        { ...BUILTIN_PACK.rules[0], id: 'x6', match: { property: 'name', matches: '^(a+)+$' } },
        { ...BUILTIN_PACK.rules[0], id: 'x7', match: { property: 'name', matches: '^(web|api)-' } },
      ],
    };
    let err: PackError | undefined;
    try {
      parsePack(JSON.stringify(bad), 'bad.json');
    } catch (e) {
      err = e as PackError;
    }
    expect(err).toBeInstanceOf(PackError);
    expect(err!.message).toContain('bad.json: invalid rule pack');
    expect(err!.problems).toContain('/rules/3/threat/severity: must be one of "informational", "low", "medium", "high", "critical"');
    expect(err!.problems).toContain("/rules/6: unknown field(s) 'colour'");

    const semantic = { ...bad, rules: bad.rules.slice(0, 3).concat(bad.rules.slice(4, 6), bad.rules.slice(7)) };
    let err2: PackError | undefined;
    try {
      parsePack(JSON.stringify(semantic), 'bad.json');
    } catch (e) {
      err2 = e as PackError;
    }
    const text = err2!.problems.join('\n');
    expect(text).toContain("duplicate rule id 'dup'");
    expect(text).toContain("unknown property 'encrypte'");
    expect(text).toContain("'source' applies to flows, not elements");
    expect(text).toContain("'top' is not on the scale of data_classification");
    expect(text).toContain("property 'kind' needs exactly one of");
    // A pattern that can backtrack exponentially is refused (packs may be uploaded); a plain one is fine.
    expect(text).toContain("/rules/5 (x6)/match: 'matches' repeats a group that itself repeats or branches");
    expect(text).not.toContain('(x7)');
  });

  it('refuses YAML alias bombs and malformed text quickly', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    const t0 = Date.now();
    expect(() => parsePack(bomb, 'bomb.yaml')).toThrow(/alias|YAML/i);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(() => parsePack('{"id": ', 'broken.json')).toThrow(/not valid JSON/);
    expect(() => parsePack('id: [', 'broken.yaml')).toThrow(/not valid YAML/);
  });
});

describe('SARIF output', () => {
  it('describes the fired rules and reports open findings with fingerprints and locations', () => {
    const findings = evaluate(webShop(), [BUILTIN_PACK]);
    const dismissed = findings.find((f) => f.ruleId === 'sql-nosql-injection')!;
    const withDismissal = evaluate(webShop(), [BUILTIN_PACK], { dismissed: [dismissed.fingerprint] });
    const sarif = toSarif(withDismissal, [BUILTIN_PACK], { artifactUri: 'models/shop.json', toolVersion: '0.1.0', lineOf: () => 42 }) as {
      version: string;
      runs: { tool: { driver: { rules: { id: string; properties: { 'security-severity': string } }[] } }; results: { ruleId: string; ruleIndex: number; level: string; partialFingerprints: Record<string, string>; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }[] }[];
    };
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0]!;
    expect(run.results).toHaveLength(withDismissal.length - 1);
    expect(run.results.map((r) => r.partialFingerprints['tmiSuggestion/v1'])).not.toContain(dismissed.fingerprint);
    for (const r of run.results) {
      expect(run.tool.driver.rules[r.ruleIndex]!.id).toBe(r.ruleId);
      expect(r.locations[0]!.physicalLocation).toEqual({ artifactLocation: { uri: 'models/shop.json' }, region: { startLine: 42 } });
    }
    const http = run.results.find((r) => r.ruleId === 'plain-http-across-trust-boundary')!;
    expect(http.level).toBe('error');
    expect(run.tool.driver.rules.find((r) => r.id === 'plain-http-across-trust-boundary')!.properties['security-severity']).toBe('8.0');
  });
});

// A pack type check at compile time: organisation packs are plain data.
const _typed: Pack = { id: 'p', name: 'p', version: '1', rules: [] };
void _typed;
