/**
 * The agent_runs record: one row per attempt of a task on a runner. It is
 * created with the task's claim (tasks/claim.ts) and ended when the task
 * settles or its runner is declared dead.
 */
import type { ClaudeUsage } from '../claude/accumulate.js';
import type { Queryable } from './pool.js';
import { exec, sql } from './sql.js';

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
