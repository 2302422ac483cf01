// The threat page's scoring tools: CVSS 3.1 / 4.0 calculators, the SSVC decision helper and the CWE
// picker. Each edits a value the caller saves (threat `cvss`, `ssvc`, `cwe_id`).
import { useEffect, useId, useMemo, useState, type KeyboardEvent } from 'react';
import { metricsOf, parseVector, score, type CvssVersion } from './cvss.ts';
import { cweNumber, loadCweCatalogue, searchCwe, type CweCatalogue, type CweEntry } from './cwe.ts';
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

/**
 * Chosen CWE ids as chips, and a search of the whole CWE List (loaded when the picker first shows):
 * type a number or words, pick with the arrow keys and Enter or with a click. An id the list does
 * not know can still be added by its number.
 */
export function CwePicker({ value, onChange }: { value: string[]; onChange: (ids: string[]) => void }) {
  const [catalogue, setCatalogue] = useState<CweCatalogue>();
  const [loadError, setLoadError] = useState<unknown>();
  const [q, setQ] = useState('');
  const [active, setActive] = useState(0);
  const listId = useId();
  useEffect(() => {
    let live = true;
    loadCweCatalogue().then(
      (c) => live && setCatalogue(c),
      (err: unknown) => live && setLoadError(err),
    );
    return () => {
      live = false;
    };
  }, []);
  const number = cweNumber(q);
  const typed = number === undefined ? undefined : `CWE-${number}`;
  const options: { id: string; entry?: CweEntry }[] = catalogue ? searchCwe(catalogue, q, 12).filter((c) => !value.includes(c.id)).map((entry) => ({ id: entry.id, entry })) : [];
  if (typed && !value.includes(typed) && !catalogue?.byId.has(typed)) options.push({ id: typed });
  const current = Math.min(active, options.length - 1);
  const add = (id: string) => {
    onChange([...value, id]);
    setQ('');
    setActive(0);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (options.length) setActive((current + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length);
    } else if (e.key === 'Enter') {
      e.preventDefault(); // never submits a surrounding form
      if (current >= 0) add(options[current]!.id);
    } else if (e.key === 'Escape' && q) {
      e.preventDefault();
      setQ('');
    }
  };
  return (
    <div className="cwe-picker" data-testid="cwe-picker">
      <ul className="chips">
        {value.map((id) => (
          <li key={id}>
            <a href={`https://cwe.mitre.org/data/definitions/${id.slice(4)}.html`} target="_blank" rel="noreferrer noopener" title={catalogue?.byId.get(id)?.name}>
              {id}
            </a>{' '}
            <button type="button" className="link" aria-label={`Remove ${id}`} onClick={() => onChange(value.filter((x) => x !== id))}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <input
        name="cwe-search"
        role="combobox"
        aria-label="Search the CWE List"
        aria-autocomplete="list"
        aria-expanded={options.length > 0}
        aria-controls={listId}
        aria-activedescendant={current >= 0 ? `${listId}-${current}` : undefined}
        autoComplete="off"
        placeholder="Search CWE: number or words (e.g. 79, injection)"
        value={q}
        onChange={(e) => {
          setQ(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
      />
      <ul className="cwe-hits" role="listbox" id={listId} aria-label="Matching CWE entries">
        {options.map((o, i) => (
          <li
            key={o.id}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === current}
            className={i === current ? 'active' : undefined}
            data-cwe={o.id}
            onMouseDown={(e) => e.preventDefault()}
            onMouseEnter={() => setActive(i)}
            onClick={() => add(o.id)}
          >
            <strong>{o.id}</strong>{' '}
            {o.entry ? (
              <>
                {o.entry.name}{' '}
                <small className="muted">
                  {o.entry.kind.toLowerCase()}
                  {o.entry.deprecated && ', deprecated'}
                </small>
              </>
            ) : (
              <small className="muted">{catalogue ? 'not in the CWE List: add it anyway' : 'add'}</small>
            )}
          </li>
        ))}
      </ul>
      {catalogue && q.trim() && options.length === 0 && <p className="muted small">No CWE entry matches.</p>}
      <p className="muted small" data-testid="cwe-catalogue-version">
        {catalogue ? (
          <>
            Catalogue: {catalogue.label}, {catalogue.entries.length} entries. CWE™ © The MITRE Corporation,{' '}
            <a href="https://cwe.mitre.org/about/termsofuse.html" target="_blank" rel="noreferrer noopener">
              terms of use
            </a>
            .
          </>
        ) : loadError ? (
          'The CWE catalogue did not load; CWE ids can still be added by number.'
        ) : (
          'Loading the CWE catalogue…'
        )}
      </p>
    </div>
  );
}
