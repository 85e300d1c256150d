import type { ParsedPrd, Requirement } from '../prd/types.js';
import { describeTask } from './describe.js';
import { combinedHash } from './hash.js';
import { requirementRank, taskPriority } from './prioritize.js';
import type { Area, PlannedTask } from './types.js';

/** What a phase decides about a task; the rest follows from the requirements it covers. */
export interface TaskSpec extends Pick<PlannedTask, 'key' | 'title' | 'phase' | 'agentType' | 'kind' | 'dependsOn'> {
  /** What to do; the requirements and acceptance criteria are appended. */
  what: string;
  requirementKeys: readonly string[];
  acceptanceCriteria: string[];
  areas: Area[];
  /** P0/P1/P2 rank when the task's own urgency is not its requirements'. */
  rank?: number | undefined;
}

/**
 * A builder bound to one PRD. Requirement keys the PRD does not have are
 * dropped rather than failing: a phase names the requirements it means to
 * cover, the PRD decides which exist.
 */
export function taskBuilder(prd: ParsedPrd): (spec: TaskSpec) => PlannedTask {
  const byKey = new Map(prd.requirements.map((r) => [r.key, r]));
  return (spec) => {
    const covered = spec.requirementKeys.map((k) => byKey.get(k)).filter((r): r is Requirement => r !== undefined);
    return {
      key: spec.key,
      title: spec.title,
      description: describeTask(spec.what, covered, spec.acceptanceCriteria),
      phase: spec.phase,
      agentType: spec.agentType,
      priority: taskPriority(spec.phase, spec.rank ?? requirementRank(covered)),
      requirementKey: covered[0]?.key ?? null,
      requirementHash: combinedHash(covered),
      requirementKeys: covered.map((r) => r.key),
      dependsOn: spec.dependsOn,
      acceptanceCriteria: spec.acceptanceCriteria,
      areas: spec.areas,
      kind: spec.kind,
    };
  };
}
