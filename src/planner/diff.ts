import type { TaskStatus } from '../domain/states.js';
import type { Plan, PlannedTask } from './types.js';

export type { TaskStatus };

/** What the database says about a task (observed state). */
export interface RecordedTask {
  key: string;
  status: TaskStatus;
  requirementKey: string | null;
  requirementHash: string | null;
  phase: string;
  agentType: string;
  dependsOn: readonly string[];
  /** Compared when present. */
  priority?: number | undefined;
  /**
   * Compared when present: what an agent's breakdown may refine on a task it
   * overrides without changing its requirement (its acceptance criteria, the
   * files or areas it touches — which decide what it may run beside). The
   * text is not: it quotes the PRD beyond the task's own requirements, and a
   * task is re-planned for its requirements only.
   */
  acceptanceCriteria?: readonly string[] | undefined;
  areas?: readonly string[] | undefined;
}

export type CancelReason = 'requirement_removed' | 'not_desired';

export type Action =
  | { type: 'create'; key: string; phase: string; task: PlannedTask }
  /** Not started yet (pending/blocked/queued): replace its definition. */
  | { type: 'update'; key: string; phase: string; task: PlannedTask; changes: string[] }
  /** Running and its requirement changed: stop the run and start again from the new text. */
  | { type: 'restart'; key: string; phase: string; task: PlannedTask; changes: string[] }
  /** Finished (completed/failed/dead_letter/cancelled) and its requirement changed: run it again. */
  | { type: 'reopen'; key: string; phase: string; task: PlannedTask; changes: string[]; previousStatus: TaskStatus }
  /**
   * No longer wanted. The applier should also set the task's requirement hash to
   * CANCELLED_HASH, so that if the task comes back into the plan it is reopened
   * (a task cancelled by a person keeps its hash and stays cancelled).
   */
  | { type: 'cancel'; key: string; phase: string; reason: CancelReason; previousStatus: TaskStatus };

export type ActionType = Action['type'];

export interface ReconcileInput {
  desired: Plan | { tasks: readonly PlannedTask[] };
  recorded: readonly RecordedTask[];
  /** Requirement keys present in the previous PRD revision and absent from this one. */
  removedRequirementKeys?: readonly string[] | undefined;
  /**
   * Requirement keys whose content changed. Hashes decide; this list only matters
   * for recorded tasks without a requirement hash (rows written before hashing).
   */
  changedRequirementKeys?: readonly string[] | undefined;
}

/** Requirement hash the applier records on reconciler cancels (see the cancel action). */
export const CANCELLED_HASH = 'cancelled-by-reconcile';

const NOT_STARTED: ReadonlySet<TaskStatus> = new Set(['pending', 'blocked', 'queued']);
const FINISHED: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'dead_letter', 'cancelled']);

/**
 * Desired plan vs recorded tasks → the actions that make the records match.
 * Pure and idempotent: when the records already match the plan, no actions.
 *
 * - create: desired key not recorded.
 * - update: not started and the requirement hash, agent type, phase, dependencies
 *   or priority differ.
 * - restart: running and the requirement hash differs (other differences wait).
 * - reopen: completed/failed/dead_letter/cancelled and the requirement hash differs.
 * - cancel: recorded, not desired, and not completed or cancelled.
 * Actions come in desired-plan order, cancels last in recorded order.
 */
export function reconcilePlan(input: ReconcileInput): Action[] {
  const recorded = new Map(input.recorded.map((r) => [r.key, r]));
  const changedKeys = new Set(input.changedRequirementKeys ?? []);
  const removed = new Set(input.removedRequirementKeys ?? []);
  const desiredKeys = new Set<string>();
  const actions: Action[] = [];

  for (const task of input.desired.tasks) {
    desiredKeys.add(task.key);
    const rec = recorded.get(task.key);
    if (!rec) {
      actions.push({ type: 'create', key: task.key, phase: task.phase, task });
      continue;
    }
    const requirementChanged =
      rec.requirementHash === null && task.requirementHash !== null
        ? task.requirementKeys.some((k) => changedKeys.has(k)) || rec.requirementKey !== task.requirementKey
        : rec.requirementHash !== task.requirementHash;
    const changes: string[] = [];
    if (requirementChanged) changes.push('requirement');
    if (rec.agentType !== task.agentType) changes.push('agentType');
    if (rec.phase !== task.phase) changes.push('phase');
    if (!sameSet(rec.dependsOn, task.dependsOn)) changes.push('dependsOn');
    if (rec.priority !== undefined && rec.priority !== task.priority) changes.push('priority');
    // A changed requirement rewrites the whole task (its criteria quote it); otherwise a refinement shows as itself.
    if (!requirementChanged) {
      if (rec.acceptanceCriteria !== undefined && !sameList(rec.acceptanceCriteria, task.acceptanceCriteria))
        changes.push('acceptanceCriteria');
      if (rec.areas !== undefined && !sameSet(rec.areas, task.areas)) changes.push('areas');
    }

    if (NOT_STARTED.has(rec.status)) {
      if (changes.length > 0) actions.push({ type: 'update', key: task.key, phase: task.phase, task, changes });
    } else if (rec.status === 'running') {
      if (requirementChanged) actions.push({ type: 'restart', key: task.key, phase: task.phase, task, changes });
    } else if (FINISHED.has(rec.status)) {
      if (requirementChanged) {
        actions.push({ type: 'reopen', key: task.key, phase: task.phase, task, changes, previousStatus: rec.status });
      }
    }
  }

  for (const rec of input.recorded) {
    if (desiredKeys.has(rec.key)) continue;
    if (rec.status === 'completed' || rec.status === 'cancelled') continue;
    const reason: CancelReason =
      rec.requirementKey !== null && removed.has(rec.requirementKey) ? 'requirement_removed' : 'not_desired';
    actions.push({ type: 'cancel', key: rec.key, phase: rec.phase, reason, previousStatus: rec.status });
  }
  return actions;
}

export interface ActionSummary {
  create: number;
  update: number;
  restart: number;
  reopen: number;
  cancel: number;
  /** update + restart + reopen */
  change: number;
  total: number;
  /** "Plan: 12 to add, 1 to change, 2 to cancel." or "No changes. The plan matches the recorded tasks." */
  text: string;
}

export function summarizeActions(actions: readonly Action[]): ActionSummary {
  const n = (t: ActionType) => actions.filter((a) => a.type === t).length;
  const s = {
    create: n('create'),
    update: n('update'),
    restart: n('restart'),
    reopen: n('reopen'),
    cancel: n('cancel'),
  };
  const change = s.update + s.restart + s.reopen;
  const total = actions.length;
  const text =
    total === 0
      ? 'No changes. The plan matches the recorded tasks.'
      : `Plan: ${s.create} to add, ${change} to change, ${s.cancel} to cancel.`;
  return { ...s, change, total, text };
}

/**
 * The actions of a re-plan that may only change the phases after `after` (the
 * discovery task re-planning from its breakdown): tasks of `after` and earlier
 * phases — done, running, or the re-planning task itself — are left alone.
 */
export function actionsAfterPhase(actions: readonly Action[], phases: readonly string[], after: string): Action[] {
  const cut = phases.indexOf(after);
  return actions.filter((a) => phases.indexOf(a.phase) > cut);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
}
