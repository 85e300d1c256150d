import { addDeliveryJobs } from '../queue/jobs.js';
import { insertDeliveriesAfter, insertDeliveriesForEvent } from '../store/api.js';
import { atomically, type Pool, type PoolClient } from '../store/connection.js';

export { DELIVER_WEBHOOK, WEBHOOK_MAX_ATTEMPTS } from '../queue/jobs.js';

/** Creates the deliveries of one event, and their jobs; returns how many were created. */
export async function enqueueDeliveriesForEvent(db: Pool | PoolClient, eventId: number): Promise<number> {
  return atomically(db, async (tx) => addDeliveryJobs(tx, await insertDeliveriesForEvent(tx, eventId)));
}

/** Creates the deliveries of up to `limit` events after `afterId`, and their jobs. */
export async function enqueueDeliveriesAfter(db: Pool | PoolClient, afterId: number, limit: number): Promise<number> {
  return atomically(db, async (tx) => addDeliveryJobs(tx, await insertDeliveriesAfter(tx, afterId, limit)));
}
