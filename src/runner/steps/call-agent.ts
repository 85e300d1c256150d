/**
 * One Claude Code call of an Act, with everything every call goes through:
 * the budget (stop before it, `--max-budget-usd` from what is left), the
 * provider gate (one probe at a time during an outage), the RARV step record,
 * the usage added to task, agent run and project, and what the outcome means
 * (decide/act.ts). The free-form Act and the breakdown's structured Act both
 * call the CLI through here, so neither can skip a limit.
 */
import type { ClaudeRunSpec } from '../../claude/args.js';
import type { ClaudeEvent } from '../../claude/events.js';
import { type ClaudeRunResult, runClaude } from '../../claude/run-claude.js';
import { isSamgitaError } from '../../errors.js';
import { type ClaudeWrap, claudeSandbox } from '../../sandbox/claude.js';
import { endStep, setAgentRunSession, startStepAt } from '../../store/agent-runs.js';
import { addUsage, spendSoFar } from '../../store/task-attempts.js';
import type { AgentSettings } from '../agent-settings.js';
import { decideAct } from '../decide/act.js';
import { budgetExceeded, budgetStop, cliBudgetSpent, phaseBudgeted, remainingUsd } from '../decide/budget.js';
import { type Next, stop } from '../decide/outcome.js';
import { afterCall, gateBeforeCall, watchRetries } from '../provider.js';
import { type Attempt, outsideGate, policyFor, type RarvState, retryDelayMs, type Workspace } from '../task-run.js';

/** The call answered (or used up its turns); or the attempt ends here with `next`. */
export type Called = { kind: 'answered'; result: ClaudeRunResult } | { kind: 'stop'; next: Next };

/**
 * Runs `spec` in the worktree as one Act call. `stepInput` is added to the
 * step's recorded input (e.g. which breakdown attempt this is).
 */
export async function callAgent(
  a: Attempt,
  ws: Workspace,
  state: RarvState,
  settings: AgentSettings,
  spec: Omit<ClaudeRunSpec, 'maxBudgetUsd'>,
  stepInput: Record<string, unknown> = {},
): Promise<Called> {
  const { ctx, task, config, agentRunId } = a;
  const readSpend = () =>
    spendSoFar(ctx.pool, task.project_id, phaseBudgeted(config.budget) ? task.phase : null, task.id);
  const spend = await readSpend();
  const over = budgetStop(config.budget, spend);
  if (over) return { kind: 'stop', next: stop(over) };
  const maxBudgetUsd = remainingUsd(config.budget, spend);
  let wrap: ClaudeWrap | undefined;
  try {
    wrap = await claudeSandbox({
      enabled: config.sandbox.enabled && !ctx.sandboxOff,
      samgitaHome: ctx.samgitaHome,
      repo: task.working_path ?? ws.path,
      network: config.sandbox.network,
    });
  } catch (err) {
    // No agent runs unconfined because the machine lacks bubblewrap: the project waits for a person.
    if (!isSamgitaError(err, 'SANDBOX_UNAVAILABLE')) throw err;
    return {
      kind: 'stop',
      next: stop({ kind: 'park', reason: err.message, hold: { cause: 'sandbox', reason: err.message } }),
    };
  }
  // During a provider outage only one call at a time (the probe) goes out.
  const policy = policyFor(ctx, config);
  const gate = await gateBeforeCall(ctx.pool, agentRunId, policy, task.running_since);
  if ('kind' in gate) return { kind: 'stop', next: stop(gate) };
  const { id, startedAt } = await startStepAt(
    ctx.pool,
    agentRunId,
    task.id,
    state.loop,
    'act',
    { model: settings.model, tier: settings.tier, max_budget_usd: maxBudgetUsd, probe: gate.probe, ...stepInput },
    settings.model,
  );
  const watch = watchRetries(ctx.pool, { runId: agentRunId, policy, actor: a.actor, projectId: task.project_id });
  const result = await outsideGate(ctx, () =>
    runClaude({
      bin: ctx.claudeBin,
      cwd: ws.path,
      claude: { ...spec, ...(maxBudgetUsd !== undefined ? { maxBudgetUsd } : {}) },
      // The CLI retries a failed call a little by itself; a longer outage is the provider gate's,
      // and its probe is one call.
      env: { CLAUDE_CODE_MAX_RETRIES: gate.probe ? '0' : String(config.claude.max_retries), ...ctx.claudeEnv },
      timeoutMs: config.limits.claude_timeout,
      signal: a.signal,
      ...(wrap ? { wrap } : {}),
      onEvent: (e: ClaudeEvent) => {
        a.logs.event(e);
        watch(e);
      },
      onStderr: (line) => a.logs.stderr(line),
    }),
  );
  const usage = { usage: result.summary.usage, costUsd: result.summary.costUsd };
  await addUsage(ctx.pool, { taskId: task.id, agentRunId, projectId: task.project_id }, usage.usage, usage.costUsd);
  await setAgentRunSession(ctx.pool, agentRunId, result.summary.sessionId ?? null);
  const answered = result.outcome.kind === 'success' || result.outcome.kind === 'max_turns';
  await endStep(
    ctx.pool,
    id,
    answered ? 'completed' : 'failed',
    { outcome: result.outcome, session_id: result.summary.sessionId, turns: result.summary.numTurns },
    usage,
  );
  const call = await afterCall(ctx.pool, {
    runId: agentRunId,
    probe: gate.probe,
    startedAt,
    result,
    policy,
    runningSince: task.running_since,
    projectId: task.project_id,
    actor: a.actor,
  });
  const decision = decideAct({
    outcome: result.outcome,
    call,
    retryDelayMs: retryDelayMs(ctx, task),
    now: new Date(),
  });
  if (decision.kind === 'budget_spent') {
    const spent = budgetExceeded(config.budget, await readSpend());
    return { kind: 'stop', next: stop(cliBudgetSpent(spent, maxBudgetUsd)) };
  }
  if (decision.kind === 'stop') {
    if (call.kind === 'provider_failed')
      a.log.info({ trouble: call.failure.kind, message: call.failure.message }, 'provider trouble; waiting');
    if (decision.unexpected)
      ctx.log.warn({ outcome: result.outcome, stderr: result.stderrTail.slice(-500) }, 'claude run failed');
    return { kind: 'stop', next: stop(decision.outcome) };
  }
  return { kind: 'answered', result };
}
