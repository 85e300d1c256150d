import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { SamgitaError } from '../errors.js';
import { type Actor, recordEvent } from '../events/record.js';
import { advanceProject } from './enqueue.js';

export const RETRYABLE_STATUSES = ['dead_letter', 'failed', 'cancelled'] as const;

export interface RetryResult {
  taskId: string;
  key: string;
  projectId: string;
  from: string;
  /** Status after advanceProject: queued when its dependencies are done, else blocked/pending. */
  status: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Puts a dead-lettered, failed or cancelled task back to pending with its
 * attempts reset (its branch and continuity log are kept, so the agent starts
 * from the last checkpoint commit and knows what went wrong), reopens a project
 * that had stopped on it, and enqueues it through advanceProject.
 */
export async function retryTask(
  pool: pg.Pool,
  ref: string,
  opts: { projectId?: string | undefined; actor: Actor },
): Promise<RetryResult> {
  const result = await withTransaction(pool, async (db) => {
    const { rows } = await db.query<{ id: string; key: string; project_id: string; status: string }>(
      `select id, key, project_id, status from tasks
        where ${UUID.test(ref) ? 'id = $1::uuid' : 'key = $1'} and ($2::uuid is null or project_id = $2::uuid)
        for update`,
      [ref, opts.projectId ?? null],
    );
    if (rows.length === 0)
      throw new SamgitaError('NOT_FOUND', `no task ${ref}${opts.projectId ? ` in project ${opts.projectId}` : ''}`, {
        hint: 'give the task id or key as shown by `samgita status`',
      });
    if (rows.length > 1)
      throw new SamgitaError('INVALID_INPUT', `task key ${ref} exists in ${rows.length} projects`, {
        hint: 'add --project <project-id>, or give the task id',
        details: { projects: rows.map((r) => r.project_id) },
      });
    const t = rows[0]!;
    if (!(RETRYABLE_STATUSES as readonly string[]).includes(t.status))
      throw new SamgitaError(
        'CONFLICT',
        `task ${t.key} is ${t.status}; only ${RETRYABLE_STATUSES.join(', ')} tasks can be retried`,
        {
          hint: t.status === 'completed' ? 'it already succeeded' : 'it is still in the queue or running',
        },
      );
    const project = await db.query<{ status: string }>('select status from projects where id = $1 for no key update', [
      t.project_id,
    ]);
    const projectStatus = project.rows[0]?.status;
    if (projectStatus === 'archived' || projectStatus === 'cancelled')
      throw new SamgitaError('CONFLICT', `project ${t.project_id} is ${projectStatus}; its tasks cannot be retried`);
    await db.query(
      `update tasks set status = 'pending', attempts = 0, error = null, completed_at = null, cap_waits = 0,
              rarv_step = null, rarv_loop = 0, checkpoint = checkpoint - 'escalations' - 'verify',
              run_after = null, updated_at = now()
        where id = $1`,
      [t.id],
    );
    // A project that stopped on failed tasks (or was completed before a cancelled task came back) runs again.
    if (projectStatus === 'failed' || projectStatus === 'completed') {
      await db.query(`update projects set status = 'running', status_reason = null, updated_at = now() where id = $1`, [
        t.project_id,
      ]);
      await recordEvent(db, {
        projectId: t.project_id,
        kind: 'project.resumed',
        subjectType: 'project',
        subjectId: t.project_id,
        actor: opts.actor,
        data: { reason: `task ${t.key} retried` },
      });
    }
    await recordEvent(db, {
      projectId: t.project_id,
      kind: 'task.retried',
      subjectType: 'task',
      subjectId: t.id,
      actor: opts.actor,
      data: { key: t.key, from: t.status },
    });
    return { taskId: t.id, key: t.key, projectId: t.project_id, from: t.status };
  });
  await advanceProject(pool, result.projectId, opts.actor);
  const { rows } = await pool.query<{ status: string }>('select status from tasks where id = $1', [result.taskId]);
  return { ...result, status: rows[0]?.status ?? 'pending' };
}
