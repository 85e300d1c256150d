/** Reflect: what the agent said it did becomes an episodic memory, read by later tasks' Reason step. */
import { addMemory, endStep, startStepAt } from '../../store/agent-runs.js';
import { saveStep } from '../../store/task-attempts.js';
import type { Next } from '../decide/outcome.js';
import type { Attempt, RarvState } from '../task-run.js';

export async function reflect(a: Attempt, state: RarvState): Promise<Next> {
  const { ctx, task } = a;
  const { id } = await startStepAt(ctx.pool, a.agentRunId, task.id, state.loop, 'reflect', {});
  const said = (state.agentSummary ?? '').trim().slice(0, 2000);
  const learning = said ? `${task.key} (${task.agent_type}): ${said}` : `${task.key}: no summary from the agent`;
  await addMemory(ctx.pool, {
    projectId: task.project_id,
    taskId: task.id,
    type: 'episodic',
    content: learning,
    importance: 0.5,
  });
  await endStep(ctx.pool, id, 'completed', { memory: learning });
  await saveStep(ctx.pool, task.id, 'verify', state.loop, state.checkpoint);
  return { kind: 'step', step: 'verify' };
}
