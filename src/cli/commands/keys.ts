import { type Command, Option } from 'commander';
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/keys.js';
import type { Database } from '../../store/connection.js';
import { withDatabase } from '../context.js';

const withDb = <T>(fn: (db: Database) => Promise<T>): Promise<T> => withDatabase((db) => fn(db));

const iso = (d: Date | null) => (d ? d.toISOString() : '-');

/** `samgita keys create|list|revoke`: API keys for the REST API (FR-7.3). */
export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('Manage API keys for the REST API (the API refuses every request until one exists).');

  keys
    .command('create')
    .description('Create an API key and print it once; only its SHA-256 hash is stored.')
    .requiredOption('--name <name>', 'a label to recognise the key by, e.g. ci')
    .addOption(
      new Option('--scope <scope>', 'read: GET only; write: every request').choices(['read', 'write']).default('read'),
    )
    .option('--json', 'print the key as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  samgita keys create --name ci --scope write\n\nSend it as `Authorization: Bearer <key>` or `x-api-key: <key>`.',
    )
    .action(async (opts: { name: string; scope: string; json?: boolean }) => {
      const k = await withDb((db) => createApiKey(db.pool, { name: opts.name, scope: opts.scope }, { type: 'cli' }));
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ id: k.id, name: k.name, scope: k.scope, prefix: k.prefix, key: k.key })}\n`,
        );
        return;
      }
      process.stdout.write(`${k.key}\n`);
      process.stderr.write(
        `created ${k.scope} key "${k.name}" (id ${k.id}, prefix ${k.prefix}); store it now, it is not shown again\n`,
      );
    });

  keys
    .command('list')
    .description('List API keys (never their secrets).')
    .option('--all', 'include revoked keys')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; json?: boolean }) => {
      const rows = await withDb((db) => listApiKeys(db.pool, { includeRevoked: opts.all === true }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no API keys; create one with `samgita keys create --name ci --scope write`\n');
        return;
      }
      process.stdout.write(
        'ID                                    PREFIX        SCOPE  NAME  CREATED  LAST USED  REVOKED\n',
      );
      for (const r of rows) {
        process.stdout.write(
          `${r.id}  ${r.prefix}  ${r.scope.padEnd(5)}  ${r.name}  ${iso(r.created_at)}  ${iso(r.last_used_at)}  ${iso(r.revoked_at)}\n`,
        );
      }
    });

  keys
    .command('revoke')
    .description('Revoke an API key by id or prefix; requests with it get 401 from then on.')
    .argument('<id-or-prefix>', 'the key id, its prefix, or the whole key')
    .action(async (idOrPrefix: string) => {
      const k = await withDb((db) => revokeApiKey(db.pool, idOrPrefix, { type: 'cli' }));
      process.stdout.write(`revoked key "${k.name}" (${k.prefix})\n`);
    });
}
