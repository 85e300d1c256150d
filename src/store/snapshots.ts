/** The snapshots record: point-in-time pictures of projects (FR-8.2), and which projects are due one. */
import { z } from 'zod';
import type { Queryable } from './connection.js';
import { exec, maybeOne, rows, sql } from './connection.js';

/**
 * A point-in-time picture of a project: what every agent was doing, where every
 * unfinished task stood in its RARV loop, what the project remembers, and which
 * commit each task branch had reached. With git history it is enough to see and
 * resume where a project was.
 */
export async function takeSnapshot(db: Queryable, projectId: string): Promise<string | null> {
  const r = await maybeOne(
    db,
    z.object({ id: z.string() }),
    sql`insert into snapshots (project_id, phase, agent_states, task_queue_state, memory_state, git_state)
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
       from projects p where p.id = ${projectId}
     returning id`,
  );
  return r?.id ?? null;
}

/** Keeps the newest `keep` snapshots of the project. */
export async function pruneSnapshots(db: Queryable, projectId: string, keep: number): Promise<void> {
  await exec(
    db,
    sql`delete from snapshots where project_id = ${projectId} and id not in (
          select id from snapshots where project_id = ${projectId} order by inserted_at desc limit ${keep})`,
  );
}

/** Projects worth a snapshot: running or paused. */
export async function activeProjectIds(db: Queryable): Promise<string[]> {
  const found = await rows(
    db,
    z.object({ id: z.string() }),
    sql`select id from projects where status in ('running', 'paused')`,
  );
  return found.map((r) => r.id);
}

/** Tasks that should have a job: queued or running in a running project. */
export async function tasksThatNeedJobs(
  db: Queryable,
): Promise<{ id: string; project_id: string; key: string; priority: number; max_attempts: number }[]> {
  return rows(
    db,
    z.object({
      id: z.string(),
      project_id: z.string(),
      key: z.string(),
      priority: z.number(),
      max_attempts: z.number(),
    }),
    sql`select t.id, t.project_id, t.key, t.priority, t.max_attempts
          from tasks t join projects p on p.id = t.project_id
         where p.status = 'running' and t.status in ('queued', 'running')`,
  );
}
