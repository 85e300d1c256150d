import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { SamgitaError } from '../errors.js';
import { type Actor, recordEvent } from '../events/record.js';

export type ProjectStatus = 'pending' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled' | 'archived';
export type ProjectAction = 'start' | 'pause' | 'resume' | 'cancel' | 'archive' | 'complete' | 'fail';

/**
 * Which action is allowed from which status, and where it leads. Pure data:
 * the API, the runner and the GitHub app all go through this one table.
 *
 * - start:    pending → running (the runner picks the project up)
 * - pause:    pending | running → paused (running tasks finish their step; nothing new starts)
 * - resume:   paused | failed → running
 * - cancel:   pending | running | paused | failed → cancelled (open tasks cancelled, their jobs removed)
 * - archive:  completed | failed | cancelled → archived (read-only from then on)
 * - complete: running → completed;  fail: running | paused → failed
 */
export const TRANSITIONS: Readonly<Record<ProjectAction, { from: readonly ProjectStatus[]; to: ProjectStatus }>> = {
  start: { from: ['pending'], to: 'running' },
  pause: { from: ['pending', 'running'], to: 'paused' },
  resume: { from: ['paused', 'failed'], to: 'running' },
  cancel: { from: ['pending', 'running', 'paused', 'failed'], to: 'cancelled' },
  archive: { from: ['completed', 'failed', 'cancelled'], to: 'archived' },
  complete: { from: ['running'], to: 'completed' },
  fail: { from: ['running', 'paused'], to: 'failed' },
};

/** Event kind recorded for each action. */
export const ACTION_EVENTS: Readonly<Record<ProjectAction, string>> = {
  start: 'project.started',
  pause: 'project.paused',
  resume: 'project.resumed',
  cancel: 'project.cancelled',
  archive: 'project.archived',
  complete: 'project.completed',
  fail: 'project.failed',
};

/** Statuses in which a project may be deleted: nothing is, or can start, running. */
export const DELETABLE: readonly ProjectStatus[] = ['pending', 'completed', 'failed', 'cancelled', 'archived'];

export type TransitionDecision = { ok: true; to: ProjectStatus } | { ok: false; message: string; hint: string };

/** Pure: may `action` be applied to a project in `status`? */
export function decideTransition(status: ProjectStatus, action: ProjectAction): TransitionDecision {
  const t = TRANSITIONS[action];
  if (t.from.includes(status)) return { ok: true, to: t.to };
  const allowed = (Object.keys(TRANSITIONS) as ProjectAction[]).filter((a) => TRANSITIONS[a].from.includes(status));
  return {
    ok: false,
    message: `cannot ${action} a project that is ${status} (allowed from: ${t.from.join(', ')})`,
    hint: allowed.length
      ? `from ${status} you can: ${allowed.join(', ')}`
      : `a ${status} project can no longer change; clone it to start again`,
  };
}

export interface TransitionResult {
  id: string;
  from: ProjectStatus;
  to: ProjectStatus;
  eventId: number;
  cancelledTasks: number;
}

/**
 * Applies a lifecycle action in one transaction: locks the project, checks the
 * table, updates the status and records the event. Cancel also cancels every
 * task that has not started and removes its graphile-worker job (job_key
 * `task:<id>`); running tasks see the project status and stop at their next step.
 */
export async function transitionProject(
  pool: pg.Pool,
  projectId: string,
  action: ProjectAction,
  actor: Actor,
  reason?: string,
): Promise<TransitionResult> {
  return withTransaction(pool, (db) => transitionProjectIn(db, projectId, action, actor, reason));
}

/** Same as transitionProject, inside the caller's transaction. */
export async function transitionProjectIn(
  db: pg.PoolClient,
  projectId: string,
  action: ProjectAction,
  actor: Actor,
  reason?: string,
): Promise<TransitionResult> {
  const { rows } = await db.query<{ status: ProjectStatus }>('select status from projects where id = $1 for update', [
    projectId,
  ]);
  const row = rows[0];
  if (!row) throw new SamgitaError('NOT_FOUND', `project ${projectId} not found`);
  const decision = decideTransition(row.status, action);
  if (!decision.ok) throw new SamgitaError('CONFLICT', decision.message, { hint: decision.hint });
  await db.query('update projects set status = $2, status_reason = $3, updated_at = now() where id = $1', [
    projectId,
    decision.to,
    reason ?? null,
  ]);
  let cancelledTasks = 0;
  if (action === 'cancel') {
    const res = await db.query<{ id: string }>(
      `update tasks set status = 'cancelled', updated_at = now()
       where project_id = $1 and status in ('pending', 'queued', 'blocked') returning id`,
      [projectId],
    );
    cancelledTasks = res.rowCount ?? 0;
    if (cancelledTasks > 0) {
      await db.query(`select graphile_worker.remove_job('task:' || id::text) from unnest($1::uuid[]) as id`, [
        res.rows.map((r) => r.id),
      ]);
    }
  }
  const eventId = await recordEvent(db, {
    projectId,
    kind: ACTION_EVENTS[action],
    subjectType: 'project',
    subjectId: projectId,
    actor,
    data: {
      from: row.status,
      to: decision.to,
      ...(reason ? { reason } : {}),
      ...(action === 'cancel' ? { cancelled_tasks: cancelledTasks } : {}),
    },
  });
  return { id: projectId, from: row.status, to: decision.to, eventId, cancelledTasks };
}
