/**
 * The tasks record's side of a claim: a runner taking a queued task (one agent
 * run row, an attempt counted, the audit events), a task waiting at a
 * concurrency cap, and a slot freed for the next waiting one.
 */
import { z } from 'zod';
import type { EventKind } from '../../domain/events.js';
import type { ProjectStatus } from '../../domain/states.js';
import type { JobTask } from '../../queue/jobs.js';
import type { Actor } from '../events.js';
import type { Queryable } from '../pool.js';
import { exec, one, rows, sql } from '../sql.js';

/**
 * A job found the task's project not running: a paused project hands the task
 * back (resume re-queues it); a cancelled one ends it with the project. A task
 * that is no longer queued or running is left as it is.
 */
export async function releaseUnrunnableTask(
  db: Queryable,
  taskId: string,
  projectStatus: ProjectStatus,
): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = case when status not in ('queued', 'running') then status
                                       when ${projectStatus} = 'cancelled' then 'cancelled' else 'pending' end,
               updated_at = now() where id = ${taskId}`,
  );
}

/** Claims of one project queue here until commit, so that caps are counted by one claim at a time. */
export async function lockProjectClaims(db: Queryable, projectId: string): Promise<void> {
  await db.query(sql`select pg_advisory_xact_lock(hashtext('samgita:claim:' || ${projectId}::text))`);
}

const ClaimCheckRow = z.object({ live: z.number(), total: z.number(), same_type: z.number() });
/** `live`: the task may be claimed; `total`/`same_type`: live agent runs of the project (of the task's type). */
export type ClaimCheck = z.output<typeof ClaimCheckRow>;

/**
 * The one guard against running a task twice at once: a live agent run on it
 * means this job is a duplicate (e.g. re-added while the task was being
 * claimed). Runs of a dead runner were ended by the reaper before its jobs
 * were unlocked, so a task resumes after a crash. In the same statement: the
 * caps, counting live agent runs on every runner. Locks the task row.
 */
export async function checkClaim(
  db: Queryable,
  task: { id: string; project_id: string; agent_type: string },
): Promise<ClaimCheck> {
  return one(
    db,
    ClaimCheckRow,
    sql`with t as (
          select t.id from tasks t
           where t.id = ${task.id} and t.status in ('queued', 'running')
             and not exists (select 1 from agent_runs a where a.current_task_id = t.id and a.ended_at is null)
           for update of t)
        select (select count(*) from t)::int as live, count(*)::int as total,
               count(*) filter (where agent_type = ${task.agent_type})::int as same_type
          from agent_runs
         where project_id = ${task.project_id} and ended_at is null and current_task_id <> ${task.id}`,
  );
}

/** At a concurrency cap: the task looks again at `runAt` (its job is moved by the caller). */
export async function deferAtCap(db: Queryable, taskId: string, runAt: Date): Promise<void> {
  await exec(
    db,
    sql`update tasks set cap_waits = cap_waits + 1, run_after = ${runAt}, updated_at = now() where id = ${taskId}`,
  );
}

export interface ClaimInput {
  agentRunId: string;
  task: { id: string; project_id: string; key: string; agent_type: string; attempts: number; rarv_step: string | null };
  runnerId: string;
  host: string;
  pid: number;
  model: string;
  maxAttempts: number;
  actor: Actor;
}

const SPAWNED: EventKind = 'agent.spawned';
const STARTED: EventKind = 'task.started';

/** The agent run, the task's claim and both audit events in one statement. */
export async function claimTask(db: Queryable, c: ClaimInput): Promise<void> {
  const { task } = c;
  const attempt = task.attempts + 1;
  const actorId = c.actor.id ?? null;
  await exec(
    db,
    sql`with run as (
          insert into agent_runs (id, project_id, current_task_id, runner_id, agent_type, node, pid, model, attempt, status,
                                  started_at)
          values (${c.agentRunId}, ${task.project_id}, ${task.id}, ${c.runnerId}, ${task.agent_type}, ${c.host},
                  ${String(c.pid)}, ${c.model}, ${attempt}, 'idle', clock_timestamp()) returning id),
        claimed as (
          update tasks set status = 'running', attempts = attempts + 1, max_attempts = ${c.maxAttempts},
                 agent_id = ${c.agentRunId}, cap_waits = 0, waiting_for = null,
                 started_at = coalesce(started_at, now()), error = null, updated_at = now()
           where id = ${task.id} returning 1)
        insert into events (project_id, kind, subject_type, subject_id, actor_type, actor_id, data)
        values (${task.project_id}, ${SPAWNED}, 'agent_run', ${c.agentRunId}::text, ${c.actor.type}, ${actorId},
                ${JSON.stringify({
                  task_id: task.id,
                  task_key: task.key,
                  agent_type: task.agent_type,
                  model: c.model,
                  host: c.host,
                })}),
               (${task.project_id}, ${STARTED}, 'task', ${task.id}::text, ${c.actor.type}, ${actorId},
                ${JSON.stringify({ key: task.key, attempt, agent_run_id: c.agentRunId, resumed_at: task.rarv_step })})`,
  );
}

const JobRow = z.object({ id: z.string(), priority: z.number(), max_attempts: z.number() });

/**
 * A slot freed in `projectId`: the next `n` capped tasks (same agent type
 * first, then by priority) become due now; returned for their jobs to move.
 * Only tasks still waiting out their delay: a job already due may be in a
 * runner's hands, and moving it would make a second job (which the claim would drop).
 */
export async function dueCappedTasks(
  db: Queryable,
  projectId: string,
  agentType: string,
  n: number,
): Promise<JobTask[]> {
  return rows(
    db,
    JobRow,
    sql`with waiting as (
          select t.id from tasks t
           where t.project_id = ${projectId} and t.status = 'queued' and t.cap_waits > 0 and t.run_after > now()
           order by (t.agent_type = ${agentType}) desc, t.priority, t.queued_at nulls last
           limit ${n}
           for update skip locked)
        update tasks t set run_after = now(), updated_at = now() from waiting w where t.id = w.id
        returning t.id, t.priority, t.max_attempts`,
  );
}
