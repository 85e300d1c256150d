/** The task record's side of a retry. */
import { z } from 'zod';
import { PROJECT_STATUSES, TASK_STATUSES } from '../../domain/states.js';
import type { Queryable } from '../pool.js';
import { exec, rows, sql } from '../sql.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const Found = z.object({
  id: z.string(),
  key: z.string(),
  project_id: z.string(),
  status: z.enum(TASK_STATUSES),
  attempts: z.number(),
  priority: z.number(),
  max_attempts: z.number(),
  project_status: z.enum(PROJECT_STATUSES),
});
export type FoundTask = z.output<typeof Found>;

/** The tasks `ref` names (an id, or a key, within `projectId` when given), locked. */
export async function lockTasksByRef(db: Queryable, ref: string, projectId: string | null): Promise<FoundTask[]> {
  const match = UUID.test(ref) ? sql`t.id = ${ref}::uuid` : sql`t.key = ${ref}`;
  return rows(
    db,
    Found,
    sql`select t.id, t.key, t.project_id, t.status, t.attempts, t.priority, t.max_attempts, p.status as project_status
          from tasks t join projects p on p.id = t.project_id
         where ${match} and (${projectId}::uuid is null or t.project_id = ${projectId}::uuid)
         for update of t`,
  );
}

/**
 * Back to pending with its attempts reset and its RARV loop started over; the
 * branch and the continuity log are kept, so the next agent starts from the
 * last checkpoint commit and knows what went wrong.
 */
export async function resetTaskForRetry(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'pending', attempts = 0, error = null, completed_at = null, started_at = null,
               queued_at = null, run_after = null, cap_waits = 0, waiting_for = null, rarv_step = null, rarv_loop = 0,
               checkpoint = checkpoint - 'escalations' - 'verify', updated_at = now()
         where id = ${taskId}`,
  );
}

export async function taskStatus(db: Queryable, taskId: string): Promise<string | null> {
  const [r] = await rows(db, z.object({ status: z.string() }), sql`select status from tasks where id = ${taskId}`);
  return r?.status ?? null;
}
