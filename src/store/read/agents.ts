/** What the API and the status page read of agent runs and their logs. */
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { maybeOne, raw, rows, sql } from '../sql.js';

const COLUMNS = raw(`id, project_id, current_task_id, runner_id, agent_type, node, pid, model, attempt, status,
  session_id, total_tasks, input_tokens, output_tokens, total_tokens, cost_usd, total_duration_ms, error, started_at, ended_at`);

export const AgentRunRow = z.object({
  id: z.string(),
  project_id: z.string(),
  current_task_id: z.string().nullable(),
  runner_id: z.string().nullable(),
  agent_type: z.string(),
  node: z.string(),
  pid: z.string().nullable(),
  model: z.string().nullable(),
  attempt: z.number(),
  status: z.string(),
  session_id: z.string().nullable(),
  total_tasks: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  total_tokens: z.number(),
  cost_usd: z.number(),
  total_duration_ms: z.number(),
  error: z.unknown(),
  started_at: z.date(),
  ended_at: z.date().nullable(),
});
export type AgentRunRow = z.output<typeof AgentRunRow>;

/** A project's runs that have not ended, oldest first. */
export async function activeAgentRuns(db: Queryable, projectId: string): Promise<AgentRunRow[]> {
  return rows(
    db,
    AgentRunRow,
    sql`select ${COLUMNS} from agent_runs where project_id = ${projectId} and ended_at is null order by started_at`,
  );
}

export async function readAgentRun(db: Queryable, id: string): Promise<AgentRunRow | null> {
  return maybeOne(db, AgentRunRow, sql`select ${COLUMNS} from agent_runs where id = ${id}`);
}

/** Every run that worked on a task, in the order they started. */
export async function agentRunsOfTask(db: Queryable, taskId: string): Promise<AgentRunRow[]> {
  return rows(
    db,
    AgentRunRow,
    sql`select ${COLUMNS} from agent_runs where current_task_id = ${taskId} order by started_at`,
  );
}

/** Whether the run has ended; null when there is no such run. */
export async function agentRunEnded(db: Queryable, id: string): Promise<boolean | null> {
  const row = await maybeOne(
    db,
    z.object({ ended: z.boolean() }),
    sql`select ended_at is not null as ended from agent_runs where id = ${id}`,
  );
  return row?.ended ?? null;
}

export const LogLine = z.object({ id: z.number(), stream: z.string(), line: z.string(), inserted_at: z.date() });
export type LogLine = z.output<typeof LogLine>;

/** Up to `limit` log lines of a run after line `after`, in order (the SSE stream reads on from the last id). */
export async function readAgentLogs(db: Queryable, runId: string, after: number, limit: number): Promise<LogLine[]> {
  return rows(
    db,
    LogLine,
    sql`select id, stream, line, inserted_at from agent_logs where agent_run_id = ${runId} and id > ${after}
         order by id limit ${limit}`,
  );
}
