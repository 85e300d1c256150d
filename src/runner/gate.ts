/**
 * A FIFO counting semaphore. The runner holds one permit while a task does
 * database and git work (claim, worktree, Reason, bookkeeping between steps)
 * and gives it back while the CLI or a verify command runs, so with 1,000 agents
 * at most `permits` tasks compete for the connection pool at once: the others
 * wait their turn here instead of timing out on a pool connection.
 */
export class Gate {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(permits: number) {
    this.free = Math.max(1, permits);
  }

  /** `first`: ahead of everyone waiting (work that a queue of others is waiting on, such as a merge). */
  async acquire(first = false): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => (first ? this.waiting.unshift(resolve) : this.waiting.push(resolve)));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }

  /** Runs `fn` without a permit (the caller holds one): gives it back, then takes one again. */
  async outside<T>(fn: () => Promise<T>, options: { first?: boolean } = {}): Promise<T> {
    this.release();
    try {
      return await fn();
    } finally {
      await this.acquire(options.first);
    }
  }
}
