/**
 * The rarv_steps record: one row per Reason, Act, Reflect or Verify step of
 * an agent run, with what went in, what came out and what it cost. Opening a
 * step also shows it on the agent run (its status is the step it is in).
 */
import { z } from 'zod';
import type { ClaudeUsage } from '../claude/accumulate.js';
import type { Queryable } from './pool.js';
import { exec, one, sql } from './sql.js';

export type RarvStepName = 'reason' | 'act' | 'reflect' | 'verify';

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
    z.object({ id: z.number(), started_at: z.date() }),
    sql`with r as (update agent_runs set status = ${step}, model = coalesce(${model ?? null}, model)
                    where id = ${agentRunId} returning 1)
        insert into rarv_steps (agent_run_id, task_id, loop, step, input, started_at)
        values (${agentRunId}, ${taskId}, ${loop}, ${step}, ${JSON.stringify(input)}, clock_timestamp())
        returning id, started_at`,
  );
  return { id: r.id, startedAt: r.started_at };
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
