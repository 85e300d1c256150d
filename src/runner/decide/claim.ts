/** Whether a task's job may claim it: the concurrency caps and overlapping areas at claim time. Pure. */
import type { ProjectStatus, TaskStatus } from '../../domain/states.js';
import { areasOverlap } from '../../planner/locate.js';
import type { ProjectLoad } from '../../store/claim-reads.js';

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
export function capReached(load: ProjectLoad, caps: Caps): string | null {
  let total = 0;
  for (const n of Object.values(load.byType)) total += n;
  if (total >= caps.project) return `limits.max_concurrent_agents (${caps.project})`;
  if (caps.type !== null && (load.byType[caps.agentType] ?? 0) >= caps.type)
    return `agents.${caps.agentType}.max_concurrency (${caps.type})`;
  return null;
}

/** The load once a task of `agentType` working in `areas` was claimed: the next claim of a batch counts it. */
export function withClaim(
  load: ProjectLoad,
  task: { key: string; agentType: string; areas: readonly string[] },
): ProjectLoad {
  return {
    byType: { ...load.byType, [task.agentType]: (load.byType[task.agentType] ?? 0) + 1 },
    running: task.areas.length ? [...load.running, { key: task.key, areas: task.areas }] : load.running,
  };
}

/** Delay before a capped task looks again: 0.5 s doubling to 30 s, jittered so waiters spread out. */
export function capDelayMs(waits: number, random: () => number = Math.random): number {
  const ceiling = Math.min(30_000, 500 * 2 ** Math.min(waits, 10));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A running task of the project and the areas it works in. */
export interface RunningAreas {
  key: string;
  areas: readonly string[];
}

/** Why a task waits: the running task it would collide with, and the two areas that overlap. */
export interface AreaConflict {
  task: string;
  area: string;
  theirs: string;
}

/**
 * The running task whose areas overlap `areas`, or null: two tasks that may
 * change the same files do not run at once (the later one waits, then starts
 * from the head the earlier one left). A task with no areas overlaps nothing.
 */
export function areaConflict(areas: readonly string[], running: readonly RunningAreas[]): AreaConflict | null {
  for (const r of running) {
    for (const area of areas) {
      const theirs = r.areas.find((b) => areasOverlap(area, b));
      if (theirs !== undefined) return { task: r.key, area, theirs };
    }
  }
  return null;
}

/** A task waiting out a delay (at a cap or beside an overlapping task). */
export interface Waiter {
  id: string;
  agentType: string;
  areas: readonly string[];
}

/**
 * Which waiting tasks a settled task's freed slot wakes (`waiters` in priority
 * order): every one whose areas overlap the settled task's — it may have
 * waited for exactly that task — and the next `n` others for the freed slot,
 * same agent type first. A woken task that still cannot run waits again.
 */
export function tasksToWake(
  waiters: readonly Waiter[],
  settled: { agentType: string; areas: readonly string[] },
  n: number,
): string[] {
  const overlapping = waiters.filter((w) => areaConflict(w.areas, [{ key: '', areas: settled.areas }]) !== null);
  const rest = waiters.filter((w) => !overlapping.includes(w));
  const next = [
    ...rest.filter((w) => w.agentType === settled.agentType),
    ...rest.filter((w) => w.agentType !== settled.agentType),
  ].slice(0, n);
  return [...overlapping, ...next].map((w) => w.id);
}
