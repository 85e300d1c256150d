/**
 * The tasks record as a runner reads it, and the writes a running task makes
 * between steps: its RARV checkpoint, its usage, its pull request.
 */
import { z } from 'zod';
import type { ClaudeUsage } from '../../claude/accumulate.js';
import { PROJECT_STATUSES, TASK_STATUSES } from '../../domain/states.js';
import { addRunUsage } from '../agent-runs.js';
import type { Queryable } from '../pool.js';
import { addProjectUsage } from '../projects.js';
import { exec, maybeOne, one, sql } from '../sql.js';

export const RARV_STEPS = ['reason', 'act', 'reflect', 'verify', 'done'] as const;
export type RarvStep = (typeof RARV_STEPS)[number];

/** The RARV state persisted on the task after every step, so a restarted task resumes where it stood. */
export interface Checkpoint {
  continuity?: string[];
  escalations?: number;
  lastCommit?: string | null;
  baseSha?: string;
  verify?: { passed: boolean; summary: string } | null;
}

export interface TaskPayload {
  acceptanceCriteria?: string[];
  areas?: string[];
  reviewFeedback?: string[];
}

/** A jsonb object column, kept as stored: rows written by older versions must still load. */
function jsonObject<T>() {
  return z.custom<T>((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
}

const TaskRow = z.object({
  id: z.string(),
  project_id: z.string(),
  key: z.string(),
  title: z.string(),
  description: z.string(),
  phase: z.string(),
  agent_type: z.string(),
  type: z.string(),
  priority: z.number(),
  status: z.enum(TASK_STATUSES),
  payload: jsonObject<TaskPayload>(),
  attempts: z.number(),
  max_attempts: z.number(),
  /** How many times in a row the task found its concurrency cap full (migration 0200). */
  cap_waits: z.number(),
  rarv_step: z.enum(RARV_STEPS).nullable(),
  rarv_loop: z.number(),
  checkpoint: jsonObject<Checkpoint>(),
  session_id: z.string().nullable(),
  branch: z.string().nullable(),
  cost_usd: z.number(),
  tokens_used: z.number(),
  started_at: z.date().nullable(),
  project_name: z.string(),
  project_status: z.enum(PROJECT_STATUSES),
  working_path: z.string().nullable(),
  default_branch: z.string().nullable(),
  config: z.unknown(),
  prd_content: z.string().nullable(),
  requirement_key: z.string().nullable(),
  requirement_title: z.string().nullable(),
  requirement_body: z.string().nullable(),
  /** When the project last started running (its patience with a provider outage counts from here). */
  running_since: z.date().nullable(),
});

/** Everything the runner needs about a task, read in one query. */
export type TaskRecord = z.output<typeof TaskRow>;

export async function loadTask(db: Queryable, taskId: string): Promise<TaskRecord | null> {
  return maybeOne(
    db,
    TaskRow,
    sql`select t.id, t.project_id, t.key, t.title, t.description, t.phase, t.agent_type, t.type, t.priority, t.status,
               t.payload, t.attempts, t.max_attempts, t.cap_waits, t.rarv_step, t.rarv_loop, t.checkpoint, t.session_id,
               t.branch, t.cost_usd, t.tokens_used, t.started_at,
               p.name as project_name, p.status as project_status, p.working_path, p.default_branch, p.config,
               p.prd_content, p.running_since, r.key as requirement_key, r.title as requirement_title,
               r.body as requirement_body
          from tasks t
          join projects p on p.id = t.project_id
          left join requirements r on r.id = t.requirement_id
         where t.id = ${taskId}`,
  );
}

const StandingRow = z.object({ task_status: z.enum(TASK_STATUSES), project_status: z.enum(PROJECT_STATUSES) });
export type TaskStanding = z.output<typeof StandingRow>;

/** The task's and its project's status now (between steps: is the task still ours to continue?). */
export async function taskStanding(db: Queryable, taskId: string): Promise<TaskStanding | null> {
  return maybeOne(
    db,
    StandingRow,
    sql`select t.status as task_status, p.status as project_status
          from tasks t join projects p on p.id = t.project_id where t.id = ${taskId}`,
  );
}

export async function saveStep(
  db: Queryable,
  taskId: string,
  step: RarvStep | null,
  loop: number,
  checkpoint: Checkpoint,
  extra: { sessionId?: string | null; branch?: string; headSha?: string | null } = {},
): Promise<void> {
  await exec(
    db,
    sql`update tasks set rarv_step = ${step}, rarv_loop = ${loop}, checkpoint = ${JSON.stringify(checkpoint)},
               session_id = coalesce(${extra.sessionId ?? null}, session_id), branch = coalesce(${extra.branch ?? null}, branch),
               head_sha = coalesce(${extra.headSha ?? null}, head_sha), updated_at = now()
         where id = ${taskId}`,
  );
}

/** Adds one CLI run's usage to the task, its agent run and its project, in one statement each. */
export async function addUsage(
  db: Queryable,
  ids: { taskId: string; agentRunId: string; projectId: string },
  usage: ClaudeUsage,
  costUsd: number,
): Promise<void> {
  // Three statements, not one: the project row is shared by every agent of the
  // project, and holding it together with the task's row deadlocks against
  // transactions that lock them in the other order (advanceProject, settle).
  await exec(
    db,
    sql`update tasks set input_tokens = input_tokens + ${usage.inputTokens},
               output_tokens = output_tokens + ${usage.outputTokens},
               cache_read_tokens = cache_read_tokens + ${usage.cacheReadTokens},
               cache_write_tokens = cache_write_tokens + ${usage.cacheWriteTokens},
               cost_usd = cost_usd + ${costUsd}, updated_at = now()
         where id = ${ids.taskId}`,
  );
  await addRunUsage(db, ids.agentRunId, usage, costUsd);
  await addProjectUsage(db, ids.projectId, usage, costUsd);
}

const SpendRow = z.object({
  projectUsd: z.number(),
  projectTokens: z.number(),
  phaseUsd: z.number(),
  phaseTokens: z.number(),
  taskUsd: z.number(),
  taskTokens: z.number(),
});
export type SpendSoFar = z.output<typeof SpendRow>;

export async function spendSoFar(db: Queryable, projectId: string, phase: string, taskId: string): Promise<SpendSoFar> {
  return one(
    db,
    SpendRow,
    sql`select p.cost_usd::float8 as "projectUsd",
               (p.input_tokens + p.output_tokens + p.cache_read_tokens + p.cache_write_tokens)::float8 as "projectTokens",
               coalesce((select sum(cost_usd) from tasks where project_id = p.id and phase = ${phase}), 0)::float8 as "phaseUsd",
               coalesce((select sum(tokens_used) from tasks where project_id = p.id and phase = ${phase}), 0)::float8
                 as "phaseTokens",
               t.cost_usd::float8 as "taskUsd", t.tokens_used::float8 as "taskTokens"
          from projects p join tasks t on t.project_id = p.id
         where p.id = ${projectId} and t.id = ${taskId}`,
  );
}

/** The pull request a verified task's branch was published as. */
export async function recordPullRequest(
  db: Queryable,
  taskId: string,
  pr: { prNumber: number; prUrl: string },
): Promise<void> {
  await exec(
    db,
    sql`update tasks set pr_number = ${pr.prNumber}, pr_url = ${pr.prUrl}, updated_at = now() where id = ${taskId}`,
  );
}
