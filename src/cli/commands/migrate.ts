import type { Command } from 'commander';
import { loadEnvConfig } from '../../config/env.js';
import { configureLogging } from '../../log/setup.js';
import { migrateAll, openDatabase } from '../../store/connection.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending database migrations (also done at start-up by every command).')
    .addHelpText('after', '\nUses DATABASE_URL, or the embedded PostgreSQL under SAMGITA_HOME when it is unset.')
    .action(async () => {
      const env = loadEnvConfig();
      configureLogging({ samgitaHome: env.samgitaHome, level: env.logLevel, onTerminal: 'file' });
      const db = await openDatabase(env, { migrate: false });
      try {
        const result = await migrateAll(db.pool);
        for (const name of result.applied) process.stdout.write(`applied ${name}\n`);
        process.stdout.write(
          `${result.applied.length} applied, ${result.alreadyApplied.length} already up to date${db.embedded ? ' (embedded PostgreSQL)' : ''}\n`,
        );
      } finally {
        await db.close();
      }
    });
}
