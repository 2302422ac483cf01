// The rule-pack page's reading of pasted or uploaded text (as the server reads a pack file) and of
// the server's refusal, without a browser.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client.ts';
import { packProblems, parsePackText } from './RulePacks.tsx';

describe('pack text', () => {
  it('reads JSON when it starts with a brace and YAML otherwise', async () => {
    expect(await parsePackText('  {"id": "acme", "rules": []}')).toEqual({ id: 'acme', rules: [] });
    expect(await parsePackText('id: acme\nname: ACME\nrules:\n  - id: r1\n    categories: { STRIDE: [S, T] }\n')).toEqual({ id: 'acme', name: 'ACME', rules: [{ id: 'r1', categories: { STRIDE: ['S', 'T'] } }] });
  });

  it('says what is wrong with text that is no pack', async () => {
    await expect(parsePackText('  ')).rejects.toThrow('Choose a file or paste a pack first.');
    await expect(parsePackText('{"id": ')).rejects.toThrow(/^This is not valid JSON: /);
    await expect(parsePackText('id: a\nid: b\n')).rejects.toThrow(/^This is not valid YAML: .*unique/i);
    await expect(parsePackText('- a\n- b\n')).rejects.toThrow('A rule pack is an object');
    // Aliases are bounded, as on the server ("billion laughs").
    const level = (i: number) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`;
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => level(i))].join('\n');
    await expect(parsePackText(bomb)).rejects.toThrow(/^This is not valid YAML: .*alias/i);
  });
});

describe('the server refusing a pack', () => {
  it('lists each problem of a 400 invalid_rule_pack and leaves other errors alone', () => {
    const refused = new ApiError(400, 'invalid_rule_pack', "Invalid rule pack: /rules/0/threat/severity: must be one of \"low\", \"high\"; /rules/1 (acme-x)/match: unknown property 'encrypte'");
    expect(packProblems(refused)).toEqual(['/rules/0/threat/severity: must be one of "low", "high"', "/rules/1 (acme-x)/match: unknown property 'encrypte'"]);
    expect(packProblems(new ApiError(409, 'conflict', 'Rule ids already defined by another pack: x'))).toBeUndefined();
    expect(packProblems(new Error('x'))).toBeUndefined();
  });
});
