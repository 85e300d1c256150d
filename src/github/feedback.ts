import type pg from 'pg';
import { advanceProject } from '../projects/transition.js';
import { removeTaskJobs } from '../queue/jobs.js';
import { type Actor, recordEvent } from '../store/events.js';
import { withTransaction } from '../store/pool.js';

export interface PrTask {
  id: string;
  project_id: string;
  key: string;
  status: string;
  pr_number: number | null;
  branch: string | null;
}

/** The task a pull request belongs to: by PR number, else by its head branch. */
export async function findTaskForPull(
  db: pg.Pool | pg.PoolClient,
  projectId: string,
  pr: { number: number; headRef: string },
): Promise<PrTask | null> {
  const { rows } = await db.query<PrTask>(
    `select id, project_id, key, status, pr_number, branch from tasks
      where project_id = $1 and (pr_number = $2 or branch = $3)
      order by (pr_number = $2) desc nulls last limit 1`,
    [projectId, pr.number, pr.headRef],
  );
  return rows[0] ?? null;
}

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
  const reopened = await withTransaction(pool, async (db) => {
    const { rows } = await db.query<{ status: string }>('select status from tasks where id = $1 for update', [task.id]);
    const status = rows[0]?.status;
    if (!status || ['completed', 'cancelled'].includes(status)) return false;
    await db.query(
      `update tasks set payload = jsonb_set(payload, '{reviewFeedback}',
                coalesce(payload->'reviewFeedback', '[]'::jsonb) || to_jsonb($2::text)),
              status = case when status in ('failed', 'dead_letter', 'pending') then 'pending' else status end,
              rarv_step = case when status in ('queued', 'running') then rarv_step else 'reason' end,
              attempts = case when status in ('failed', 'dead_letter') then 0 else attempts end,
              error = null, completed_at = null, updated_at = now()
        where id = $1`,
      [task.id, feedback],
    );
    await recordEvent(db, {
      projectId: task.project_id,
      kind: 'task.review_feedback',
      subjectType: 'task',
      subjectId: task.id,
      actor,
      data: { key: task.key, pr_number: task.pr_number, feedback: feedback.slice(0, 2000) },
    });
    return true;
  });
  if (reopened) {
    // A reopened dead-lettered task's old job row may still exist: drop it so the new one is added.
    await removeTaskJobs(pool, [task.id]);
    await advanceProject(pool, task.project_id, actor);
  }
  return reopened;
}

/** A merged pull request completes its task and moves the project on. */
export async function completeMergedTask(
  pool: pg.Pool,
  task: PrTask,
  mergeSha: string | null,
  actor: Actor,
): Promise<boolean> {
  const done = await withTransaction(pool, async (db) => {
    const res = await db.query(
      `update tasks set status = 'completed', completed_at = now(), error = null, rarv_step = 'done',
              result = coalesce(result, '{}'::jsonb) || jsonb_build_object('branch', branch, 'merged', true, 'merge_commit', $2::text,
                       'pr_number', pr_number, 'verify', checkpoint->'verify'),
              duration_ms = coalesce(duration_ms, (extract(epoch from now() - started_at) * 1000)::bigint),
              updated_at = now()
        where id = $1 and status not in ('completed', 'cancelled')`,
      [task.id, mergeSha],
    );
    if (!res.rowCount) return false;
    await recordEvent(db, {
      projectId: task.project_id,
      kind: 'task.completed',
      subjectType: 'task',
      subjectId: task.id,
      actor,
      data: { key: task.key, pr_number: task.pr_number, merged: true, merge_commit: mergeSha },
    });
    return true;
  });
  await removeTaskJobs(pool, [task.id]);
  await advanceProject(pool, task.project_id, actor);
  return done;
}

/** A pull request closed without merging: its task is cancelled (the caller re-plans). */
export async function cancelClosedTask(pool: pg.Pool, task: PrTask, actor: Actor): Promise<boolean> {
  const done = await withTransaction(pool, async (db) => {
    const res = await db.query(
      `update tasks set status = 'cancelled', updated_at = now() where id = $1 and status not in ('completed', 'cancelled')`,
      [task.id],
    );
    if (!res.rowCount) return false;
    await recordEvent(db, {
      projectId: task.project_id,
      kind: 'task.cancelled',
      subjectType: 'task',
      subjectId: task.id,
      actor,
      data: { key: task.key, pr_number: task.pr_number, reason: 'pull request closed without merging' },
    });
    return true;
  });
  await removeTaskJobs(pool, [task.id]);
  return done;
}
