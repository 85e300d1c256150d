import type pg from 'pg';
import { addTaskJobs, type JobTask, tasksWithoutJobs } from '../queue/jobs.js';
import type { JobHandler } from '../queue/worker.js';
import { recordEvent } from '../store/events.js';

export { SNAPSHOT_CRONTAB, TAKE_SNAPSHOTS } from '../queue/jobs.js';

/**
 * A point-in-time picture of a project: what every agent was doing, where every
 * unfinished task stood in its RARV loop, what the project remembers, and which
 * commit each task branch had reached. With git history it is enough to see and
 * resume where a project was.
 */
export async function takeSnapshot(db: pg.Pool | pg.PoolClient, projectId: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `insert into snapshots (project_id, phase, agent_states, task_queue_state, memory_state, git_state)
     select p.id, p.phase,
       coalesce((select jsonb_agg(jsonb_build_object('id', a.id, 'agent_type', a.agent_type, 'task_id', a.current_task_id,
                   'status', a.status, 'node', a.node, 'model', a.model, 'session_id', a.session_id,
                   'tokens', a.total_tokens, 'cost_usd', a.cost_usd) order by a.started_at)
                 from agent_runs a where a.project_id = p.id and a.ended_at is null), '[]'::jsonb),
       jsonb_build_object(
         'counts', coalesce((select jsonb_object_agg(status, n) from (
                     select status, count(*) as n from tasks where project_id = p.id group by status) c), '{}'::jsonb),
         'open', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'key', t.key, 'status', t.status,
                     'rarv_step', t.rarv_step, 'rarv_loop', t.rarv_loop, 'attempts', t.attempts,
                     'session_id', t.session_id) order by t.priority, t.key)
                   from tasks t where t.project_id = p.id and t.status not in ('completed', 'cancelled')), '[]'::jsonb)),
       jsonb_build_object(
         'counts', coalesce((select jsonb_object_agg(type, n) from (
                     select type, count(*) as n from memories where project_id = p.id group by type) m), '{}'::jsonb)),
       jsonb_build_object(
         'branches', coalesce((select jsonb_object_agg(t.branch, t.head_sha)
                   from tasks t where t.project_id = p.id and t.branch is not null and t.head_sha is not null), '{}'::jsonb))
       from projects p where p.id = $1
     returning id`,
    [projectId],
  );
  return rows[0]?.id ?? null;
}

/** Snapshots every project that is running or paused; old snapshots beyond `keep` per project are pruned. */
export async function snapshotActiveProjects(pool: pg.Pool, keep = 288): Promise<number> {
  const { rows } = await pool.query<{ id: string }>(`select id from projects where status in ('running', 'paused')`);
  for (const p of rows) {
    await takeSnapshot(pool, p.id);
    await pool.query(
      `delete from snapshots where project_id = $1 and id not in (
         select id from snapshots where project_id = $1 order by inserted_at desc limit $2)`,
      [p.id, keep],
    );
  }
  return rows.length;
}

/** The cron task: snapshot active projects, then repair the queue. */
export function makeSnapshotTask(pool: pg.Pool): JobHandler {
  return async (_payload, helpers) => {
    const projects = await snapshotActiveProjects(pool);
    const repaired = await repairQueue(pool);
    helpers.logger.debug(`snapshots taken for ${projects} project(s); ${repaired} task job(s) recreated`);
  };
}

/**
 * Finds tasks the queue has lost track of — marked queued with no job (a job
 * deleted by hand, a database restored from backup) — and gives them a job
 * again, recording an event. Runs at runner start and with the snapshots (FR-8.3).
 */
export async function repairQueue(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<JobTask & { project_id: string; key: string }>(
    `select t.id, t.project_id, t.key, t.priority, t.max_attempts
       from tasks t join projects p on p.id = t.project_id
      where p.status = 'running' and t.status in ('queued', 'running')`,
  );
  const missing = new Set(
    await tasksWithoutJobs(
      pool,
      rows.map((t) => t.id),
    ),
  );
  const lost = rows.filter((t) => missing.has(t.id));
  await addTaskJobs(pool, lost);
  for (const t of lost) {
    await recordEvent(pool, {
      projectId: t.project_id,
      kind: 'task.requeued',
      subjectType: 'task',
      subjectId: t.id,
      data: { key: t.key, reason: 'queued without a job; job recreated' },
    });
  }
  return lost.length;
}
