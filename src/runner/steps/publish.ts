/**
 * After Verify: the verified branch goes where the project wants it. A local
 * run keeps it local (no publisher); the GitHub App pushes it and opens or
 * updates its pull request, and a pull request that waits for review or
 * merge parks the task until then.
 */
import { loadTask, recordPullRequest } from '../../store/task-attempts.js';
import type { Outcome, Verified } from '../decide/outcome.js';
import { type Attempt, outsideGate, type RarvState, type Workspace } from '../task-run.js';

export async function publish(a: Attempt, ws: Workspace, state: RarvState, verified: Verified): Promise<Outcome> {
  const { ctx, task } = a;
  const publisher = ctx.publisher;
  if (!publisher) return { kind: 'completed' };
  // The spend recorded by this attempt's calls, for the pull request's body.
  const fresh = await loadTask(ctx.pool, task.id);
  const published = await outsideGate(ctx, () =>
    publisher.publish({
      projectId: task.project_id,
      taskId: task.id,
      taskKey: task.key,
      title: task.title,
      description: task.description,
      agentType: task.agent_type,
      branch: ws.branch,
      baseBranch: ws.base,
      worktree: ws.path,
      headSha: state.checkpoint.lastCommit ?? null,
      verify: verified,
      costUsd: fresh?.cost_usd ?? 0,
      tokens: fresh?.tokens_used ?? 0,
    }),
  );
  if (!published) return { kind: 'completed' };
  await recordPullRequest(ctx.pool, task.id, published);
  if (published.awaitingMerge)
    return {
      kind: 'park',
      reason: published.mergeRefused
        ? `GitHub refused to merge ${published.prUrl} (${published.mergeRefused}); waiting for it to be merged`
        : `waiting for review of ${published.prUrl}`,
    };
  return { kind: 'completed' };
}
