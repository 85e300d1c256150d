/**
 * GitHub webhook deliveries, accepted then worked: the endpoint verifies the
 * signature, stores the delivery with a queued job in one transaction and
 * answers 202 at once (GitHub gives up after 10 s); a server worker runs the
 * App's handlers and marks it done. A crash at any point leaves the delivery
 * pending with its job, so it is carried out after restart, and GitHub's
 * redelivery of an unfinished one is processed rather than dropped.
 */
import type pg from 'pg';
import type { Probot } from 'probot';
import { errorMessage } from '../errors.js';
import { addDeliveryJob } from '../queue/jobs.js';
import { withTransaction } from '../store/connection.js';
import {
  acceptDelivery,
  type DeliveryState,
  finishDelivery,
  recordDeliveryError,
  startDeliveryAttempt,
} from '../store/github.js';

export type Accepted = { kind: 'queued'; state: DeliveryState } | { kind: 'duplicate' };

/** Stores a verified delivery and queues its handling, in one transaction. */
export async function enqueueDelivery(
  pool: pg.Pool,
  d: { id: string; event: string; action: string | null; payload: string },
): Promise<Accepted> {
  return withTransaction(pool, async (db) => {
    const state = await acceptDelivery(db, d);
    if (state === 'done') return { kind: 'duplicate' };
    await addDeliveryJob(db, d.id);
    return { kind: 'queued', state };
  });
}

/** The github_delivery job: runs the App's handlers for a pending delivery, then marks it done. */
export async function workDelivery(pool: pg.Pool, probot: Probot, deliveryId: string): Promise<void> {
  const d = await startDeliveryAttempt(pool, deliveryId);
  if (!d || d.payload === null) return;
  try {
    await probot.receive({ id: d.delivery_id, name: d.event as never, payload: JSON.parse(d.payload) as never });
  } catch (err) {
    await recordDeliveryError(pool, deliveryId, errorMessage(err)).catch(() => {});
    throw err;
  }
  await finishDelivery(pool, deliveryId);
}
