/** How an attempt that threw, or ran out of time, ends. Pure. */
import type { Outcome } from './outcome.js';

const INFRASTRUCTURE =
  /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|too many clients|the database system is (starting|shutting|in recovery)|terminating connection due to administrator command|Client has encountered a connection error|Connection ended unexpectedly|deadlock detected|could not serialize/i;

/** The database or its pool failed us (or a transient lock conflict), not the task: such an attempt is not counted. */
export function isInfrastructureError(message: string): boolean {
  return INFRASTRUCTURE.test(message);
}

/** Why the attempt is ending, as far as the runner knows beyond the outcome itself. */
export interface AttemptEnd {
  /** limits.task_timeout passed. */
  timedOut: boolean;
  /** The runner is shutting down, or the task or its project was stopped. */
  stopped: boolean;
  timeoutMs: number;
  retryDelayMs: number;
  now: Date;
}

function timedOut(end: AttemptEnd): Outcome {
  return {
    kind: 'retry',
    reason: `task timed out after ${end.timeoutMs} ms`,
    delayMs: end.retryDelayMs,
    countAttempt: true,
  };
}

/** A timeout surfaces as a cancelled CLI run or a stop at a checkpoint: it still costs an attempt. */
export function afterLoop(outcome: Outcome, end: AttemptEnd): Outcome {
  return end.timedOut && outcome.kind !== 'completed' ? timedOut(end) : outcome;
}

/** The attempt threw: a timeout or a stop is what it looks like; a database hiccup is not the task's fault. */
export function afterThrow(message: string, end: AttemptEnd): Outcome {
  if (end.timedOut) return timedOut(end);
  if (end.stopped) return { kind: 'requeue', reason: 'runner shutting down or task stopped', runAt: end.now };
  if (isInfrastructureError(message)) {
    return {
      kind: 'requeue',
      reason: `database error (transient): ${message}`,
      runAt: new Date(end.now.getTime() + 2_000),
    };
  }
  return { kind: 'retry', reason: message, delayMs: end.retryDelayMs, countAttempt: true };
}
