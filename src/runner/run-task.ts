import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type pg from 'pg';
import type { ClaudeEvent } from '../claude/events.js';
import { type ClaudeRunResult, runClaude } from '../claude/run-claude.js';
import { errorMessage } from '../errors.js';
import { branchState, commitCheckpoint } from '../git/commit.js';
import { git } from '../git/git.js';
import { ensureWorktree, removeWorktree } from '../git/worktree.js';
import type { WorktreeSpares } from '../git/worktree-spares.js';
import type { Logger } from '../log/logger.js';
import { advanceProject, type HoldCause, holdProject } from '../projects/transition.js';
import type { BackoffPolicy, ProviderFailure, ProviderTrouble } from '../provider/gate.js';
import { addTaskJob, addTaskJobs, type JobTask, notifyNewJobs } from '../queue/jobs.js';
import { type Actor, recordEvent } from '../store/events.js';
import { withTransaction } from '../store/pool.js';
import { backoffMs } from './backoff.js';
import { buildContext } from './context.js';
import type { Gate } from './gate.js';
import { AgentLogWriter } from './log-writer.js';
import {
  afterCall,
  backoffPolicy,
  gateBeforeCall,
  gateBeforeClaim,
  type ProviderBackoff,
  recordFailureIn,
  watchRetries,
} from './provider.js';
import type { TaskPublisher } from './publisher.js';
import { agentSettings, effectiveConfig } from './task-config.js';
import {
  addUsage,
  type Checkpoint,
  endStep,
  loadTask,
  saveStep,
  spendSoFar,
  startStepAt,
  type TaskRecord,
} from './task-store.js';
import { runVerify, summarizeVerifyFailure, verifyCommands } from './verify.js';

export interface TaskRunContext {
  pool: pg.Pool;
  runnerId: string;
  host: string;
  claudeBin: string;
  samgitaHome: string;
  /** Extra environment for the CLI (tests point it at a local API). */
  claudeEnv?: Record<string, string | undefined>;
  log: Logger;
  /** Fires when the runner shuts down or the project is cancelled: stop at the next safe point. */
  signal: AbortSignal;
  /** Pushes a verified branch and opens its pull request (GitHub projects); absent for local runs. */
  publisher?: TaskPublisher;
  /** Called after each task settles, e.g. to wake the progress display. */
  onSettled?: (taskId: string, status: string) => void;
  /** Soft stop (runner draining): finish the current step, then hand the task back at its checkpoint. */
  drain?: AbortSignal;
  /** First retry delay; doubles per attempt with jitter (default 5 s). */
  retryBaseMs?: number;
  /** Provider-wide backoff between probes during an outage (default 10 s doubling to 5 min). */
  providerBackoff?: ProviderBackoff;
  /**
   * Registers a task as in flight on this runner and returns a signal that fires
   * when it must stop at once (task cancelled/restarted, project cancelled).
   */
  track?: (taskId: string, projectId: string) => { signal: AbortSignal; release(): void };
  /** Ready checkouts at the base commit, so a new task does not wait for its tree to be written. */
  spares?: WorktreeSpares;
  /** Bounds how many tasks do database/git work at once (see Gate); absent: unbounded. */
  gate?: Gate;
}

type Settle =
  | { kind: 'completed' }
  | { kind: 'handback'; reason: string }
  | { kind: 'retry'; reason: string; delayMs: number; countAttempt: boolean }
  | { kind: 'requeue'; reason: string; runAt: Date }
  /** Held back by a provider-wide pause; `called`: this task's own call hit the trouble. */
  | { kind: 'provider_wait'; trouble: ProviderTrouble | null; reason: string; runAt: Date; called: boolean }
  /** This task's call hit provider trouble: recorded provider-wide in the settle's transaction, then a wait (or a hold). */
  | { kind: 'provider_failed'; failure: ProviderFailure; policy: BackoffPolicy; runningSince: Date | null }
  /** Back to pending; with `hold`, the project stops for a person to act (budget, authentication, billing, provider). */
  | { kind: 'park'; reason: string; hold?: { cause: HoldCause; reason: string } }
  | { kind: 'dead'; reason: string };

export function taskSlug(key: string): string {
  return key
    .toLowerCase()
    .replace(/[^a-z0-9/._-]+/g, '-')
    .replace(/\/+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80);
}

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

/** Long waits on the outside world (the CLI, verify commands, GitHub) give the runner's gate permit back. */
function outsideGate<T>(ctx: TaskRunContext, fn: () => Promise<T>): Promise<T> {
  return ctx.gate ? ctx.gate.outside(fn) : fn();
}

/** The database or its pool failed us (or a transient lock conflict), not the task: such an attempt is not counted. */
export function isInfrastructureError(err: unknown): boolean {
  return /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|too many clients|the database system is (starting|shutting)|deadlock detected|could not serialize/i.test(
    errorMessage(err),
  );
}

