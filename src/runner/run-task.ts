/**
 * Runs one task: claim, check out, then the RARV loop (Reason → Act → Reflect
 * → Verify, see steps/), then what follows a verified branch (publish), then
 * settle. Each step returns what comes next (decide/outcome.ts Next); the loop
 * only sequences them, checking between steps that the task is still ours.
 */
import { effectiveConfig } from '../config/effective.js';
import { errorMessage } from '../errors.js';
import { loadTask, releaseUnrunnableTask, type TaskRecord, taskStanding } from '../store/task-attempts.js';
import { type AgentSettings, agentSettings } from './agent-settings.js';
import { decideStart } from './decide/claim.js';
import { decideContinue } from './decide/continue.js';
import { afterLoop, afterThrow } from './decide/failure.js';
import { type Next, type Outcome, stoppedAtCheckpoint } from './decide/outcome.js';
import { asVerified } from './decide/verify.js';
import { AgentLogWriter } from './log-writer.js';
import { gateBeforeClaim } from './provider.js';
import { act } from './steps/act.js';
import { checkOut, releaseCheckout } from './steps/checkout.js';
import { claim } from './steps/claim.js';
import { integrate } from './steps/integrate.js';
import { publish } from './steps/publish.js';
import { reason } from './steps/reason.js';
import { reflect } from './steps/reflect.js';
import { settle } from './steps/settle.js';
import { verify } from './steps/verify.js';
import {
  type Attempt,
  policyFor,
  type RarvState,
  retryDelayMs,
  runnerActor,
  type TaskRunContext,
  type Workspace,
} from './task-run.js';

export type { TaskRunContext } from './task-run.js';

/**
 * Runs one claimed task through RARV. Never throws for task-level failures:
 * the task row records the outcome and the job is rescheduled explicitly, so
 * the domain table stays the single source of truth. Only infrastructure
 * errors (the database is gone) propagate, and graphile-worker retries them.
 */
export async function runTask(ctx: TaskRunContext, taskId: string): Promise<void> {
  if (!ctx.gate) return runTaskHolding(ctx, taskId);
  await ctx.gate.acquire();
  try {
    await runTaskHolding(ctx, taskId);
  } finally {
    ctx.gate.release();
  }
}

async function runTaskHolding(ctx: TaskRunContext, taskId: string): Promise<void> {
  const task = await loadTask(ctx.pool, taskId);
  if (!task) return;
  const start = decideStart(task.status, task.project_status);
  if (start.kind === 'skip') return;
  if (start.kind === 'release') {
    // Paused after the job was queued: hand the task back; resume re-queues it.
    // Cancelled: the task ends with its project.
    await releaseUnrunnableTask(ctx.pool, taskId, task.project_status);
    return;
  }
  const config = effectiveConfig(task.config);
  // A task that could only wait for the provider is not claimed (no agent run, no attempt).
  const held = await gateBeforeClaim(ctx.pool, policyFor(ctx, config), task.running_since);
  if (held) {
    await settle(ctx, task, null, held);
    return;
  }

  const agentRunId = await claim(ctx, task, config);
  if (!agentRunId) return; // a duplicate job, or at a concurrency cap: requeued with a delay
  const logs = new AgentLogWriter(ctx.pool, agentRunId);
  const tracked = ctx.track?.(task.id, task.project_id);
  const taskTimeout = AbortSignal.timeout(config.limits.task_timeout);
  const signal = AbortSignal.any([ctx.signal, taskTimeout, ...(tracked ? [tracked.signal] : [])]);
  const attempt: Attempt = {
    ctx,
    task,
    config,
    agentRunId,
    actor: runnerActor(ctx),
    logs,
    signal,
    log: ctx.log.child({ task: task.key, agentRun: agentRunId }),
  };
  const end = () => ({
    timedOut: taskTimeout.aborted,
    stopped: ctx.signal.aborted || Boolean(tracked?.signal.aborted),
    timeoutMs: config.limits.task_timeout,
    retryDelayMs: retryDelayMs(ctx, task),
    now: new Date(),
  });
  let outcome: Outcome;
  try {
    outcome = afterLoop(await rarv(attempt), end());
  } catch (err) {
    attempt.log.error({ err }, 'task attempt failed');
    outcome = afterThrow(errorMessage(err), end());
  } finally {
    tracked?.release();
    await logs.close();
  }
  await settle(ctx, task, agentRunId, outcome);
  if (outcome.kind === 'completed') await releaseCheckout(ctx, task);
}

type Step = (a: Attempt, ws: Workspace, state: RarvState, settings: AgentSettings) => Promise<Next>;

const STEPS: Record<'reason' | 'act' | 'reflect' | 'verify' | 'integrate', Step> = {
  reason,
  act,
  reflect: (a, _ws, state) => reflect(a, state),
  verify,
  integrate,
};

async function rarv(a: Attempt): Promise<Outcome> {
  const { ctx, task, config } = a;
  const state: RarvState = {
    loop: task.rarv_loop,
    checkpoint: { continuity: [], escalations: 0, ...task.checkpoint },
    prompt: '',
    agentSummary: null,
    fresh: false,
  };
  const out = await checkOut(a, state.checkpoint);
  if (out.kind === 'stop') return out.outcome;
  const ws = out.workspace;
  state.fresh = !out.resumed;
  let step = task.rarv_step && task.rarv_step !== 'done' ? task.rarv_step : 'reason';
  let first = true;
  while (!a.signal.aborted) {
    if (!first) {
      const stop = await mayContinue(ctx, task, state);
      if (stop) return stop;
    }
    first = false;
    const settings = agentSettings(config, task.agent_type, state.checkpoint.escalations ?? 0);
    const next = await STEPS[step](a, ws, state, settings);
    if (next.kind === 'stop') return next.outcome;
    // A verified branch goes through the merge queue; once integrated, where it is published decides the end.
    if (next.kind === 'verified') {
      step = 'integrate';
      continue;
    }
    if (next.kind === 'integrated') return publish(a, ws, state, asVerified(state.checkpoint.verify));
    step = next.step;
  }
  return stoppedAtCheckpoint(new Date());
}

/** Between steps: a paused project or a drain hands the task back here; a changed task stops. */
async function mayContinue(ctx: TaskRunContext, task: TaskRecord, state: RarvState): Promise<Outcome | null> {
  const draining = ctx.drain?.aborted ?? false;
  // The step that just ended read the standing with its last write; other steps did not.
  const saved = state.standing;
  state.standing = undefined;
  const standing = draining ? null : saved !== undefined ? saved : await taskStanding(ctx.pool, task.id);
  return decideContinue(draining, standing, new Date());
}
