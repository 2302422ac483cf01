import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf } from './support/app.ts';
import { familySuite, sharedModel, startWorld, type World } from './support/child-family.ts';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w?.t.close());

familySuite(
  {
    segment: 'notes',
    listKey: 'notes',
    label: 'Note',
    versioned: false,
    sample: (n) => ({ name: `Review ${n}`, content: `# Findings ${n}\n\n- token leak` }),
    replacement: { name: 'Summary', content: 'All **good**', description: 'Final', include_in_report: false, timmy_enabled: false },
    invalid: [{ name: 'x' }, { name: 'x', content: '' }, { name: 'x', content: 'x'.repeat(262_145) }, { name: 'x', content: 'a\u0001b' }],
    listOmits: ['content'],
  },
  () => w,
);

describe('notes: markdown sanitising', () => {
  async function write(content: string) {
    const tm = await sharedModel(w);
    const res = await call(w.t.app, 'POST', `/threat_models/${tm}/notes`, { token: w.writer.accessToken, body: { name: 'N', content } });
    return { tm, res };
  }

  it('removes script, iframe, event handlers and javascript: URLs and keeps safe HTML and markdown', async () => {
    const { res } = await write(
      [
        '# Title',
        '> quoted & kept, 1 < 2 -> fine',
        '`a <b> c`',
        '<script>alert(1)</script><iframe src="https://evil.example"></iframe>',
        '<b onclick="steal()">bold</b> <a href="javascript:alert(1)">link</a> <a href="https://ok.example">ok</a>',
        '[click](javascript:alert(1)) [fine](https://fine.example)',
        '<img src="https://img.example/x.png" onerror="alert(1)">',
      ].join('\n'),
    );
    expect(res.status, res.text).toBe(201);
    const c = res.body.content as string;
    expect(c).not.toMatch(/<script|<iframe|onclick|onerror|javascript:|alert\(1\)<\/script>/i);
    expect(c).toContain('# Title');
    expect(c).toContain('> quoted & kept, 1 < 2 -> fine');
    expect(c).toContain('<b>bold</b>');
    expect(c).toContain('<a href="https://ok.example">ok</a>');
    expect(c).toContain('[fine](https://fine.example)');
    expect(c).toContain('<img src="https://img.example/x.png" />');
  });

  it('decodes character references before it judges a link: entity-encoded or whitespace-split script links go', async () => {
    const attacks = [
      '[a](&#106;avascript:alert(1))',
      '[b](&#x6A;avascript:alert(1))',
      '[c](javascript&colon;alert(1))',
      '[d](java&#x09;script:alert(1))',
      '[e](java&#10;script:alert(1))',
      '[f](javascript\\:alert(1))',
      '[g](&amp;#106;avascript:alert(1))',
      '[h](&#86;bscript:msgbox(1))',
      '[i](data&colon;text/html,<b>x</b>)',
      '[ref]: &#106;avascript:alert(1)',
      '<a href="&#106;avascript:alert(1)">j</a>',
      '<a href="java&#x0A;script:alert(1)">k</a>',
      '<a href="javascript&colon;alert(1)">l</a>',
      '<a href="java\tscript:alert(1)">m</a>',
      '<img src="&#106;avascript:alert(1)">',
    ];
    const { res } = await write([...attacks, '[ok](https://ok.example/a_(b)) ![img](data:image/png;base64,iVBORw0KGgo=) [rel](./notes/other.md)'].join('\n\n'));
    expect(res.status, res.text).toBe(201);
    const c = res.body.content as string;
    expect(c).not.toMatch(/javascript|&#106;|&#x6A;|&colon;|vbscript|&#86;|data(:|&colon;)text/i);
    expect(c).toContain('[a](#');
    expect(c).toContain('[ref]: #');
    expect(c).toContain('<a>j</a>');
    expect(c).toContain('<a>m</a>');
    expect(c).toContain('[ok](https://ok.example/a_(b))');
    expect(c).toContain('![img](data:image/png;base64,iVBORw0KGgo=)');
    expect(c).toContain('[rel](./notes/other.md)');
  });

  it('sanitises on PUT and PATCH too, and refuses content that is only markup', async () => {
    const { tm, res } = await write('plain');
    const url = `/threat_models/${tm}/notes/${res.body.id}`;
    const put = await call(w.t.app, 'PUT', url, { token: w.owner.accessToken, body: { name: 'N', content: 'x<script>bad()</script>y' } });
    expect(put.body.content).toBe('xy');
    const patch = await call(w.t.app, 'PATCH', url, {
      token: w.owner.accessToken,
      body: [{ op: 'replace', path: '/content', value: '<iframe src="https://e.example"></iframe>ok' }],
      contentType: 'application/json-patch+json',
    });
    expect(patch.body.content).toBe('ok');
    const onlyScript = await call(w.t.app, 'PUT', url, { token: w.owner.accessToken, body: { name: 'N', content: '<script>x()</script>' } });
    expect(onlyScript.status).toBe(400);
    errorOf(onlyScript);
    expect((await call(w.t.app, 'GET', url, { token: w.owner.accessToken })).body.content).toBe('ok');
  });

  it('has no bulk endpoints and no version', async () => {
    const { tm, res } = await write('x');
    expect(res.body.version).toBeUndefined();
    const bulk = await call(w.t.app, 'POST', `/threat_models/${tm}/notes/bulk`, { token: w.owner.accessToken, body: [{ name: 'a', content: 'b' }] });
    expect([404, 405]).toContain(bulk.status);
  });
});
