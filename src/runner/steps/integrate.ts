/**
 * Integrate — the merge queue. A verified task branch waits for its project's
 * merge lock (one merge at a time per project, across every runner: a
 * PostgreSQL advisory lock, released by PostgreSQL if the runner dies), is
 * merged onto the current integration head in the queue's own worktree,
 * checked for conflict markers, verified on the combined tree, and the
 * integration branch advances only if all of that passes. Otherwise the task
 * goes back to its agent (decide/integrate.ts says why and with what).
 *
 * For a GitHub project the integration branch is GitHub's: it is synced
 * before the merge, the verified combination becomes the task branch that is
 * pushed, and its pull request is merged by GitHub (`merge: auto`, still under
 * the lock, so in queue order) or waits for people (`merge: manual`).
 */
import path from 'node:path';
import {
  advanceIntegration,
  branchHead,
  checkoutIntegration,
  fastForwardTask,
  markersAdded,
  mergeIntegrationIntoTask,
  mergeTaskBranch,
} from '../../git/integrate.js';
import { endStep, startStepAt } from '../../store/agent-runs.js';
import { recordEvent } from '../../store/events.js';
import { recordIntegration } from '../../store/projects.js';
import { saveStep, setMergeState } from '../../store/task-attempts.js';
import { resolveVerifyCommands } from '../../verify/detect.js';
import type { AgentSettings } from '../agent-settings.js';
import { decideIntegration, type IntegrationResult } from '../decide/integrate.js';
import { type Next, type Outcome, stop, stoppedAtCheckpoint } from '../decide/outcome.js';
import { asVerified } from '../decide/verify.js';
import { acquireMergeLock, MERGE_LOCK_FIRST, type MergeLock } from '../merge-lock.js';
import { type Attempt, outsideGate, type RarvState, type Workspace } from '../task-run.js';
import { runVerify, summarizeVerifyFailure, verifyOptions } from '../verify-commands.js';
import { publish } from './publish.js';
import { sendBack as sendBackToAgent } from './send-back.js';

/** The merge queue's worktree of a project: one per project and runner machine. */
export function integrationDir(samgitaHome: string, projectId: string): string {
  return path.join(samgitaHome, 'worktrees', projectId, '.integration');
}

export async function integrate(a: Attempt, ws: Workspace, state: RarvState, settings: AgentSettings): Promise<Next> {
  const { ctx, task } = a;
  await setMergeState(ctx.pool, task.id, 'waiting', `waiting for the merge queue of ${ws.integrationBranch}`);
  await saveStep(ctx.pool, task.id, 'integrate', state.loop, state.checkpoint);
  const lock = await waitForMergeLock(a);
  if (!lock) return stop(stoppedAtCheckpoint(new Date()));
  const { id } = await startStepAt(ctx.pool, a.agentRunId, task.id, state.loop, 'integrate', {
    branch: ws.integrationBranch,
    task_branch: ws.branch,
  });
  let head: string | null = null;
  let result: IntegrationResult;
  // A GitHub project's integration branch is GitHub's; its pull requests carry the work there.
  let remote = false;
  let published: Outcome | null = null;
  try {
    await setMergeState(ctx.pool, task.id, 'merging', null);
    remote = (await ctx.publisher?.syncIntegration?.(task.project_id, ws.integrationBranch)) ?? false;
    head = await branchHead(task.working_path!, ws.integrationBranch);
    if (!head) throw new Error(`integration branch ${ws.integrationBranch} is gone from ${task.working_path}`);
    const own = state.checkpoint.verify?.status ?? (state.checkpoint.verify?.passed ? 'passed' : 'unverified');
    result = await outsideGate(ctx, () => mergeAndVerify(a, ws, head!, own, remote), MERGE_LOCK_FIRST);
    if (result.kind === 'merged' && remote) {
      // The pull request carries exactly the combination verified here: it is up to date with its base, so
      // with `merge: auto` GitHub merges it in queue order (still under the lock); otherwise people do.
      await fastForwardTask(ws.path, result.sha);
      state.checkpoint.lastCommit = result.sha;
      published = await publish(a, ws, state, asVerified(state.checkpoint.verify));
      if (published.kind === 'completed') {
        await ctx.publisher?.syncIntegration?.(task.project_id, ws.integrationBranch);
        result = { ...result, sha: (await branchHead(task.working_path!, ws.integrationBranch)) ?? result.sha };
      }
    } else if (result.kind === 'merged') {
      // Compare-and-swap under the merge lock: only a head nobody else moved is advanced.
      const advanced = await advanceIntegration(task.working_path!, ws.integrationBranch, result.sha, head);
      if (!advanced) throw new Error(`integration branch ${ws.integrationBranch} moved while merging`);
    }
    if (result.kind === 'merged' && (!remote || published?.kind === 'completed')) {
      await recordIntegration(ctx.pool, task.project_id, {
        branch: ws.integrationBranch,
        head: result.sha,
        verify: {
          head: result.sha,
          status: result.verify.status,
          commands: result.verify.commands,
          summary: result.verify.status === 'passed' ? 'all verify commands passed' : 'no verify command to run',
          at: new Date().toISOString(),
        },
      });
    }
  } finally {
    await lock.release();
  }
  await endStep(ctx.pool, id, result.kind === 'merged' || result.kind === 'nothing' ? 'completed' : 'failed', result);
  const decision = decideIntegration(result, ws.integrationBranch);
  if (decision.kind === 'integrated' && published && published.kind !== 'completed') {
    // A pull request that waits for review (or for GitHub to accept the merge): integrated once it is merged.
    await setMergeState(ctx.pool, task.id, 'waiting', published.kind === 'park' ? published.reason : null);
    await saveStep(ctx.pool, task.id, 'done', state.loop, state.checkpoint);
    return stop(published);
  }
  if (decision.kind === 'integrated') {
    const sha = decision.sha ?? head;
    await setMergeState(
      ctx.pool,
      task.id,
      'merged',
      decision.sha ? `merged as ${decision.sha.slice(0, 12)}` : 'nothing new to merge',
      sha,
    );
    await recordEvent(ctx.pool, {
      projectId: task.project_id,
      kind: 'task.integrated',
      subjectType: 'task',
      subjectId: task.id,
      actor: a.actor,
      data: { key: task.key, branch: ws.integrationBranch, commit: sha, merged: decision.sha !== null },
    });
    a.logs.system(`integrated into ${ws.integrationBranch} at ${sha?.slice(0, 12)}`);
    await saveStep(ctx.pool, task.id, 'done', state.loop, state.checkpoint);
    // Published already (GitHub), or nothing of its own to publish: the task is done.
    if (published || (remote && decision.sha === null)) return stop(published ?? { kind: 'completed' });
    return { kind: 'integrated' };
  }
  return sendBack(a, ws, state, settings, head!, decision);
}

