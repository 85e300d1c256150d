import { DELIVER_WEBHOOK } from '../queue/jobs.js';
import type { JobHandlers } from '../queue/worker.js';
import { makeDeliverTask } from './deliver.js';

/** graphile-worker tasks of the webhook system; runners merge these into their task list. */
export const webhookTasks: JobHandlers = {
  [DELIVER_WEBHOOK]: makeDeliverTask(),
};
