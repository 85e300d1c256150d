import { type EnvConfig, loadEnvConfig } from '../config/env.js';
import { configureLogging } from '../log/setup.js';
import { type Database, openDatabase } from '../store/connection.js';

/** Environment + logger + database for a command; the database is closed when `fn` ends. */
export async function withDatabase<T>(fn: (db: Database, env: EnvConfig) => Promise<T>): Promise<T> {
  const env = loadEnvConfig();
  configureLogging({ samgitaHome: env.samgitaHome, level: env.logLevel, onTerminal: 'file' });
  const db = await openDatabase(env);
  try {
    return await fn(db, env);
  } finally {
    await db.close();
  }
}
