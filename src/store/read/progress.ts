/** What the live progress view and the run summary read about a project. Reads only. */
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { maybeOne, rows, sql } from '../sql.js';

const TaskLineRow = z.object({
  id: z.string(),
  key: z.string(),
  title: z.string(),
  phase: z.string(),
  agent_type: z.string(),
  status: z.string(),
  rarv_step: z.string().nullable(),
  attempts: z.number(),
  cost_usd: z.number(),
  tokens_used: z.number(),
  started_at: z.date().nullable(),
  run_after: z.date().nullable(),
  branch: z.string().nullable(),
  pr_url: z.string().nullable(),
  error: z.object({ message: z.string().optional() }).loose().nullable(),
});
export type TaskLine = z.output<typeof TaskLineRow>;

const ProjectLineRow = z.object({
  id: z.string(),
  name: z.string(),
  phase: z.string(),
  status: z.string(),
  status_reason: z.string().nullable(),
  cost_usd: z.number(),
  tokens: z.number(),
});
export type ProjectLineRow = z.output<typeof ProjectLineRow>;

export async function readProjectLine(db: Queryable, projectId: string): Promise<ProjectLineRow | null> {
  return maybeOne(
    db,
    ProjectLineRow,
    sql`select id, name, phase, status, status_reason, cost_usd::float8 as cost_usd,
               (input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) as tokens
          from projects where id = ${projectId}`,
  );
}

export async function readTaskLines(db: Queryable, projectId: string): Promise<TaskLine[]> {
  return rows(
    db,
    TaskLineRow,
    sql`select id, key, title, phase, agent_type, status, rarv_step, attempts, cost_usd::float8 as cost_usd, tokens_used,
               started_at, run_after, branch, pr_url, error
          from tasks where project_id = ${projectId} order by priority, key`,
  );
}

/** Events after `afterId` a plain progress log shows: the project's own, and the provider's. */
export async function progressEvents(
  db: Queryable,
  projectId: string,
  afterId: number,
): Promise<{ id: number; kind: string; data: Record<string, unknown>; subject_id: string | null }[]> {
  return rows(
    db,
    z.object({
      id: z.number(),
      kind: z.string(),
      data: z.record(z.string(), z.unknown()),
      subject_id: z.string().nullable(),
    }),
    sql`select id, kind, data, subject_id from events
         where (project_id = ${projectId} or (project_id is null and kind like 'provider.%')) and id > ${afterId}
         order by id`,
  );
}

export async function lastEventId(db: Queryable): Promise<number> {
  const r = await maybeOne(db, z.object({ max: z.number().nullable() }), sql`select max(id) as max from events`);
  return r?.max ?? 0;
}
