// How the web app uses contract/: the wire's values come from contract/limits.ts, which imports
// nothing; the schema modules (built with TypeBox) give types only, so the browser bundle carries
// no schema builder and nothing of the server.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'web/src');
const CONTRACT = path.join(ROOT, 'contract');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Every `import ... from` and `export ... from` of a file: [the statement, the resolved module]. */
function imports(file: string): [string, string][] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)';/gms)].map((m) => [m[0], m[1]!.startsWith('.') ? path.resolve(path.dirname(file), m[1]!) : m[1]!]);
}

describe('the web app and contract/', () => {
  const files = sources(SRC);

  it('imports values from contract/limits.ts only, and types from the schema modules', () => {
    const offending = files.flatMap((f) =>
      imports(f)
        .filter(([statement, target]) => target.startsWith(CONTRACT + path.sep) && target !== path.join(CONTRACT, 'limits.ts') && !/^(import|export) type\s/.test(statement))
        .map(([statement]) => `${path.relative(SRC, f)}: ${statement}`),
    );
    expect(offending).toEqual([]);
  });

  it('imports nothing of the server and no schema library', () => {
    const offending = files.flatMap((f) =>
      imports(f)
        .filter(([statement, target]) => !/^(import|export) type\s/.test(statement) && (target.startsWith(path.join(ROOT, 'server')) || /^typebox|^@fastify|^fastify/.test(target)))
        .map(([statement]) => `${path.relative(SRC, f)}: ${statement}`),
    );
    expect(offending).toEqual([]);
  });

  it('contract/limits.ts imports nothing', () => {
    expect(imports(path.join(CONTRACT, 'limits.ts'))).toEqual([]);
    expect(readFileSync(path.join(CONTRACT, 'limits.ts'), 'utf8')).not.toMatch(/\bimport\s*\(|\brequire\s*\(/);
  });
});
