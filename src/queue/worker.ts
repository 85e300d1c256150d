/**
 * graphile-worker's processes and schema: the worker pools that runners and
 * the server run, the utilities that release a dead runner's jobs, the
 * queue's migrations, and its log lines routed into pino.
 */
import {
  type JobHelpers,
  makeWorkerUtils,
  type RunnerOptions,
  run,
  runMigrations,
  type Task,
  type TaskList,
  type WorkerEvents,
  Logger as WorkerLogger,
  type Runner as WorkerRunner,
  type WorkerUtils,
} from 'graphile-worker';
import type pg from 'pg';
import { logger } from '../log/logger.js';

export type { JobHelpers, Task as JobHandler, TaskList as JobHandlers, WorkerEvents, WorkerRunner, WorkerUtils };

const SMALL_POOL_WARNING =
  /having maxPoolSize \(\d+\) smaller than concurrency|job batch size \(\d+\) is smaller than your concurrency/;

/** graphile-worker's own log lines, routed into pino at debug level. */
export function quietWorkerLogger(): WorkerLogger {
  const log = logger().child({ component: 'graphile-worker' });
  return new WorkerLogger(() => (level, message, meta) => {
    if (level === 'error') log.error(meta ?? {}, message);
    // "maxPoolSize (7) smaller than concurrency (1000)", "job batch size (16) is smaller than your
    // concurrency": by design. A job holds no connection while its agent runs; Samgita's handlers
    // queue for the pool behind the runner's gate, and from 32 workers graphile-worker fetches (16 at
    // a time, so a busy runner holds few jobs away from other runners), completes and fails jobs in
    // batches (runner.ts).
    else if (level === 'warning' && SMALL_POOL_WARNING.test(message)) log.debug(meta ?? {}, message);
    else if (level === 'warning') log.warn(meta ?? {}, message);
    else log.debug(meta ?? {}, message);
  });
}

/** The queue's schema (graphile_worker), in the same database as Samgita's. */
export async function migrateQueue(pool: pg.Pool): Promise<void> {
  await runMigrations({ pgPool: pool, logger: quietWorkerLogger() });
}

/** A worker pool serving `handlers`; signals are the caller's to handle. */
export function startWorkerPool(
  pool: pg.Pool,
  options: Omit<RunnerOptions, 'pgPool' | 'logger' | 'noHandleSignals'>,
): Promise<WorkerRunner> {
  return run({ ...options, pgPool: pool, noHandleSignals: true, logger: quietWorkerLogger() });
}

export function queueUtils(pool: pg.Pool): Promise<WorkerUtils> {
  return makeWorkerUtils({ pgPool: pool, logger: quietWorkerLogger() });
}
