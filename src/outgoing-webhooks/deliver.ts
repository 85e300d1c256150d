import type { JobHandler, JobHelpers } from '../queue/worker.js';
import { type Delivery, readDelivery, recordDeliveryAttempt } from '../store/api.js';
import { signPayload } from './signature.js';

export interface DeliverOptions {
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  userAgent?: string;
}

/** The JSON body receivers get; the same bytes on every attempt. */
export function deliveryBody(r: Delivery): string {
  return JSON.stringify({
    id: r.event_id,
    event: r.kind,
    created_at: r.created_at.toISOString(),
    project_id: r.project_id,
    subject: { type: r.subject_type, id: r.subject_id },
    actor: { type: r.actor_type, id: r.actor_id },
    data: r.data,
  });
}

/**
 * The `deliver_webhook` job: POSTs one delivery, signed, with a timeout, and
 * records the outcome. A non-2xx answer or a network error throws, so
 * graphile-worker retries with its exponential backoff until max attempts.
 */
export function makeDeliverTask(options: DeliverOptions = {}): JobHandler {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (payload: unknown, helpers: JobHelpers) => {
    const deliveryId = (payload as { deliveryId?: unknown } | null)?.deliveryId;
    if (typeof deliveryId !== 'string') {
      helpers.logger.error(`deliver_webhook: bad payload ${JSON.stringify(payload)}`);
      return;
    }
    const row = await helpers.withPgClient((db) => readDelivery(db, deliveryId));
    // Webhook deleted (its deliveries cascade), disabled, or already delivered: nothing to do.
    if (!row?.active || row.status === 'succeeded') return;
    const body = deliveryBody(row);
    const started = performance.now();
    let status: number | null = null;
    let responseBody: string | null = null;
    let error: string | null = null;
    try {
      const res = await doFetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': options.userAgent ?? 'Samgita-Webhooks/1',
          'x-samgita-event': row.kind,
          'x-samgita-delivery': row.id,
          'x-samgita-signature': signPayload(row.secret, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), helpers.abortSignal]),
      });
      status = res.status;
      responseBody = (await res.text().catch(() => '')).slice(0, 2000);
      if (status < 200 || status >= 300) error = `receiver answered HTTP ${status}`;
    } catch (err) {
      const e = err as Error;
      error = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : e.message;
    }
    const duration = Math.round(performance.now() - started);
    const final = error !== null && helpers.job.attempts >= helpers.job.max_attempts;
    await helpers.withPgClient((db) =>
      recordDeliveryAttempt(db, deliveryId, {
        status: error === null ? 'succeeded' : final ? 'failed' : 'pending',
        responseStatus: status,
        responseBody,
        error,
        durationMs: duration,
      }),
    );
    if (error !== null) throw new Error(`webhook delivery ${deliveryId} to ${row.url} failed: ${error}`);
  };
}
