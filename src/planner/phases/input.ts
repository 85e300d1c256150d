import type { AgentCatalog, PhaseName } from '../../agents/catalog.js';
import type { ParsedPrd } from '../../prd/types.js';
import type { Routed } from '../assign.js';
import type { PlannedTask, PlannerConfig } from '../types.js';

/** Everything a phase planner may read; phase planners are pure functions of it. */
export interface PhaseInput {
  readonly prd: ParsedPrd;
  readonly config: PlannerConfig;
  readonly catalog: AgentCatalog;
  /**
   * Requirements to implement and their agent types, in PRD order. Routed
   * once because development plans a task per entry and QA a test per type,
   * and the two must agree even when development is switched off.
   */
  readonly routed: readonly Routed[];
  /**
   * Keys of the tasks each earlier phase planned, in plan order; a disabled
   * phase has none. A phase depends only on these and on its own tasks.
   */
  readonly earlier: ReadonlyMap<PhaseName, readonly string[]>;
}

export type PhasePlanner = (input: PhaseInput) => PlannedTask[];

export function earlierKeys(input: PhaseInput, phase: PhaseName): readonly string[] {
  return input.earlier.get(phase) ?? [];
}

/** The given keys that an earlier phase actually planned, in the given order. */
export function plannedOf(input: PhaseInput, phase: PhaseName, keys: readonly string[]): string[] {
  const have = new Set(earlierKeys(input, phase));
  return keys.filter((k) => have.has(k));
}
