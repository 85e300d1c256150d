/**
 * Task status changes that follow from the project's lifecycle (queueing
 * what is ready, handing back or cancelling open work). Each returns the rows
 * it changed, so the caller can add or remove their jobs in the same transaction.
 */
import { z } from 'zod';
import type { TaskStatus } from '../../domain/states.js';
import type { JobTask } from '../../queue/jobs.js';
import type { Queryable } from '../pool.js';
import { rows, sql } from '../sql.js';

const JobRow = z.object({ id: z.string(), priority: z.number(), max_attempts: z.number() });
const KeyRow = z.object({ id: z.string(), key: z.string() });

/**
 * Pending or blocked tasks of `phase` whose dependencies are all completed (or
 * cancelled) become queued (FR-3.2). A task parked with a pull request that
 * awaits review or merge is left to the review or the merge.
 */
export async function markReadyTasks(db: Queryable, projectId: string, phase: string): Promise<JobTask[]> {
  return rows(
    db,
    JobRow,
    sql`update tasks t set status = 'queued', queued_at = now(), updated_at = now()
         where t.project_id = ${projectId} and t.phase = ${phase} and t.status in ('pending', 'blocked')
           and not (t.rarv_step = 'done' and t.pr_number is not null)
           and not exists (
             select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on
              where d.task_id = t.id and dt.status not in ('completed', 'cancelled'))
        returning t.id, t.priority, t.max_attempts`,
  );
}

/** Pending tasks with an unfinished dependency are shown as blocked. */
export async function markBlockedTasks(db: Queryable, projectId: string): Promise<void> {
  await db.query(
    sql`update tasks t set status = 'blocked', updated_at = now()
         where t.project_id = ${projectId} and t.status = 'pending'
           and exists (
             select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on
              where d.task_id = t.id and dt.status not in ('completed', 'cancelled'))`,
  );
}

/** Queued tasks go back to pending (a paused project claims nothing new). */
export async function handBackQueuedTasks(db: Queryable, projectId: string): Promise<string[]> {
  const changed = await rows(
    db,
    z.object({ id: z.string() }),
    sql`update tasks set status = 'pending', queued_at = null, waiting_for = null, updated_at = now()
         where project_id = ${projectId} and status = 'queued' returning id`,
  );
  return changed.map((r) => r.id);
}

/** Cancels the project's tasks in `statuses`; returns them. */
export async function cancelProjectTasks(
  db: Queryable,
  projectId: string,
  statuses: readonly TaskStatus[],
): Promise<{ id: string; key: string }[]> {
  return rows(
    db,
    KeyRow,
    sql`update tasks set status = 'cancelled', completed_at = coalesce(completed_at, now()), waiting_for = null,
                updated_at = now()
         where project_id = ${projectId} and status = any(${[...statuses]}::text[]) returning id, key`,
  );
}

/** Task counts by phase and status, for the phase decision. */
export async function phaseCounts(
  db: Queryable,
  projectId: string,
): Promise<Partial<Record<string, Partial<Record<TaskStatus, number>>>>> {
  const counted = await rows(
    db,
    z.object({ phase: z.string(), status: z.string(), n: z.number() }),
    sql`select phase, status, count(*)::int as n from tasks where project_id = ${projectId} group by phase, status`,
  );
  const counts: Partial<Record<string, Partial<Record<TaskStatus, number>>>> = {};
  for (const r of counted) {
    const c = counts[r.phase] ?? {};
    c[r.status as TaskStatus] = r.n;
    counts[r.phase] = c;
  }
  return counts;
}

/**
 * Tasks waiting for the provider are due at `runAt` (null: now); with `clear`
 * they stop waiting (the outage is over). Returns them for their jobs to move.
 */
export async function releaseProviderWaiters(
  db: Queryable,
  runAt: Date | null,
  opts: { clear: boolean },
): Promise<JobTask[]> {
  return rows(
    db,
    JobRow,
    sql`update tasks set waiting_for = case when ${opts.clear} then null else waiting_for end,
                         run_after = coalesce(${runAt}::timestamptz, now()), updated_at = now()
         where waiting_for = 'provider' and status = 'queued'
        returning id, priority, max_attempts`,
  );
}

/** Phases that still have unfinished (or failed, retryable) tasks. */
export async function openTaskPhases(db: Queryable, projectId: string): Promise<string[]> {
  const found = await rows(
    db,
    z.object({ phase: z.string() }),
    sql`select distinct phase from tasks
         where project_id = ${projectId} and status in ('pending', 'blocked', 'queued', 'running', 'failed', 'dead_letter')`,
  );
  return found.map((r) => r.phase);
}
