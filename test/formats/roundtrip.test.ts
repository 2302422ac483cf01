// Export then import gives the same model: TMI JSON exactly; Threat Dragon and OTM for everything
// those formats can hold (their exports list what they cannot). Plus stable ids across imports and
// a consistent re-numbering for servers that must not reuse ids.
import { Compile } from 'typebox/compile';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { exportModel, importModel, reassignIds, type ModelDocument } from '../../formats/index.ts';
import { BUILTIN_PACK, evaluate } from '../../rules/index.ts';
import { contractProblems, fixture } from './support.ts';

const SAMPLES = ['threat-dragon-v2.json', 'threat-dragon-v1.json', 'otm.yaml', 'model.tm7', 'threagile.yaml', 'tmi.json'];

/** The parts of a document that a diagram-and-threats format carries. */
function diagramsAndThreats(doc: ModelDocument) {
  return {
    diagrams: doc.diagrams.map((d) => ({ id: d.id, name: d.name, cells: d.cells })),
    threats: doc.threats.map(({ metadata: _m, cwe_id: _c, cvss: _v, priority: _p, ...t }) => t),
  };
}

describe('TMI JSON round trip', () => {
  for (const name of SAMPLES) {
    it(`export then import gives the same document (${name})`, () => {
      const doc = importModel(fixture(name)).document;
      const again = importModel(exportModel(doc, 'tmi-json').text);
      expect(again.report.unmapped).toEqual([]);
      expect(again.document).toEqual(doc);
    });
  }
});

describe('Threat Dragon round trip', () => {
  it('keeps diagrams, cells, properties and threats of a Threat Dragon model', () => {
    const doc = importModel(fixture('threat-dragon-v2.json')).document;
    const out = exportModel(doc, 'threat-dragon');
    expect(out.omitted).toEqual([]);
    const again = importModel(out.text);
    expect(again.report.format).toBe('threat-dragon-v2');
    expect(again.report.unmapped).toEqual([]);
    expect(again.document).toEqual(doc);
  });

  it('carries a model from another format, listing what Threat Dragon cannot hold', () => {
    const doc = importModel(fixture('threagile.yaml')).document;
    const out = exportModel(doc, 'threat-dragon');
    expect(out.omitted.map((o) => o.source)).toEqual(['2 assets', '4 notes']);
    expect(out.notes.join('\n')).toMatch(/cell properties without a Threat Dragon field were left out: .*technology/);
    const again = importModel(out.text).document;
    expect(contractProblems(again)).toEqual([]);
    const shapes = (d: ModelDocument) => d.diagrams.flatMap((x) => x.cells.map((c) => `${c.shape}:${c.id}`)).sort();
    expect(shapes(again)).toEqual(shapes(doc));
    expect(again.threats.map((t) => [t.id, t.name, t.cell_id, t.severity, t.status])).toEqual(doc.threats.map((t) => [t.id, t.name, t.cell_id, t.severity, 'open']));
  });
});

describe('OTM round trip', () => {
  it('keeps zones, components, dataflows, assets and threats of an OTM model', () => {
    const doc = importModel(fixture('otm.yaml')).document;
    const out = exportModel(doc, 'otm');
    expect(out.omitted.map((o) => o.source)).toEqual(['1 notes']);
    const again = importModel(out.text);
    expect(again.report.unmapped).toEqual([]);
    expect({ ...again.document, notes: [] }).toEqual({ ...doc, notes: [] });
  });

  it('keeps every diagram, cell and threat of models from the other formats', () => {
    for (const name of ['threat-dragon-v2.json', 'model.tm7', 'threagile.yaml', 'tmi.json']) {
      const doc = importModel(fixture(name)).document;
      const out = exportModel(doc, 'otm');
      const again = importModel(out.text).document;
      expect(contractProblems(again), name).toEqual([]);
      const textBoxes = new Set(doc.diagrams.flatMap((d) => d.cells.filter((c) => c.shape === 'text-box').map((c) => c.id)));
      const withoutText = (d: ModelDocument) =>
        diagramsAndThreats({
          ...d,
          diagrams: d.diagrams.map((x) => ({ ...x, cells: x.cells.filter((c) => !textBoxes.has(c.id)).map(({ vertices: _v, children, ...c }) => ({ ...c, ...(Array.isArray(children) ? { children: children.filter((id) => !textBoxes.has(id as string)) } : {}) })) })),
        });
      const a = withoutText(again);
      const b = withoutText(doc);
      expect(a.threats, name).toEqual(b.threats);
      expect(a.diagrams.map((d) => d.cells.map((c) => c.id).sort()), name).toEqual(b.diagrams.map((d) => d.cells.map((c) => c.id).sort()));
      expect(again.assets.map((x) => x.name), name).toEqual(doc.assets.map((x) => x.name));
    }
  });

  it('writes OTM 0.2.0 that satisfies the specification\'s required fields', () => {
    const Named = { id: Type.String(), name: Type.String() };
    const Otm = Type.Object({
      otmVersion: Type.String(),
      project: Type.Object(Named),
      representations: Type.Array(Type.Object({ ...Named, type: Type.String() })),
      assets: Type.Array(Type.Object({ ...Named, risk: Type.Object({ confidentiality: Type.Number(), integrity: Type.Number(), availability: Type.Number() }) })),
      trustZones: Type.Array(Type.Object({ ...Named, risk: Type.Object({ trustRating: Type.Number() }) })),
      components: Type.Array(Type.Object({ ...Named, type: Type.String(), parent: Type.Union([Type.Object({ trustZone: Type.String() }), Type.Object({ component: Type.String() })]) })),
      dataflows: Type.Array(Type.Object({ ...Named, source: Type.String(), destination: Type.String() })),
      threats: Type.Array(Type.Object({ ...Named, risk: Type.Object({ likelihood: Type.Number(), impact: Type.Number() }) })),
      mitigations: Type.Array(Type.Object({ ...Named, riskReduction: Type.Number() })),
    });
    const check = Compile(Otm);
    for (const name of SAMPLES) {
      const otm = JSON.parse(exportModel(importModel(fixture(name)).document, 'otm').text) as unknown;
      expect(check.Check(otm), `${name}: ${JSON.stringify([...check.Errors(otm)][0])}`).toBe(true);
    }
  });
});

describe('ids', () => {
  it('are stable: the same file imports to the same document', () => {
    for (const name of SAMPLES) expect(importModel(fixture(name)).document, name).toEqual(importModel(fixture(name)).document);
  });

  it('can be reassigned throughout, keeping every reference consistent', () => {
    let n = 0;
    const fresh = () => `f0000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`;
    for (const name of SAMPLES) {
      const doc = importModel(fixture(name)).document;
      const moved = reassignIds(doc, fresh);
      expect(contractProblems(moved), name).toEqual([]);
      const oldIds = new Set([...doc.diagrams.flatMap((d) => [d.id, ...d.cells.map((c) => c.id)]), ...doc.threats.map((t) => t.id), ...doc.assets.map((a) => a.id)]);
      expect(JSON.stringify(moved).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g)!.filter((id) => oldIds.has(id)), name).toEqual([]);
      // The same suggestions come out, on the renamed cells.
      const count = (d: ModelDocument) => evaluate(d, [BUILTIN_PACK]).map((f) => f.ruleId).sort();
      expect(count(moved), name).toEqual(count(doc));
    }
  });
});
