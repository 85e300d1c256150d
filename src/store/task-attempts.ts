/**
 * A task being worked: what a runner loads, the claim (caps checked under the
 * project's claim lock), the checkpoint after every RARV step, and the settle.
 */
import { z } from 'zod';
import type { ClaudeUsage } from '../claude/accumulate.js';
import type { EventKind } from '../domain/events.js';
import { PROJECT_STATUSES, type ProjectStatus, RARV_STEPS, type RarvStep, TASK_STATUSES } from '../domain/states.js';
import { UNVERIFIED_SUMMARY } from '../verify/status.js';
import { addRunUsage } from './agent-runs.js';
import { exec, maybeOne, one, type Queryable, sql } from './connection.js';
import type { Actor } from './events.js';
import { addProjectUsage } from './projects.js';

/**
 * The tasks record as a runner reads it, and the writes a running task makes
 * between steps: its RARV checkpoint, its usage, its pull request.
 */
export type { RarvStep } from '../domain/states.js';

/** The RARV state persisted on the task after every step, so a restarted task resumes where it stood. */
export interface Checkpoint {
  continuity?: string[];
  escalations?: number;
  lastCommit?: string | null;
  baseSha?: string;
  verify?: VerifyRecord | null;
}

/**
 * What judged the work: the verify commands and how they ended. `unverified`:
 * no command was configured or found, so nothing judged it — never shown as verified.
 */
export interface VerifyRecord {
  passed: boolean;
  status?: 'passed' | 'failed' | 'unverified';
  summary: string;
  commands?: string[];
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
  /** Where the project came from: a GitHub project's integration branch is its default branch. */
  project_source: z.string(),
  /** The project's integration branch, once the merge queue has used it. */
  integration_branch: z.string().nullable(),
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
               p.prd_content, p.running_since, p.source as project_source, p.integration_branch,
               r.key as requirement_key, r.title as requirement_title,
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

/**
 * Records where the task is; returns its standing as of this write (what the
 * loop checks between steps), so the check costs no statement of its own.
 */
export async function saveStep(
  db: Queryable,
  taskId: string,
  step: RarvStep | null,
  loop: number,
  checkpoint: Checkpoint,
  extra: { sessionId?: string | null; branch?: string; headSha?: string | null } = {},
): Promise<TaskStanding | null> {
  return maybeOne(
    db,
    StandingRow,
    sql`update tasks t set rarv_step = ${step}, rarv_loop = ${loop}, checkpoint = ${JSON.stringify(checkpoint)},
               session_id = coalesce(${extra.sessionId ?? null}, session_id), branch = coalesce(${extra.branch ?? null}, branch),
               head_sha = coalesce(${extra.headSha ?? null}, head_sha), updated_at = now()
         where t.id = ${taskId}
     returning t.status as task_status, (select p.status from projects p where p.id = t.project_id) as project_status`,
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

export async function spendSoFar(
  db: Queryable,
  projectId: string,
  /** Null when no phase budget is set: the phase's sums (a pass over its tasks at every task start) are not read, and are 0. */
  phase: string | null,
  taskId: string,
): Promise<SpendSoFar> {
  return one(
    db,
    SpendRow,
    // The phase's two sums in one pass over its tasks.
    sql`select p.cost_usd::float8 as "projectUsd",
               (p.input_tokens + p.output_tokens + p.cache_read_tokens + p.cache_write_tokens)::float8 as "projectTokens",
               ph.usd::float8 as "phaseUsd", ph.tokens::float8 as "phaseTokens",
               t.cost_usd::float8 as "taskUsd", t.tokens_used::float8 as "taskTokens"
          from projects p join tasks t on t.project_id = p.id
         cross join lateral (select coalesce(sum(x.cost_usd), 0) as usd, coalesce(sum(x.tokens_used), 0) as tokens
                               from tasks x where ${phase}::text is not null and x.project_id = p.id and x.phase = ${phase}) ph
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

/**
 * The tasks record's side of a claim: a runner taking a queued task (one agent
 * run row, an attempt counted, the audit events), a task waiting at a
 * concurrency cap, and a slot freed for the next waiting one.
 */
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

/** At a concurrency cap, or beside a running task its areas overlap: the task looks again at `runAt` (its job is moved by the caller). */
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

/**
 * The tasks record's side of settling an attempt: the row as it stands now
 * (locked), and each way the attempt can end. The runner decides which
 * (runner/decide/settle.ts); these only write it, inside the settle's
 * transaction, next to the agent run's end, the events and the job.
 */
const SettlingRow = z.object({
  status: z.enum(TASK_STATUSES),
  attempts: z.number(),
  max_attempts: z.number(),
  project_status: z.enum(PROJECT_STATUSES),
  /** The agent run that claimed the task last: another than the settling one means this attempt was superseded. */
  agent_id: z.string().nullable(),
});
export type SettlingTask = z.output<typeof SettlingRow>;

/** The task row as it stands now, locked until the settle commits (a cancel or re-plan may have changed it). */
export async function lockSettlingTask(db: Queryable, taskId: string): Promise<SettlingTask | null> {
  return maybeOne(
    db,
    SettlingRow,
    sql`select t.status, t.attempts, t.max_attempts, p.status as project_status, t.agent_id
          from tasks t join projects p on p.id = t.project_id where t.id = ${taskId} for update of t`,
  );
}

/** The error kept on the task: what went wrong, as which kind of outcome, when. */
export interface TaskError {
  message: string;
  kind: string;
  at: string;
}

/** The project was cancelled while the task ran: the task ends with it. */
export async function cancelRunningTask(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'cancelled', completed_at = now(), updated_at = now() where id = ${taskId}`,
  );
}

/**
 * Done: the result keeps the branch, its head commit and how verify judged it
 * (`status` passed, or unverified when nothing could check it). A task that
 * reached here with no verify recorded was checked by nothing: it says unverified.
 * The project is asked to advance in the same write (tasks.advance_wanted, see
 * projects/advance.ts), so the request commits with the completion or not at all.
 */
export async function completeTask(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'completed', completed_at = now(), error = null, advance_wanted = true,
               duration_ms = (extract(epoch from now() - started_at) * 1000)::bigint,
               result = jsonb_build_object('branch', branch, 'commit', head_sha,
                                           'verify', coalesce(checkpoint->'verify', ${UNVERIFIED_RECORD}::jsonb)),
               updated_at = now()
         where id = ${taskId}`,
  );
}

const UNVERIFIED_RECORD = JSON.stringify({
  passed: false,
  status: 'unverified',
  summary: UNVERIFIED_SUMMARY,
  commands: [],
} satisfies VerifyRecord);

/** Back to pending at its checkpoint (paused project, task changed under it); the attempt is given back. */
export async function handBackTask(db: Queryable, taskId: string): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'pending', attempts = greatest(attempts - 1, 0), updated_at = now() where id = ${taskId}`,
  );
}

/** Back to pending with the reason, for a person (or a review) to act; `refund`: attempts given back. */
export async function parkTask(db: Queryable, taskId: string, error: TaskError, refund: number): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'pending', attempts = greatest(attempts - ${refund}, 0), error = ${JSON.stringify(error)},
               waiting_for = null, updated_at = now()
         where id = ${taskId}`,
  );
}

/**
 * Queued again at `runAt` without spending an attempt (a stop that was not the
 * task's fault); `waitingFor: 'provider'` marks a task held back by a provider
 * outage, which a recovered provider wakes early.
 */
export async function requeueTask(
  db: Queryable,
  taskId: string,
  error: TaskError,
  refund: number,
  runAt: Date,
  waitingFor: 'provider' | null = null,
): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'queued', attempts = greatest(attempts - ${refund}, 0), error = ${JSON.stringify(error)},
               run_after = ${runAt}, waiting_for = ${waitingFor}, updated_at = now()
         where id = ${taskId}`,
  );
}

