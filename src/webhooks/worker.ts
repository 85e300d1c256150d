import { type Runner, run, type TaskList } from 'graphile-worker';
import type pg from 'pg';
import { quietWorkerLogger } from '../db/open.js';
import { type DeliverOptions, makeDeliverTask } from './deliver.js';
import { DELIVER_WEBHOOK } from './enqueue.js';

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
export async function runWebhookWorker(opts: WebhookWorkerOptions): Promise<Runner> {
  const deliver: DeliverOptions = {};
  if (opts.fetch) deliver.fetch = opts.fetch;
  if (opts.timeoutMs !== undefined) deliver.timeoutMs = opts.timeoutMs;
  const taskList: TaskList = { [DELIVER_WEBHOOK]: makeDeliverTask(deliver) };
  return run({
    pgPool: opts.pool,
    taskList,
    concurrency: opts.concurrency ?? 8,
    noHandleSignals: true,
    pollInterval: opts.pollIntervalMs ?? 2000,
    logger: quietWorkerLogger(),
  });
}
