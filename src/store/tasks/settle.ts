/**
 * The tasks record's side of settling an attempt: the row as it stands now
 * (locked), and each way the attempt can end. The runner decides which
 * (runner/decide/settle.ts); these only write it, inside the settle's
 * transaction, next to the agent run's end, the events and the job.
 */
import { z } from 'zod';
import { PROJECT_STATUSES, TASK_STATUSES } from '../../domain/states.js';
import type { Queryable } from '../pool.js';
import { exec, maybeOne, sql } from '../sql.js';

const SettlingRow = z.object({
  status: z.enum(TASK_STATUSES),
  attempts: z.number(),
  max_attempts: z.number(),
  project_status: z.enum(PROJECT_STATUSES),
});
export type SettlingTask = z.output<typeof SettlingRow>;

/** The task row as it stands now, locked until the settle commits (a cancel or re-plan may have changed it). */
export async function lockSettlingTask(db: Queryable, taskId: string): Promise<SettlingTask | null> {
  return maybeOne(
    db,
    SettlingRow,
    sql`select t.status, t.attempts, t.max_attempts, p.status as project_status
          from tasks t join projects p on p.id = t.project_id where t.id = ${taskId} for update of t`,
  );
}

/** The error kept on the task: what went wrong, as which kind of outcome, when. */
export interface TaskError {
  message: string;
  kind: string;
  at: string;
}

/** The project was cancelled while the task ran: the task ends with it. */
export async function cancelRunningTask(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'cancelled', completed_at = now(), updated_at = now() where id = ${taskId}`,
  );
}

/** Verified: the result keeps the branch, its head commit and the verify summary. */
export async function completeTask(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'completed', completed_at = now(), error = null,
               duration_ms = (extract(epoch from now() - started_at) * 1000)::bigint,
               result = jsonb_build_object('branch', branch, 'commit', head_sha, 'verify', checkpoint->'verify'),
               updated_at = now()
         where id = ${taskId}`,
  );
}

/** Back to pending at its checkpoint (paused project, task changed under it); the attempt is given back. */
export async function handBackTask(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'pending', attempts = greatest(attempts - 1, 0), updated_at = now() where id = ${taskId}`,
  );
}

/** Back to pending with the reason, for a person (or a review) to act; `refund`: attempts given back. */
export async function parkTask(db: Queryable, taskId: string, error: TaskError, refund: number): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'pending', attempts = greatest(attempts - ${refund}, 0), error = ${JSON.stringify(error)},
               waiting_for = null, updated_at = now()
         where id = ${taskId}`,
  );
}

/**
 * Queued again at `runAt` without spending an attempt (a stop that was not the
 * task's fault); `waitingFor: 'provider'` marks a task held back by a provider
 * outage, which a recovered provider wakes early.
 */
export async function requeueTask(
  db: Queryable,
  taskId: string,
  error: TaskError,
  refund: number,
  runAt: Date,
  waitingFor: 'provider' | null = null,
): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'queued', attempts = greatest(attempts - ${refund}, 0), error = ${JSON.stringify(error)},
               run_after = ${runAt}, waiting_for = ${waitingFor}, updated_at = now()
         where id = ${taskId}`,
  );
}

/** Out of attempts (or beyond retrying): dead-lettered with its last error. */
export async function deadLetterTask(db: Queryable, taskId: string, error: TaskError, attempts: number): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'dead_letter', attempts = ${attempts}, error = ${JSON.stringify(error)},
               completed_at = now(), updated_at = now()
         where id = ${taskId}`,
  );
}

/** Another attempt at `runAt`. */
export async function retryTaskLater(
  db: Queryable,
  taskId: string,
  error: TaskError,
  attempts: number,
  runAt: Date,
): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'queued', attempts = ${attempts}, error = ${JSON.stringify(error)}, run_after = ${runAt},
               updated_at = now()
         where id = ${taskId}`,
  );
}
