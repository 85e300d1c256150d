import type { JobHandler, JobHelpers } from '../queue/worker.js';
import { knownSecrets, redact } from '../sandbox/secrets.js';
import { type Delivery, readDelivery, recordDeliveryAttempt } from '../store/api.js';
import { type Resolver, safePost } from './safe-post.js';
import { signPayload } from './signature.js';
import { ALLOW_ENV, type AllowList, parseAllowList, urlForLog } from './target-policy.js';

/** Characters of a receiver's answer kept with the attempt, after redaction. */
export const RESPONSE_EXCERPT_CHARS = 256;

export interface DeliverOptions {
  /** Per-attempt timeout (default 10 s), DNS included. */
  timeoutMs?: number;
  userAgent?: string;
  /**
   * Targets allowed despite the policy (loopback, private…); default: parsed
   * from SAMGITA_WEBHOOK_ALLOW when the first delivery runs.
   */
  allow?: AllowList;
  /** Injected for tests; defaults to the system resolver (getaddrinfo). */
  resolve?: Resolver;
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

/** What is kept of a receiver's answer: secrets redacted (ours and the webhook's), then cut short. */
export function responseExcerpt(body: string, webhookSecret: string): string {
  const secrets = knownSecrets(process.env, [{ name: 'webhook secret', value: webhookSecret }]);
  return redact(body, secrets).slice(0, RESPONSE_EXCERPT_CHARS);
}

/**
 * The `deliver_webhook` job: POSTs one delivery, signed, with a timeout, to a
 * target the policy allows (src/outgoing-webhooks/target-policy.ts, checked on
 * every attempt), and records the outcome. A non-2xx answer or a network error
 * throws, so graphile-worker retries with its exponential backoff until max
 * attempts; a refused target fails the delivery at once, without a retry.
 */
export function makeDeliverTask(options: DeliverOptions = {}): JobHandler {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let allow = options.allow;
  const allowList = (): AllowList => {
    if (allow) return allow;
    try {
      allow = parseAllowList(process.env[ALLOW_ENV]);
    } catch (err) {
      throw new Error(`environment variable ${ALLOW_ENV}: ${(err as Error).message}`);
    }
    return allow;
  };
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
    const outcome = await safePost(row.url, {
      headers: {
        'content-type': 'application/json',
        'user-agent': options.userAgent ?? 'Samgita-Webhooks/1',
        'x-samgita-event': row.kind,
        'x-samgita-delivery': row.id,
        'x-samgita-signature': signPayload(row.secret, body),
      },
      body,
      allow: allowList(),
      timeoutMs,
      signal: helpers.abortSignal,
      ...(options.resolve ? { resolve: options.resolve } : {}),
    });
    const duration = Math.round(performance.now() - started);
    let status: number | null = null;
    let responseBody: string | null = null;
    let error: string | null = null;
    if (outcome.kind === 'answered') {
      status = outcome.status;
      responseBody = responseExcerpt(outcome.body, row.secret);
      if (status < 200 || status >= 300) {
        error =
          status >= 300 && status < 400
            ? `receiver answered HTTP ${status} (redirects are not followed)`
            : `receiver answered HTTP ${status}`;
      }
    } else error = outcome.reason;
    const refused = outcome.kind === 'refused';
    const final = error !== null && (refused || helpers.job.attempts >= helpers.job.max_attempts);
    await helpers.withPgClient((db) =>
      recordDeliveryAttempt(db, deliveryId, {
        status: error === null ? 'succeeded' : final ? 'failed' : 'pending',
        responseStatus: status,
        responseBody,
        error,
        durationMs: duration,
      }),
    );
    const target = urlForLog(row.url);
    if (refused) {
      // Permanent for this delivery: retrying cannot change the policy's answer, so the job ends here.
      helpers.logger.warn(`webhook delivery ${deliveryId} to ${target} ${error}`);
      return;
    }
    if (error !== null) throw new Error(`webhook delivery ${deliveryId} to ${target} failed: ${error}`);
  };
}