async function runTaskHolding(ctx: TaskRunContext, taskId: string): Promise<void> {
  const task = await loadTask(ctx.pool, taskId);
  if (!task) return;
  if (!['queued', 'running'].includes(task.status)) return;
  if (task.project_status !== 'running') {
    // Paused after the job was queued: hand the task back; resume re-queues it.
    // Cancelled: the task ends with its project.
    await ctx.pool.query(
      `update tasks set status = case when status not in ('queued', 'running') then status
                                      when $2 = 'cancelled' then 'cancelled' else 'pending' end,
              updated_at = now() where id = $1`,
      [taskId, task.project_status],
    );
    return;
  }
  const config = effectiveConfig(task.config);
  // A task that could only wait for the provider is not claimed (no agent run, no attempt).
  const held = await gateBeforeClaim(ctx.pool, policyFor(ctx, config), task.running_since);
  if (held) {
    await settle(ctx, task, null, held);
    return;
  }

  const actor: Actor = { type: 'runner', id: ctx.runnerId };
  const agentRunId = await claim(ctx, task, actor, config);
  if (!agentRunId) return; // at a concurrency cap: requeued with a delay
  const log = ctx.log.child({ task: task.key, agentRun: agentRunId });
  const logs = new AgentLogWriter(ctx.pool, agentRunId);
  const tracked = ctx.track?.(task.id, task.project_id);
  const taskTimeout = AbortSignal.timeout(config.limits.task_timeout);
  const signal = AbortSignal.any([ctx.signal, taskTimeout, ...(tracked ? [tracked.signal] : [])]);
  const timedOut = (): Settle => ({
    kind: 'retry',
    reason: `task timed out after ${config.limits.task_timeout} ms`,
    delayMs: backoffMs(task.attempts, ctx.retryBaseMs),
    countAttempt: true,
  });
  let outcome: Settle;
  try {
    outcome = await rarv(ctx, task, agentRunId, logs, signal, log);
    // A timeout surfaces as a cancelled CLI run or a stop at a checkpoint: it still costs an attempt.
    if (taskTimeout.aborted && outcome.kind !== 'completed') outcome = timedOut();
  } catch (err) {
    log.error({ err }, 'task attempt failed');
    outcome = taskTimeout.aborted
      ? timedOut()
      : ctx.signal.aborted || tracked?.signal.aborted
        ? { kind: 'requeue', reason: 'runner shutting down or task stopped', runAt: new Date() }
        : isInfrastructureError(err)
          ? {
              kind: 'requeue',
              reason: `database error (transient): ${errorMessage(err)}`,
              runAt: new Date(Date.now() + 2_000),
            }
          : {
              kind: 'retry',
              reason: errorMessage(err),
              delayMs: backoffMs(task.attempts, ctx.retryBaseMs),
              countAttempt: true,
            };
  } finally {
    tracked?.release();
    await logs.close();
  }
  await settle(ctx, task, agentRunId, outcome);
  if (outcome.kind === 'completed' && task.working_path) {
    // The branch keeps the work; the checkout is only needed while an agent works in it.
    // A spare checkout for the next task if one is wanted (cheaper than delete + checkout).
    const dir = worktreeDirFor(ctx, task);
    const recycled = await ctx.spares?.recycle(task.working_path, dir).catch(() => false);
    if (!recycled) await removeWorktree(task.working_path, dir).catch(() => {});
  }
}

function policyFor(ctx: TaskRunContext, config: ReturnType<typeof effectiveConfig>): BackoffPolicy {
  return backoffPolicy(config.limits.overload_give_up, ctx.providerBackoff);
}

function worktreeDirFor(ctx: TaskRunContext, task: TaskRecord): string {
  return path.join(ctx.samgitaHome, 'worktrees', task.project_id, taskSlug(task.key));
}

/**
 * Claims the task for this runner: one agent run row, attempt counted, events.
 * Concurrency caps (`limits.max_concurrent_agents` per project and
 * `agents.<type>.max_concurrency`) are checked in the same transaction under a
 * per-project advisory lock, counting live agent runs across every runner; at a
 * cap the job is put back with a growing delay (see capDelayMs) and null is
 * returned. A settling task wakes the next waiting one (wakeCappedTasks), so
 * waiting tasks neither spin nor sleep long past a free slot.
 */
