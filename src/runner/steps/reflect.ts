/**
 * Reflect: what the agent said it did becomes an episodic memory, and the
 * facts and commands in it semantic and procedural ones (src/memory/extract.ts),
 * read by later tasks' Reason step. A lesson already stored is reinforced, not
 * copied; an embeddings endpoint that fails leaves them without vectors, never
 * fails the task.
 */
import { extractMemories, type NewMemory } from '../../memory/extract.js';
import { knownSecrets, redact } from '../../sandbox/secrets.js';
import { endStep, startStepAt } from '../../store/agent-runs.js';
import { saveStep } from '../../store/task-attempts.js';
import type { Next } from '../decide/outcome.js';
import { rememberAll } from '../memories.js';
import { type Attempt, outsideGate, type RarvState } from '../task-run.js';

export async function reflect(a: Attempt, state: RarvState): Promise<Next> {
  const { ctx, task } = a;
  const { id } = await startStepAt(ctx.pool, a.agentRunId, task.id, state.loop, 'reflect', {});
  // Memories are read by every later task of the project: a secret the agent printed stays out.
  const said = redact((state.agentSummary ?? '').trim(), knownSecrets()).slice(0, 2000);
  const learning = said ? `${task.key} (${task.agent_type}): ${said}` : `${task.key}: no summary from the agent`;
  const memories: NewMemory[] = [
    { type: 'episodic', content: learning, importance: 0.5 },
    ...extractMemories({
      key: task.key,
      agentType: task.agent_type,
      summary: said,
      continuity: state.checkpoint.continuity ?? [],
    }),
  ];
  const { stored, embedding } = await rememberAll(
    { pool: ctx.pool, log: a.log, embedder: ctx.embedder, outside: (fn) => outsideGate(ctx, fn) },
    { projectId: task.project_id, taskId: task.id },
    memories,
    a.signal,
  );
  await endStep(ctx.pool, id, 'completed', { memory: learning, memories: stored, embedding });
  state.standing = await saveStep(ctx.pool, task.id, 'verify', state.loop, state.checkpoint);
  return { kind: 'step', step: 'verify' };
}
