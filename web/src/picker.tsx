// One search-as-you-type picker for the whole app (the sharing dialog finds people and groups
// through GET /principals, the administration area finds accounts through /admin/users): the
// WAI-ARIA combobox pattern with a list box. The list opens as matches arrive, arrow keys (and
// Home / End) move through it, Enter picks, Escape closes it (a second Escape reaches the dialog),
// and a pick clears the text for the next one. Searches wait until typing pauses (debounced) and
// an older answer never replaces a newer one (each search is aborted by the next).
import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { PRINCIPAL_SEARCH } from '../../contract/limits.ts';

/** How long typing must pause before a search goes out. */
export const SEARCH_DEBOUNCE_MS = 250;

/** The option a navigation key moves to among `count` options (-1: none active); wraps around. */
export function nextActive(active: number, count: number, key: string): number {
  if (count === 0) return -1;
  switch (key) {
    case 'ArrowDown':
      return active < 0 || active >= count - 1 ? 0 : active + 1;
    case 'ArrowUp':
      return active <= 0 ? count - 1 : active - 1;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return active;
  }
}

export interface SearchPickerProps<T> {
  /** The visible label of the text box. */
  label: string;
  search: (text: string, signal: AbortSignal) => Promise<T[]>;
  optionKey: (item: T) => string;
  optionLabel: (item: T) => ReactNode;
  onPick: (item: T) => void;
  /** The input's name (forms and browser tests find it by name). */
  name?: string;
  placeholder?: string;
  /** Shown under the box and read with it (aria-describedby). */
  hint?: ReactNode;
  /** Fewer characters than this (besides spaces) search nothing. */
  minLength?: number;
}

type Found<T> = { state: 'idle' } | { state: 'searching' } | { state: 'done'; items: T[] } | { state: 'failed' };

export function SearchPicker<T>({ label, search, optionKey, optionLabel, onPick, name, placeholder, hint, minLength = PRINCIPAL_SEARCH.minQuery }: SearchPickerProps<T>) {
  const id = useId();
  const [text, setText] = useState('');
  const [found, setFound] = useState<Found<T>>({ state: 'idle' });
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  // The latest search function, so a parent's new closure does not restart the debounce.
  const searchRef = useRef(search);
  searchRef.current = search;

  useEffect(() => {
    const wanted = text.trim();
    if ([...wanted].length < minLength) {
      setFound({ state: 'idle' });
      return;
    }
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      setFound({ state: 'searching' });
      searchRef.current(wanted, ctl.signal).then(
        (items) => {
          if (ctl.signal.aborted) return;
          setFound({ state: 'done', items });
          setActive(items.length ? 0 : -1);
          setOpen(true);
        },
        () => !ctl.signal.aborted && setFound({ state: 'failed' }),
      );
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [text, minLength]);

  const items = found.state === 'done' ? found.items : [];
  const expanded = open && items.length > 0;
  const optionId = (i: number) => `${id}-option-${i}`;

  const pick = (item: T) => {
    onPick(item);
    setText('');
    setOpen(false);
    setActive(-1);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key) && (expanded || e.key === 'ArrowDown')) {
      if (!items.length) return;
      e.preventDefault();
      setOpen(true);
      setActive(nextActive(expanded ? active : -1, items.length, e.key));
    } else if (e.key === 'Enter') {
      // Enter never submits the surrounding form from here: it picks, or does nothing.
      e.preventDefault();
      if (expanded && active >= 0 && items[active]) pick(items[active]);
    } else if (e.key === 'Escape' && expanded) {
      // Closes the list only; the dialog around stays open.
      e.preventDefault();
      e.stopPropagation();
      setOpen(false);
    }
  };

  const status =
    found.state === 'searching'
      ? 'Searching…'
      : found.state === 'failed'
        ? 'The search failed; try again.'
        : found.state === 'done' && !items.length
          ? 'No match.'
          : found.state === 'done'
            ? `${items.length} match${items.length === 1 ? '' : 'es'}; use the arrow keys and Enter to choose.`
            : '';

  return (
    <div className="search-picker">
      <label htmlFor={`${id}-input`}>{label}</label>
      <input
        id={`${id}-input`}
        type="text"
        name={name}
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={`${id}-list`}
        aria-activedescendant={expanded && active >= 0 ? optionId(active) : undefined}
        aria-describedby={hint ? `${id}-hint` : undefined}
        autoComplete="off"
        placeholder={placeholder}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setOpen(false)}
        onFocus={() => setOpen(true)}
      />
      <ul id={`${id}-list`} role="listbox" aria-label={label} className="picker-options" hidden={!expanded}>
        {items.map((item, i) => (
          <li
            key={optionKey(item)}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'active' : undefined}
            // mousedown, not click: the input keeps the focus and its blur does not close the list first.
            onMouseDown={(e) => {
              e.preventDefault();
              pick(item);
            }}
            onMouseEnter={() => setActive(i)}
          >
            {optionLabel(item)}
          </li>
        ))}
      </ul>
      <div className="muted small" role="status" aria-live="polite">
        {status}
      </div>
      {hint && (
        <div id={`${id}-hint`} className="muted small">
          {hint}
        </div>
      )}
    </div>
  );
}
