/**
 * Advancing a project after its tasks settle, batched. A settle asks for the
 * advance in its own write (tasks.advance_wanted, committed with the
 * completion) and then calls requestAdvance; the advance itself is
 * advanceProjectIn (transition.ts), unchanged. Many settles of one project
 * share advances instead of queueing one each on the project row:
 *
 * - within a runner (a pool), one advance per project is in flight; requests
 *   that arrive meanwhile mark it dirty and are served by one more run after it;
 * - across runners, the advance takes a try-lock (a transaction-level
 *   advisory lock): a runner that does not get it returns at once, and the
 *   holder, after its commit (which releases the lock), looks for requests it
 *   did not take and runs again if there are any.
 *
 * Why no request is lost. A request is a committed flag R on a task, set with
 * its completion. The advance clears the flags it takes under the lock, before
 * its first read of the tasks, so an advance that clears R reads a state that
 * includes R's completion (READ COMMITTED: each statement sees what committed
 * before it began). A runner that asked for R (after R committed) makes an
 * attempt that starts after that. Either it gets the lock and takes R; or the
 * lock is held by another advance H at that moment, and H's check after its
 * commit comes later still: then R is either cleared (by an advance that saw
 * it) or still set, and H runs again (get the lock, or hand R on to the next
 * holder in the same way). A runner that dies with R set leaves R in the table:
 * the next advance of the project takes it, and the queue repair
 * (queue/maintenance.ts) advances projects with requests left behind.
 */
import type pg from 'pg';
import type { Logger } from '../log/logger.js';
import { advanceWork } from '../queue/jobs.js';
import { untilDatabaseAnswers } from '../runner/until-database.js';
import { withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { tryLockProjectAdvance } from '../store/projects.js';
import { advanceWanted, projectsWantingAdvance, takeAdvanceRequests } from '../store/tasks.js';
import { advanceProjectIn } from './transition.js';

/** What one attempt did: advanced, or left it to the advance holding the lock. */
export type AdvanceAttempt = 'advanced' | 'busy';

/**
 * One attempt: takes the project's requests and advances it, in a transaction
 * of its own, unless another advance holds the project's lock. The lock ends
 * with the transaction, so the check that follows sees what it committed.
 */
export async function advanceRequested(pool: pg.Pool, projectId: string, actor: Actor): Promise<AdvanceAttempt> {
  // The common case in one round trip; it changed nothing unless it returned 'work' or 'busy'.
  const fast = await advanceWork(pool, projectId, { requested: true });
  if (fast.outcome === 'busy') return 'busy';
  if (fast.outcome === 'work') return 'advanced';
  return withTransaction(pool, async (db) => {
    if (!(await tryLockProjectAdvance(db, projectId))) return 'busy';
    // Cleared before the advance reads anything: a request set after this is seen by the check after commit.
    await takeAdvanceRequests(db, projectId);
    await advanceProjectIn(db, projectId, actor);
    return 'advanced';
  });
}

/**
 * Whether to run again after an attempt: a request arrived in this process
 * meanwhile, or this attempt held the lock and requests it did not take wait.
 */
export function advanceAgain(a: { dirty: boolean; attempt: AdvanceAttempt; wantedAfter: boolean }): boolean {
  return a.dirty || (a.attempt === 'advanced' && a.wantedAfter);
}

interface InFlight {
  dirty: boolean;
  done: Promise<void>;
}

/** Per pool (one per runner process; tests start several in one process), per project. */
const inFlight = new WeakMap<pg.Pool, Map<string, InFlight>>();

/**
 * Asks for the project to advance, after a settle whose write set the
 * request. Resolves once this process's advance that covers the request
 * has committed, or another runner's advance holds the project and will cover it.
 */
export function requestAdvance(pool: pg.Pool, projectId: string, actor: Actor, log: Logger): Promise<void> {
  let projects = inFlight.get(pool);
  if (!projects) {
    projects = new Map();
    inFlight.set(pool, projects);
  }
  const current = projects.get(projectId);
  if (current) {
    current.dirty = true;
    return current.done;
  }
  const state: InFlight = { dirty: false, done: Promise.resolve() };
  const map = projects;
  state.done = (async () => {
    try {
      for (;;) {
        state.dirty = false;
        const { attempt, wantedAfter } = await untilDatabaseAnswers(
          'advance the project',
          async () => {
            const attempt = await advanceRequested(pool, projectId, actor);
            return { attempt, wantedAfter: attempt === 'advanced' && (await advanceWanted(pool, projectId)) };
          },
          { log },
        );
        // Synchronous from here to the delete: a request arriving now finds no run in flight and starts one.
        if (!advanceAgain({ dirty: state.dirty, attempt, wantedAfter })) return;
      }
    } finally {
      map.delete(projectId);
    }
  })();
  projects.set(projectId, state);
  return state.done;
}

/** Advances the projects whose requests were left behind (a runner died between settle and advance). */
export async function advanceLeftBehind(pool: pg.Pool, actor: Actor, log: Logger): Promise<number> {
  const ids = await projectsWantingAdvance(pool);
  for (const id of ids) await requestAdvance(pool, id, actor, log);
  return ids.length;
}
