import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { isInfrastructureError } from './decide/failure.js';

/**
 * Runs `fn` again while PostgreSQL cannot answer (restarting, failing over, the
 * network between): a task's outcome must reach the database, or the task stays
 * `running` with nobody to finish it. Backs off from 250 ms to 5 s, for at most
 * `maxMs` (default 5 minutes); any other error, or a longer outage, is thrown.
 */
export async function untilDatabaseAnswers<T>(
  what: string,
  fn: () => Promise<T>,
  opts: { log: Logger; maxMs?: number; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + (opts.maxMs ?? 5 * 60_000);
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const message = errorMessage(err);
      if (!isInfrastructureError(message) || Date.now() + delay > deadline) throw err;
      opts.log.warn({ what, attempt, err: message }, 'database unavailable; retrying');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}
