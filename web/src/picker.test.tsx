// The shared search picker: keyboard movement through the options (the combobox pattern) and what
// it renders before anything is typed (a labelled combobox, its list box closed, the hint read
// with it).
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { SearchPicker, nextActive } from './picker.tsx';

describe('nextActive', () => {
  it('moves down and up, wraps at both ends, and jumps with Home and End', () => {
    expect(nextActive(-1, 3, 'ArrowDown')).toBe(0);
    expect(nextActive(0, 3, 'ArrowDown')).toBe(1);
    expect(nextActive(2, 3, 'ArrowDown')).toBe(0);
    expect(nextActive(0, 3, 'ArrowUp')).toBe(2);
    expect(nextActive(-1, 3, 'ArrowUp')).toBe(2);
    expect(nextActive(2, 3, 'ArrowUp')).toBe(1);
    expect(nextActive(1, 3, 'Home')).toBe(0);
    expect(nextActive(0, 3, 'End')).toBe(2);
    expect(nextActive(1, 3, 'a')).toBe(1);
  });

  it('has nothing to move to without options', () => {
    for (const key of ['ArrowDown', 'ArrowUp', 'Home', 'End']) expect(nextActive(-1, 0, key)).toBe(-1);
  });
});

describe('SearchPicker', () => {
  it('renders a labelled combobox whose closed list box it controls, with its hint', () => {
    const html = renderToStaticMarkup(
      <SearchPicker<string> label="Add a person" name="share_search" hint="Type two letters" search={async () => []} optionKey={(s) => s} optionLabel={(s) => s} onPick={() => {}} />,
    );
    const attr = (tag: string, name: string) => new RegExp(`<${tag}[^>]* ${name}="([^"]*)"`).exec(html)?.[1];
    expect(attr('input', 'role')).toBe('combobox');
    expect(attr('input', 'aria-expanded')).toBe('false');
    expect(attr('input', 'name')).toBe('share_search');
    const inputId = attr('input', 'id')!;
    expect(html).toContain(`<label for="${inputId}">Add a person</label>`);
    const listId = attr('input', 'aria-controls')!;
    expect(html).toMatch(new RegExp(`<ul id="${listId}" role="listbox"[^>]* hidden=""`));
    expect(html).toContain(`<div id="${attr('input', 'aria-describedby')}" class="muted small">Type two letters</div>`);
  });
});
