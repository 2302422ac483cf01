// Builds the web app into web/dist when it is missing or older than its sources, so that
// `npm ci && npm start` serves a current app without an extra step. A fresh build is quick (Vite).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const stamp = path.join(root, 'web/dist/index.html');
// contract/ is part of the app: it imports the wire's values and types from there.
const inputs = [path.join(root, 'web/src'), path.join(root, 'contract'), path.join(root, 'web/index.html'), path.join(root, 'vite.config.ts'), path.join(root, 'web/scripts'), path.join(root, 'package-lock.json')];

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(p).reduce((m, name) => Math.max(m, newest(path.join(p, name))), s.mtimeMs);
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (built && built >= Math.max(...inputs.map(newest))) process.exit(0);

process.stderr.write(built ? 'web app sources changed: rebuilding web/dist\n' : 'building the web app into web/dist\n');
const vite = path.join(root, 'node_modules/vite/bin/vite.js');
const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
