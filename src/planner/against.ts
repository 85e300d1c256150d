import { type Action, type RecordedTask, reconcilePlan } from './diff.js';
import type { Plan } from './types.js';

/** A requirement as the diff needs it: its identity and whether its meaning changed. */
export interface RequirementRef {
  key: string;
  contentHash: string;
}

export interface AgainstDiff {
  actions: Action[];
  /** Requirement keys of the head PRD relative to the base PRD. */
  requirements: { added: string[]; changed: string[]; removed: string[] };
}

/**
 * The recorded tasks a project planned from `base` would have right after
 * registration: every planned task, pending, with its requirement hash,
 * dependencies, priority, criteria and areas as planned.
 */
export function recordedFromPlan(base: Plan | { tasks: Plan['tasks'] }): RecordedTask[] {
  return base.tasks.map((t) => ({
    key: t.key,
    status: 'pending',
    requirementKey: t.requirementKey,
    requirementHash: t.requirementHash,
    phase: t.phase,
    agentType: t.agentType,
    dependsOn: [...t.dependsOn],
    priority: t.priority,
    acceptanceCriteria: [...t.acceptanceCriteria],
    areas: [...t.areas],
  }));
}

/** Requirement keys added, changed (content hash differs) and removed from `before` to `after`. */
export function requirementChanges(
  before: readonly RequirementRef[],
  after: readonly RequirementRef[],
): AgainstDiff['requirements'] {
  const old = new Map(before.map((r) => [r.key, r.contentHash]));
  const now = new Set(after.map((r) => r.key));
  const added: string[] = [];
  const changed: string[] = [];
  for (const r of after) {
    const prev = old.get(r.key);
    if (prev === undefined) added.push(r.key);
    else if (prev !== r.contentHash) changed.push(r.key);
  }
  const removed = before.filter((r) => !now.has(r.key)).map((r) => r.key);
  return { added, changed, removed };
}

/**
 * `samgita plan --against <rev>`: the head commit's plan diffed against the plan
 * of the base commit taken as the recorded one (all its tasks pending), the way
 * a pull request changes what the base branch would run. Pure: no database.
 */
export function planAgainst(input: {
  base: { plan: Plan; requirements: readonly RequirementRef[] };
  head: { plan: Plan; requirements: readonly RequirementRef[] };
}): AgainstDiff {
  const requirements = requirementChanges(input.base.requirements, input.head.requirements);
  const actions = reconcilePlan({
    desired: input.head.plan,
    recorded: recordedFromPlan(input.base.plan),
    removedRequirementKeys: requirements.removed,
    changedRequirementKeys: requirements.changed,
  });
  return { actions, requirements };
}
