import type { Queryable } from '../pool.js';
import { exec, sql } from '../sql.js';

/** Resolves when the database answers a trivial statement. */
export async function ping(db: Queryable): Promise<void> {
  await exec(db, sql`select 1`);
}
