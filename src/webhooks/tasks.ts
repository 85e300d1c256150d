import type { TaskList } from 'graphile-worker';
import { makeDeliverTask } from './deliver.js';
import { DELIVER_WEBHOOK } from './enqueue.js';

/** graphile-worker tasks of the webhook system; runners merge these into their task list. */
export const webhookTasks: TaskList = {
  [DELIVER_WEBHOOK]: makeDeliverTask(),
};
