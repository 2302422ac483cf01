// Notes are rendered from markdown without any HTML injection.
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { Markdown, safeHref } from './markdown.tsx';

const html = (src: string) => renderToStaticMarkup(<Markdown source={src} />);

describe('Markdown', () => {
  it('renders headings, emphasis, lists, code and tables', () => {
    const out = html('# Title\n\nSome **bold** and _em_ and `code`.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n');
    expect(out).toContain('<h1>Title</h1>');
    expect(out).toContain('<strong>bold</strong>');
    expect(out).toContain('<em>em</em>');
    expect(out).toContain('<code>code</code>');
    expect(out).toContain('<li>');
    expect(out).toContain('<td>1</td>');
  });

  it('shows raw HTML as text, never as markup', () => {
    const out = html('<script>alert(1)</script>\n\nhello <img src=x onerror=alert(2)> there');
    expect(out).not.toContain('<script>');
    expect(out).not.toContain('<img');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('&lt;img src=x onerror=alert(2)&gt;');
  });

  it('keeps http(s) and mailto links and drops javascript: and data: links', () => {
    expect(html('[ok](https://example.com/a)')).toContain('href="https://example.com/a"');
    expect(html('[ok](https://example.com/a)')).toContain('rel="noopener noreferrer nofollow"');
    const bad = html('[x](javascript:alert(1)) [y](data:text/html,hi)');
    expect(bad).not.toContain('href');
    expect(safeHref(' JAVASCRIPT:alert(1)')).toBeUndefined();
    expect(safeHref('mailto:a@b.c')).toBe('mailto:a@b.c');
  });

  it('drops script links hidden by character references, escapes or whitespace', () => {
    for (const src of [
      '[a](&#106;avascript:alert(1))',
      '[a](javascript&colon;alert(1))',
      '[a](java&#x09;script:alert(1))',
      '[a](<java\tscript:alert(1)>)',
      '[a](javascript\\:alert(1))',
      '[a](&#86;bscript:msgbox(1))',
      '<javascript:alert(1)>',
    ]) {
      const out = html(src);
      expect(out, src).not.toContain('href');
    }
    expect(html('[ok]( https://ok.example)')).toContain('href="https://ok.example"');
  });

  it('does not load images (only their alt text is shown)', () => {
    const out = html('![diagram](https://evil.example/track.png)');
    expect(out).not.toContain('<img');
    expect(out).toContain('[image: diagram]');
  });

  it('shows entities once, not double-escaped', () => {
    expect(html('a & b < c')).toContain('a &amp; b &lt; c');
  });
});
