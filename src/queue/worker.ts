/**
 * graphile-worker's processes and schema: the worker pools that runners and
 * the server run, the utilities that release a dead runner's jobs, the
 * queue's migrations, and its log lines routed into pino.
 */

import { EventEmitter } from 'node:events';
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
import { notifyNewJobs, unlockStrayJobs } from './jobs.js';
import { JobsInHand } from './stray-jobs.js';

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

/** A job locked this long by one of our pools, and not in its hands, is stray (see stray-jobs.ts). */
const STRAY_AFTER_MS = 30_000;
const STRAY_SWEEP_MS = 10_000;

export interface StraySweep {
  /** Default 10 s. */
  everyMs?: number;
  /** Default 30 s: past graphile-worker's local queue (10 s), where fetched jobs wait for a worker. */
  afterMs?: number;
  /** Called after each sweep with the jobs it unlocked. */
  onSweep?: (unlocked: string[]) => void;
}

/**
 * A worker pool serving `handlers`; signals are the caller's to handle. Every
 * few seconds it unlocks the jobs its own pool holds without running them
 * (stray-jobs.ts), so a PostgreSQL restart at the wrong moment costs a job
 * half a minute, not graphile-worker's 4-hour lock expiry.
 */
export async function startWorkerPool(
  pool: pg.Pool,
  options: Omit<RunnerOptions, 'pgPool' | 'logger' | 'noHandleSignals'> & { stray?: StraySweep },
): Promise<WorkerRunner> {
  const { stray, ...rest } = options;
  const inHand = new JobsInHand();
  const taskList = Object.fromEntries(
    Object.entries(rest.taskList ?? {}).map(([name, handler]) => [name, handler && inHand.wrap(handler)]),
  );
  const events: WorkerEvents = rest.events ?? new EventEmitter();
  inHand.watch(events);
  // graphile-worker 0.17 locks with the pool's id; the workers' ids too, for versions that lock per worker.
  const lockers = new Set<string>();
  events.on('pool:create', ({ workerPool }) => lockers.add(workerPool.id));
  events.on('worker:create', ({ worker }) => lockers.add(worker.workerId));
  const runner = await run({
    ...rest,
    taskList,
    events,
    pgPool: pool,
    noHandleSignals: true,
    logger: quietWorkerLogger(),
  });
  const log = logger().child({ component: 'queue' });
  const sweep = async () => {
    const unlocked = await unlockStrayJobs(pool, [...lockers], () => inHand.ids(), stray?.afterMs ?? STRAY_AFTER_MS);
    if (unlocked.length) {
      log.warn({ jobs: unlocked }, 'unlocked jobs this worker pool held without running them');
      await notifyNewJobs(pool, unlocked.length);
    }
    stray?.onSweep?.(unlocked);
  };
  // One sweep at a time: on a slow database they would otherwise pile up in the pool's queue.
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweep()
      // PostgreSQL down: the next sweep tries again.
      .catch((err: unknown) => log.debug({ err: String(err) }, 'stray job sweep failed'))
      .finally(() => {
        sweeping = false;
      });
  }, stray?.everyMs ?? STRAY_SWEEP_MS);
  timer.unref();
  void runner.promise.finally(() => clearInterval(timer)).catch(() => {});
  return runner;
}

export function queueUtils(pool: pg.Pool): Promise<WorkerUtils> {
  return makeWorkerUtils({ pgPool: pool, logger: quietWorkerLogger() });
}
