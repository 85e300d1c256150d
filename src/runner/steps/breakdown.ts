/**
 * The discovery task's Act: its work is the structured work breakdown of the
 * PRD. It asks Claude Code for it with --json-schema (analyze.ts: the prompt,
 * the validation, an invalid answer asked again with the error fed back),
 * each call an ordinary Act call (call-agent.ts: budget, provider gate,
 * usage), then re-plans the later phases from the valid answer
 * (reconcile/breakdown.ts). It edits no file, so the schema check is its
 * verify: no verify command runs, and there is no branch to integrate or
 * publish. An answer that never validates leaves the deterministic plan in
 * place: the task still completes, with a `project.breakdown_rejected` event
 * saying why.
 */
import { resolveAgentTypes } from '../../agents/catalog.js';
import { PHASES, type PhaseName } from '../../domain/states.js';
import { enabledPhases } from '../../planner/plan.js';
import type { PlannedTask } from '../../planner/types.js';
import { askForBreakdown, BREAKDOWN_CALL, breakdownAnswer } from '../../reconcile/analyze.js';
import { currentDesired, recordBreakdown, recordedBreakdown, replanFromBreakdown } from '../../reconcile/breakdown.js';
import { recordEvent } from '../../store/events.js';
import { saveStep } from '../../store/task-attempts.js';
import type { AgentSettings } from '../agent-settings.js';
import { breakdownPhases } from '../decide/act.js';
import { type Next, stop } from '../decide/outcome.js';
import type { Attempt, RarvState, Workspace } from '../task-run.js';
import { callAgent } from './call-agent.js';
import { reflect } from './reflect.js';

export async function actBreakdown(
  a: Attempt,
  ws: Workspace,
  state: RarvState,
  settings: AgentSettings,
): Promise<Next> {
  const { ctx, task, config } = a;
  const phase = (PHASES as readonly string[]).includes(task.phase) ? (task.phase as PhaseName) : 'discovery';
  const phases = breakdownPhases(enabledPhases(config.phases), phase);
  const prd = task.prd_content ?? '';
  if (phases.length === 0 || !prd.trim()) return done(a, state, true, 'no later phase to plan: nothing to break down');
  const before = await currentDesired(ctx.pool, task.project_id, prd);
  if (!before) return stale(a, state, 0);
  const replan = (desired: NonNullable<typeof before>, analysisId: string, tasks?: readonly PlannedTask[]) =>
    replanFromBreakdown(ctx.pool, {
      projectId: task.project_id,
      desired,
      analysisId,
      tasks,
      task: { id: task.id, key: task.key, phase },
      actor: a.actor,
    });
  // Asked already (`samgita run --analyze`, or this task's attempt that stopped before re-planning): not again.
  const recorded = await recordedBreakdown(ctx.pool, task.project_id, before.rev);
  if (recorded) {
    const r = await replan(before, recorded);
    return done(a, state, true, `work breakdown recorded already; ${r.result.summary.text}`);
  }

  const outcome = await askForBreakdown<Next>(
    { prd, catalog: resolveAgentTypes(config.agents), phases },
    async ({ prompt, jsonSchema, attempt }) => {
      const called = await callAgent(
        a,
        ws,
        state,
        settings,
        {
          prompt,
          jsonSchema,
          ...BREAKDOWN_CALL,
          model: settings.model,
          appendSystemPrompt: settings.systemPrompt,
          extraArgs: config.claude.extra_args,
        },
        { breakdown_attempt: attempt },
      );
      if (called.kind === 'stop') return { kind: 'stop', stop: called.next };
      return { kind: 'answer', answer: breakdownAnswer(called.result), costUsd: called.result.summary.costUsd };
    },
  );
  if (outcome.kind === 'stop') return outcome.stop;
  if (outcome.kind === 'invalid') {
    a.log.warn({ err: outcome.error.message }, 'no valid work breakdown; the deterministic plan stays');
    await rejected(a, 'invalid', { attempts: outcome.attempts, error: outcome.error.message });
    return done(a, state, false, `no valid work breakdown after ${outcome.attempts} attempts; the plan is kept`);
  }
  const { result } = outcome;
  // The calls took a while: a PRD pushed meanwhile was planned without this breakdown, and stays so.
  const desired = await currentDesired(ctx.pool, task.project_id, prd);
  if (!desired) return stale(a, state, result.attempts);
  const r = await replan(desired, await recordBreakdown(ctx.pool, task.project_id, desired.rev, result), result.tasks);
  const summary = (result.breakdown as { summary?: unknown } | null)?.summary;
  state.agentSummary = [
    `Work breakdown: ${result.tasks.length} task(s) for ${phases.join(', ')} after ${result.attempts} attempt(s);`,
    `re-planned: ${r.result.summary.text}`,
    typeof summary === 'string' ? summary : '',
  ]
    .filter(Boolean)
    .join(' ');
  return done(a, state, true, `work breakdown validated; ${r.result.summary.text}`);
}

async function stale(a: Attempt, state: RarvState, attempts: number): Promise<Next> {
  await rejected(a, 'stale', { attempts });
  return done(a, state, false, 'the PRD changed while it was broken down; the plan of the new PRD is kept');
}

/** The breakdown was not used: a warning event, in the project's log, says why. */
async function rejected(a: Attempt, reason: 'invalid' | 'stale', data: Record<string, unknown>): Promise<void> {
  await recordEvent(a.ctx.pool, {
    projectId: a.task.project_id,
    kind: 'project.breakdown_rejected',
    subjectType: 'task',
    subjectId: a.task.id,
    actor: a.actor,
    data: { key: a.task.key, reason, ...data },
  });
}

/**
 * Reflect (the summary becomes a memory), then the task is done: `passed`
 * when a breakdown validated (or there was nothing to break down), else
 * unverified — it completes, but is never shown as verified. Its branch has
 * no commit, so there is nothing to integrate or publish: it completes here.
 */
async function done(a: Attempt, state: RarvState, passed: boolean, summary: string): Promise<Next> {
  state.agentSummary ??= summary;
  await reflect(a, state);
  state.checkpoint.verify = { passed, status: passed ? 'passed' : 'unverified', summary, commands: [] };
  await saveStep(a.ctx.pool, a.task.id, 'done', state.loop, state.checkpoint);
  return stop({ kind: 'completed' });
}
