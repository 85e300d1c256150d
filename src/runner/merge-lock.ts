/**
 * A project's merge lock: one merge (or whole-product verify) at a time per
 * project, across every runner, as a PostgreSQL advisory lock that
 * PostgreSQL itself releases if the runner dies.
 *
 * Waiters of one process line up here, in arrival order, and only the first
 * asks PostgreSQL. Every waiter used to poll on its own: PostgreSQL's statement
 * log of one 1,000-task merge phase (bench/many-agents.ts) held 10,373
 * `pg_try_advisory_lock` tries, CPU the merges themselves needed.
 *
 * The first in line waits in PostgreSQL's own lock queue (a second at a time,
 * waitAdvisoryLock), so across runners the lock goes in the order they asked,
 * and at once. Polling with a backoff instead left the lock free until some
 * runner's next try, and a runner whose holder released it handed it to its own
 * next waiter first: one runner's whole line went before another's (p95 wait
 * 25 s with 4 runners). A wait holds a pool connection, and the pool is small
 * and bounded, so at most a quarter of it waits this way at once; beyond that,
 * the first in line polls as before.
 */
import type pg from 'pg';
import { type AdvisoryLock, tryAdvisoryLock, waitAdvisoryLock } from '../store/connection.js';
import { outsideGate, type TaskRunContext } from './task-run.js';

export interface MergeLock {
  release(): Promise<void>;
}

/** The longest the first in line sleeps between tries while another runner holds the lock (when polling). */
const MAX_WAIT_MS = 500;
/** How long one wait in PostgreSQL's queue lasts before the waiter looks up (a drain, a stopped task). */
const QUEUE_WAIT_MS = 1_000;

/** Waits in PostgreSQL's queue now holding a connection of each pool. */
const queueWaits = new WeakMap<pg.Pool, number>();

/** A wait in PostgreSQL's queue, when this pool can spare the connection; else one try. */
async function takeOrWait(
  pool: pg.Pool,
  key: string,
  waitMs: number,
): Promise<{ lock: AdvisoryLock | null; waited: boolean }> {
  const waiting = queueWaits.get(pool) ?? 0;
  if (waiting >= Math.max(1, Math.floor((pool.options.max ?? 10) / 4)))
    return { lock: await tryAdvisoryLock(pool, key), waited: false };
  queueWaits.set(pool, waiting + 1);
  try {
    return { lock: await waitAdvisoryLock(pool, key, waitMs), waited: true };
  } finally {
    queueWaits.set(pool, (queueWaits.get(pool) ?? 1) - 1);
  }
}

/** A turn in a process's line: the lock still held by the one before (handed over), or null (ask PostgreSQL). */
type Turn = { held: AdvisoryLock | null };

interface Line {
  /** Turns of the waiters behind the first, in order. */
  waiting: Array<(turn: Turn) => void>;
  /** Someone is first (trying, or holding). */
  busy: boolean;
  /** Holders in a row that got the lock handed over within this process. */
  streak: number;
}

/**
 * How many holders in a row one process may hand the lock to without letting
 * it go. A handover costs no round trip and keeps the integration checkout of
 * the same runner; letting go after a few puts the next of this line behind
 * the other runners already waiting in PostgreSQL's queue.
 */
const HANDOVERS_MAX = 3;

/**
 * The first in line, and the holder, take their gate permit back ahead of other tasks:
 * merges are one at a time, and a lock held (or about to be taken) by a task that waits
 * behind the runner's other work for a permit holds up every task behind it. With a plain
 * FIFO turn, 1,000 tasks finishing together (bench/many-agents.ts) merged at 11.5 a second,
 * slower than when every waiter polled (14 /s).
 */
export const MERGE_LOCK_FIRST = { first: true };

const lines = new WeakMap<pg.Pool, Map<string, Line>>();

export function mergeLockKey(projectId: string): string {
  return `samgita:merge:${projectId}`;
}

/**
 * The project's merge lock, or null once `signal` is aborted while waiting.
 * Waiting in line gives the runner's gate permit back.
 */
export async function acquireMergeLock(
  ctx: Pick<TaskRunContext, 'pool' | 'gate'>,
  projectId: string,
  signal: AbortSignal,
  /** How long one wait in PostgreSQL's queue lasts (QUEUE_WAIT_MS). */
  queueWaitMs = QUEUE_WAIT_MS,
): Promise<MergeLock | null> {
  const key = mergeLockKey(projectId);
  let byKey = lines.get(ctx.pool);
  if (!byKey) {
    byKey = new Map();
    lines.set(ctx.pool, byKey);
  }
  let line = byKey.get(key);
  if (!line) {
    line = { waiting: [], busy: false, streak: 0 };
    byKey.set(key, line);
  }
  const here = line;
  /** The next in line asks PostgreSQL; with nobody next, the line is done. */
  const pass = () => {
    here.streak = 0;
    const next = here.waiting.shift();
    if (next) next({ held: null });
    else {
      here.busy = false;
      if (byKey.get(key) === here) byKey.delete(key);
    }
  };
  const holding = (lock: AdvisoryLock): MergeLock => {
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        if (here.waiting.length > 0 && here.streak < HANDOVERS_MAX) {
          here.streak++;
          here.waiting.shift()!({ held: lock });
          return;
        }
        await lock.release().finally(pass);
      },
    };
  };
  if (here.busy) {
    const turn = await outsideGate(ctx, () => waitTurn(here, signal), MERGE_LOCK_FIRST);
    if (!turn) return null;
    if (turn.held) {
      const lock = holding(turn.held);
      // Stopped while it took its gate permit back, after the lock was handed over: pass it on.
      if (signal.aborted) {
        await lock.release();
        return null;
      }
      return lock;
    }
  } else here.busy = true;
  // First in line: the lock is ours unless another runner holds it.
  try {
    for (let wait = 50; ; wait = Math.min(wait * 2, MAX_WAIT_MS)) {
      if (signal.aborted) {
        pass();
        return null;
      }
      // Keeps its gate permit while it waits in PostgreSQL's queue: it holds a pool connection.
      const { lock, waited } = await takeOrWait(ctx.pool, key, queueWaitMs);
      if (lock) return holding(lock);
      // A wait in the queue that ran out goes straight back into it.
      if (!waited) await outsideGate(ctx, () => sleep(wait * (0.5 + Math.random()), signal), MERGE_LOCK_FIRST);
    }
  } catch (err) {
    pass();
    throw err;
  }
}

/** Resolves with this waiter's turn, or null if `signal` aborts first (it then leaves the line). */
function waitTurn(line: Line, signal: AbortSignal): Promise<Turn | null> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(null);
      return;
    }
    const turn = (t: Turn) => {
      signal.removeEventListener('abort', abort);
      resolve(t);
    };
    const abort = () => {
      const at = line.waiting.indexOf(turn);
      if (at >= 0) line.waiting.splice(at, 1);
      resolve(null);
    };
    line.waiting.push(turn);
    signal.addEventListener('abort', abort, { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
