import { pickAgent } from '../assign.js';
import { taskBuilder } from '../build.js';
import { selectConstraints } from '../select.js';
import type { PlannedTask } from '../types.js';
import type { PhaseInput } from './input.js';

/**
 * One scaffold task: every later task is verified with the commands it sets
 * up, so it runs alone and first. It covers the technical constraints because
 * they decide the skeleton (language, package manager, test runner).
 */
export function planBootstrap(input: PhaseInput): PlannedTask[] {
  const task = taskBuilder(input.prd);
  return [
    task({
      key: 'bootstrap/repo-scaffold',
      title: 'Scaffold the repository and its conventions',
      what: 'Create the project skeleton: directory layout, package manifest, formatter and linter, test runner, and the verify commands (test, lint, build) that every later task must pass. Record the conventions in docs/CONVENTIONS.md.',
      phase: 'bootstrap',
      agentType: pickAgent(input.catalog, 'ops-devops', 'eng-backend'),
      kind: 'ops',
      requirementKeys: selectConstraints(input.prd).map((r) => r.key),
      dependsOn: [],
      acceptanceCriteria: [
        'A fresh clone installs and runs the verify commands successfully',
        'docs/CONVENTIONS.md describes layout, naming, testing and commit conventions',
      ],
      areas: ['build', 'docs:conventions'],
      rank: 0,
    }),
  ];
}
