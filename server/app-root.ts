// Where the server's own files are: the repository root when it runs from its TypeScript sources,
// dist/ when it runs compiled. Both hold a package.json with server/store/migrations and web/dist
// below them at the same relative paths (scripts/build.mjs lays dist/ out so), and the compiled
// server is bundled into chunks whose folder says nothing about where a module came from, so the
// root is found as the nearest folder above this module that holds a package.json.
import { existsSync } from 'node:fs';
import path from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}: the server's files are not where it runs from`);
  }
}

export const APP_ROOT = findRoot(import.meta.dirname);

/** A path below the application root, e.g. appPath('server/store/migrations'). */
export const appPath = (relative: string): string => path.join(APP_ROOT, relative);