/** The project's merge lock (merge-lock.ts), or null when the task stops or the runner drains while it waits. */
function waitForMergeLock(a: Attempt): Promise<MergeLock | null> {
  const signals = a.ctx.drain ? [a.signal, a.ctx.drain] : [a.signal];
  return acquireMergeLock(a.ctx, a.task.project_id, AbortSignal.any(signals));
}

/** Under the merge lock: the task branch merged onto `head` in the queue's worktree, then judged there. */
async function mergeAndVerify(
  a: Attempt,
  ws: Workspace,
  head: string,
  ownVerify: string,
  fastForward: boolean,
): Promise<IntegrationResult> {
  const { ctx, task, config } = a;
  const repo = task.working_path!;
  const dir = integrationDir(ctx.samgitaHome, task.project_id);
  await checkoutIntegration(repo, dir, head);
  const merge = await mergeTaskBranch(
    dir,
    ws.branch,
    `Integrate ${task.key}: ${task.title}`,
    {
      'Samgita-Task': task.id,
      'Samgita-Project': task.project_id,
      'Samgita-Agent': task.agent_type,
      'Samgita-Verify': ownVerify,
    },
    { name: config.git.author_name, email: config.git.author_email },
    fastForward,
  );
  if (merge.kind !== 'merged') return merge;
  const found = await markersAdded(dir, head, merge.sha);
  if (found.length) return { kind: 'markers', found };
  // Judged by the commands the combined tree itself calls for (samgita.yaml's, else detected there).
  const { commands } = await resolveVerifyCommands(config, dir);
  const options = await verifyOptions(
    config,
    { samgitaHome: ctx.samgitaHome, repo, sandboxOff: ctx.sandboxOff },
    a.signal,
  );
  const verify = await runVerify(dir, commands, options);
  for (const s of verify.steps)
    a.logs.verify(
      `[${ws.integrationBranch}] $ ${s.command} → ${s.timedOut ? 'timed out' : `exit ${s.exitCode}`}\n${s.output}`,
    );
  if (!verify.passed) return { kind: 'broken', failure: summarizeVerifyFailure(verify) };
  return {
    kind: 'merged',
    sha: merge.sha,
    verify: { status: commands.length ? 'passed' : 'unverified', commands: commands.map((c) => c.command) },
  };
}

/**
 * Back to the agent: the integration head merged into the task's branch (its
 * conflicts left for the agent), the reason in the continuity log, one more
 * RARV loop from Reason — bounded like a failing verify.
 */
async function sendBack(
  a: Attempt,
  ws: Workspace,
  state: RarvState,
  settings: AgentSettings,
  head: string,
  d: Extract<ReturnType<typeof decideIntegration>, { kind: 'send_back' }>,
): Promise<Next> {
  const { ctx, task, config } = a;
  const identity = { name: config.git.author_name, email: config.git.author_email };
  const trailers = { 'Samgita-Task': task.id, 'Samgita-Project': task.project_id, 'Samgita-Agent': task.agent_type };
  await mergeIntegrationIntoTask(ws.path, head, identity, trailers);
  // From now on the task's own base is the integration head it was brought up to.
  ws.baseSha = head;
  state.checkpoint.baseSha = head;
  await setMergeState(ctx.pool, task.id, 'sent_back', d.note);
  await recordEvent(ctx.pool, {
    projectId: task.project_id,
    kind: 'task.sent_back',
    subjectType: 'task',
    subjectId: task.id,
    actor: a.actor,
    data: { key: task.key, reason: d.reason, files: d.files, note: d.note, branch: ws.integrationBranch },
  });
  a.logs.system(`sent back from ${ws.integrationBranch}: ${d.note}`);
  return sendBackToAgent(a, state, settings, {
    failure: `integration into ${ws.integrationBranch}: ${d.note}`,
    continuity: d.continuity,
    memory: `${task.key}: sent back from ${ws.integrationBranch}: ${d.note}`,
  });
}
