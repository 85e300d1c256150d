import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { type Actor, recordEvent, SYSTEM_ACTOR } from '../events/record.js';
import { decidePhase, PHASES, type PhaseCounts } from './phase.js';

export const RUN_TASK = 'run_task';

export function taskJobKey(taskId: string): string {
  return `task:${taskId}`;
}

/**
 * Adds the graphile-worker job for a task inside the caller's transaction, so
 * a task is marked queued if and only if its job exists.
 */
export async function addTaskJob(
  db: pg.PoolClient | pg.Pool,
  task: { id: string; priority: number; max_attempts: number },
  runAt: Date | null = null,
): Promise<void> {
  await db.query(
    `select graphile_worker.add_job($1, json_build_object('taskId', $2::text), run_at => $3::timestamptz,
       max_attempts => $4::int, job_key => $5, priority => $6::int)`,
    [RUN_TASK, task.id, runAt, task.max_attempts + 1, taskJobKey(task.id), Math.min(task.priority, 32767)],
  );
}

/**
 * Moves every task waiting for the provider to `runAt` (null: now). With
 * `clear`, they stop waiting: the outage is over and each goes through the gate
 * again as a normal task. One statement; graphile-worker's job_key replace mode
 * moves each waiting job.
 */
export async function rescheduleWaitingTasks(
  db: pg.PoolClient | pg.Pool,
  runAt: Date | null,
  opts: { clear: boolean },
): Promise<number> {
  const { rowCount } = await db.query(
    `with waiting as (
       update tasks set waiting_for = case when $2 then null else waiting_for end,
                        run_after = coalesce($1::timestamptz, now()), updated_at = now()
        where waiting_for = 'provider' and status = 'queued'
        returning id, priority, max_attempts)
     select graphile_worker.add_job($3, json_build_object('taskId', w.id::text), run_at => $1::timestamptz,
              max_attempts => w.max_attempts + 1, job_key => 'task:' || w.id::text,
              priority => least(w.priority, 32767))
       from waiting w`,
    [runAt, opts.clear, RUN_TASK],
  );
  return rowCount ?? 0;
}

export interface AdvanceResult {
  status: string;
  phase: string;
  enqueued: number;
}

/**
 * Moves a running project forward: advances its phase when the current one is
 * done, and queues every task of the current phase whose dependencies have
 * completed (FR-3.2). Safe to call from any number of runners at once: the
 * project row is locked for the duration.
 */
export async function advanceProject(
  pool: pg.Pool,
  projectId: string,
  actor: Actor = SYSTEM_ACTOR,
): Promise<AdvanceResult> {
  return withTransaction(pool, async (db) => {
    // `no key update`, not `update`: every insert that references the project (events,
    // memories, agent runs) takes a key-share lock on its row for the foreign key, and
    // a plain `for update` conflicts with those (deadlocks seen with 1,000 agents).
    const p = await db.query<{ status: string; phase: string; config: { phases?: string[] } }>(
      'select status, phase, config from projects where id = $1 for no key update',
      [projectId],
    );
    const project = p.rows[0];
    if (!project) return { status: 'missing', phase: '', enqueued: 0 };
    if (project.status !== 'running') return { status: project.status, phase: project.phase, enqueued: 0 };
    const enabled = project.config.phases?.length ? project.config.phases : PHASES.slice(0, 9);

    let phase = project.phase;
    for (let guard = 0; guard < PHASES.length + 1; guard++) {
      const counts = await phaseCounts(db, projectId);
      const decision = decidePhase(enabled, phase, counts);
      if (decision.kind === 'work') break;
      if (decision.kind === 'advance') {
        await db.query('update projects set phase = $2, updated_at = now() where id = $1', [projectId, decision.to]);
        await recordEvent(db, {
          projectId,
          kind: 'project.phase_changed',
          subjectType: 'project',
          subjectId: projectId,
          actor,
          data: { from: decision.from, to: decision.to },
        });
        phase = decision.to;
        continue;
      }
      const status = decision.kind === 'complete' ? 'completed' : 'failed';
      const reason =
        decision.kind === 'stuck'
          ? `${decision.failed} task(s) failed in phase ${decision.phase}; retry them with \`samgita retry <task>\``
          : null;
      await db.query('update projects set status = $2, status_reason = $3, updated_at = now() where id = $1', [
        projectId,
        status,
        reason,
      ]);
      await recordEvent(db, {
        projectId,
        kind: `project.${status}`,
        subjectType: 'project',
        subjectId: projectId,
        actor,
        data: { phase, ...(reason ? { reason } : {}) },
      });
      return { status, phase, enqueued: 0 };
    }

    const ready = await db.query<{ id: string; priority: number; max_attempts: number }>(
      `update tasks t set status = 'queued', queued_at = now(), updated_at = now()
       where t.project_id = $1 and t.phase = $2 and t.status in ('pending', 'blocked')
         -- Parked with a pull request awaiting review/merge: a review or the merge moves it on.
         and not (t.rarv_step = 'done' and t.pr_number is not null)
         and not exists (
           select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on
           where d.task_id = t.id and dt.status not in ('completed', 'cancelled'))
       returning t.id, t.priority, t.max_attempts`,
      [projectId, phase],
    );
    for (const task of ready.rows) await addTaskJob(db, task);
    await db.query(
      `update tasks t set status = 'blocked', updated_at = now()
       where t.project_id = $1 and t.status = 'pending'
         and exists (
           select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on
           where d.task_id = t.id and dt.status not in ('completed', 'cancelled'))`,
      [projectId],
    );
    return { status: 'running', phase, enqueued: ready.rows.length };
  });
}

async function phaseCounts(db: pg.PoolClient, projectId: string): Promise<PhaseCounts> {
  const { rows } = await db.query<{ phase: string; status: string; n: number }>(
    'select phase, status, count(*)::int as n from tasks where project_id = $1 group by phase, status',
    [projectId],
  );
  const counts: PhaseCounts = {};
  for (const r of rows) {
    const c = counts[r.phase] ?? {};
    c[r.status as keyof typeof c] = r.n;
    counts[r.phase] = c;
  }
  return counts;
}
