/**
 * Which jobs a worker pool has in hand, so that the ones it holds without
 * knowing (a fetch answered as PostgreSQL restarted: the lock committed, the
 * answer lost) can be told apart and unlocked (jobs.ts unlockStrayJobs).
 * A job counts while it waits in the pool's local queue (fetched in a batch,
 * not yet given to a worker: a runner whose event loop stalls can keep it there
 * past the sweep's age), from its handler's start, and until a while after its
 * end, while graphile-worker's completion of it may still be on its way
 * (batched, retried through an outage).
 */
import type { Job, Task, WorkerEvents } from 'graphile-worker';

/** How long an ended job is still counted as in hand: its completion's retries. */
const ENDED_KEPT_MS = 120_000;

export class JobsInHand {
  private readonly running = new Map<string, number>();
  private readonly ended = new Map<string, number>();
  private readonly queues = new Set<{ readonly jobQueue: readonly Job[] }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The handler, counting its jobs in hand while they run. */
  wrap(handler: Task): Task {
    return async (payload, helpers) => {
      // graphile-worker types ids as strings, but our INT8 parser (store/connection.ts) makes them numbers.
      const id = String(helpers.job.id);
      this.running.set(id, (this.running.get(id) ?? 0) + 1);
      try {
        return await handler(payload, helpers);
      } finally {
        const n = (this.running.get(id) ?? 1) - 1;
        if (n > 0) this.running.set(id, n);
        else this.running.delete(id);
        this.ended.set(id, this.now());
      }
    };
  }

  /** Counts the jobs waiting in the pool's local queues (graphile-worker's localQueue option). */
  watch(events: WorkerEvents): void {
    events.on('localQueue:init', ({ localQueue }) => {
      this.queues.add(localQueue);
    });
  }

  /** The ids of the jobs in hand now. */
  ids(): string[] {
    const cutoff = this.now() - ENDED_KEPT_MS;
    for (const [id, at] of this.ended) if (at < cutoff) this.ended.delete(id);
    const queued = [...this.queues].flatMap((q) => q.jobQueue.map((j) => String(j.id)));
    return [...new Set([...this.running.keys(), ...this.ended.keys(), ...queued])];
  }
}
