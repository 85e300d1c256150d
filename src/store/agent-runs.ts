/**
 * What an agent run leaves behind: the run itself, its RARV steps, its log,
 * and the artifacts its commits touched (its memories: src/store/memories.ts).
 */
import { z } from 'zod';
import type { ClaudeUsage } from '../claude/accumulate.js';
import { exec, one, type Queryable, sql } from './connection.js';

const IdStartedAtRow = z.object({ id: z.number(), started_at: z.date() });

/**
 * The agent_runs record: one row per attempt of a task on a runner. It is
 * created with the task's claim (store/task-attempts.ts) and ended when the task
 * settles or its runner is declared dead.
 */
export type AgentRunEnd = 'completed' | 'failed' | 'cancelled';

/** Ends the run as its task settles; a completed run counts its task. */
export async function endAgentRun(db: Queryable, runId: string, status: AgentRunEnd, error: unknown): Promise<void> {
  await exec(
    db,
    sql`update agent_runs set status = ${status}, ended_at = now(), error = ${error === null ? null : JSON.stringify(error)},
               total_tasks = total_tasks + ${status === 'completed' ? 1 : 0},
               total_duration_ms = (extract(epoch from now() - started_at) * 1000)::bigint
         where id = ${runId}`,
  );
}

/** Its project was cancelled while the run worked: cancelled, unless it had already ended. */
export async function cancelAgentRun(db: Queryable, runId: string, error: unknown): Promise<void> {
  await exec(
    db,
    sql`update agent_runs set status = 'cancelled', ended_at = now(), error = ${JSON.stringify(error)}
         where id = ${runId} and ended_at is null`,
  );
}

/** The runs of a runner declared dead end as failed, so their tasks may be claimed again. */
export async function failRunsOfRunner(db: Queryable, runnerId: string): Promise<void> {
  await exec(
    db,
    sql`update agent_runs set status = 'failed', ended_at = now(), error = '{"message":"runner died"}'::jsonb
         where runner_id = ${runnerId} and ended_at is null`,
  );
}

export async function setAgentRunSession(db: Queryable, runId: string, sessionId: string | null): Promise<void> {
  await exec(db, sql`update agent_runs set session_id = coalesce(${sessionId}, session_id) where id = ${runId}`);
}

export async function addRunUsage(db: Queryable, runId: string, usage: ClaudeUsage, costUsd: number): Promise<void> {
  await exec(
    db,
    sql`update agent_runs set input_tokens = input_tokens + ${usage.inputTokens},
               output_tokens = output_tokens + ${usage.outputTokens},
               cache_read_tokens = cache_read_tokens + ${usage.cacheReadTokens},
               cache_write_tokens = cache_write_tokens + ${usage.cacheWriteTokens}, cost_usd = cost_usd + ${costUsd}
         where id = ${runId}`,
  );
}

/**
 * The rarv_steps record: one row per Reason, Act, Reflect or Verify step of
 * an agent run, with what went in, what came out and what it cost. Opening a
 * step also shows it on the agent run (its status is the step it is in).
 */
export type RarvStepName = 'reason' | 'act' | 'reflect' | 'verify' | 'integrate';

/** Opens a RARV step; returns its id and the database's time of its start (the clock every runner shares). */
export async function startStepAt(
  db: Queryable,
  agentRunId: string,
  taskId: string,
  loop: number,
  step: RarvStepName,
  input: unknown,
  model?: string,
): Promise<{ id: number; startedAt: Date }> {
  const r = await one(
    db,
    IdStartedAtRow,
    sql`with r as (update agent_runs set status = ${step}, model = coalesce(${model ?? null}, model)
                    where id = ${agentRunId} returning 1)
        insert into rarv_steps (agent_run_id, task_id, loop, step, input, started_at)
        values (${agentRunId}, ${taskId}, ${loop}, ${step}, ${JSON.stringify(input)}, clock_timestamp())
        returning id, started_at`,
  );
  return { id: r.id, startedAt: r.started_at };
}

/**
 * A step that was over as soon as it began (Reason: its work is assembling the prompt),
 * opened and closed in one statement: one round trip fewer on every task start.
 */
export async function recordInstantStep(
  db: Queryable,
  agentRunId: string,
  taskId: string,
  loop: number,
  step: RarvStepName,
  input: unknown,
  output: unknown,
): Promise<void> {
  await exec(
    db,
    // One clock reading for both ends: now() is the transaction's start, earlier than clock_timestamp().
    sql`with r as (update agent_runs set status = ${step} where id = ${agentRunId} returning 1),
             c as (select clock_timestamp() as at)
        insert into rarv_steps (agent_run_id, task_id, loop, step, input, started_at, status, output, ended_at)
        select ${agentRunId}, ${taskId}, ${loop}, ${step}, ${JSON.stringify(input)}, c.at, 'completed',
               ${JSON.stringify(output)}, c.at
          from c`,
  );
}

export async function endStep(
  db: Queryable,
  stepId: number,
  status: 'completed' | 'failed',
  output: unknown,
  usage?: { usage: ClaudeUsage; costUsd: number },
): Promise<void> {
  await exec(
    db,
    sql`update rarv_steps set status = ${status}, output = ${JSON.stringify(output)}, ended_at = now(),
               input_tokens = ${usage?.usage.inputTokens ?? 0}, output_tokens = ${usage?.usage.outputTokens ?? 0},
               cache_read_tokens = ${usage?.usage.cacheReadTokens ?? 0},
               cache_write_tokens = ${usage?.usage.cacheWriteTokens ?? 0}, cost_usd = ${usage?.costUsd ?? 0}
         where id = ${stepId}`,
  );
}

/** The agent_logs record: an agent run's output, line by line. */
export type LogStream = 'event' | 'stdout' | 'stderr' | 'verify' | 'system';

/** Appends a batch of lines in one statement (one insert per batch, not per line, with many agents at once). */
export async function appendAgentLogs(
  db: Queryable,
  agentRunId: string,
  lines: readonly { stream: LogStream; line: string }[],
): Promise<void> {
  await exec(
    db,
    sql`insert into agent_logs (agent_run_id, stream, line)
        select ${agentRunId}, s, l from unnest(${lines.map((b) => b.stream)}::text[], ${lines.map((b) => b.line)}::text[])
          as u(s, l)`,
  );
}

/** The artifacts record: the files a task's checkpoint commits touched (FR-8.4). */
export type ArtifactType = 'code' | 'doc' | 'config' | 'deployment';

export interface ArtifactInput {
  projectId: string;
  taskId: string;
  type: ArtifactType;
  path: string;
  /** Small text files only; null otherwise. */
  content: string | null;
  /** The git blob id. */
  contentHash: string;
  metadata: Record<string, unknown>;
}

/** Records one artifact; the same file content of the same task is recorded once. */
export async function addArtifact(db: Queryable, a: ArtifactInput): Promise<void> {
  await exec(
    db,
    sql`insert into artifacts (project_id, task_id, type, path, content, content_hash, metadata)
        values (${a.projectId}, ${a.taskId}, ${a.type}, ${a.path}, ${a.content}, ${a.contentHash},
                ${JSON.stringify(a.metadata)})
        on conflict do nothing`,
  );
}
