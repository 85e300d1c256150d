import type pg from 'pg';
import type { ClaudeUsage } from '../claude/accumulate.js';
import type { Queryable } from '../store/pool.js';

/** Everything the runner needs about a task, read in one query. */
export interface TaskRecord {
  id: string;
  project_id: string;
  key: string;
  title: string;
  description: string;
  phase: string;
  agent_type: string;
  type: string;
  priority: number;
  status: string;
  payload: { acceptanceCriteria?: string[]; areas?: string[]; reviewFeedback?: string[] };
  attempts: number;
  max_attempts: number;
  /** How many times in a row the task found its concurrency cap full (migration 0200). */
  cap_waits: number;
  rarv_step: 'reason' | 'act' | 'reflect' | 'verify' | 'done' | null;
  rarv_loop: number;
  checkpoint: Checkpoint;
  session_id: string | null;
  branch: string | null;
  cost_usd: number;
  tokens_used: number;
  started_at: Date | null;
  project_name: string;
  project_status: string;
  working_path: string | null;
  default_branch: string | null;
  config: unknown;
  prd_content: string | null;
  requirement_key: string | null;
  requirement_title: string | null;
  requirement_body: string | null;
  /** When the project last started running (its patience with a provider outage counts from here). */
  running_since: Date | null;
}

/** The RARV state persisted on the task after every step, so a restarted task resumes where it stood. */
export interface Checkpoint {
  continuity?: string[];
  escalations?: number;
  lastCommit?: string | null;
  baseSha?: string;
  verify?: { passed: boolean; summary: string } | null;
}

export async function loadTask(db: Queryable, taskId: string): Promise<TaskRecord | null> {
  const { rows } = await db.query<TaskRecord>(
    `select t.id, t.project_id, t.key, t.title, t.description, t.phase, t.agent_type, t.type, t.priority, t.status,
            t.payload, t.attempts, t.max_attempts, t.cap_waits, t.rarv_step, t.rarv_loop, t.checkpoint, t.session_id, t.branch,
            t.cost_usd, t.tokens_used, t.started_at,
            p.name as project_name, p.status as project_status, p.working_path, p.default_branch, p.config, p.prd_content,
            p.running_since, r.key as requirement_key, r.title as requirement_title, r.body as requirement_body
       from tasks t
       join projects p on p.id = t.project_id
       left join requirements r on r.id = t.requirement_id
      where t.id = $1`,
    [taskId],
  );
  return rows[0] ?? null;
}

export async function saveStep(
  db: Queryable,
  taskId: string,
  step: TaskRecord['rarv_step'],
  loop: number,
  checkpoint: Checkpoint,
  extra: { sessionId?: string | null; branch?: string; headSha?: string | null } = {},
): Promise<void> {
  await db.query(
    `update tasks set rarv_step = $2, rarv_loop = $3, checkpoint = $4,
            session_id = coalesce($5, session_id), branch = coalesce($6, branch), head_sha = coalesce($7, head_sha),
            updated_at = now()
      where id = $1`,
    [
      taskId,
      step,
      loop,
      JSON.stringify(checkpoint),
      extra.sessionId ?? null,
      extra.branch ?? null,
      extra.headSha ?? null,
    ],
  );
}

/** Adds one CLI run's usage to the task, its agent run and its project, in one statement each. */
export async function addUsage(
  db: pg.PoolClient | pg.Pool,
  ids: { taskId: string; agentRunId: string; projectId: string },
  usage: ClaudeUsage,
  costUsd: number,
): Promise<void> {
  const params = [usage.inputTokens, usage.outputTokens, usage.cacheReadTokens, usage.cacheWriteTokens, costUsd];
  const set = `input_tokens = input_tokens + $2, output_tokens = output_tokens + $3,
               cache_read_tokens = cache_read_tokens + $4, cache_write_tokens = cache_write_tokens + $5,
               cost_usd = cost_usd + $6`;
  // Three statements, not one: the project row is shared by every agent of the
  // project, and holding it together with the task's row deadlocks against
  // transactions that lock them in the other order (advanceProject, settle).
  await db.query(`update tasks set ${set}, updated_at = now() where id = $1`, [ids.taskId, ...params]);
  await db.query(`update agent_runs set ${set} where id = $1`, [ids.agentRunId, ...params]);
  await db.query(`update projects set ${set}, updated_at = now() where id = $1`, [ids.projectId, ...params]);
}

export interface SpendSoFar {
  projectUsd: number;
  projectTokens: number;
  phaseUsd: number;
  phaseTokens: number;
  taskUsd: number;
  taskTokens: number;
}

export async function spendSoFar(db: Queryable, projectId: string, phase: string, taskId: string): Promise<SpendSoFar> {
  const { rows } = await db.query<SpendSoFar>(
    `select p.cost_usd::float8 as "projectUsd",
            (p.input_tokens + p.output_tokens + p.cache_read_tokens + p.cache_write_tokens)::float8 as "projectTokens",
            coalesce((select sum(cost_usd) from tasks where project_id = p.id and phase = $2), 0)::float8 as "phaseUsd",
            coalesce((select sum(tokens_used) from tasks where project_id = p.id and phase = $2), 0)::float8 as "phaseTokens",
            t.cost_usd::float8 as "taskUsd", t.tokens_used::float8 as "taskTokens"
       from projects p join tasks t on t.project_id = p.id
      where p.id = $1 and t.id = $3`,
    [projectId, phase, taskId],
  );
  return rows[0]!;
}

/** Opens a RARV step; returns its id and the database's time of its start (the clock every runner shares). */
export async function startStepAt(
  db: Queryable,
  agentRunId: string,
  taskId: string,
  loop: number,
  step: 'reason' | 'act' | 'reflect' | 'verify',
  input: unknown,
  model?: string,
): Promise<{ id: number; startedAt: Date }> {
  const { rows } = await db.query<{ id: number; started_at: Date }>(
    `with r as (update agent_runs set status = $4, model = coalesce($6, model) where id = $1 returning 1)
     insert into rarv_steps (agent_run_id, task_id, loop, step, input, started_at)
     values ($1, $2, $3, $4, $5, clock_timestamp()) returning id, started_at`,
    [agentRunId, taskId, loop, step, JSON.stringify(input), model ?? null],
  );
  return { id: rows[0]!.id, startedAt: rows[0]!.started_at };
}

export async function endStep(
  db: Queryable,
  stepId: number,
  status: 'completed' | 'failed',
  output: unknown,
  usage?: { usage: ClaudeUsage; costUsd: number },
): Promise<void> {
  await db.query(
    `update rarv_steps set status = $2, output = $3, ended_at = now(),
            input_tokens = $4, output_tokens = $5, cache_read_tokens = $6, cache_write_tokens = $7, cost_usd = $8
      where id = $1`,
    [
      stepId,
      status,
      JSON.stringify(output),
      usage?.usage.inputTokens ?? 0,
      usage?.usage.outputTokens ?? 0,
      usage?.usage.cacheReadTokens ?? 0,
      usage?.usage.cacheWriteTokens ?? 0,
      usage?.costUsd ?? 0,
    ],
  );
}
