/**
 * Reason: packs the task, its requirement, the PRD excerpt, the continuity
 * log, project memories, the branch state and what earlier tasks integrated
 * since the branch started into the prompt for Act; what went in and its size
 * is stored on the step.
 */
import { branchState, integratedSince } from '../../git/commit.js';
import { endStep, recallMemories, startStepAt } from '../../store/agent-runs.js';
import { saveStep } from '../../store/task-attempts.js';
import { buildContext } from '../context.js';
import type { Next } from '../decide/outcome.js';
import { prdExcerpt } from '../prd-excerpt.js';
import type { Attempt, RarvState, Workspace } from '../task-run.js';

export async function reason(a: Attempt, ws: Workspace, state: RarvState): Promise<Next> {
  const { ctx, task } = a;
  // A branch made just now starts at the integration head (see checkout): nothing was
  // integrated since, and git need not be asked.
  const [branch, integrated] = await Promise.all([
    branchState(ws.path, ws.baseSha, { fresh: state.fresh }),
    state.fresh ? null : integratedSince(ws.path, ws.baseSha, ws.integrationBranch),
  ]);
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
      areas: task.payload.areas ?? [],
    },
    requirement: task.requirement_key
      ? { key: task.requirement_key, title: task.requirement_title ?? '', body: task.requirement_body ?? '' }
      : null,
    prdExcerpt: prdExcerpt(task.prd_content ?? '', task.requirement_key),
    continuity: [...(state.checkpoint.continuity ?? []), ...(task.payload.reviewFeedback ?? [])],
    memories,
    repo: { branch: ws.branch, ...branch },
    integrated: integrated && { branch: ws.integrationBranch, base: ws.baseSha, ...integrated },
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
