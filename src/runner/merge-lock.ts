/**
 * A project's merge lock: one merge (or whole-product verify) at a time per
 * project, across every runner, as a PostgreSQL advisory lock that
 * PostgreSQL itself releases if the runner dies.
 *
 * Waiters of one process line up here, in arrival order, and only the first
 * asks PostgreSQL, with a short backoff (the holder may be another runner).
 * Every waiter used to poll on its own: PostgreSQL's statement log of one
 * 1,000-task merge phase (bench/many-agents.ts) held 10,373
 * `pg_try_advisory_lock` tries, CPU the merges themselves needed. When a holder here releases, the next in line tries at
 * once, so the lock does not sit free while every waiter sleeps.
 *
 * Waiting holds no pool connection (the pool is small and bounded); only the
 * holder keeps one, for its session lock.
 */
import type pg from 'pg';
import { tryAdvisoryLock } from '../store/connection.js';
import { outsideGate, type TaskRunContext } from './task-run.js';

export interface MergeLock {
  release(): Promise<void>;
}

/** The longest the first in line sleeps between tries while another runner holds the lock. */
const MAX_WAIT_MS = 500;

interface Line {
  /** Turns of the waiters behind the first, in order. */
  waiting: Array<() => void>;
  /** Someone is first (trying, or holding). */
  busy: boolean;
}

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
 * Waiting (in line, or between tries) gives the runner's gate permit back.
 */
export async function acquireMergeLock(
  ctx: Pick<TaskRunContext, 'pool' | 'gate'>,
  projectId: string,
  signal: AbortSignal,
): Promise<MergeLock | null> {
  const key = mergeLockKey(projectId);
  let byKey = lines.get(ctx.pool);
  if (!byKey) {
    byKey = new Map();
    lines.set(ctx.pool, byKey);
  }
  let line = byKey.get(key);
  if (!line) {
    line = { waiting: [], busy: false };
    byKey.set(key, line);
  }
  const here = line;
  const pass = () => {
    const next = here.waiting.shift();
    if (next) next();
    else {
      here.busy = false;
      if (byKey.get(key) === here) byKey.delete(key);
    }
  };
  if (here.busy) {
    const turn = await outsideGate(ctx, () => waitTurn(here, signal), MERGE_LOCK_FIRST);
    if (!turn) return null;
  } else here.busy = true;
  // First in line: the lock is ours unless another runner holds it.
  try {
    for (let wait = 50; ; wait = Math.min(wait * 2, MAX_WAIT_MS)) {
      if (signal.aborted) {
        pass();
        return null;
      }
      const lock = await tryAdvisoryLock(ctx.pool, key);
      if (lock) {
        // The advisory lock's release is idempotent already; the turn must pass on once only.
        let passed = false;
        const passOnce = () => {
          if (!passed) pass();
          passed = true;
        };
        return { release: () => lock.release().finally(passOnce) };
      }
      await outsideGate(ctx, () => sleep(wait * (0.5 + Math.random()), signal), MERGE_LOCK_FIRST);
    }
  } catch (err) {
    pass();
    throw err;
  }
}

/** Resolves true when it is this waiter's turn, false if `signal` aborts first (it then leaves the line). */
function waitTurn(line: Line, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const turn = () => {
      signal.removeEventListener('abort', abort);
      resolve(true);
    };
    const abort = () => {
      const at = line.waiting.indexOf(turn);
      if (at >= 0) line.waiting.splice(at, 1);
      resolve(false);
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
