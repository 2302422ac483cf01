// The threat form, shared by the threats tab and the diagram editor's properties panel: threat
// types from the model's framework, CWE ids, CVSS vectors, linked diagram cell and asset, mitigation.
import { useState } from 'react';
import { api } from '../api/client.ts';
import { PRIORITIES, SEVERITIES, THREAT_STATUSES, THREAT_TYPES, type Threat } from '../api/types.ts';
import { ErrorNote } from '../ui.tsx';

export interface ThreatLinks {
  diagrams?: { id: string; name: string }[];
  assets?: { id: string; name: string }[];
}

const CWE = /^CWE-[0-9]+$/;
const NAME_PATTERN = '[^<>"\'&]+';
const NAME_TITLE = 'Without the characters < > " \' &';
const CVSS = /^[A-Za-z0-9.:/_-]+$/;

/** The option matching a stored value whatever its case (the server may normalise to lower case). */
const pick = (options: string[], v: string | null | undefined, fallback = '') => (v ? (options.find((o) => o.toLowerCase() === v.toLowerCase()) ?? v) : fallback);
const withValue = (options: string[], v: string) => (v && !options.includes(v) ? [v, ...options] : options);

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
    severity: pick(SEVERITIES, threat?.severity, 'Medium'),
    priority: pick(PRIORITIES, threat?.priority),
    status: pick(THREAT_STATUSES, threat?.status, 'Open'),
    mitigated: threat?.mitigated ?? false,
    mitigation: threat?.mitigation ?? '',
    threat_type: threat?.threat_type ?? [],
    cwe: (threat?.cwe_id ?? []).join(', '),
    cvss: (threat?.cvss ?? []).map((c) => `${c.vector} ${c.score}`).join('\n'),
    diagram_id: threat?.diagram_id ?? fixed?.diagram_id ?? '',
    cell_id: threat?.cell_id ?? fixed?.cell_id ?? '',
    asset_id: threat?.asset_id ?? '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const types = THREAT_TYPES[framework] ?? THREAT_TYPES.STRIDE!;

  const submit = async () => {
    const cwe = v.cwe.split(/[\s,]+/).filter(Boolean).map((c) => (/^\d+$/.test(c) ? `CWE-${c}` : c.toUpperCase()));
    const bad = cwe.find((c) => !CWE.test(c));
    if (bad) return setError(new Error(`"${bad}" is not a CWE id (write it as CWE-79 or 79).`));
    const cvss: { vector: string; score: number }[] = [];
    for (const line of v.cvss.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const [vector, score] = line.split(/\s+/);
      const n = Number(score);
      if (!vector || !CVSS.test(vector) || !Number.isFinite(n) || n < 0 || n > 10) {
        return setError(new Error(`"${line}" is not a CVSS entry: write the vector, a space, and the score 0-10.`));
      }
      cvss.push({ vector, score: n });
    }
    const body = {
      name: v.name.trim(),
      description: v.description.trim() || null,
      severity: v.severity || null,
      priority: v.priority || null,
      status: v.status || null,
      mitigated: v.mitigated,
      mitigation: v.mitigation.trim() || null,
      threat_type: v.threat_type,
      cwe_id: [...new Set(cwe)],
      cvss,
      diagram_id: v.diagram_id || null,
      cell_id: v.cell_id || null,
      asset_id: v.asset_id || null,
    };
    setBusy(true);
    setError(undefined);
    try {
      const saved = threat ? await api.put<Threat>(`/threat_models/${tmId}/threats/${threat.id}`, body) : await api.post<Threat>(`/threat_models/${tmId}/threats`, body);
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="threat-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <fieldset disabled={!writable}>
        <label>
          Name
          <input name="threat_name" value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} required maxLength={256} pattern={NAME_PATTERN} title={NAME_TITLE} />
        </label>
        <label>
          Description
          <textarea name="threat_description" rows={2} maxLength={2048} value={v.description} onChange={(e) => setV({ ...v, description: e.target.value })} />
        </label>
        <div className="row">
          <label>
            Severity
            <select name="severity" value={v.severity} onChange={(e) => setV({ ...v, severity: e.target.value })}>
              {withValue(SEVERITIES, v.severity).map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Priority
            <select name="priority" value={v.priority} onChange={(e) => setV({ ...v, priority: e.target.value })}>
              <option value="">—</option>
              {withValue(PRIORITIES, v.priority).map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Status
            <select name="threat_status" value={v.status} onChange={(e) => setV({ ...v, status: e.target.value })}>
              {withValue(THREAT_STATUSES, v.status).map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
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
          <textarea name="mitigation" rows={2} maxLength={1024} value={v.mitigation} onChange={(e) => setV({ ...v, mitigation: e.target.value })} />
        </label>
      </fieldset>
      <ErrorNote error={error} onClose={() => setError(undefined)} />
      <div className="actions">
        {onCancel && (
          <button type="button" onClick={onCancel}>
            {writable ? 'Cancel' : 'Close'}
          </button>
        )}
        {writable && (
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : threat ? 'Save threat' : 'Add threat'}
          </button>
        )}
      </div>
    </form>
  );
}
