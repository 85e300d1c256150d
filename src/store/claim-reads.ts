/**
 * What a claim is judged by, read under the project's claim lock: whether the
 * task may be claimed at all, and the project's live agent runs (caps and
 * areas). Reads only; the claim itself is written by task-attempts.ts.
 */
import { z } from 'zod';
import { one, type Queryable, sql } from './connection.js';

/** Claims of one project queue here until commit, so that caps are counted by one claim at a time. */
export async function lockProjectClaims(db: Queryable, projectId: string): Promise<void> {
  await db.query(sql`select pg_advisory_xact_lock(hashtext('samgita:claim:' || ${projectId}::text))`);
}

const ClaimableRow = z.object({ live: z.boolean() });

/**
 * The one guard against running a task twice at once: a live agent run on it
 * means this job is a duplicate (e.g. re-added while the task was being
 * claimed). Runs of a dead runner were ended by the reaper before its jobs
 * were unlocked, so a task resumes after a crash. Locks the task row.
 */
export async function claimable(db: Queryable, taskId: string): Promise<boolean> {
  const r = await one(
    db,
    ClaimableRow,
    sql`select exists (
          select 1 from tasks t
           where t.id = ${taskId} and t.status in ('queued', 'running')
             and not exists (select 1 from agent_runs a where a.current_task_id = t.id and a.ended_at is null)
           for update of t) as live`,
  );
  return r.live;
}

/** A project's live agent runs: how many per agent type, and the areas of the tasks they run (those with areas). */
export interface ProjectLoad {
  byType: Readonly<Record<string, number>>;
  running: ReadonlyArray<{ key: string; areas: readonly string[] }>;
}

const ProjectLoadRow = z.object({
  by_type: z.record(z.string(), z.number()),
  running: z.array(z.object({ key: z.string(), areas: z.array(z.string()) })),
});

/**
 * The project's live agent runs on every runner, counted per agent type, and
 * the areas of the tasks they run (those with areas): what the caps and the
 * overlap check (decide/claim.ts) judge a claim by. Read once per batch of
 * claims under the project's claim lock (each claim of the batch adds itself,
 * see withClaim), not once per claim: that was a scan of every live run per
 * claim, quadratic over a 1,000-agent start.
 */
export async function readProjectLoad(
  db: Queryable,
  projectId: string,
  /** False when no claim of the batch has areas: nothing can overlap, and the areas are not read (a row per live run). */
  withAreas: boolean,
): Promise<ProjectLoad> {
  const r = await one(
    db,
    ProjectLoadRow,
    sql`select coalesce((select jsonb_object_agg(agent_type, n) from (
                  select agent_type, count(*)::int as n from agent_runs
                   where project_id = ${projectId} and ended_at is null group by agent_type) c), '{}') as by_type,
               coalesce((select jsonb_agg(jsonb_build_object('key', r.key, 'areas', r.payload->'areas'))
                           from agent_runs a join tasks r on r.id = a.current_task_id
                          where ${withAreas} and a.project_id = ${projectId} and a.ended_at is null
                            and jsonb_typeof(r.payload->'areas') = 'array'), '[]') as running`,
  );
  return { byType: r.by_type, running: r.running };
}
