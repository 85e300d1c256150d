/**
 * Work that cannot go on as it is — verify failed, the secret scan refused
 * its checkpoint commit, the merge queue sent it back — goes back to Reason
 * with why (the continuity log and a procedural memory); after
 * `limits.rarv_loops` loops at a tier the model escalates, and at the
 * strongest tier the attempt fails (decide/verify.ts decides which).
 */
import { rememberMemory } from '../../store/memories.js';
import { saveStep } from '../../store/task-attempts.js';
import { type AgentSettings, agentSettings } from '../agent-settings.js';
import { type Next, stop } from '../decide/outcome.js';
import { decideVerify } from '../decide/verify.js';
import { type Attempt, type RarvState, retryDelayMs } from '../task-run.js';

export interface SendBack {
  /** Why, as the attempt's failure reason when it runs out of loops. */
  failure: string;
  /** The continuity log entry the next Reason shows the agent (default: `Loop n: <failure>`). */
  continuity?: string;
  /** The procedural memory kept for later tasks (default: `<key>: <failure>`). */
  memory?: string;
}

export async function sendBack(a: Attempt, state: RarvState, settings: AgentSettings, why: SendBack): Promise<Next> {
  const { ctx, task, config } = a;
  const { failure } = why;
  const escalations = state.checkpoint.escalations ?? 0;
  const next = agentSettings(config, task.agent_type, escalations + 1);
  const decision = decideVerify({
    passed: false,
    loop: state.loop,
    rarvLoops: config.limits.rarv_loops,
    escalations,
    tier: settings.tier,
    nextTier: next.tier,
    failure,
    retryDelayMs: retryDelayMs(ctx, task),
  });
  if (decision.kind === 'passed') throw new Error('unreachable: a send-back never passes');
  state.checkpoint.continuity = [
    ...(state.checkpoint.continuity ?? []),
    why.continuity ?? `Loop ${state.loop + 1}: ${failure}`,
  ];
  // Without an embedding: send-backs are frequent and must not wait on an endpoint; a later Reflect embeds it.
  await rememberMemory(ctx.pool, {
    projectId: task.project_id,
    taskId: task.id,
    type: 'procedural',
    content: (why.memory ?? `${task.key}: ${failure}`).slice(0, 1500),
    importance: 0.7,
  });
  state.loop = decision.loop;
  if (decision.kind === 'retry') {
    await saveStep(ctx.pool, task.id, 'reason', state.loop, state.checkpoint);
    return stop(decision.outcome);
  }
  if (decision.escalated) {
    state.checkpoint.escalations = decision.escalations;
    a.log.info({ from: settings.model, to: next.model }, 'escalating to a stronger model');
    a.logs.system(`escalating from ${settings.model} to ${next.model} after ${state.loop} failed loops`);
  }
  await saveStep(ctx.pool, task.id, 'reason', state.loop, state.checkpoint);
  return { kind: 'step', step: 'reason' };
}
