import { type EnvConfig, loadEnvConfig } from '../config/env.js';
import { type Database, openDatabase } from '../db/open.js';
import { createLogger, setLogger } from '../log/logger.js';

/** Environment + logger + database for a command; the database is closed when `fn` ends. */
export async function withDatabase<T>(fn: (db: Database, env: EnvConfig) => Promise<T>): Promise<T> {
  const env = loadEnvConfig();
  setLogger(createLogger({ level: env.logLevel }));
  const db = await openDatabase(env);
  try {
    return await fn(db, env);
  } finally {
    await db.close();
  }
}
