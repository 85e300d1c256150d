import { PHASES, type PhaseName } from '../agents/catalog.js';
import type { Priority, Requirement } from '../prd/types.js';

export const PRIORITY_RANK: Readonly<Record<Priority, number>> = { P0: 0, P1: 1, P2: 2 };

/**
 * Phase order dominates, then P0/P1/P2: the queue claims by this number across
 * phases (perpetual work never jumps ahead of the PRD), and within a phase
 * the most important work first.
 */
export function taskPriority(phase: PhaseName, rank: number): number {
  return PHASES.indexOf(phase) * 3 + rank;
}

/**
 * A task is as urgent as the most urgent requirement it covers; one covering
 * none, or only unprioritized ones, is treated as P1 and never less urgent.
 */
export function requirementRank(reqs: readonly Pick<Requirement, 'priority'>[]): number {
  return Math.min(...reqs.map((r) => (r.priority ? PRIORITY_RANK[r.priority] : 1)), 1);
}
