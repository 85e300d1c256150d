import type { Queryable } from '../store/pool.js';

/**
 * Claims a webhook delivery by its X-GitHub-Delivery id. True the first time;
 * a redelivery of the same id is a no-op for the caller.
 */
export async function claimDelivery(db: Queryable, id: string, event: string, action: string | null): Promise<boolean> {
  const res = await db.query(
    `insert into github_deliveries (delivery_id, event, action) values ($1, $2, $3) on conflict (delivery_id) do nothing`,
    [id, event, action],
  );
  return (res.rowCount ?? 0) > 0;
}

/** Gives a claim back when handling failed, so GitHub's redelivery is processed. */
export async function releaseDelivery(db: Queryable, id: string): Promise<void> {
  await db.query('delete from github_deliveries where delivery_id = $1', [id]);
}
