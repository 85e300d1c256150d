import type { Queryable } from '../db/pool.js';

export const DELIVER_WEBHOOK = 'deliver_webhook';
export const WEBHOOK_MAX_ATTEMPTS = 8;

/**
 * For each event in `events` (an SQL relation of id, kind, created_at): one
 * delivery row per matching active webhook and one `deliver_webhook` job per
 * new row. The unique (webhook_id, event_id) makes it idempotent.
 */
function deliveriesSql(events: string): string {
  return `with e as (${events}),
    ins as (
      insert into webhook_deliveries (webhook_id, event_id, event)
      select w.id, e.id, e.kind from e
      join webhooks w on w.active and (e.kind = any (w.events) or '*' = any (w.events)) and w.created_at <= e.created_at
      on conflict (webhook_id, event_id) do nothing
      returning id)
    select count(graphile_worker.add_job('${DELIVER_WEBHOOK}', json_build_object('deliveryId', id),
      job_key => 'webhook:' || id::text, max_attempts => ${WEBHOOK_MAX_ATTEMPTS}))::int as n from ins`;
}

/** Creates the deliveries of one event; returns how many were created. */
export async function enqueueDeliveriesForEvent(db: Queryable, eventId: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    deliveriesSql('select id, kind, created_at from events where id = $1'),
    [eventId],
  );
  return rows[0]?.n ?? 0;
}

/** Creates the deliveries of up to `limit` events after `afterId`. */
export async function enqueueDeliveriesAfter(db: Queryable, afterId: number, limit: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    deliveriesSql('select id, kind, created_at from events where id > $1 order by id limit $2'),
    [afterId, limit],
  );
  return rows[0]?.n ?? 0;
}
