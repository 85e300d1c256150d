/** What `samgita status`, the API and the GitHub App read to say where a project stands. Reads only. */
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { maybeOne, one, rows, sql } from '../sql.js';

const ProjectRow = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  status_reason: z.string().nullable(),
  phase: z.string(),
  working_path: z.string().nullable(),
  current_revision_id: z.string().nullable(),
  cost_usd: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cache_read_tokens: z.number(),
  cache_write_tokens: z.number(),
  perpetual_cycle: z.number(),
  updated_at: z.date(),
});
export type StatusProjectRow = z.output<typeof ProjectRow>;

export async function readStatusProject(db: Queryable, projectId: string): Promise<StatusProjectRow | null> {
  return maybeOne(
    db,
    ProjectRow,
    sql`select id, name, status, status_reason, phase, working_path, current_revision_id, cost_usd::float8 as cost_usd,
               input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, perpetual_cycle, updated_at
          from projects where id = ${projectId}`,
  );
}

/** Task counts by phase and status. */
export async function taskCounts(
  db: Queryable,
  projectId: string,
): Promise<{ phase: string; status: string; n: number }[]> {
  return rows(
    db,
    z.object({ phase: z.string(), status: z.string(), n: z.number() }),
    sql`select phase, status, count(*)::int as n from tasks where project_id = ${projectId} group by phase, status`,
  );
}

/** Agent runs in progress, and how many of them are on a dead, stopped or silent runner. */
export async function liveRuns(
  db: Queryable,
  projectId: string,
  staleAfterMs: number,
): Promise<{ active: number; stale: number }> {
  return one(
    db,
    z.object({ active: z.number(), stale: z.number() }),
    sql`select count(*)::int as active,
               count(*) filter (where r.id is null or r.status in ('dead', 'stopped')
                                 or r.heartbeat_at < now() - make_interval(secs => ${staleAfterMs}::float8 / 1000))::int
                 as stale
          from agent_runs a left join runners r on r.id = a.runner_id
         where a.project_id = ${projectId} and a.ended_at is null`,
  );
}

const RevisionRow = z.object({
  id: z.string(),
  commit_sha: z.string().nullable(),
  content_hash: z.string(),
  config_hash: z.string(),
});

/** The project's current revision and whether a newer one is recorded. */
export async function revisionsForSync(
  db: Queryable,
  projectId: string,
  currentRevisionId: string | null,
): Promise<{ current: z.output<typeof RevisionRow> | null; latestId: string | null }> {
  const current = currentRevisionId
    ? await maybeOne(
        db,
        RevisionRow,
        sql`select id, commit_sha, content_hash, config_hash from prd_revisions where id = ${currentRevisionId}`,
      )
    : null;
  const latest = await maybeOne(
    db,
    z.object({ id: z.string() }),
    sql`select id from prd_revisions where project_id = ${projectId} order by inserted_at desc, id desc limit 1`,
  );
  return { current, latestId: latest?.id ?? null };
}

/** Every project's id (archived ones only with `all`), newest first. */
export async function projectIds(db: Queryable, all: boolean): Promise<string[]> {
  const found = await rows(
    db,
    z.object({ id: z.string() }),
    sql`select id from projects where ${all} or status <> 'archived' order by inserted_at desc, id`,
  );
  return found.map((r) => r.id);
}
