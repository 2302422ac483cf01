// The shared form pieces: checks against the contract's text rules, the action runner, and what
// the inputs, selects and action rows render.
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { DESCRIPTION_TEXT, METADATA_TEXT, SAFE_NAME, THREAT_TEXT, type TextRule } from '../../contract/limits.ts';
import { EnumSelect, FormActions, TextInput, enumChoices, matchOption, runAction, spaced, textProblem, titleCase, type ActionState } from './forms.tsx';

const idle = { busy: false, error: undefined, saved: false, clearError: () => {} };

describe('textProblem', () => {
  const rule: TextRule = { minLength: 2, maxLength: 5, pattern: SAFE_NAME };

  it('leaves an empty value to `required`, and accepts a value within the rule', () => {
    expect(textProblem('', rule)).toBeUndefined();
    expect(textProblem('abc', rule)).toBeUndefined();
    expect(textProblem('anything', undefined)).toBeUndefined();
  });

  it('counts characters as the API does (an emoji is one)', () => {
    expect(textProblem('a', rule)).toBe('At least 2 characters.');
    expect(textProblem('abcdef', rule)).toBe('At most 5 characters.');
    expect(textProblem('😀😀😀😀😀', rule)).toBeUndefined();
  });

  it("says in words what the contract's pattern allows", () => {
    expect(textProblem('a<b', rule)).toBe('Without the characters < > " \' &.');
    expect(textProblem('<b>', { maxLength: 2048, pattern: DESCRIPTION_TEXT })).toBe('Without the characters < > or control characters.');
    expect(textProblem('a key', METADATA_TEXT.key)).toBe('Letters, digits and the characters _ . / : - only.');
    expect(textProblem('a<b', rule, 'No markup')).toBe('No markup.');
  });

  it('checks the patterns as the API (unicode mode), including those the HTML pattern attribute refuses', () => {
    // `[a-zA-Z0-9_./:-]` is not a valid HTML pattern (v flag) but is the API's metadata key rule.
    expect(textProblem('team/owner:x-1', METADATA_TEXT.key)).toBeUndefined();
    expect(textProblem('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', THREAT_TEXT.cvss_vector)).toBeUndefined();
    expect(textProblem('CVSS:3.1/AV:N', THREAT_TEXT.cvss_vector)).toBe('At least 26 characters.');
  });
});

describe('runAction', () => {
  it('reports busy, then success; resolves true', async () => {
    const states: Partial<ActionState>[] = [];
    expect(await runAction(async () => 'done', (s) => states.push(s))).toBe(true);
    expect(states).toEqual([{ busy: true, error: undefined, saved: false }, { busy: false, saved: true }]);
  });

  it('reports the error and resolves false instead of rejecting', async () => {
    const states: Partial<ActionState>[] = [];
    const failure = new Error('refused');
    expect(
      await runAction(
        () => Promise.reject(failure),
        (s) => states.push(s),
      ),
    ).toBe(false);
    expect(states).toEqual([{ busy: true, error: undefined, saved: false }, { busy: false, error: failure }]);
  });

  it('catches an action that throws before it awaits', async () => {
    const states: Partial<ActionState>[] = [];
    const ok = await runAction(
      () => {
        throw new Error('bad input');
      },
      (s) => states.push(s),
    );
    expect(ok).toBe(false);
    expect((states.at(-1)!.error as Error).message).toBe('bad input');
  });
});

describe('enumerations', () => {
  it('matches a stored value to its option whatever its case, and keeps an unknown one', () => {
    expect(matchOption(['low', 'high'], 'High')).toBe('high');
    expect(matchOption(['low', 'high'], 'urgent')).toBe('urgent');
    expect(matchOption(['low', 'high'], null)).toBe('');
  });

  it('keeps a current value that is not an option, first', () => {
    expect(enumChoices(['a', 'b'], 'c')).toEqual(['c', 'a', 'b']);
    expect(enumChoices(['a', 'b'], 'b')).toEqual(['a', 'b']);
    expect(enumChoices(['a', 'b'], '')).toEqual(['a', 'b']);
  });

  it('labels wire values for people', () => {
    expect(titleCase('mitigation_in_progress')).toBe('Mitigation In Progress');
    expect(titleCase('high')).toBe('High');
    expect(spaced('not_started')).toBe('not started');
  });

  it('renders wire values as option values and labels as text', () => {
    const html = renderToStaticMarkup(<EnumSelect name="s" options={['low', 'high']} label={titleCase} none="—" value="urgent" onChange={() => {}} />);
    expect(html).toBe('<select name="s"><option value="">—</option><option value="urgent" selected="">Urgent</option><option value="low">Low</option><option value="high">High</option></select>');
  });
});

describe('TextInput', () => {
  it("caps the length at the rule's maximum and shows the hint as the tooltip", () => {
    const html = renderToStaticMarkup(<TextInput name="n" value="x" onChange={() => {}} rule={THREAT_TEXT.name} hint="Short name" required />);
    expect(html).toContain('maxLength="256"');
    expect(html).toContain('title="Short name"');
    expect(html).toContain('required=""');
    expect(html).not.toContain('pattern=');
  });

  it('is a text area when multiline', () => {
    const html = renderToStaticMarkup(<TextInput multiline name="d" rows={3} value="text" onChange={() => {}} rule={THREAT_TEXT.description} />);
    expect(html).toMatch(/^<textarea name="d" maxLength="2048" rows="3">text<\/textarea>$/);
  });
});

describe('FormActions', () => {
  it('offers Cancel and the submit button', () => {
    const html = renderToStaticMarkup(<FormActions action={idle} submit="Save threat" onCancel={() => {}} />);
    expect(html).toBe('<div class="actions"><button type="button">Cancel</button><button type="submit" class="primary">Save threat</button></div>');
  });

  it('while busy, disables the submit button and says so', () => {
    const html = renderToStaticMarkup(<FormActions action={{ ...idle, busy: true }} submit="Create" busyLabel="Creating…" />);
    expect(html).toContain('disabled="">Creating…</button>');
  });

  it('shows the error above the buttons', () => {
    const html = renderToStaticMarkup(<FormActions action={{ ...idle, error: new Error('The server did not accept this') }} submit="Save" />);
    expect(html).toMatch(/^<div class="error" role="alert"><span>The server did not accept this<\/span><\/div><div class="actions">/);
  });

  it('for someone who may not change anything: Close, no submit; nothing when there is nowhere to go back to', () => {
    expect(renderToStaticMarkup(<FormActions action={idle} submit="Save" writable={false} onCancel={() => {}} />)).toBe('<div class="actions"><button type="button">Close</button></div>');
    expect(renderToStaticMarkup(<FormActions action={idle} submit="Save" writable={false} />)).toBe('');
  });

  it('says "Saved" after a success only where the form stays open', () => {
    expect(renderToStaticMarkup(<FormActions action={{ ...idle, saved: true }} submit="Save" savedNote />)).toContain('<span class="ok">Saved</span>');
    expect(renderToStaticMarkup(<FormActions action={{ ...idle, saved: true }} submit="Save" />)).not.toContain('Saved');
  });

  it('a dangerous action is a plain button that runs its handler', () => {
    const html = renderToStaticMarkup(<FormActions action={idle} submit="Delete" danger onSubmit={() => {}} />);
    expect(html).toBe('<div class="actions"><button type="button" class="danger">Delete</button></div>');
  });
});
