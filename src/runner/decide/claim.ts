/** Whether a task's job may claim it, and the concurrency caps at claim time. Pure. */
import type { ProjectStatus, TaskStatus } from '../../domain/states.js';

export type StartDecision =
  /** Nothing to do: the task ended or is not in the queue (a stale job). */
  | { kind: 'skip' }
  /** The project stopped after the job was queued: the task goes back (or ends with a cancelled project). */
  | { kind: 'release' }
  | { kind: 'claim' };

export function decideStart(task: TaskStatus, project: ProjectStatus): StartDecision {
  if (task !== 'queued' && task !== 'running') return { kind: 'skip' };
  if (project !== 'running') return { kind: 'release' };
  return { kind: 'claim' };
}

export interface Caps {
  /** limits.max_concurrent_agents */
  project: number;
  /** agents.<type>.max_concurrency, if set */
  type: number | null;
  agentType: string;
}

/** The cap a claim would exceed (as the setting to raise), or null when there is room. */
export function capReached(live: { total: number; same_type: number }, caps: Caps): string | null {
  if (live.total >= caps.project) return `limits.max_concurrent_agents (${caps.project})`;
  if (caps.type !== null && live.same_type >= caps.type)
    return `agents.${caps.agentType}.max_concurrency (${caps.type})`;
  return null;
}

/** Delay before a capped task looks again: 0.5 s doubling to 30 s, jittered so waiters spread out. */
export function capDelayMs(waits: number, random: () => number = Math.random): number {
  const ceiling = Math.min(30_000, 500 * 2 ** Math.min(waits, 10));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
