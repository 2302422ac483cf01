// The threat form, shared by the threats tab and the diagram editor's properties panel: threat
// types from the model's framework, CWE ids, CVSS vectors, linked diagram cell and asset, mitigation.
import { useState } from 'react';
import { FRAMEWORK_THREAT_TYPES, SCORE, THREAT_PRIORITIES, THREAT_SEVERITIES, THREAT_STATUSES, THREAT_TEXT, type Framework } from '../../../contract/limits.ts';
import type { Threat, ThreatInput } from '../../../contract/threats.ts';
import { threats } from '../api/threats.ts';
import { EnumSelect, Form, FormActions, TextInput, matchOption, patternHint, textProblem, titleCase, useAction } from '../forms.tsx';

export interface ThreatLinks {
  diagrams?: { id: string; name: string }[];
  assets?: { id: string; name: string }[];
}

/** Most severe and most urgent first. */
export const SEVERITY_OPTIONS = [...THREAT_SEVERITIES].reverse();
export const PRIORITY_OPTIONS = [...THREAT_PRIORITIES].reverse();

/** The CWE ids of the form's field ("79, CWE-89"), or an error naming the first that is not one. */
export function parseCwe(text: string): string[] {
  const ids = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((c) => (/^\d+$/.test(c) ? `CWE-${c}` : c.toUpperCase()));
  const bad = ids.find((c) => textProblem(c, THREAT_TEXT.cwe_id));
  if (bad) throw new Error(`"${bad}" is not a CWE id (write it as CWE-79 or 79).`);
  return [...new Set(ids)];
}

/** The CVSS entries of the form's field, one "vector score" a line, or an error naming the first bad line. */
export function parseCvss(text: string): { vector: string; score: number }[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [vector, score] = line.split(/\s+/);
      const n = Number(score);
      if (!vector || textProblem(vector, THREAT_TEXT.cvss_vector) || !Number.isFinite(n) || n < SCORE.minimum || n > SCORE.maximum) {
        throw new Error(`"${line}" is not a CVSS entry: write the vector, a space, and the score ${SCORE.minimum}-${SCORE.maximum}.`);
      }
      return { vector, score: n };
    });
}

