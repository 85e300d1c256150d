/**
 * Act: runs the Claude Code CLI in the worktree with the agent type's model,
 * tools and limits, within what is left of the budget; adds its usage to the
 * task, agent run and project; commits the agent's changes as a checkpoint.
 */
import type { ClaudeEvent } from '../../claude/events.js';
import { runClaude } from '../../claude/run-claude.js';
import { commitCheckpoint } from '../../git/commit.js';
import { endStep, setAgentRunSession, startStepAt } from '../../store/agent-runs.js';
import { addUsage, saveStep, spendSoFar } from '../../store/task-attempts.js';
import type { AgentSettings } from '../agent-settings.js';
import { recordArtifacts } from '../artifacts.js';
import { decideAct } from '../decide/act.js';
import { budgetExceeded, budgetStop, cliBudgetSpent, remainingUsd } from '../decide/budget.js';
import { type Next, stop } from '../decide/outcome.js';
import { afterCall, gateBeforeCall, watchRetries } from '../provider.js';
import { type Attempt, outsideGate, policyFor, type RarvState, retryDelayMs, type Workspace } from '../task-run.js';

export async function act(a: Attempt, ws: Workspace, state: RarvState, settings: AgentSettings): Promise<Next> {
  const { ctx, task, config, agentRunId } = a;
  // Resumed straight into Act: rebuild the prompt first.
  if (!state.prompt) return { kind: 'step', step: 'reason' };
  const spend = await spendSoFar(ctx.pool, task.project_id, task.phase, task.id);
  const over = budgetStop(config.budget, spend);
  if (over) return stop(over);
  const maxBudgetUsd = remainingUsd(config.budget, spend);
  // During a provider outage only one call at a time (the probe) goes out.
  const policy = policyFor(ctx, config);
  const gate = await gateBeforeCall(ctx.pool, agentRunId, policy, task.running_since);
  if ('kind' in gate) return stop(gate);
  const { id, startedAt } = await startStepAt(
    ctx.pool,
    agentRunId,
    task.id,
    state.loop,
    'act',
    { model: settings.model, tier: settings.tier, max_budget_usd: maxBudgetUsd, probe: gate.probe },
    settings.model,
  );
  const watch = watchRetries(ctx.pool, { runId: agentRunId, policy, actor: a.actor, projectId: task.project_id });
  const result = await outsideGate(ctx, () =>
    runClaude({
      bin: ctx.claudeBin,
      cwd: ws.path,
      claude: {
        prompt: state.prompt,
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
      signal: a.signal,
      onEvent: (e: ClaudeEvent) => {
        a.logs.event(e);
        watch(e);
      },
      onStderr: (line) => a.logs.stderr(line),
    }),
  );
  state.agentSummary = result.summary.resultText ?? null;
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
    const spent = budgetExceeded(config.budget, await spendSoFar(ctx.pool, task.project_id, task.phase, task.id));
    return stop(cliBudgetSpent(spent, maxBudgetUsd));
  }
  if (decision.kind === 'stop') {
    if (call.kind === 'provider_failed')
      a.log.info({ trouble: call.failure.kind, message: call.failure.message }, 'provider trouble; waiting');
    if (decision.unexpected)
      ctx.log.warn({ outcome: result.outcome, stderr: result.stderrTail.slice(-500) }, 'claude run failed');
    return stop(decision.outcome);
  }
  const commit = await commitCheckpoint(
    ws.path,
    `${task.title}\n\nRARV loop ${state.loop + 1} of task ${task.key}.`,
    { 'Samgita-Task': task.id, 'Samgita-Project': task.project_id, 'Samgita-Agent': task.agent_type },
    { name: config.git.author_name, email: config.git.author_email },
  );
  if (commit) {
    state.checkpoint.lastCommit = commit.sha;
    await recordArtifacts(ctx.pool, task, ws.path, commit.sha, commit.files);
  }
  await saveStep(ctx.pool, task.id, 'reflect', state.loop, state.checkpoint, {
    sessionId: result.summary.sessionId ?? null,
    headSha: commit?.sha ?? null,
  });
  return { kind: 'step', step: 'reflect' };
}
