import { ACTIVE_TASK_STATUSES, PHASES, type PhaseName, type TaskStatus } from '../domain/states.js';

export { PHASES };
export type Phase = PhaseName;
export type { TaskStatus };

const ACTIVE_STATUSES = ACTIVE_TASK_STATUSES;

export type PhaseCounts = Partial<Record<string, Partial<Record<TaskStatus, number>>>>;

export type PhaseDecision =
  | { kind: 'work'; phase: string }
  | { kind: 'advance'; from: string; to: string }
  | { kind: 'complete'; from: string }
  | { kind: 'stuck'; phase: string; failed: number };

function count(c: Partial<Record<TaskStatus, number>> | undefined, statuses: readonly TaskStatus[]): number {
  return statuses.reduce((n, s) => n + (c?.[s] ?? 0), 0);
}

/**
 * Where a project stands (FR-4.3): it works in its current phase while that
 * phase has active tasks; a phase whose tasks are all completed (or cancelled)
 * hands over to the next enabled phase that has tasks; a phase with failed or
 * dead-lettered tasks and nothing left to run is stuck until a human retries.
 */
export function decidePhase(enabled: readonly string[], current: string, counts: PhaseCounts): PhaseDecision {
  const order = enabled.length ? enabled : PHASES;
  const c = counts[current];
  if (count(c, ACTIVE_STATUSES) > 0) return { kind: 'work', phase: current };
  const failed = count(c, ['failed', 'dead_letter']);
  if (failed > 0) return { kind: 'stuck', phase: current, failed };
  const start = order.indexOf(current);
  for (const next of order.slice(start + 1)) {
    if (count(counts[next], ACTIVE_STATUSES) > 0) return { kind: 'advance', from: current, to: next };
  }
  // A phase that is not in the enabled list (config changed) or had no tasks:
  // look from the beginning for the first phase with work left.
  for (const next of order) {
    if (next !== current && count(counts[next], ACTIVE_STATUSES) > 0)
      return { kind: 'advance', from: current, to: next };
  }
  return { kind: 'complete', from: current };
}