export function ThreatForm({ tmId, framework, threat, fixed, links, writable, onSaved, onCancel }: {
  tmId: string;
  framework: string;
  threat?: Threat;
  /** Values set by the caller (the editor links the selected cell). */
  fixed?: Partial<Threat>;
  links?: ThreatLinks;
  writable: boolean;
  onSaved: (t: Threat) => void;
  onCancel?: () => void;
}) {
  const [v, setV] = useState({
    name: threat?.name ?? '',
    description: threat?.description ?? '',
    severity: threat?.severity ? matchOption(SEVERITY_OPTIONS, threat.severity) : 'medium',
    priority: matchOption(PRIORITY_OPTIONS, threat?.priority),
    status: threat?.status ? matchOption(THREAT_STATUSES, threat.status) : 'open',
    mitigated: threat?.mitigated ?? false,
    mitigation: threat?.mitigation ?? '',
    threat_type: threat?.threat_type ?? [],
    cwe: (threat?.cwe_id ?? []).join(', '),
    cvss: (threat?.cvss ?? []).map((c) => `${c.vector} ${c.score}`).join('\n'),
    diagram_id: threat?.diagram_id ?? fixed?.diagram_id ?? '',
    cell_id: threat?.cell_id ?? fixed?.cell_id ?? '',
    asset_id: threat?.asset_id ?? '',
  });
  const types: readonly string[] = FRAMEWORK_THREAT_TYPES[framework as Framework] ?? FRAMEWORK_THREAT_TYPES.STRIDE;

  const save = useAction(async () => {
    const body: ThreatInput = {
      name: v.name.trim(),
      description: v.description.trim() || null,
      severity: v.severity || null,
      priority: v.priority || null,
      status: v.status || null,
      mitigated: v.mitigated,
      mitigation: v.mitigation.trim() || null,
      threat_type: v.threat_type,
      cwe_id: parseCwe(v.cwe),
      cvss: parseCvss(v.cvss),
      diagram_id: v.diagram_id || null,
      cell_id: v.cell_id || null,
      asset_id: v.asset_id || null,
    };
    onSaved(threat ? await threats.replace(tmId, threat.id, body) : await threats.create(tmId, body));
  });

  return (
    <Form className="threat-form" onSubmit={save.run}>
      <fieldset disabled={!writable}>
        <label>
          Name
          <TextInput name="threat_name" value={v.name} onChange={(name) => setV({ ...v, name })} required rule={THREAT_TEXT.name} title={patternHint(THREAT_TEXT.name)} />
        </label>
        <label>
          Description
          <TextInput multiline name="threat_description" rows={2} rule={THREAT_TEXT.description} value={v.description} onChange={(description) => setV({ ...v, description })} />
        </label>
        <div className="row">
          <label>
            Severity
            <EnumSelect name="severity" options={SEVERITY_OPTIONS} label={titleCase} value={v.severity} onChange={(severity) => setV({ ...v, severity })} />
          </label>
          <label>
            Priority
            <EnumSelect name="priority" options={PRIORITY_OPTIONS} label={titleCase} none="—" value={v.priority} onChange={(priority) => setV({ ...v, priority })} />
          </label>
          <label>
            Status
            <EnumSelect name="threat_status" options={THREAT_STATUSES} label={titleCase} value={v.status} onChange={(status) => setV({ ...v, status })} />
          </label>
        </div>
        <div className="label">Threat types ({framework})</div>
        <div className="checks">
          {types.map((t) => (
            <label key={t} className="inline">
              <input
                type="checkbox"
                checked={v.threat_type.includes(t)}
                onChange={(e) => setV({ ...v, threat_type: e.target.checked ? [...v.threat_type, t] : v.threat_type.filter((x) => x !== t) })}
              />{' '}
              {t}
            </label>
          ))}
        </div>
        <div className="row">
          <label>
            CWE ids
            <input name="cwe" placeholder="CWE-79, CWE-89" value={v.cwe} onChange={(e) => setV({ ...v, cwe: e.target.value })} />
          </label>
          <label>
            CVSS (vector score, one per line)
            <textarea name="cvss" rows={2} placeholder="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H 9.8" value={v.cvss} onChange={(e) => setV({ ...v, cvss: e.target.value })} />
          </label>
        </div>
        {(links?.diagrams || links?.assets) && (
          <div className="row">
            {links.diagrams && (
              <label>
                Diagram
                <select name="diagram_id" value={v.diagram_id} onChange={(e) => setV({ ...v, diagram_id: e.target.value, cell_id: e.target.value ? v.cell_id : '' })}>
                  <option value="">—</option>
                  {links.diagrams.map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.name}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label>
              Cell id
              <input name="cell_id" value={v.cell_id} onChange={(e) => setV({ ...v, cell_id: e.target.value })} placeholder="(optional)" />
            </label>
            {links.assets && (
              <label>
                Asset
                <select name="asset_id" value={v.asset_id} onChange={(e) => setV({ ...v, asset_id: e.target.value })}>
                  <option value="">—</option>
                  {links.assets.map((a) => (
                    <option key={a.id} value={a.id}>
                      {a.name}
                    </option>
                  ))}
                </select>
              </label>
            )}
          </div>
        )}
        <label className="inline">
          <input type="checkbox" name="mitigated" checked={v.mitigated} onChange={(e) => setV({ ...v, mitigated: e.target.checked })} /> Mitigated
        </label>
        <label>
          Mitigation
          <TextInput multiline name="mitigation" rows={2} rule={THREAT_TEXT.mitigation} value={v.mitigation} onChange={(mitigation) => setV({ ...v, mitigation })} />
        </label>
      </fieldset>
      <FormActions action={save} submit={threat ? 'Save threat' : 'Add threat'} writable={writable} onCancel={onCancel} dismissible />
    </Form>
  );
}
