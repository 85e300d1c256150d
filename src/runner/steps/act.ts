/**
 * Act: runs the Claude Code CLI in the worktree with the agent type's model,
 * tools and limits, within what is left of the budget (one call, see
 * call-agent.ts); commits the agent's changes as a checkpoint. The discovery
 * task's Act is the structured breakdown instead (breakdown.ts).
 */
import { commitCheckpoint } from '../../git/commit.js';
import { scanDiff } from '../../sandbox/secret-scan.js';
import { knownSecrets } from '../../sandbox/secrets.js';
import { saveStep } from '../../store/task-attempts.js';
import type { AgentSettings } from '../agent-settings.js';
import { recordArtifacts } from '../artifacts.js';
import { actKind } from '../decide/act.js';
import type { Next } from '../decide/outcome.js';
import type { Attempt, RarvState, Workspace } from '../task-run.js';
import { actBreakdown } from './breakdown.js';
import { callAgent } from './call-agent.js';
import { sendBack } from './send-back.js';

export async function act(a: Attempt, ws: Workspace, state: RarvState, settings: AgentSettings): Promise<Next> {
  const { ctx, task, config } = a;
  // The breakdown asks with a prompt of its own (the PRD and the schema), not the Reason step's.
  if (actKind(task) === 'breakdown') return actBreakdown(a, ws, state, settings);
  // Resumed straight into Act: rebuild the prompt first.
  if (!state.prompt) return { kind: 'step', step: 'reason' };
  const called = await callAgent(a, ws, state, settings, {
    prompt: state.prompt,
    model: settings.model,
    permissionMode: config.claude.permission_mode,
    allowedTools: settings.allowedTools,
    disallowedTools: settings.disallowedTools,
    maxTurns: settings.maxTurns,
    appendSystemPrompt: settings.systemPrompt,
    extraArgs: config.claude.extra_args,
  });
  if (called.kind === 'stop') return called.next;
  const { result } = called;
  state.agentSummary = result.summary.resultText ?? null;
  const checkpoint = await commitCheckpoint(
    ws.path,
    `${task.title}\n\nRARV loop ${state.loop + 1} of task ${task.key}.`,
    { 'Samgita-Task': task.id, 'Samgita-Project': task.project_id, 'Samgita-Agent': task.agent_type },
    { name: config.git.author_name, email: config.git.author_email },
    (diff) => scanDiff(diff, knownSecrets(), 'commit'),
  );
  if (checkpoint.kind === 'blocked') {
    // Nothing is committed; the agent is told where the credential is and loops back to remove it.
    a.logs.system(checkpoint.reason);
    a.log.warn({ task: task.key }, 'secret scan blocked a checkpoint commit');
    return sendBack(a, state, settings, { failure: checkpoint.reason });
  }
  const commit = checkpoint.kind === 'committed' ? checkpoint : null;
  if (commit) {
    state.checkpoint.lastCommit = commit.sha;
    await recordArtifacts(ctx.pool, task, ws.path, commit.sha, commit.files);
  }
  state.standing = await saveStep(ctx.pool, task.id, 'reflect', state.loop, state.checkpoint, {
    sessionId: result.summary.sessionId ?? null,
    headSha: commit?.sha ?? null,
  });
  return { kind: 'step', step: 'reflect' };
}
