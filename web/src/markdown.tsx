// Markdown to React elements: marked only tokenises; every token becomes a React element or
// text, so raw HTML in a note is shown as text and can never inject markup or script. Links are
// limited to http(s) and mailto.
import { Fragment, type ReactNode } from 'react';
import { Lexer, type Token, type Tokens } from 'marked';

const SAFE_URL = /^(https?:|mailto:)/i;

export function safeHref(href: string): string | undefined {
  const h = href.trim();
  return SAFE_URL.test(h) ? h : undefined;
}

function inline(tokens: Token[] | undefined, key = ''): ReactNode[] {
  return (tokens ?? []).map((t, i) => {
    const k = `${key}${i}`;
    switch (t.type) {
      case 'strong':
        return <strong key={k}>{inline((t as Tokens.Strong).tokens, k)}</strong>;
      case 'em':
        return <em key={k}>{inline((t as Tokens.Em).tokens, k)}</em>;
      case 'del':
        return <del key={k}>{inline((t as Tokens.Del).tokens, k)}</del>;
      case 'codespan':
        return <code key={k}>{(t as Tokens.Codespan).text}</code>;
      case 'br':
        return <br key={k} />;
      case 'link': {
        const l = t as Tokens.Link;
        const href = safeHref(l.href);
        return href ? (
          <a key={k} href={href} target="_blank" rel="noopener noreferrer nofollow">
            {inline(l.tokens, k)}
          </a>
        ) : (
          <span key={k}>{inline(l.tokens, k)}</span>
        );
      }
      case 'image': {
        // Images are not loaded (the CSP allows none from other origins); the alt text is shown.
        const im = t as Tokens.Image;
        return <span key={k} className="muted">[image: {im.text}]</span>;
      }
      case 'text': {
        const tx = t as Tokens.Text;
        return tx.tokens ? <Fragment key={k}>{inline(tx.tokens, k)}</Fragment> : <Fragment key={k}>{unescape(tx.text)}</Fragment>;
      }
      case 'escape':
        return <Fragment key={k}>{(t as Tokens.Escape).text}</Fragment>;
      default:
        return <Fragment key={k}>{t.raw}</Fragment>;
    }
  });
}

// marked escapes entities in text tokens; React escapes again, so undo marked's escaping.
function unescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

function block(tokens: Token[], key = ''): ReactNode[] {
  return tokens.map((t, i) => {
    const k = `${key}${i}`;
    switch (t.type) {
      case 'heading': {
        const h = t as Tokens.Heading;
        const Tag = `h${Math.min(6, Math.max(1, h.depth))}` as 'h1';
        return <Tag key={k}>{inline(h.tokens, k)}</Tag>;
      }
      case 'paragraph':
        return <p key={k}>{inline((t as Tokens.Paragraph).tokens, k)}</p>;
      case 'code':
        return (
          <pre key={k}>
            <code>{(t as Tokens.Code).text}</code>
          </pre>
        );
      case 'blockquote':
        return <blockquote key={k}>{block((t as Tokens.Blockquote).tokens, k)}</blockquote>;
      case 'hr':
        return <hr key={k} />;
      case 'list': {
        const l = t as Tokens.List;
        const items = l.items.map((it, j) => (
          <li key={j}>
            {it.task && <input type="checkbox" checked={!!it.checked} readOnly disabled />}
            {block(it.tokens, `${k}-${j}-`)}
          </li>
        ));
        return l.ordered ? (
          <ol key={k} start={typeof l.start === 'number' ? l.start : undefined}>
            {items}
          </ol>
        ) : (
          <ul key={k}>{items}</ul>
        );
      }
      case 'table': {
        const tb = t as Tokens.Table;
        return (
          <table key={k} className="grid">
            <thead>
              <tr>
                {tb.header.map((c, j) => (
                  <th key={j}>{inline(c.tokens, `${k}h${j}`)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {tb.rows.map((r, ri) => (
                <tr key={ri}>
                  {r.map((c, j) => (
                    <td key={j}>{inline(c.tokens, `${k}r${ri}c${j}`)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        );
      }
      case 'text': {
        const tx = t as Tokens.Text;
        return <Fragment key={k}>{tx.tokens ? inline(tx.tokens, k) : unescape(tx.text)}</Fragment>;
      }
      case 'space':
        return null;
      default:
        // html and anything unknown: shown as the literal source text.
        return (
          <p key={k} className="raw">
            {t.raw}
          </p>
        );
    }
  });
}

export function Markdown({ source }: { source: string }) {
  return <div className="markdown">{block(new Lexer({ gfm: true }).lex(source))}</div>;
}
