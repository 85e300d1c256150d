import { addDeliveryJobs } from '../queue/jobs.js';
import { atomically, type Pool, type PoolClient } from '../store/pool.js';

export { DELIVER_WEBHOOK, WEBHOOK_MAX_ATTEMPTS } from '../queue/jobs.js';

/**
 * For each event in `events` (an SQL relation of id, kind, created_at): one
 * delivery row per matching active webhook, and one delivery job per new row.
 * The unique (webhook_id, event_id) makes it idempotent.
 */
async function createDeliveries(db: Pool | PoolClient, events: string, params: unknown[]): Promise<number> {
  return atomically(db, async (tx) => {
    const { rows } = await tx.query<{ id: string }>(
      `with e as (${events})
     insert into webhook_deliveries (webhook_id, event_id, event)
     select w.id, e.id, e.kind from e
       join webhooks w on w.active and (e.kind = any (w.events) or '*' = any (w.events)) and w.created_at <= e.created_at
     on conflict (webhook_id, event_id) do nothing
     returning id`,
      params,
    );
    return addDeliveryJobs(
      tx,
      rows.map((r) => r.id),
    );
  });
}

/** Creates the deliveries of one event; returns how many were created. */
export async function enqueueDeliveriesForEvent(db: Pool | PoolClient, eventId: number): Promise<number> {
  return createDeliveries(db, 'select id, kind, created_at from events where id = $1', [eventId]);
}

/** Creates the deliveries of up to `limit` events after `afterId`. */
export async function enqueueDeliveriesAfter(db: Pool | PoolClient, afterId: number, limit: number): Promise<number> {
  return createDeliveries(db, 'select id, kind, created_at from events where id > $1 order by id limit $2', [
    afterId,
    limit,
  ]);
}
