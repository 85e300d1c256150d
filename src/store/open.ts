import type pg from 'pg';
import type { EnvConfig } from '../config/env.js';
import { errorMessage, SamgitaError } from '../errors.js';
import { logger, redactUrl } from '../log/logger.js';
import { migrateQueue } from '../queue/worker.js';
import { startEmbeddedPostgres } from './embedded.js';
import { type MigrationResult, migrate } from './migrate.js';
import { createPool } from './pool.js';

export interface Database {
  url: string;
  pool: pg.Pool;
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply Samgita's and graphile-worker's migrations (default true). */
  migrate?: boolean;
  poolSize?: number;
  applicationName?: string;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL when none is
 * given, and brings the schema up to date.
 */
export async function openDatabase(env: EnvConfig, options: OpenOptions = {}): Promise<Database> {
  const embedded = env.databaseUrl === null ? await startEmbeddedPostgres(env.samgitaHome) : null;
  const url = env.databaseUrl ?? embedded?.url ?? '';
  const pool = createPool(url, {
    max: options.poolSize ?? 10,
    ...(options.applicationName ? { applicationName: options.applicationName } : {}),
  });
  const close = async () => {
    await pool.end().catch(() => {});
    await embedded?.stop().catch(() => {});
  };
  try {
    await pool.query('select 1');
  } catch (err) {
    await close();
    throw new SamgitaError(
      'DB_CONNECT_FAILED',
      `cannot connect to PostgreSQL at ${redactUrl(url)}: ${errorMessage(err)}`,
      {
        hint: 'check DATABASE_URL and that the server is running and reachable; unset DATABASE_URL to use the embedded PostgreSQL',
        cause: err,
      },
    );
  }
  if (options.migrate !== false) {
    try {
      const result = await migrateAll(pool);
      if (result.applied.length) logger().info({ applied: result.applied }, 'database migrated');
    } catch (err) {
      await close();
      throw err;
    }
  }
  return { url, pool, embedded: embedded !== null, close };
}

/** Samgita's migrations, then graphile-worker's (its schema lives in the same database). */
export async function migrateAll(pool: pg.Pool): Promise<MigrationResult> {
  const result = await migrate(pool);
  await migrateQueue(pool);
  return result;
}
