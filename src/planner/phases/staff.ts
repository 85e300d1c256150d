import { pickAgent } from '../assign.js';
import { taskBuilder } from '../build.js';
import { areaOf } from '../locate.js';
import type { PlannedTask } from '../types.js';
import type { PhaseInput } from './input.js';

/** [agent type, title, what to deliver] of a role a phase staffs by default. */
export type Role = readonly [type: string, title: string, what: string];

/**
 * A deliverable per role, then one review of them all. The roles are the
 * defaults the catalog has, plus the types samgita.yaml configures for the
 * phase (reviewers excepted: they review, they do not deliver), so a project
 * can add a role without a planner change.
 */
export function planRoster(input: PhaseInput, phase: 'business' | 'growth', defaults: readonly Role[]): PlannedTask[] {
  const { catalog, config } = input;
  const task = taskBuilder(input.prd);
  const extra = Object.keys(config.agents ?? {})
    .filter(
      (type) =>
        catalog.get(type)?.phases.includes(phase) &&
        !defaults.some(([d]) => d === type) &&
        catalog.get(type)?.swarm !== 'review',
    )
    .sort()
    .map(
      (type): Role => [
        type,
        catalog.get(type)?.role ?? type,
        `Deliver the ${phase} work of your role for this product.`,
      ],
    );
  const tasks: PlannedTask[] = [];
  for (const [type, title, what] of [...defaults, ...extra]) {
    if (!catalog.has(type)) continue;
    tasks.push(
      task({
        key: `${phase}/${type}`,
        title,
        what: `${what} Ground everything in the PRD and in what was actually built.`,
        phase,
        agentType: type,
        kind: phase,
        requirementKeys: [],
        dependsOn: [],
        acceptanceCriteria: [
          'The deliverable is committed under docs/' + phase + '/',
          'Claims match the product as built',
        ],
        areas: [areaOf(phase, type)],
      }),
    );
  }
  tasks.push(
    task({
      key: `${phase}/review`,
      title: `Review ${phase} deliverables`,
      what: `Review the ${phase} deliverables for accuracy against the product and consistency with each other.`,
      phase,
      agentType: pickAgent(catalog, 'review-business'),
      kind: 'review',
      requirementKeys: [],
      dependsOn: tasks.map((t) => t.key),
      acceptanceCriteria: ['Every deliverable reviewed with concrete fixes applied or listed'],
      areas: [phase],
    }),
  );
  return tasks;
}
