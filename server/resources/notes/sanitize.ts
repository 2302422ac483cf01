// Markdown content of notes is sanitised on write, as the reference does with bluemonday: safe
// inline HTML stays, script, iframe, embedded objects, event handlers and script URLs go.
// sanitize-html escapes `<`, `>` and `&` in text; markdown needs them (blockquotes, code, arrows),
// so they are given back where they cannot form markup again.
import sanitizeHtml from 'sanitize-html';

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    ...sanitizeHtml.defaults.allowedTags,
    'img', 'del', 'ins', 'sup', 'sub', 'kbd', 'mark', 'details', 'summary', 'input',
  ],
  allowedAttributes: {
    a: ['href', 'name', 'title', 'target', 'rel'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    input: ['type', 'checked', 'disabled'],
    code: ['class'],
    span: ['class'],
    div: ['class'],
    th: ['align', 'colspan', 'rowspan'],
    td: ['align', 'colspan', 'rowspan'],
    ol: ['start'],
    '*': ['id'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['http', 'https', 'data'] },
  allowProtocolRelative: false,
  // The content of dangerous elements is dropped with them, not kept as text.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'iframe', 'object', 'embed', 'applet'],
  parser: { decodeEntities: false },
  // `&gt;` never opens a tag; `&lt;` only when a letter, `/`, `!` or `?` follows; a bare `&`
  // is plain text for markdown.
  textFilter: (text) =>
    text
      .replace(/&gt;/g, '>')
      .replace(/&lt;(?![A-Za-z/!?])/g, '<')
      .replace(/&amp;(?![A-Za-z0-9#]{1,20};)/g, '&'),
};

// Markdown links and link definitions whose target runs script: [x](javascript:...), [x]: vbscript:...
const MARKDOWN_SCRIPT_LINK = /(\]\(\s*<?|\]:\s*<?)\s*(?:javascript|vbscript|data:text\/html)[^)\s>]*/gi;

export function sanitizeMarkdown(content: string): string {
  return sanitizeHtml(content, OPTIONS).replace(MARKDOWN_SCRIPT_LINK, '$1#');
}