/** Out of attempts (or beyond retrying): dead-lettered with its last error; its project is asked to advance (it may be stuck now). */
export async function deadLetterTask(db: Queryable, taskId: string, error: TaskError, attempts: number): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'dead_letter', attempts = ${attempts}, error = ${JSON.stringify(error)},
               completed_at = now(), advance_wanted = true, updated_at = now()
         where id = ${taskId}`,
  );
}

/** Another attempt at `runAt`. */
export async function retryTaskLater(
  db: Queryable,
  taskId: string,
  error: TaskError,
  attempts: number,
  runAt: Date,
): Promise<void> {
  await exec(
    db,
    sql`update tasks set status = 'queued', attempts = ${attempts}, error = ${JSON.stringify(error)}, run_after = ${runAt},
               updated_at = now()
         where id = ${taskId}`,
  );
}

// ---------------------------------------------------------------------------
// The merge queue
// ---------------------------------------------------------------------------

export type MergeState = 'waiting' | 'merging' | 'merged' | 'sent_back';

/** Where the task stands in its project's merge queue, and why (shown by status, the API and the page). */
export async function setMergeState(
  db: Queryable,
  taskId: string,
  state: MergeState,
  note: string | null,
  integratedSha: string | null = null,
): Promise<void> {
  await exec(
    db,
    sql`update tasks set merge_state = ${state}, merge_note = ${note},
               integrated_sha = coalesce(${integratedSha}, integrated_sha), updated_at = now()
         where id = ${taskId}`,
  );
}
