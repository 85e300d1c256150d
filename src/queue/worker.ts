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

/** graphile-worker's own log lines, routed into pino at debug level. */
export function quietWorkerLogger(): WorkerLogger {
  const log = logger().child({ component: 'graphile-worker' });
  return new WorkerLogger(() => (level, message, meta) => {
    if (level === 'error') log.error(meta ?? {}, message);
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
