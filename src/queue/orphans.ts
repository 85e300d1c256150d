import type { WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import { deadHolders } from '../store/liveness.js';
import { jobLockHolders } from './jobs.js';

/**
 * Releases the jobs of these task types whose locking pool is dead (its
 * liveness lock, store/liveness.ts, is free), so another worker takes them at
 * once instead of after graphile-worker's 4-hour lock expiry. Returns the dead
 * pools' ids. Only for task types whose every worker holds a liveness lock.
 */
export async function releaseOrphanedJobs(
  pool: pg.Pool,
  utils: WorkerUtils,
  taskIdentifiers: readonly string[],
): Promise<string[]> {
  const dead = await deadHolders(pool, await jobLockHolders(pool, taskIdentifiers));
  if (dead.length) await utils.forceUnlockWorkers(dead);
  return dead;
}
