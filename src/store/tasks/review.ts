/**
 * The tasks record's side of pull requests: finding a PR's task, recording
 * the PR, and what review, merge and close do to the task. Events are
 * recorded in the caller's transaction with the change.
 */
import { z } from 'zod';
import { TASK_STATUSES } from '../../domain/states.js';
import { type Actor, recordEvent } from '../events.js';
import type { Queryable } from '../pool.js';
import { exec, maybeOne, rows, sql } from '../sql.js';

const PrTaskRow = z.object({
  id: z.string(),
  project_id: z.string(),
  key: z.string(),
  status: z.enum(TASK_STATUSES),
  pr_number: z.number().nullable(),
  branch: z.string().nullable(),
});
export type PrTask = z.output<typeof PrTaskRow>;

/** The task a pull request belongs to: by PR number, else by its head branch. */
export async function findTaskForPull(
  db: Queryable,
  projectId: string,
  pr: { number: number; headRef: string },
): Promise<PrTask | null> {
  return maybeOne(
    db,
    PrTaskRow,
    sql`select id, project_id, key, status, pr_number, branch from tasks
         where project_id = ${projectId} and (pr_number = ${pr.number} or branch = ${pr.headRef})
         order by (pr_number = ${pr.number}) desc nulls last limit 1`,
  );
}

/** The task's status, locked until the transaction ends. */
export async function lockTaskStatus(db: Queryable, taskId: string): Promise<string | null> {
  const r = await maybeOne(
    db,
    z.object({ status: z.string() }),
    sql`select status from tasks where id = ${taskId} for update`,
  );
  return r?.status ?? null;
}

/**
 * Review feedback goes back to the agent: appended to payload.reviewFeedback
 * (the Reason step reads it as continuity) and the task reopened so the next
 * RARV loop pushes fix commits to the same branch.
 */
export async function appendReviewFeedback(db: Queryable, task: PrTask, feedback: string, actor: Actor): Promise<void> {
  await exec(
    db,
    sql`update tasks set payload = jsonb_set(payload, '{reviewFeedback}',
               coalesce(payload->'reviewFeedback', '[]'::jsonb) || to_jsonb(${feedback}::text)),
             status = case when status in ('failed', 'dead_letter', 'pending') then 'pending' else status end,
             rarv_step = case when status in ('queued', 'running') then rarv_step else 'reason' end,
             attempts = case when status in ('failed', 'dead_letter') then 0 else attempts end,
             error = null, completed_at = null, updated_at = now()
         where id = ${task.id}`,
  );
  await recordEvent(db, {
    projectId: task.project_id,
    kind: 'task.review_feedback',
    subjectType: 'task',
    subjectId: task.id,
    actor,
    data: { key: task.key, pr_number: task.pr_number, feedback: feedback.slice(0, 2000) },
  });
}

/** A merged pull request completes its task. False when it had already ended. */
export async function completeMergedTask(
  db: Queryable,
  task: PrTask,
  mergeSha: string | null,
  actor: Actor,
): Promise<boolean> {
  const n = await exec(
    db,
    sql`update tasks set status = 'completed', completed_at = now(), error = null, rarv_step = 'done',
             result = coalesce(result, '{}'::jsonb) || jsonb_build_object('branch', branch, 'merged', true,
                      'merge_commit', ${mergeSha}::text, 'pr_number', pr_number, 'verify', checkpoint->'verify'),
             duration_ms = coalesce(duration_ms, (extract(epoch from now() - started_at) * 1000)::bigint),
             updated_at = now()
         where id = ${task.id} and status not in ('completed', 'cancelled')`,
  );
  if (n === 0) return false;
  await recordEvent(db, {
    projectId: task.project_id,
    kind: 'task.completed',
    subjectType: 'task',
    subjectId: task.id,
    actor,
    data: { key: task.key, pr_number: task.pr_number, merged: true, merge_commit: mergeSha },
  });
  return true;
}

/** A pull request closed without merging cancels its task. False when it had already ended. */
export async function cancelClosedTask(db: Queryable, task: PrTask, actor: Actor): Promise<boolean> {
  const n = await exec(
    db,
    sql`update tasks set status = 'cancelled', updated_at = now()
         where id = ${task.id} and status not in ('completed', 'cancelled')`,
  );
  if (n === 0) return false;
  await recordEvent(db, {
    projectId: task.project_id,
    kind: 'task.cancelled',
    subjectType: 'task',
    subjectId: task.id,
    actor,
    data: { key: task.key, pr_number: task.pr_number, reason: 'pull request closed without merging' },
  });
  return true;
}

/**
 * A publish deferred while GitHub was unreachable went through: the PR is
 * recorded, and the task completes unless the PR awaits review or merge.
 */
export async function completeDeferredPublish(
  db: Queryable,
  taskId: string,
  pr: { prNumber: number; prUrl: string; awaitingMerge: boolean },
  actor: Actor,
): Promise<void> {
  const [t] = await rows(
    db,
    z.object({ project_id: z.string(), key: z.string(), status: z.string() }),
    sql`update tasks set pr_number = ${pr.prNumber}, pr_url = ${pr.prUrl}, payload = payload - 'github',
             status = case when ${pr.awaitingMerge}::boolean then status else 'completed' end,
             completed_at = case when ${pr.awaitingMerge}::boolean then completed_at else now() end,
             updated_at = now()
         where id = ${taskId} returning project_id, key, status`,
  );
  if (t && t.status === 'completed')
    await recordEvent(db, {
      projectId: t.project_id,
      kind: 'task.completed',
      subjectType: 'task',
      subjectId: taskId,
      actor,
      data: { key: t.key, pr_number: pr.prNumber, published_late: true },
    });
}
