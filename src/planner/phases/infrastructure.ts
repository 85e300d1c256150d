import { pickAgent } from '../assign.js';
import { taskBuilder } from '../build.js';
import { selectConstraints } from '../select.js';
import type { PlannedTask } from '../types.js';
import { TECH_STACK_KEY } from './architecture.js';
import { earlierKeys, type PhaseInput, plannedOf } from './input.js';

const CI_KEY = 'infrastructure/ci-pipeline';

/**
 * CI and environments before any feature work, so every development task is
 * checked by the pipeline from its first commit. CI needs the stack chosen.
 */
export function planInfrastructure(input: PhaseInput): PlannedTask[] {
  const { prd, catalog } = input;
  const task = taskBuilder(prd);
  return [
    task({
      key: CI_KEY,
      title: 'Continuous integration pipeline',
      what: 'Set up CI that runs the verify commands (tests, lint, build) on every push and pull request, with caching and a required status check.',
      phase: 'infrastructure',
      agentType: pickAgent(catalog, 'ops-devops'),
      kind: 'ops',
      requirementKeys: [],
      dependsOn: [...earlierKeys(input, 'bootstrap'), ...plannedOf(input, 'architecture', [TECH_STACK_KEY])],
      acceptanceCriteria: [
        'CI runs on every pull request and reports a status check',
        'A failing test fails the pipeline',
      ],
      areas: ['ci'],
      rank: 0,
    }),
    task({
      key: 'infrastructure/environments',
      title: 'Development and production environments',
      what: 'Provide reproducible environments: local development (one command), test services for integration tests, and production configuration via environment variables, documented in docs/operations.md.',
      phase: 'infrastructure',
      agentType: pickAgent(catalog, 'eng-infra', 'ops-devops'),
      kind: 'ops',
      requirementKeys: selectConstraints(prd).map((r) => r.key),
      dependsOn: [CI_KEY],
      acceptanceCriteria: [
        'A new machine reaches a running system with the documented commands',
        'No secret is committed; configuration comes from the environment',
      ],
      areas: ['infra', 'docs:operations'],
    }),
  ];
}
