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

export interface IntegrationState {
  integration_branch: string | null;
  integration_head: string | null;
  integration_verify: { head: string; status: 'passed' | 'failed' | 'unverified'; summary: string } | null;
}

export type IntegrationGate =
  /** Nothing stands in the way: no integration branch yet, or its head passed (or had nothing to run). */
  | { kind: 'ok' }
  /** The head was never judged: verify it before the phase ends. */
  | { kind: 'verify' }
  | { kind: 'failed'; reason: string };

/**
 * Whether the integration head may close a phase (and complete the project):
 * every merge is verified on the combined tree, so the head normally passed
 * already; a head nobody verified (no merge happened, or the branch moved by
 * other hands) is verified first, and a failing one fails the project.
 */
export function integrationGate(p: IntegrationState): IntegrationGate {
  if (!p.integration_branch || !p.integration_head) return { kind: 'ok' };
  const v = p.integration_verify;
  if (!v || v.head !== p.integration_head) return { kind: 'verify' };
  if (v.status === 'failed')
    return {
      kind: 'failed',
      reason: `the integration head ${p.integration_head.slice(0, 12)} of ${p.integration_branch} fails verify: ${v.summary.split('\n')[0]}`,
    };
  return { kind: 'ok' };
}
