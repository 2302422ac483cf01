// The app's lists: the states of a loaded list (loading, failed, empty) and the table with
// sortable columns.
import { useMemo, useState, type ReactNode } from 'react';
import { ErrorNote, Spinner } from './ui.tsx';

/**
 * What a list shows besides its rows: the failure, a spinner on the first load, or the message for
 * an empty list once loaded.
 */
export function ListState({ error, loading, loaded, empty, emptyText, onDismiss }: {
  error: unknown;
  loading: boolean;
  loaded: boolean;
  empty: boolean;
  emptyText: ReactNode;
  onDismiss?: () => void;
}) {
  return (
    <>
      <ErrorNote error={error} onClose={onDismiss} />
      {loading && !loaded && <Spinner />}
      {loaded && empty && <p className="empty">{emptyText}</p>}
    </>
  );
}

export interface Sort {
  key: string;
  desc: boolean;
}

export interface Column<Row> {
  key: string;
  label: ReactNode;
  cell: (row: Row) => ReactNode;
  /** Makes the column sortable by this value. */
  sortBy?: (row: Row) => string | number;
  /** Sort ascending on the first click (names); other columns start descending (newest, most). */
  ascFirst?: boolean;
  /** Class of the column's cells. */
  className?: string;
  /** Tooltip of the heading. */
  title?: string;
}

/** Numbers by value, anything else as text in the reader's collation. */
export function compareValues(a: string | number, b: string | number): number {
  return typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
}

/** The rows in the order of a sort (a copy; rows that compare equal keep their order). */
export function sortRows<Row>(rows: readonly Row[], columns: readonly Column<Row>[], sort: Sort | undefined): Row[] {
  const by = columns.find((c) => c.key === sort?.key)?.sortBy;
  if (!sort || !by) return [...rows];
  return [...rows].sort((a, b) => (sort.desc ? -1 : 1) * compareValues(by(a), by(b)));
}

/** A click on a column's heading: the same column flips its direction, another starts with its first one. */
export function nextSort(current: Sort | undefined, column: Pick<Column<never>, 'key' | 'ascFirst'>): Sort {
  return current?.key === column.key ? { key: column.key, desc: !current.desc } : { key: column.key, desc: !column.ascFirst };
}

/** A table of rows; nothing when there are none (ListState says so). */
export function DataTable<Row>({ columns, rows, rowKey, initialSort, testId, head = true }: {
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  rowKey: (row: Row) => string;
  initialSort?: Sort;
  testId?: string;
  head?: boolean;
}) {
  const [sort, setSort] = useState(initialSort);
  const shown = useMemo(() => sortRows(rows, columns, sort), [rows, columns, sort]);
  if (rows.length === 0) return null;
  return (
    <table className="grid" data-testid={testId}>
      {head && (
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} title={c.title}>
                {c.sortBy ? (
                  <button className="link sort" onClick={() => setSort((s) => nextSort(s, c))}>
                    {c.label} {sort?.key === c.key ? (sort.desc ? '▼' : '▲') : ''}
                  </button>
                ) : (
                  c.label
                )}
              </th>
            ))}
          </tr>
        </thead>
      )}
      <tbody>
        {shown.map((r) => (
          <tr key={rowKey(r)}>
            {columns.map((c) => (
              <td key={c.key} className={c.className}>
                {c.cell(r)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
