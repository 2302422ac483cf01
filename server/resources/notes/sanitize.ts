// Markdown content of notes is sanitised on write, as the reference does with bluemonday: safe
// inline HTML stays, script, iframe, embedded objects, event handlers and script URLs go.
// sanitize-html escapes `<`, `>` and `&` in text; markdown needs them (blockquotes, code, arrows),
// so they are given back where they cannot form markup again.
import { decodeHTML } from 'entities';
import { createRequire } from 'node:module';
import type sanitizeHtmlType from 'sanitize-html';

// Loaded on the first note written, not at start (it brings an HTML parser and PostCSS).
let loadedSanitizer: typeof sanitizeHtmlType | undefined;
const sanitizer = (): typeof sanitizeHtmlType => (loadedSanitizer ??= createRequire(import.meta.url)('sanitize-html') as typeof sanitizeHtmlType);

const SCRIPT_SCHEMES = new Set(['javascript', 'vbscript', 'livescript']);
/** Raster images are the only `data:` URLs a note may keep (an image cannot run script). */
const DATA_IMAGE = /^image\/(png|gif|jpe?g|webp|bmp)[;,]/i;

/**
 * True when a link target would run script once a browser (or a markdown renderer, then a
 * browser) reads it. The check is made on what they see, not on the raw text: character
 * references are decoded (until nothing changes, so double encoding hides nothing), backslashes
 * (markdown escapes) are dropped, and so are the spaces and control characters a URL parser
 * skips — `&#106;avascript:`, `javascript&colon;`, `java&#x09;script:` and `java\script:` are all
 * `javascript:`.
 */
export function runsScript(target: string): boolean {
  let url = target;
  for (let i = 0; i < 5; i++) {
    const decoded = decodeHTML(url);
    if (decoded === url) break;
    url = decoded;
  }
  // eslint-disable-next-line no-control-regex
  url = url.replace(/[\\\x00-\x20\x7f]+/g, '');
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  if (!m) return false;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'data') return !DATA_IMAGE.test(url.slice(m[0].length));
  return SCRIPT_SCHEMES.has(scheme);
}

/** Link attributes are dropped when their decoded value runs script (sanitize-html sees them encoded). */
const dropScriptLinks: sanitizeHtmlType.Transformer = (tagName, attribs) => {
  const kept = { ...attribs };
  for (const name of ['href', 'src']) if (kept[name] !== undefined && runsScript(kept[name])) delete kept[name];
  return { tagName, attribs: kept };
};

const options = (): sanitizeHtmlType.IOptions => ({
  allowedTags: [
    ...sanitizer().defaults.allowedTags,
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
  transformTags: { a: dropScriptLinks, img: dropScriptLinks },
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
});
let OPTIONS: sanitizeHtmlType.IOptions | undefined;

// Where markdown reads a link target: inline links and images `](target`, reference definitions
// `]: target`, each bare or in angle brackets; and autolinks `<scheme:...>`.
const MARKDOWN_TARGET = /(\]\(\s*|\]:[ \t]*\n?[ \t]*)(<[^<>\n]*>|[^\s()<>]+)|<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*)>/g;

function dropScriptTargets(markdown: string): string {
  return markdown.replace(MARKDOWN_TARGET, (whole, lead: string | undefined, target: string | undefined, autolink: string | undefined) => {
    if (autolink !== undefined) return runsScript(autolink) ? '' : whole;
    const bare = target!.startsWith('<') ? target!.slice(1, -1) : target!;
    return runsScript(bare) ? `${lead}#` : whole;
  });
}

export function sanitizeMarkdown(content: string): string {
  return dropScriptTargets(sanitizer()(content, (OPTIONS ??= options())));
}
