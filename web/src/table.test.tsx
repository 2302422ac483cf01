// The shared list pieces: sorting, the table's markup, and the states of a loaded list.
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { DataTable, ListState, compareValues, nextSort, sortRows, type Column } from './table.tsx';

interface Row {
  id: string;
  name: string;
  count: number;
}
const rows: Row[] = [
  { id: '1', name: 'beta', count: 10 },
  { id: '2', name: 'Alpha', count: 9 },
  { id: '3', name: 'gamma', count: 10 },
];
const columns: Column<Row>[] = [
  { key: 'name', label: 'Name', sortBy: (r) => r.name, ascFirst: true, cell: (r) => r.name },
  { key: 'count', label: 'Count', sortBy: (r) => r.count, className: 'num', cell: (r) => r.count },
  { key: 'actions', label: '', cell: () => 'x' },
];
const names = (list: Row[]) => list.map((r) => r.name);

describe('sorting', () => {
  it('compares numbers by value and text in the reader’s collation', () => {
    expect(compareValues(9, 10)).toBeLessThan(0);
    expect(compareValues('Alpha', 'beta')).toBeLessThan(0);
    expect(compareValues('2026-01-02T00:00:00Z', '2026-01-10T00:00:00Z')).toBeLessThan(0);
  });

  it('sorts a copy by the column’s value, either way; equal rows keep their order', () => {
    expect(names(sortRows(rows, columns, { key: 'name', desc: false }))).toEqual(['Alpha', 'beta', 'gamma']);
    expect(names(sortRows(rows, columns, { key: 'count', desc: true }))).toEqual(['beta', 'gamma', 'Alpha']);
    expect(names(sortRows(rows, columns, { key: 'count', desc: false }))).toEqual(['Alpha', 'beta', 'gamma']);
    expect(names(rows)).toEqual(['beta', 'Alpha', 'gamma']);
  });

  it('leaves the order alone without a sort or for a column that does not sort', () => {
    expect(names(sortRows(rows, columns, undefined))).toEqual(['beta', 'Alpha', 'gamma']);
    expect(names(sortRows(rows, columns, { key: 'actions', desc: true }))).toEqual(['beta', 'Alpha', 'gamma']);
  });

  it('a click flips the current column, and starts another in its first direction', () => {
    expect(nextSort({ key: 'count', desc: true }, columns[1]!)).toEqual({ key: 'count', desc: false });
    expect(nextSort({ key: 'count', desc: true }, columns[0]!)).toEqual({ key: 'name', desc: false });
    expect(nextSort({ key: 'name', desc: false }, columns[1]!)).toEqual({ key: 'count', desc: true });
    expect(nextSort(undefined, columns[1]!)).toEqual({ key: 'count', desc: true });
  });
});

describe('DataTable', () => {
  it('renders sortable headings (marking the current sort), the rows in that order, and the cells’ classes', () => {
    const html = renderToStaticMarkup(<DataTable columns={columns} rows={rows} rowKey={(r) => r.id} initialSort={{ key: 'count', desc: true }} testId="t" />);
    expect(html).toContain('<table class="grid" data-testid="t"><thead><tr>');
    expect(html).toContain('<th><button class="link sort">Name </button></th><th><button class="link sort">Count ▼</button></th><th></th>');
    expect(html.indexOf('beta')).toBeLessThan(html.indexOf('gamma'));
    expect(html.indexOf('gamma')).toBeLessThan(html.indexOf('Alpha'));
    expect(html).toContain('<td class="num">10</td>');
  });

  it('renders nothing without rows, and no headings when asked', () => {
    expect(renderToStaticMarkup(<DataTable columns={columns} rows={[]} rowKey={(r) => r.id} />)).toBe('');
    expect(renderToStaticMarkup(<DataTable columns={columns} rows={rows} rowKey={(r) => r.id} head={false} />)).not.toContain('<thead>');
  });
});

describe('ListState', () => {
  const state = (p: Partial<Parameters<typeof ListState>[0]>) =>
    renderToStaticMarkup(<ListState error={undefined} loading={false} loaded={false} empty={false} emptyText="Nothing yet." {...p} />);

  it('shows a spinner on the first load only', () => {
    expect(state({ loading: true })).toContain('role="status"');
    expect(state({ loading: true, loaded: true })).toBe('');
  });

  it('says the list is empty once loaded', () => {
    expect(state({ loaded: true, empty: true })).toBe('<p class="empty">Nothing yet.</p>');
    expect(state({ loaded: false, empty: true })).toBe('');
  });

  it('shows the failure', () => {
    expect(state({ error: new Error('The server cannot be reached.') })).toContain('<span>The server cannot be reached.</span>');
  });
});