async function claim(
  ctx: TaskRunContext,
  task: TaskRecord,
  actor: Actor,
  config: ReturnType<typeof effectiveConfig>,
): Promise<string | null> {
  const settings = agentSettings(config, task.agent_type, task.checkpoint.escalations ?? 0);
  const typeCap = config.agents[task.agent_type]?.max_concurrency ?? null;
  const projectCap = config.limits.max_concurrent_agents;
  const agentRunId = randomUUID();
  // Claims of one project queue on its advisory lock until commit, so the locked
  // part is kept to four round trips: lock, check, write, commit.
  return withTransaction(ctx.pool, async (db) => {
    await db.query(`select pg_advisory_xact_lock(hashtext('samgita:claim:' || $1::text))`, [task.project_id]);
    // The one guard against running a task twice at once: a live agent run on it
    // means this job is a duplicate (e.g. re-added while the task was being
    // claimed). Runs of a dead runner were ended by the reaper before its jobs
    // were unlocked, so a task resumes after a crash. In the same statement: the
    // caps, counting live agent runs on every runner.
    const { rows } = await db.query<{ live: number; total: number; same_type: number }>(
      `with t as (
         select t.id from tasks t
          where t.id = $1 and t.status in ('queued', 'running')
            and not exists (select 1 from agent_runs a where a.current_task_id = t.id and a.ended_at is null)
          for update of t)
       select (select count(*) from t)::int as live, count(*)::int as total,
              count(*) filter (where agent_type = $3)::int as same_type
         from agent_runs
        where project_id = $2 and ended_at is null and current_task_id <> $1`,
      [task.id, task.project_id, task.agent_type],
    );
    const r = rows[0]!;
    if (!r.live) {
      ctx.log.debug({ task: task.key }, 'task already running elsewhere or no longer queued; duplicate job dropped');
      return null;
    }
    const cap =
      r.total >= projectCap
        ? `limits.max_concurrent_agents (${projectCap})`
        : typeCap !== null && r.same_type >= typeCap
          ? `agents.${task.agent_type}.max_concurrency (${typeCap})`
          : null;
    if (cap) {
      const runAt = new Date(Date.now() + capDelayMs(task.cap_waits ?? 0));
      await db.query(`update tasks set cap_waits = cap_waits + 1, run_after = $2, updated_at = now() where id = $1`, [
        task.id,
        runAt,
      ]);
      await addTaskJob(db, task, runAt);
      const delay = runAt.getTime() - Date.now();
      ctx.log.debug({ task: task.key, cap, delay }, 'at a concurrency cap; task waits');
      return null;
    }
    // The agent run, the task's claim and both audit events in one statement.
    await db.query(
      `with run as (
         insert into agent_runs (id, project_id, current_task_id, runner_id, agent_type, node, pid, model, attempt, status, started_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'idle', clock_timestamp()) returning id),
       claimed as (
         update tasks set status = 'running', attempts = attempts + 1, max_attempts = $10, agent_id = $1, cap_waits = 0,
                waiting_for = null,
                started_at = coalesce(started_at, now()), error = null, updated_at = now()
          where id = $3 returning 1)
       insert into events (project_id, kind, subject_type, subject_id, actor_type, actor_id, data)
       values ($2, 'agent.spawned', 'agent_run', $1::text, $11, $12, $13),
              ($2, 'task.started', 'task', $3::text, $11, $12, $14)`,
      [
        agentRunId,
        task.project_id,
        task.id,
        ctx.runnerId,
        task.agent_type,
        ctx.host,
        String(process.pid),
        settings.model,
        task.attempts + 1,
        config.limits.max_attempts,
        actor.type,
        actor.id ?? null,
        JSON.stringify({
          task_id: task.id,
          task_key: task.key,
          agent_type: task.agent_type,
          model: settings.model,
          host: ctx.host,
        }),
        JSON.stringify({
          key: task.key,
          attempt: task.attempts + 1,
          agent_run_id: agentRunId,
          resumed_at: task.rarv_step,
        }),
      ],
    );
    task.attempts += 1;
    return agentRunId;
  });
}

