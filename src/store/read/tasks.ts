/** What the API and the status page read of tasks. */
import { z } from 'zod';
import { PHASES, TASK_STATUSES, type TaskStatus } from '../../domain/states.js';
import type { Queryable } from '../pool.js';
import { maybeOne, raw, rows, sql } from '../sql.js';
import { type AgentRunRow, agentRunsOfTask } from './agents.js';
import { where } from './where.js';

const COLUMNS = raw(`id, project_id, parent_task_id, requirement_id, key, title, type, phase, agent_type,
  priority, status, attempts, max_attempts, rarv_step, branch, pr_number, pr_url, tokens_used, cost_usd, queued_at,
  started_at, completed_at, duration_ms, inserted_at, updated_at`);

export const TaskRow = z.object({
  id: z.string(),
  project_id: z.string(),
  parent_task_id: z.string().nullable(),
  requirement_id: z.string().nullable(),
  key: z.string(),
  title: z.string(),
  type: z.string(),
  phase: z.enum(PHASES),
  agent_type: z.string(),
  priority: z.number(),
  status: z.enum(TASK_STATUSES),
  attempts: z.number(),
  max_attempts: z.number(),
  rarv_step: z.string().nullable(),
  branch: z.string().nullable(),
  pr_number: z.number().nullable(),
  pr_url: z.string().nullable(),
  tokens_used: z.number(),
  cost_usd: z.number(),
  queued_at: z.date().nullable(),
  started_at: z.date().nullable(),
  completed_at: z.date().nullable(),
  duration_ms: z.number().nullable(),
  inserted_at: z.date(),
  updated_at: z.date(),
});
export type TaskRow = z.output<typeof TaskRow>;

/** A project's tasks by (priority, id), keyset-paginated; fetches one row past `limit` to tell if more follow. */
export async function listTasks(
  db: Queryable,
  projectId: string,
  q: {
    limit: number;
    status?: TaskStatus | undefined;
    phase?: string | undefined;
    agentType?: string | undefined;
    after: readonly unknown[] | null;
  },
): Promise<TaskRow[]> {
  const after = q.after;
  return rows(
    db,
    TaskRow,
    sql`select ${COLUMNS} from tasks
        ${where([
          sql`project_id = ${projectId}`,
          q.status && sql`status = ${q.status}`,
          q.phase && sql`phase = ${q.phase}`,
          q.agentType && sql`agent_type = ${q.agentType}`,
          after && sql`(priority, id) > (${after[0]}::int, ${after[1]}::uuid)`,
        ])}
         order by priority, id limit ${q.limit + 1}`,
  );
}

export async function taskInProject(db: Queryable, projectId: string, taskId: string): Promise<boolean> {
  const row = await maybeOne(
    db,
    z.object({}),
    sql`select 1 from tasks where id = ${taskId} and project_id = ${projectId}`,
  );
  return row !== null;
}

const DetailRow = TaskRow.extend({
  description: z.string(),
  payload: z.unknown(),
  result: z.unknown(),
  error: z.unknown(),
  head_sha: z.string().nullable(),
  session_id: z.string().nullable(),
  rarv_loop: z.number(),
  dependencies: z.array(z.object({ id: z.string(), key: z.string(), title: z.string(), status: z.string() })),
});

const RarvStepRow = z.object({
  id: z.number(),
  agent_run_id: z.string(),
  loop: z.number(),
  step: z.string(),
  status: z.string(),
  input: z.unknown(),
  output: z.unknown(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: z.number(),
  started_at: z.date(),
  ended_at: z.date().nullable(),
});

export type TaskDetail = z.output<typeof DetailRow> & {
  rarv_steps: z.output<typeof RarvStepRow>[];
  agent_runs: AgentRunRow[];
};

/** A task of the project with its dependencies, RARV steps and agent runs; null when there is none. */
export async function readTaskDetail(db: Queryable, projectId: string, taskId: string): Promise<TaskDetail | null> {
  const task = await maybeOne(
    db,
    DetailRow,
    sql`select ${COLUMNS}, description, payload, result, error, head_sha, session_id, rarv_loop,
          coalesce((select json_agg(json_build_object('id', d.id, 'key', d.key, 'title', d.title, 'status', d.status)
                    order by d.priority, d.id)
                    from task_dependencies td join tasks d on d.id = td.depends_on where td.task_id = t.id), '[]') as dependencies
        from tasks t where id = ${taskId} and project_id = ${projectId}`,
  );
  if (!task) return null;
  const [steps, runs] = await Promise.all([
    rows(
      db,
      RarvStepRow,
      sql`select id, agent_run_id, loop, step, status, input, output, input_tokens, output_tokens, cost_usd,
                 started_at, ended_at
            from rarv_steps where task_id = ${taskId} order by id`,
    ),
    agentRunsOfTask(db, taskId),
  ]);
  return { ...task, rarv_steps: steps, agent_runs: runs };
}

/** Tasks not yet started (pending, queued, blocked): the ones with a job to remove, or soon one. */
export async function openTaskIds(db: Queryable, projectId: string): Promise<string[]> {
  const open = await rows(
    db,
    z.object({ id: z.string() }),
    sql`select id from tasks where project_id = ${projectId} and status in ('pending', 'queued', 'blocked')`,
  );
  return open.map((r) => r.id);
}
