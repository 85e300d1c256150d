/**
 * Reason: packs the task, its requirement, the PRD excerpt, the continuity
 * log, project memories, the branch state and what earlier tasks integrated
 * since the branch started into the prompt for Act; what went in and its size
 * is stored on the step — for memories also which ones, their scores and why
 * (matched words, similarity, importance, recency), so a run can be explained later.
 */
import { branchState, integratedSince } from '../../git/commit.js';
import { recordInstantStep } from '../../store/agent-runs.js';
import { touchMemories } from '../../store/memories.js';
import { saveStep } from '../../store/task-attempts.js';
import { buildContext } from '../context.js';
import type { Next } from '../decide/outcome.js';
import { type Recall, recallForTask } from '../memories.js';
import { prdExcerpt } from '../prd-excerpt.js';
import type { Attempt, RarvState, Workspace } from '../task-run.js';

export async function reason(a: Attempt, ws: Workspace, state: RarvState): Promise<Next> {
  const { ctx, task } = a;
  // A branch made just now starts at the integration head (see checkout): nothing was
  // integrated since, and git need not be asked.
  const requirement = task.requirement_key
    ? { key: task.requirement_key, title: task.requirement_title ?? '', body: task.requirement_body ?? '' }
    : null;
  // What both the memory recall and the prompt say of the task.
  const facts = {
    key: task.key,
    title: task.title,
    description: task.description,
    acceptanceCriteria: task.payload.acceptanceCriteria ?? [],
    areas: task.payload.areas ?? [],
  };
  const [branch, integrated, recall] = await Promise.all([
    branchState(ws.path, ws.baseSha, { fresh: state.fresh }),
    state.fresh ? null : integratedSince(ws.path, ws.baseSha, ws.integrationBranch),
    // Under the gate, embedding request included: giving the permit back while git work of
    // this task goes on beside it would let more tasks than permits at the pool.
    recallForTask(
      { pool: ctx.pool, log: a.log, embedder: ctx.embedder },
      { projectId: task.project_id, taskId: task.id, ...facts, requirement },
      a.signal,
    ),
  ]);
  state.fresh = false;
  const context = buildContext({
    projectName: task.project_name,
    task: { ...facts, phase: task.phase, agentType: task.agent_type },
    requirement,
    prdExcerpt: prdExcerpt(task.prd_content ?? '', task.requirement_key),
    continuity: [...(state.checkpoint.continuity ?? []), ...(task.payload.reviewFeedback ?? [])],
    memories: recall.memories.map((m) => m.content),
    repo: { branch: ws.branch, ...branch },
    integrated: integrated && { branch: ws.integrationBranch, base: ws.baseSha, ...integrated },
    verifyCommands: ws.verifyCommands.map((c) => c.command),
  });
  state.prompt = context.prompt;
  const included = context.sections.find((s) => s.name === 'memories')?.included ?? [];
  await recordInstantStep(
    ctx.pool,
    a.agentRunId,
    task.id,
    state.loop,
    'reason',
    {
      sections: context.sections.map((s) => ({ name: s.name, tokens: s.tokens, truncated: s.truncated })),
      memories: memoryRecord(recall, included),
    },
    { tokens: context.tokens, budget: context.budget, prompt: state.prompt },
  );
  await touchMemories(
    ctx.pool,
    included.map((i) => recall.memories[i]!.id),
  );
  state.standing = await saveStep(ctx.pool, task.id, 'act', state.loop, state.checkpoint, { branch: ws.branch });
  return { kind: 'step', step: 'act' };
}

/** What the step records of its memories: how they were retrieved, and each one that went in with why. */
export function memoryRecord(recall: Recall, included: readonly number[]) {
  return {
    mode: recall.mode,
    fallback: recall.fallback,
    query_lexemes: recall.lexemes,
    considered: recall.memories.length,
    ms: recall.ms,
    included: included.map((i) => {
      const m = recall.memories[i]!;
      return {
        id: m.id,
        type: m.type,
        score: m.score,
        ...m.parts,
        similarity: m.similarity,
        matched: m.matched.slice(0, 20),
      };
    }),
  };
}
