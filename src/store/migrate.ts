import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { errorMessage, SamgitaError } from '../errors.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

// Any constant works; it only has to be the same in every Samgita process so
// that runners starting together do not migrate the same database at once.
const MIGRATION_LOCK_KEY = 0x5a6d_6769;

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{4}_[a-z0-9_]+\.sql$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Applies pending migrations in order, each in its own transaction, and refuses
 * to continue when an applied migration's file has changed since.
 */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`create table if not exists samgita_migrations (
      name text primary key,
      checksum text not null,
      applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ name: string; checksum: string }>(
      'select name, checksum from samgita_migrations order by name',
    );
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const m of migrations) {
      const recorded = applied.get(m.name);
      if (recorded !== undefined) {
        if (recorded !== m.checksum) {
          throw new SamgitaError(
            'DB_MIGRATION_CHECKSUM_MISMATCH',
            `migration ${m.name} was edited after it was applied (checksum ${recorded.slice(0, 12)} recorded, ${m.checksum.slice(0, 12)} on disk)`,
            {
              hint: `restore migrations/${m.name} to its applied content and put the change in a new migration file`,
              location: { file: path.join(dir, m.name) },
            },
          );
        }
        result.alreadyApplied.push(m.name);
        continue;
      }
      try {
        await client.query('begin');
        await client.query(m.sql);
        await client.query('insert into samgita_migrations (name, checksum) values ($1, $2)', [m.name, m.checksum]);
        await client.query('commit');
        result.applied.push(m.name);
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw new SamgitaError('DB_MIGRATION_FAILED', `migration ${m.name} failed: ${errorMessage(err)}`, {
          hint: 'fix the SQL in the migration file; nothing of it was applied',
          location: { file: path.join(dir, m.name) },
          cause: err,
        });
      }
    }
    return result;
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
}
