import { headingSlug } from '../../prd/text.js';
import { pickAgent } from '../assign.js';
import { taskBuilder } from '../build.js';
import { areaOf } from '../locate.js';
import { groupBy } from '../select.js';
import type { PlannedTask } from '../types.js';
import { earlierKeys, type PhaseInput } from './input.js';

/**
 * The key of the task whose work is the structured breakdown: a runner's Act
 * for it asks for the breakdown and re-plans the later phases from it
 * (runner/steps/breakdown.ts) instead of editing files.
 */
export const BREAKDOWN_TASK_KEY = 'discovery/prd-breakdown';

/**
 * The whole-PRD breakdown (the later phases are re-planned from its answer),
 * and one analysis per top-level PRD section so that ambiguities are settled
 * per section, in parallel, before anything is designed.
 */
export function planDiscovery(input: PhaseInput): PlannedTask[] {
  const { prd, catalog } = input;
  const task = taskBuilder(prd);
  const after = [...earlierKeys(input, 'bootstrap')];
  const tasks = [
    task({
      key: BREAKDOWN_TASK_KEY,
      title: 'Break the PRD down into a structured work plan',
      what: 'Read the whole PRD and return the structured work breakdown (tasks with agent type, phase, priority, dependencies, acceptance criteria and areas) following the JSON schema you are given. Keep requirement IDs as task references.',
      phase: 'discovery',
      agentType: pickAgent(catalog, 'prod-pm'),
      kind: 'plan',
      requirementKeys: [],
      dependsOn: after,
      acceptanceCriteria: [
        'Every functional requirement is covered by at least one task',
        'Dependencies form no cycle',
      ],
      // It writes no file, only the plan: an area of its own, so the section analyses run beside it.
      areas: [areaOf('requirements', 'work-breakdown')],
      rank: 0,
    }),
  ];
  for (const [section, reqs] of groupBy(prd.requirements, (r) => r.sectionPath[0] ?? 'PRD')) {
    const slug = headingSlug(section);
    // Personas are about people and their journeys: a designer's question, not a PM's.
    const isPersona = /persona|user/iu.test(section);
    tasks.push(
      task({
        key: `discovery/${slug}-analyze`,
        title: `Analyze PRD section "${section}"`,
        what: `Analyze the "${section}" section of the PRD: resolve ambiguities with explicit assumptions, note open questions and risks, and write acceptance criteria for each item to docs/requirements/${slug}.md.`,
        phase: 'discovery',
        agentType: pickAgent(catalog, isPersona ? 'prod-design' : 'prod-pm', 'prod-pm'),
        kind: 'plan',
        requirementKeys: reqs.map((r) => r.key),
        dependsOn: after,
        acceptanceCriteria: [
          `docs/requirements/${slug}.md lists every item of the section with testable acceptance criteria`,
          'Assumptions and open questions are stated explicitly',
        ],
        areas: [areaOf('requirements', slug)],
      }),
    );
  }
  return tasks;
}
