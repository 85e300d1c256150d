import type pg from 'pg';
import { DELIVER_WEBHOOK } from '../queue/jobs.js';
import { type JobHandlers, startWorkerPool, type WorkerRunner } from '../queue/worker.js';
import { type DeliverOptions, makeDeliverTask } from './deliver.js';

export interface WebhookWorkerOptions extends DeliverOptions {
  pool: pg.Pool;
  /** Deliveries in flight at once, so one slow receiver cannot hold up the others (default 8). */
  concurrency?: number;
  pollIntervalMs?: number;
}

/**
 * A small graphile-worker pool that runs only `deliver_webhook` jobs, for
 * `samgita serve`. Stop it with `runner.stop()`.
 */
export async function runWebhookWorker(opts: WebhookWorkerOptions): Promise<WorkerRunner> {
  const { pool, concurrency, pollIntervalMs, ...deliver } = opts;
  const taskList: JobHandlers = { [DELIVER_WEBHOOK]: makeDeliverTask(deliver) };
  return startWorkerPool(pool, {
    taskList,
    concurrency: concurrency ?? 8,
    pollInterval: pollIntervalMs ?? 2000,
  });
}
