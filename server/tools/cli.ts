// Operator commands, run with the server's own build: `node dist/server/tools/cli.js <command>`
// (or `npm run tmi -- <command>` in a checkout).
//   migrate                                   apply the database migrations (TMI_DATABASE_URL, as
//                                             the role that owns the schema) and exit
//   backup export --url U --token-file F [--out FILE]    every threat model the token can read
//   backup restore --url U --token-file F --in FILE      create them anew on a server
//   healthcheck [URL]                         exit 0 when the server answers healthy (images
//                                             without a shell or curl use it)
// Tokens are read from a file, never from the command line, where other users of the machine
// could see them.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadDatabaseConfig } from '../config.ts';
import { resolveSecrets } from '../secrets.ts';
import { openDb } from '../store/db.ts';
import { postgresTls } from '../store/tls.ts';
import { BackupError, exportModels, restoreModels, type Backup } from './backup.ts';

const out = (line: string) => process.stderr.write(`${line}\n`);

async function migrateCommand(): Promise<void> {
  const settings = loadDatabaseConfig(await resolveSecrets(process.env));
  const db = await openDb({
    databaseUrl: settings.url,
    poolMax: 1,
    ssl: postgresTls(settings.tlsCaFile),
  });
  const applied = await db.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
  await db.close();
  out(`database schema is current (${applied.length} migrations applied)`);
}

function readToken(tokenFile: string | undefined): string {
  const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : '';
  if (!token) throw new BackupError('give the access token with --token-file FILE');
  return token;
}

async function backupCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { url: { type: 'string' }, 'token-file': { type: 'string' }, out: { type: 'string' }, in: { type: 'string' } },
  });
  if (!values.url) throw new BackupError('--url is required (the server, e.g. https://tmi.example.com)');
  const token = readToken(values['token-file']);
  if (action === 'export') {
    const backup = await exportModels(values.url, token, out);
    const text = `${JSON.stringify(backup, null, 2)}\n`;
    if (values.out) writeFileSync(values.out, text, { mode: 0o600 });
    else process.stdout.write(text);
    out(`${backup.threat_models.length} threat models exported`);
  } else if (action === 'restore') {
    if (!values.in) throw new BackupError('--in FILE is required');
    const backup = JSON.parse(readFileSync(values.in, 'utf8')) as Backup;
    const created = await restoreModels(values.url, token, backup, out);
    out(`${created.size} threat models restored`);
  } else {
    throw new BackupError('usage: backup export|restore --url URL --token-file FILE [--out FILE | --in FILE]');
  }
}

async function healthcheckCommand(url = 'http://127.0.0.1:8080/readyz'): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) throw new BackupError(`not ready: ${url} answered ${res.status}`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'migrate') return migrateCommand();
  if (command === 'backup') return backupCommand(args);
  if (command === 'healthcheck') return healthcheckCommand(args[0]);
  throw new BackupError('usage: cli.js migrate | backup export|restore ... | healthcheck [URL]');
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof ConfigError || err instanceof BackupError ? err.message : ((err as Error).stack ?? String(err));
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
