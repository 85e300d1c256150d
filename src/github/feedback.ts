/**
 * What pull request events do to tasks: review feedback reopens the task for
 * its agent, a merge completes it, a close without merge cancels it. Each
 * change and its event in one transaction; then the project moves on.
 */
import type pg from 'pg';
import { advanceProject, advanceProjectIn } from '../projects/transition.js';
import { removeTaskJobs } from '../queue/jobs.js';
import { withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import {
  appendReviewFeedback,
  cancelClosedTask as cancelClosedTaskRow,
  completeMergedTask as completeMergedTaskRow,
  lockTaskStatus,
  type PrTask,
} from '../store/tasks.js';

export { findTaskForPull, type PrTask } from '../store/tasks.js';

/**
 * Review feedback goes back to the agent: appended to payload.reviewFeedback
 * (the Reason step reads it as continuity) and the task reopened so the next
 * RARV loop pushes fix commits to the same branch.
 */
export async function reopenWithFeedback(
  pool: pg.Pool,
  task: PrTask,
  feedback: string,
  actor: Actor,
): Promise<boolean> {
  return withTransaction(pool, async (db) => {
    const status = await lockTaskStatus(db, task.id);
    if (!status || ['completed', 'cancelled'].includes(status)) return false;
    await appendReviewFeedback(db, task, feedback, actor);
    // A reopened dead-lettered task's old job row may still exist: drop it so the new one is added.
    await removeTaskJobs(db, [task.id]);
    await advanceProjectIn(db, task.project_id, actor);
    return true;
  });
}

/** A merged pull request completes its task and moves the project on. */
export async function completeMergedTask(
  pool: pg.Pool,
  task: PrTask,
  mergeSha: string | null,
  actor: Actor,
): Promise<boolean> {
  const done = await withTransaction(pool, async (db) => {
    const completed = await completeMergedTaskRow(db, task, mergeSha, actor);
    await removeTaskJobs(db, [task.id]);
    return completed;
  });
  await advanceProject(pool, task.project_id, actor);
  return done;
}

/** A pull request closed without merging: its task is cancelled (the caller re-plans). */
export async function cancelClosedTask(pool: pg.Pool, task: PrTask, actor: Actor): Promise<boolean> {
  return withTransaction(pool, async (db) => {
    const cancelled = await cancelClosedTaskRow(db, task, actor);
    await removeTaskJobs(db, [task.id]);
    return cancelled;
  });
}
