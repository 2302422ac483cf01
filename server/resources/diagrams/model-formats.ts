// The minimal diagram model in the reference's other formats: YAML (block style) and GraphML.
import type { MinimalDiagramModel } from '../../../contract/diagrams.ts';

/** YAML scalar: quoted as JSON (a valid YAML double-quoted string) unless it is plainly safe. */
function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  return /^[A-Za-z0-9][A-Za-z0-9 ._/-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~|[0-9.+-].*)$/i.test(s) && !s.endsWith(' ')
    ? s
    : JSON.stringify(s);
}

function yamlLines(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      if (item !== null && typeof item === 'object' && Object.keys(item).length > 0) {
        const inner = yamlLines(item, `${indent}  `);
        return [`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1)];
      }
      return [`${indent}- ${inline(item)}`];
    });
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return [`${indent}{}`];
    return entries.flatMap(([k, v]) => {
      const key = scalar(k);
      if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
        return [`${indent}${key}:`, ...yamlLines(v, `${indent}  `)];
      }
      return [`${indent}${key}: ${inline(v)}`];
    });
  }
  return [`${indent}${scalar(value)}`];
}

function inline(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '[]' : JSON.stringify(v);
  if (v !== null && typeof v === 'object') return Object.keys(v).length === 0 ? '{}' : JSON.stringify(v);
  return scalar(v);
}

export function toYaml(model: MinimalDiagramModel): string {
  return `${yamlLines(model, '').join('\n')}\n`;
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function toGraphml(model: MinimalDiagramModel): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
    '  <key id="shape" for="all" attr.name="shape" attr.type="string"/>',
    '  <key id="labels" for="all" attr.name="labels" attr.type="string"/>',
    '  <key id="parent" for="node" attr.name="parent" attr.type="string"/>',
    '  <key id="security_boundary" for="node" attr.name="security_boundary" attr.type="boolean"/>',
    '  <key id="metadata" for="all" attr.name="metadata" attr.type="string"/>',
    '  <key id="data_asset_ids" for="all" attr.name="data_asset_ids" attr.type="string"/>',
    `  <graph id="${xml(model.id)}" edgedefault="directed">`,
    `    <desc>${xml(model.name)}</desc>`,
  ];
  for (const c of model.cells) {
    const data = [
      `      <data key="shape">${xml(c.shape)}</data>`,
      `      <data key="labels">${xml(c.labels.join('\n'))}</data>`,
      `      <data key="metadata">${xml(JSON.stringify(c.metadata))}</data>`,
      `      <data key="data_asset_ids">${xml(c.data_asset_ids.join(','))}</data>`,
    ];
    if ('source' in c) {
      lines.push(`    <edge id="${xml(c.id)}" source="${xml(c.source.cell)}" target="${xml(c.target.cell)}">`, ...data, '    </edge>');
    } else {
      if (c.parent) data.push(`      <data key="parent">${xml(c.parent)}</data>`);
      data.push(`      <data key="security_boundary">${c.security_boundary}</data>`);
      lines.push(`    <node id="${xml(c.id)}">`, ...data, '    </node>');
    }
  }
  lines.push('  </graph>', '</graphml>');
  return `${lines.join('\n')}\n`;
}
