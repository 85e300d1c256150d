/**
 * Reason: packs the task, its requirement, the PRD excerpt, the continuity
 * log, project memories and the branch state into the prompt for Act; what
 * went in and its size is stored on the step.
 */
import { branchState } from '../../git/commit.js';
import { endStep, recallMemories, startStepAt } from '../../store/agent-runs.js';
import { saveStep } from '../../store/task-attempts.js';
import { buildContext, prdExcerpt } from '../context.js';
import type { Next } from '../decide/outcome.js';
import type { Attempt, RarvState, Workspace } from '../task-run.js';

export async function reason(a: Attempt, ws: Workspace, state: RarvState): Promise<Next> {
  const { ctx, task } = a;
  const branch = await branchState(ws.path, ws.baseSha, { fresh: state.fresh });
  state.fresh = false;
  const memories = await recallMemories(ctx.pool, task.project_id, task.id);
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
    continuity: [...(state.checkpoint.continuity ?? []), ...(task.payload.reviewFeedback ?? [])],
    memories,
    repo: { branch: ws.branch, ...branch },
    verifyCommands: ws.verifyCommands.map((c) => c.command),
  });
  state.prompt = context.prompt;
  const { id } = await startStepAt(ctx.pool, a.agentRunId, task.id, state.loop, 'reason', {
    sections: context.sections.map((s) => ({ name: s.name, tokens: s.tokens, truncated: s.truncated })),
  });
  await endStep(ctx.pool, id, 'completed', { tokens: context.tokens, budget: context.budget, prompt: state.prompt });
  await saveStep(ctx.pool, task.id, 'act', state.loop, state.checkpoint, { branch: ws.branch });
  return { kind: 'step', step: 'act' };
}