/** Delay before a capped task looks again: 0.5 s doubling to 30 s, jittered so waiters spread out. */
export function capDelayMs(waits: number, random: () => number = Math.random): number {
  const ceiling = Math.min(30_000, 500 * 2 ** Math.min(waits, 10));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * A slot freed in `projectId`: bring the next capped task forward to run now,
 * same agent type first, then by priority. graphile-worker's job_key replace
 * mode moves the waiting job's run_at.
 */
export async function wakeCappedTasks(pool: pg.Pool, projectId: string, agentType: string, n = 1): Promise<number> {
  // Only tasks still waiting out their delay: a job already due may be in a runner's
  // hands, and moving it would make a second job (which the claim would drop).
  const { rows } = await pool.query<JobTask>(
    `with waiting as (
       select t.id from tasks t
        where t.project_id = $1 and t.status = 'queued' and t.cap_waits > 0 and t.run_after > now()
        order by (t.agent_type = $2) desc, t.priority, t.queued_at nulls last
        limit $3
        for update skip locked)
     update tasks t set run_after = now(), updated_at = now() from waiting w where t.id = w.id
     returning t.id, t.priority, t.max_attempts`,
    [projectId, agentType, n],
  );
  await addTaskJobs(pool, rows, null);
  await notifyNewJobs(pool, rows.length);
  return rows.length;
}

/**
 * Between steps: is the task still ours to continue? A paused project lets the
 * running step finish and hands the task back here; a drain does the same; a
 * cancelled or re-planned task stops (settle keeps that decision).
 */
async function checkpointGate(ctx: TaskRunContext, taskId: string): Promise<Settle | null> {
  if (ctx.drain?.aborted)
    return { kind: 'requeue', reason: 'runner draining; resumes from its checkpoint', runAt: new Date() };
  const { rows } = await ctx.pool.query<{ task_status: string; project_status: string }>(
    `select t.status as task_status, p.status as project_status from tasks t join projects p on p.id = t.project_id where t.id = $1`,
    [taskId],
  );
  const r = rows[0];
  if (!r) return { kind: 'handback', reason: 'task deleted' };
  if (r.task_status !== 'running') return { kind: 'handback', reason: `task ${r.task_status}` };
  if (r.project_status !== 'running') return { kind: 'handback', reason: `project ${r.project_status}` };
  return null;
}

async function rarv(
  ctx: TaskRunContext,
  task: TaskRecord,
  agentRunId: string,
  logs: AgentLogWriter,
  signal: AbortSignal,
  log: Logger,
): Promise<Settle> {
  const config = effectiveConfig(task.config);
  const repo = task.working_path;
  if (!repo) return { kind: 'park', reason: 'the project has no local working path to run in' };
  const checkpoint: Checkpoint = { continuity: [], escalations: 0, ...task.checkpoint };
  const base = config.git.base_branch ?? task.default_branch ?? 'HEAD';
  const branch = `${config.git.branch_prefix}${taskSlug(task.key)}`;
  const worktreeDir = worktreeDirFor(ctx, task);
  // On a machine other than the server's, the clone may be missing or behind.
  await ctx.publisher?.prepare?.(task.project_id);
  const wt = await ensureWorktree(repo, worktreeDir, branch, base, ctx.spares ? { spares: ctx.spares } : {});
  checkpoint.baseSha ??= wt.baseSha ?? (await git(repo, ['rev-parse', base])).trim();
  // A branch made just now has no changes of its own: the Reason step need not ask git.
  let fresh = !wt.resumed;
  logs.system(`worktree ${wt.path} on ${branch}${wt.resumed ? ' (resumed from its last checkpoint)' : ''}`);

  const commands = verifyCommands(config.verify);
  const trailers = { 'Samgita-Task': task.id, 'Samgita-Project': task.project_id, 'Samgita-Agent': task.agent_type };
  const identity = { name: config.git.author_name, email: config.git.author_email };
  let loop = task.rarv_loop;
  let step = task.rarv_step && task.rarv_step !== 'done' ? task.rarv_step : 'reason';
  let prompt = '';
  let lastAct: ClaudeRunResult | null = null;

  let first = true;
  while (!signal.aborted) {
    if (!first) {
      const stop = await checkpointGate(ctx, task.id);
      if (stop) return stop;
    }
    first = false;
    const settings = agentSettings(config, task.agent_type, checkpoint.escalations ?? 0);

    if (step === 'reason') {
      const state = await branchState(wt.path, checkpoint.baseSha, { fresh });
      fresh = false;
      const memories = await ctx.pool.query<{ content: string }>(
        `select content from memories where project_id = $1 and (task_id is null or task_id <> $2)
          order by importance desc, inserted_at desc limit 8`,
        [task.project_id, task.id],
      );
      const context = buildContext({
        projectName: task.project_name,
        task: {
          key: task.key,
          title: task.title,
          description: task.description,
          phase: task.phase,
          agentType: task.agent_type,
          acceptanceCriteria: task.payload.acceptanceCriteria ?? [],
        },
        requirement: task.requirement_key
          ? { key: task.requirement_key, title: task.requirement_title ?? '', body: task.requirement_body ?? '' }
          : null,
        prdExcerpt: prdExcerpt(task.prd_content ?? '', task.requirement_key),
        continuity: [...(checkpoint.continuity ?? []), ...(task.payload.reviewFeedback ?? [])],
        memories: memories.rows.map((m) => m.content),
        repo: { branch, ...state },
        verifyCommands: commands.map((c) => c.command),
      });
      prompt = context.prompt;
      const { id } = await startStepAt(ctx.pool, agentRunId, task.id, loop, 'reason', {
        sections: context.sections.map((s) => ({ name: s.name, tokens: s.tokens, truncated: s.truncated })),
      });
      await endStep(ctx.pool, id, 'completed', { tokens: context.tokens, budget: context.budget, prompt });
      step = 'act';
      await saveStep(ctx.pool, task.id, step, loop, checkpoint, { branch });
      continue;
    }

    if (step === 'act') {
      if (!prompt) {
        // Resumed straight into Act: rebuild the prompt first.
        step = 'reason';
        continue;
      }
      const spend = await spendSoFar(ctx.pool, task.project_id, task.phase, task.id);
      const over = budgetExceeded(config.budget, spend);
      if (over) return { kind: 'park', reason: over, hold: { cause: 'budget', reason: `budget reached: ${over}` } };
      const maxBudgetUsd = remainingUsd(config.budget, spend);
      // During a provider outage only one call at a time (the probe) goes out.
      const policy = policyFor(ctx, config);
      const gate = await gateBeforeCall(ctx.pool, agentRunId, policy, task.running_since);
      if ('kind' in gate) return gate;
      const { id, startedAt } = await startStepAt(
        ctx.pool,
        agentRunId,
        task.id,
        loop,
        'act',
        { model: settings.model, tier: settings.tier, max_budget_usd: maxBudgetUsd, probe: gate.probe },
        settings.model,
      );
      const watch = watchRetries(ctx.pool, {
        runId: agentRunId,
        policy,
        actor: { type: 'runner', id: ctx.runnerId },
        projectId: task.project_id,
      });
      const result = await outsideGate(ctx, () =>
        runClaude({
          bin: ctx.claudeBin,
          cwd: wt.path,
          claude: {
            prompt,
            model: settings.model,
            permissionMode: config.claude.permission_mode,
            allowedTools: settings.allowedTools,
            disallowedTools: settings.disallowedTools,
            maxTurns: settings.maxTurns,
            ...(maxBudgetUsd !== undefined ? { maxBudgetUsd } : {}),
            appendSystemPrompt: settings.systemPrompt,
            extraArgs: config.claude.extra_args,
          },
          // The CLI retries a failed call a little by itself; a longer outage is the provider gate's,
          // and its probe is one call.
          env: { CLAUDE_CODE_MAX_RETRIES: gate.probe ? '0' : String(config.claude.max_retries), ...ctx.claudeEnv },
          timeoutMs: config.limits.claude_timeout,
          signal,
          onEvent: (e: ClaudeEvent) => {
            logs.event(e);
            watch(e);
          },
          onStderr: (line) => logs.stderr(line),
        }),
      );
      lastAct = result;
      const usage = { usage: result.summary.usage, costUsd: result.summary.costUsd };
      await addUsage(ctx.pool, { taskId: task.id, agentRunId, projectId: task.project_id }, usage.usage, usage.costUsd);
      await ctx.pool.query('update agent_runs set session_id = coalesce($2, session_id) where id = $1', [
        agentRunId,
        result.summary.sessionId ?? null,
      ]);
      const kind = result.outcome.kind;
      const ok = kind === 'success' || kind === 'max_turns';
      await endStep(
        ctx.pool,
        id,
        ok ? 'completed' : 'failed',
        { outcome: result.outcome, session_id: result.summary.sessionId, turns: result.summary.numTurns },
        usage,
      );
      const provider = await afterCall(ctx.pool, {
        runId: agentRunId,
        probe: gate.probe,
        startedAt,
        result,
        policy,
        runningSince: task.running_since,
        projectId: task.project_id,
        actor: { type: 'runner', id: ctx.runnerId },
      });
      if (provider.kind !== 'ok') {
        log.info({ trouble: provider.failure.kind, message: provider.failure.message }, 'provider trouble; waiting');
        return provider;
      }
      if (kind === 'max_budget') {
        // The CLI stopped itself at --max-budget-usd: say which cap, with the spend now recorded.
        const over = budgetExceeded(config.budget, await spendSoFar(ctx.pool, task.project_id, task.phase, task.id));
        const why = over ?? `the run hit --max-budget-usd ${maxBudgetUsd ?? ''}`.trim();
        return { kind: 'park', reason: why, hold: { cause: 'budget', reason: `budget reached: ${why}` } };
      }
      if (!ok) return actFailure(ctx, task, result);
      const commit = await commitCheckpoint(
        wt.path,
        `${task.title}\n\nRARV loop ${loop + 1} of task ${task.key}.`,
        trailers,
        identity,
      );
      if (commit) {
        checkpoint.lastCommit = commit.sha;
        await recordArtifacts(ctx.pool, task, wt.path, commit.sha, commit.files);
      }
      step = 'reflect';
      await saveStep(ctx.pool, task.id, step, loop, checkpoint, {
        sessionId: result.summary.sessionId ?? null,
        headSha: commit?.sha ?? null,
      });
      continue;
    }

    if (step === 'reflect') {
      const { id } = await startStepAt(ctx.pool, agentRunId, task.id, loop, 'reflect', {});
      const said = (lastAct?.summary.resultText ?? '').trim().slice(0, 2000);
      const learning = said ? `${task.key} (${task.agent_type}): ${said}` : `${task.key}: no summary from the agent`;
      await ctx.pool.query(
        `insert into memories (project_id, task_id, type, content, importance) values ($1, $2, 'episodic', $3, 0.5)`,
        [task.project_id, task.id, learning],
      );
      await endStep(ctx.pool, id, 'completed', { memory: learning });
      step = 'verify';
      await saveStep(ctx.pool, task.id, step, loop, checkpoint);
      continue;
    }

    // verify
    const { id } = await startStepAt(ctx.pool, agentRunId, task.id, loop, 'verify', { commands });
    const result = await outsideGate(ctx, () =>
      runVerify(wt.path, commands, { timeoutMs: config.verify.timeout, signal }),
    );
    for (const s of result.steps)
      logs.verify(`$ ${s.command} → ${s.timedOut ? 'timed out' : `exit ${s.exitCode}`}\n${s.output}`);
    await endStep(ctx.pool, id, result.passed ? 'completed' : 'failed', result);
    if (signal.aborted) break;
    if (result.passed) {
      const verified = { passed: true, summary: 'all verify commands passed' };
      checkpoint.verify = verified;
      await saveStep(ctx.pool, task.id, 'done', loop, checkpoint);
      if (ctx.publisher) {
        const fresh = await loadTask(ctx.pool, task.id);
        const publisher = ctx.publisher;
        const published = await outsideGate(ctx, () =>
          publisher.publish({
            projectId: task.project_id,
            taskId: task.id,
            taskKey: task.key,
            title: task.title,
            description: task.description,
            agentType: task.agent_type,
            branch,
            baseBranch: base,
            worktree: wt.path,
            headSha: checkpoint.lastCommit ?? null,
            verify: verified,
            costUsd: fresh?.cost_usd ?? 0,
            tokens: fresh?.tokens_used ?? 0,
          }),
        );
        if (published) {
          await ctx.pool.query('update tasks set pr_number = $2, pr_url = $3, updated_at = now() where id = $1', [
            task.id,
            published.prNumber,
            published.prUrl,
          ]);
          if (published.awaitingMerge) return { kind: 'park', reason: `waiting for review of ${published.prUrl}` };
        }
      }
      return { kind: 'completed' };
    }
    const failure = summarizeVerifyFailure(result);
    checkpoint.verify = { passed: false, summary: failure };
    checkpoint.continuity = [...(checkpoint.continuity ?? []), `Loop ${loop + 1}: ${failure}`];
    await ctx.pool.query(
      `insert into memories (project_id, task_id, type, content, importance) values ($1, $2, 'procedural', $3, 0.7)`,
      [task.project_id, task.id, `${task.key}: ${failure.slice(0, 1500)}`],
    );
    loop += 1;
    if (loop >= config.limits.rarv_loops * ((checkpoint.escalations ?? 0) + 1)) {
      const next = agentSettings(config, task.agent_type, (checkpoint.escalations ?? 0) + 1);
      if (next.tier === settings.tier) {
        await saveStep(ctx.pool, task.id, 'reason', loop, checkpoint);
        return {
          kind: 'retry',
          reason: `verify still failing after ${loop} RARV loops: ${failure.slice(0, 500)}`,
          delayMs: backoffMs(task.attempts, ctx.retryBaseMs),
          countAttempt: true,
        };
      }
      checkpoint.escalations = (checkpoint.escalations ?? 0) + 1;
      log.info({ from: settings.model, to: next.model }, 'escalating to a stronger model');
      logs.system(`escalating from ${settings.model} to ${next.model} after ${loop} failed verify loops`);
    }
    step = 'reason';
    await saveStep(ctx.pool, task.id, step, loop, checkpoint);
  }
  return {
    kind: 'requeue',
    reason: 'stopped at a checkpoint (runner shutting down or project stopped)',
    runAt: new Date(),
  };
}

function actFailure(ctx: TaskRunContext, task: TaskRecord, result: ClaudeRunResult): Settle {
  const o = result.outcome;
  switch (o.kind) {
    case 'auth_failed':
    case 'billing':
      return {
        kind: 'park',
        reason: o.message,
        hold:
          o.kind === 'auth_failed'
            ? { cause: 'auth', reason: `Claude authentication failed: ${o.message}` }
            : { cause: 'billing', reason: `Claude billing error: ${o.message}` },
      };
    case 'max_budget':
      return { kind: 'park', reason: o.message, hold: { cause: 'budget', reason: `budget reached: ${o.message}` } };
    case 'cancelled':
      return { kind: 'requeue', reason: 'cancelled', runAt: new Date() };
    default:
      ctx.log.warn({ outcome: o, stderr: result.stderrTail.slice(-500) }, 'claude run failed');
      return {
        kind: 'retry',
        reason: `${o.kind}: ${o.message}`,
        delayMs: backoffMs(task.attempts, ctx.retryBaseMs),
        countAttempt: true,
      };
  }
}

async function settle(
  ctx: TaskRunContext,
  task: TaskRecord,
  agentRunId: string | null,
  outcome: Settle,
): Promise<void> {
  const actor: Actor = { type: 'runner', id: ctx.runnerId };
  let status = 'queued';
  await withTransaction(ctx.pool, async (db) => {
    const current = await db.query<{ status: string; attempts: number; max_attempts: number; project_status: string }>(
      `select t.status, t.attempts, t.max_attempts, p.status as project_status
         from tasks t join projects p on p.id = t.project_id where t.id = $1 for update of t`,
      [task.id],
    );
    // Provider trouble is a fact about the provider whatever became of the task: recorded first.
    const s =
      outcome.kind === 'provider_failed'
        ? await recordFailureIn(db, outcome, { actor, projectId: task.project_id })
        : outcome;
    const row = current.rows[0];
    if (!row) return;
    if (row.project_status === 'cancelled' && s.kind !== 'completed' && row.status === 'running') {
      // The project was cancelled while this task ran: the task ends with it.
      status = 'cancelled';
      await db.query(`update tasks set status = 'cancelled', completed_at = now(), updated_at = now() where id = $1`, [
        task.id,
      ]);
      if (agentRunId)
        await db.query(
          `update agent_runs set status = 'cancelled', ended_at = now(), error = $2 where id = $1 and ended_at is null`,
          [agentRunId, JSON.stringify({ message: 'project cancelled' })],
        );
      return;
    }
    // Cancelled (or re-planned) while we worked: keep that decision.
    const superseded = row.status === 'cancelled' || row.status === 'pending';
    const finishRun = async (runStatus: string, error: unknown) => {
      if (!agentRunId) return;
      await db.query(
        `update agent_runs set status = $2, ended_at = now(), error = $3, total_tasks = total_tasks + $4,
                total_duration_ms = (extract(epoch from now() - started_at) * 1000)::bigint
          where id = $1`,
        [agentRunId, runStatus, error === null ? null : JSON.stringify(error), runStatus === 'completed' ? 1 : 0],
      );
    };
    if (superseded) {
      status = row.status;
      await finishRun('cancelled', { reason: `task ${row.status} while running` });
      return;
    }
    if (s.kind === 'completed') {
      status = 'completed';
      await db.query(
        `update tasks set status = 'completed', completed_at = now(), error = null,
                duration_ms = (extract(epoch from now() - started_at) * 1000)::bigint,
                result = jsonb_build_object('branch', branch, 'commit', head_sha, 'verify', checkpoint->'verify'),
                updated_at = now()
          where id = $1`,
        [task.id],
      );
      await finishRun('completed', null);
      await recordEvent(db, {
        projectId: task.project_id,
        kind: 'task.completed',
        subjectType: 'task',
        subjectId: task.id,
        actor,
        data: { key: task.key },
      });
      if (agentRunId) {
        await recordEvent(db, {
          projectId: task.project_id,
          kind: 'agent.completed',
          subjectType: 'agent_run',
          subjectId: agentRunId,
          actor,
          data: { task_id: task.id },
        });
      }
      return;
    }
    if (s.kind === 'handback') {
      status = 'pending';
      await db.query(
        `update tasks set status = 'pending', attempts = greatest(attempts - 1, 0), updated_at = now() where id = $1`,
        [task.id],
      );
      await finishRun('cancelled', { message: s.reason, kind: s.kind });
      return;
    }
    const error = { message: s.reason, kind: s.kind, at: new Date().toISOString() };
    if (s.kind === 'park') {
      status = 'pending';
      await db.query(
        `update tasks set status = 'pending', attempts = greatest(attempts - $3, 0), error = $2, waiting_for = null,
                updated_at = now() where id = $1`,
        [task.id, JSON.stringify(error), agentRunId ? 1 : 0],
      );
      await finishRun('cancelled', error);
      if (s.hold) await holdProject(db, task.project_id, actor, s.hold.cause, s.hold.reason, { task_id: task.id });
      return;
    }
    if (s.kind === 'requeue') {
      await db.query(
        `update tasks set status = 'queued', attempts = greatest(attempts - $3, 0), error = $2, run_after = $4, updated_at = now() where id = $1`,
        [task.id, JSON.stringify(error), agentRunId ? 1 : 0, s.runAt],
      );
      await finishRun('cancelled', error);
      await addTaskJob(db, { id: task.id, priority: task.priority, max_attempts: row.max_attempts }, s.runAt);
      return;
    }
    if (s.kind === 'provider_wait') {
      // Not the task's fault: no attempt is spent, and a recovered provider wakes it (waiting_for).
      await db.query(
        `update tasks set status = 'queued', attempts = greatest(attempts - $3, 0), error = $2, run_after = $4,
                waiting_for = 'provider', updated_at = now() where id = $1`,
        [task.id, JSON.stringify(error), agentRunId ? 1 : 0, s.runAt],
      );
      if (s.called && s.trouble === 'rate_limit') {
        await finishRun('cancelled', error);
        await recordEvent(db, {
          projectId: task.project_id,
          kind: 'rate_limit.hit',
          subjectType: 'task',
          subjectId: task.id,
          actor,
          data: { until: s.runAt.toISOString() },
        });
      } else if (s.called) {
        await finishRun('failed', error);
        await recordEvent(db, {
          projectId: task.project_id,
          kind: 'task.retrying',
          subjectType: 'task',
          subjectId: task.id,
          actor,
          data: {
            key: task.key,
            error: s.reason,
            run_at: s.runAt.toISOString(),
            attempts: Math.max(row.attempts - 1, 0),
          },
        });
      } else {
        await finishRun('cancelled', error);
      }
      await addTaskJob(db, { id: task.id, priority: task.priority, max_attempts: row.max_attempts }, s.runAt);
      return;
    }
    const attempts = s.kind === 'retry' && !s.countAttempt ? Math.max(row.attempts - 1, 0) : row.attempts;
    if (s.kind === 'dead' || attempts >= row.max_attempts) {
      status = 'dead_letter';
      await db.query(
        `update tasks set status = 'dead_letter', attempts = $3, error = $2, completed_at = now(), updated_at = now() where id = $1`,
        [task.id, JSON.stringify(error), attempts],
      );
      await finishRun('failed', error);
      await recordEvent(db, {
        projectId: task.project_id,
        kind: 'task.failed',
        subjectType: 'task',
        subjectId: task.id,
        actor,
        data: { key: task.key, error: s.reason },
      });
      await recordEvent(db, {
        projectId: task.project_id,
        kind: 'task.dead_lettered',
        subjectType: 'task',
        subjectId: task.id,
        actor,
        data: { key: task.key, attempts },
      });
      if (agentRunId) {
        await recordEvent(db, {
          projectId: task.project_id,
          kind: 'agent.crashed',
          subjectType: 'agent_run',
          subjectId: agentRunId,
          actor,
          data: { task_id: task.id, error: s.reason },
        });
      }
      return;
    }
    const runAt = new Date(Date.now() + s.delayMs);
    await db.query(
      `update tasks set status = 'queued', attempts = $3, error = $2, run_after = $4, updated_at = now() where id = $1`,
      [task.id, JSON.stringify(error), attempts, runAt],
    );
    await finishRun('failed', error);
    await recordEvent(db, {
      projectId: task.project_id,
      kind: 'task.retrying',
      subjectType: 'task',
      subjectId: task.id,
      actor,
      data: { key: task.key, error: s.reason, run_at: runAt.toISOString(), attempts },
    });
    await addTaskJob(db, { id: task.id, priority: task.priority, max_attempts: row.max_attempts }, runAt);
  });
  ctx.onSettled?.(task.id, status);
  if (status === 'completed' || status === 'dead_letter') await advanceProject(ctx.pool, task.project_id, actor);
  // This task's agent run ended, so a slot is free for a task waiting at a cap.
  if (agentRunId) await wakeCappedTasks(ctx.pool, task.project_id, task.agent_type).catch(() => {});
}

function budgetExceeded(
  budget: {
    project: { usd: number | null; tokens: number | null };
    phase: { usd: number | null; tokens: number | null };
    task: { usd: number | null; tokens: number | null };
  },
  spend: Awaited<ReturnType<typeof spendSoFar>>,
): string | null {
  const checks: [string, number | null, number, string][] = [
    ['project', budget.project.usd, spend.projectUsd, 'USD'],
    ['phase', budget.phase.usd, spend.phaseUsd, 'USD'],
    ['task', budget.task.usd, spend.taskUsd, 'USD'],
    ['project', budget.project.tokens, spend.projectTokens, 'tokens'],
    ['phase', budget.phase.tokens, spend.phaseTokens, 'tokens'],
    ['task', budget.task.tokens, spend.taskTokens, 'tokens'],
  ];
  for (const [scope, cap, used, unit] of checks) {
    if (cap !== null && used >= cap) {
      const fmt = unit === 'USD' ? `$${used.toFixed(2)} of $${cap.toFixed(2)}` : `${used} of ${cap} tokens`;
      return `${scope} budget spent (${fmt}); raise budget.${scope}.${unit === 'USD' ? 'usd' : 'tokens'} in samgita.yaml to continue`;
    }
  }
  return null;
}

function remainingUsd(
  budget: { project: { usd: number | null }; phase: { usd: number | null }; task: { usd: number | null } },
  spend: Awaited<ReturnType<typeof spendSoFar>>,
): number | undefined {
  const left = [
    budget.project.usd === null ? Number.POSITIVE_INFINITY : budget.project.usd - spend.projectUsd,
    budget.phase.usd === null ? Number.POSITIVE_INFINITY : budget.phase.usd - spend.phaseUsd,
    budget.task.usd === null ? Number.POSITIVE_INFINITY : budget.task.usd - spend.taskUsd,
  ];
  const min = Math.min(...left);
  return Number.isFinite(min) ? Math.max(0.01, Math.floor(min * 100) / 100) : undefined;
}

/** The PRD around the requirement's ID, or the PRD's start: the part an agent most needs. */
export function prdExcerpt(prd: string, requirementKey: string | null, maxChars = 6000): string {
  if (!prd) return '';
  if (requirementKey) {
    const at = prd.indexOf(requirementKey);
    if (at >= 0) {
      const start = Math.max(0, prd.lastIndexOf('\n#', at));
      return prd.slice(start, start + maxChars);
    }
  }
  return prd.slice(0, maxChars);
}

const ARTIFACT_MAX_BYTES = 256 * 1024;

/** Records the files a checkpoint commit touched as artifacts (FR-8.4), content included when small text. */
async function recordArtifacts(
  pool: pg.Pool,
  task: TaskRecord,
  worktree: string,
  sha: string,
  files: string[],
): Promise<void> {
  for (const file of files.slice(0, 200)) {
    const type = /\.(md|mdx|txt|rst|adoc)$/i.test(file)
      ? 'doc'
      : /(^|\/)(Dockerfile|docker-compose[^/]*|\.github\/workflows\/.*|.*\.(ya?ml|toml|json|ini|env))$/i.test(file)
        ? 'config'
        : 'code';
    const blob = (await git(worktree, ['rev-parse', `${sha}:${file}`], { allowFailure: true })).trim();
    if (!blob) continue; // deleted in this commit
    const size = Number((await git(worktree, ['cat-file', '-s', blob], { allowFailure: true })).trim());
    const content =
      size <= ARTIFACT_MAX_BYTES
        ? await git(worktree, ['cat-file', 'blob', blob], { allowFailure: true, raw: true })
        : null;
    await pool.query(
      `insert into artifacts (project_id, task_id, type, path, content, content_hash, metadata)
       values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing`,
      [
        task.project_id,
        task.id,
        type,
        file,
        content?.includes('\0') ? null : content,
        blob,
        JSON.stringify({ commit: sha, size }),
      ],
    );
  }
}
