// The threat page's scoring tools: CVSS 3.1 / 4.0 calculators, the SSVC decision helper and the CWE
// picker. Each edits a value the caller saves (threat `cvss`, `ssvc`, `cwe_id`).
import { useMemo, useState } from 'react';
import { metricsOf, parseVector, score, type CvssVersion } from './cvss.ts';
import { CWE_CATALOGUE_VERSION, CWE_LIST, searchCwe } from './cwe.ts';
import { AUTOMATABLE, cisaOutcome, EXPLOITATION, MISSION_WELLBEING, parseSsvcVector, ssvcScore, TECHNICAL_IMPACT, type SsvcAnswers } from './ssvc.ts';

export function CvssCalculator({ initial, onUse }: { initial?: string; onUse: (entry: { vector: string; score: number }) => void }) {
  const parsed = initial ? parseVector(initial) : undefined;
  const [version, setVersion] = useState<CvssVersion>(parsed?.version ?? '3.1');
  const [chosen, setChosen] = useState<Record<string, string>>(parsed?.chosen ?? {});
  const metrics = useMemo(() => metricsOf(version), [version]);
  const result = score(version, chosen);
  return (
    <div className="cvss" data-testid="cvss-calculator" data-version={version}>
      <div className="toolbar">
        {(['3.1', '4.0'] as const).map((v) => (
          <label key={v}>
            <input
              type="radio"
              name="cvss-version"
              value={v}
              checked={version === v}
              onChange={() => {
                setVersion(v);
                setChosen({});
              }}
            />{' '}
            CVSS {v}
          </label>
        ))}
      </div>
      <div className="metrics">
        {metrics.map((m) => (
          <fieldset key={m.short} className="metric" data-metric={m.short}>
            <legend title={m.category}>
              {m.name} ({m.short}){m.category !== 'base' && <small className="muted"> · {m.category}</small>}
            </legend>
            {m.values
              .filter((v) => v.short !== 'X' || m.category !== 'base')
              .map((v) => (
                <button
                  key={v.short}
                  type="button"
                  className={(chosen[m.short] ?? 'X') === v.short ? 'chosen' : 'secondary'}
                  aria-pressed={(chosen[m.short] ?? 'X') === v.short}
                  data-value={v.short}
                  onClick={() => setChosen({ ...chosen, [m.short]: v.short })}
                >
                  {v.name}
                </button>
              ))}
          </fieldset>
        ))}
      </div>
      <p data-testid="cvss-result">
        <code>{result.vector}</code>{' '}
        {result.complete ? (
          <>
            <strong data-testid="cvss-score">{result.overall!.toFixed(1)}</strong> <span className={`sev sev-${result.severity}`}>{result.severity}</span>
            {result.base !== result.overall && <small className="muted"> (base {result.base?.toFixed(1)})</small>}
          </>
        ) : (
          <span className="muted">choose every base metric to get a score</span>
        )}
      </p>
      <button type="button" disabled={!result.complete} onClick={() => onUse({ vector: result.vector, score: result.overall! })}>
        Add this score to the threat
      </button>
      <p className="muted small">Scores by ae-cvss-calculator ({'{'}metæffekt{'}'}, Apache-2.0), FIRST CVSS v3.1 and v4.0.</p>
    </div>
  );
}

const DEFAULT_SSVC: SsvcAnswers = { exploitation: 'none', automatable: 'no', technicalImpact: 'partial', missionWellbeing: 'low' };

export function SsvcHelper({ initial, onUse }: { initial?: string | null; onUse: (v: ReturnType<typeof ssvcScore>) => void }) {
  const [a, setA] = useState<SsvcAnswers>(parseSsvcVector(initial) ?? DEFAULT_SSVC);
  const q = <K extends keyof SsvcAnswers>(key: K, label: string, values: readonly SsvcAnswers[K][], help: string) => (
    <label>
      {label}
      <select name={`ssvc-${key}`} value={a[key]} onChange={(e) => setA({ ...a, [key]: e.target.value as SsvcAnswers[K] })}>
        {values.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
      <small className="muted">{help}</small>
    </label>
  );
  const s = ssvcScore(a);
  return (
    <div className="ssvc" data-testid="ssvc-helper">
      {q('exploitation', 'Exploitation', EXPLOITATION, 'none, public proof of concept, or active exploitation')}
      {q('automatable', 'Automatable', AUTOMATABLE, 'can an attacker automate steps 1-4 of the kill chain?')}
      {q('technicalImpact', 'Technical impact', TECHNICAL_IMPACT, 'partial or total control of the affected component')}
      {q('missionWellbeing', 'Mission and well-being', MISSION_WELLBEING, 'impact on your mission and on public well-being')}
      <p data-testid="ssvc-result">
        CISA decision: <strong>{cisaOutcome(a)}</strong> → stored as <strong>{s.decision}</strong> <code>{s.vector}</code>
      </p>
      <button type="button" onClick={() => onUse(s)}>
        Use this decision
      </button>
    </div>
  );
}

export function CwePicker({ value, onChange }: { value: string[]; onChange: (ids: string[]) => void }) {
  const [q, setQ] = useState('');
  const hits = searchCwe(q, 12).filter((c) => !value.includes(c.id));
  const typed = /^(?:cwe-?)?(\d{1,6})$/i.exec(q.trim());
  const nameOf = (id: string) => CWE_LIST.find((c) => c.id === id)?.name;
  return (
    <div className="cwe-picker" data-testid="cwe-picker">
      <ul className="chips">
        {value.map((id) => (
          <li key={id}>
            <a href={`https://cwe.mitre.org/data/definitions/${id.slice(4)}.html`} target="_blank" rel="noreferrer noopener" title={nameOf(id)}>
              {id}
            </a>{' '}
            <button type="button" className="link" aria-label={`Remove ${id}`} onClick={() => onChange(value.filter((x) => x !== id))}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <input name="cwe-search" placeholder="Search CWE: number or words (e.g. 79, injection)" value={q} onChange={(e) => setQ(e.target.value)} />
      <ul className="cwe-hits">
        {hits.map((c) => (
          <li key={c.id}>
            <button type="button" className="link" onClick={() => onChange([...value, c.id])}>
              {c.id}
            </button>{' '}
            {c.name}
          </li>
        ))}
        {typed && !CWE_LIST.some((c) => c.id === `CWE-${typed[1]}`) && !value.includes(`CWE-${typed[1]}`) && (
          <li>
            <button type="button" className="link" onClick={() => onChange([...value, `CWE-${typed[1]}`])}>
              Add CWE-{typed[1]}
            </button>{' '}
            <small className="muted">(not in the shipped list)</small>
          </li>
        )}
      </ul>
      <p className="muted small">Catalogue: {CWE_CATALOGUE_VERSION}.</p>
    </div>
  );
}
