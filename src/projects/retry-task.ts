/**
 * Retrying a task, the one way: the CLI (`samgita retry`), the REST API and
 * the status page (`POST …/tasks/:tid/retry`) and the GitHub App
 * (`/samgita retry <task>`) all call retryTask.
 */
import type pg from 'pg';
import { RETRYABLE_TASK_STATUSES } from '../domain/states.js';
import { SamgitaError } from '../errors.js';
import { removeTaskJobs } from '../queue/jobs.js';
import { withTransaction } from '../store/connection.js';
import { type Actor, recordEvent } from '../store/events.js';
import { lockTasksByRef, resetTaskForRetry, taskStatus } from '../store/tasks.js';
import { advanceProjectIn, transitionProjectIn } from './transition.js';

export { RETRYABLE_TASK_STATUSES as RETRYABLE_STATUSES };

export interface RetryResult {
  taskId: string;
  key: string;
  projectId: string;
  from: string;
  /** Status after the retry: queued when its dependencies are done, else blocked/pending. */
  status: string;
}

/**
 * Puts a dead-lettered, failed or cancelled task back to pending with its
 * attempts reset, in one transaction: its stale job removed, `task.retried`
 * recorded, a project that had stopped on it running again (a failed project
 * resumes, a completed one reopens), and the task queued at once when its
 * dependencies are done.
 */
export async function retryTask(
  pool: pg.Pool,
  ref: string,
  opts: { projectId?: string | undefined; actor: Actor },
): Promise<RetryResult> {
  return withTransaction(pool, async (db) => {
    const found = await lockTasksByRef(db, ref, opts.projectId ?? null);
    if (found.length === 0)
      throw new SamgitaError('NOT_FOUND', `no task ${ref}${opts.projectId ? ` in project ${opts.projectId}` : ''}`, {
        hint: 'give the task id or key as shown by `samgita status`',
      });
    if (found.length > 1)
      throw new SamgitaError('INVALID_INPUT', `task key ${ref} exists in ${found.length} projects`, {
        hint: 'add --project <project-id>, or give the task id',
        details: { projects: found.map((r) => r.project_id) },
      });
    const t = found[0]!;
    if (!(RETRYABLE_TASK_STATUSES as readonly string[]).includes(t.status))
      throw new SamgitaError(
        'CONFLICT',
        `cannot retry a task that is ${t.status} (${t.key}); only ${RETRYABLE_TASK_STATUSES.join(', ')} tasks can be retried`,
        { hint: t.status === 'completed' ? 'it already succeeded' : 'it is still in the queue or running' },
      );
    if (t.project_status === 'archived' || t.project_status === 'cancelled')
      throw new SamgitaError('CONFLICT', `project ${t.project_id} is ${t.project_status}; its tasks cannot be retried`);
    await resetTaskForRetry(db, t.id);
    // A dead-lettered task's last job may still exist: its replacement comes from the queueing below.
    await removeTaskJobs(db, [t.id]);
    await recordEvent(db, {
      projectId: t.project_id,
      kind: 'task.retried',
      subjectType: 'task',
      subjectId: t.id,
      actor: opts.actor,
      data: { key: t.key, from: t.status, previous_attempts: t.attempts },
    });
    const data = { reason: `task ${t.key} retried` };
    if (t.project_status === 'failed') await transitionProjectIn(db, t.project_id, 'resume', opts.actor, { data });
    else if (t.project_status === 'completed')
      await transitionProjectIn(db, t.project_id, 'reopen', opts.actor, { data });
    else await advanceProjectIn(db, t.project_id, opts.actor);
    return {
      taskId: t.id,
      key: t.key,
      projectId: t.project_id,
      from: t.status,
      status: (await taskStatus(db, t.id)) ?? 'pending',
    };
  });
}
