import { routeRequirement } from '../../agents/route.js';
import { slugify } from '../../prd/text.js';
import type { Requirement } from '../../prd/types.js';
import { majorityType, pickAgent } from '../assign.js';
import { taskBuilder } from '../build.js';
import { oneLine, targetCriterion } from '../describe.js';
import { areaOf, topicOf, workOf } from '../locate.js';
import { implementKey, qaSubject, targetGroup, targetImplementKey, targetVerifyKey } from '../name.js';
import { groupBy, selectKind } from '../select.js';
import type { PlannedTask } from '../types.js';
import { type PhaseInput, plannedOf } from './input.js';

/**
 * Checks by someone other than the author: tests and a code review per kind
 * of implementation, a security review of everything, a measurement per group
 * of targets, and an end-to-end demonstration per acceptance section.
 */
export function planQa(input: PhaseInput): PlannedTask[] {
  const { prd, catalog, config, routed } = input;
  const task = taskBuilder(prd);
  const tasks: PlannedTask[] = [];
  const byType = groupBy(routed, (x) => x.agentType);
  const built = (type: string) =>
    plannedOf(
      input,
      'development',
      (byType.get(type) ?? []).map((x) => implementKey(x.req)),
    );

  for (const [type, items] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
    const subject = qaSubject(type);
    const reqKeys = items.map((x) => x.req.key);
    const test = task({
      key: `qa/${subject}-test`,
      title: `Integration and end-to-end tests: ${subject}`,
      what: `Write integration and end-to-end tests for the ${subject} requirements below, against real dependencies; report defects as failing tests with a clear reproduction.`,
      phase: 'qa',
      agentType: pickAgent(catalog, 'eng-qa'),
      kind: 'test',
      requirementKeys: reqKeys,
      dependsOn: built(type),
      acceptanceCriteria: [
        'Every requirement listed has at least one integration or end-to-end test',
        'The suite is deterministic (passes 3 runs in a row)',
      ],
      areas: [areaOf('tests', workOf(type))],
    });
    tasks.push(
      test,
      task({
        key: `qa/${subject}-review`,
        title: `Code review: ${subject}`,
        what: `Review the ${subject} implementation against its requirements: correctness, error handling, tests, and maintainability. Fix trivial issues; report the rest.`,
        phase: 'qa',
        agentType: pickAgent(catalog, 'review-code'),
        kind: 'review',
        requirementKeys: reqKeys,
        // Reviewing code whose tests are still being written would review a moving target.
        dependsOn: [test.key],
        acceptanceCriteria: [
          'Findings are listed with file, line and severity',
          'No open high-severity finding remains',
        ],
        areas: [workOf(type)],
      }),
    );
  }

  const targets = groupBy(selectKind(prd, 'non_functional'), targetGroup);
  const securityReqs = [
    ...routed.filter((x) => x.agentType === 'ops-security').map((x) => x.req),
    ...selectKind(prd, 'non_functional').filter((r) => /security/iu.test(r.sectionPath.join(' '))),
  ];
  tasks.push(
    task({
      key: 'qa/security-review',
      title: 'Security review',
      what: 'Audit the whole codebase and configuration: authentication, secrets handling, input validation, injection, TLS, dependency vulnerabilities. Add regression tests for confirmed issues.',
      phase: 'qa',
      agentType: pickAgent(catalog, 'review-security', 'ops-security'),
      kind: 'review',
      requirementKeys: securityReqs.map((r) => r.key),
      dependsOn: built('ops-security'),
      acceptanceCriteria: [
        'Threat model documented in docs/security.md',
        'No open high-severity finding',
        ...securityReqs.map((r) => targetCriterion(r)),
      ],
      areas: ['security', 'docs:security'],
    }),
  );

  for (const [group, reqs] of targets) {
    const heading = reqs[0]?.sectionPath.at(-1) ?? group;
    const type = majorityType(reqs.map((r) => routeRequirement(r, catalog, config.routing, { phase: 'qa' }).agentType));
    tasks.push(
      task({
        key: targetVerifyKey(group),
        title: `Verify ${heading} targets`,
        what: `Measure each "${heading}" target below with a repeatable benchmark or test, commit the harness, and report measured values against targets.`,
        phase: 'qa',
        // Whoever builds security does not audit it.
        agentType: pickAgent(catalog, type === 'ops-security' ? 'review-security' : type, 'eng-qa'),
        kind: 'test',
        requirementKeys: reqs.map((r) => r.key),
        dependsOn: plannedOf(input, 'development', [targetImplementKey(group)]),
        acceptanceCriteria: reqs.map((r) => targetCriterion(r)),
        areas: [areaOf('tests', reqs[0] ? topicOf(reqs[0]) : undefined)],
      }),
    );
  }

  tasks.push(...planAcceptance(input, selectKind(prd, 'acceptance')));
  return tasks;
}

/**
 * One task per acceptance section, keyed by the section's own slug unless two
 * sections share it ("Goals" under two parents), then by its whole path.
 */
function planAcceptance(input: PhaseInput, acceptance: readonly Requirement[]): PlannedTask[] {
  const task = taskBuilder(input.prd);
  const groups = groupBy(acceptance, (r) => r.sectionKey);
  const lastSlugs = [...groups.keys()].map((k) => k.split('/').at(-1) ?? k);
  return [...groups].map(([section, reqs]) => {
    const heading = reqs[0]?.sectionPath.at(-1) ?? section;
    const last = section.split('/').at(-1) ?? section;
    const slug = lastSlugs.filter((s) => s === last).length > 1 ? slugify(section.replace(/\//gu, '-')) : last;
    return task({
      key: `qa/${slug}-acceptance`,
      title: `Acceptance: ${heading}`,
      what: `Demonstrate each "${heading}" criterion below end to end, with an automated check where possible, and record the evidence in docs/acceptance.md.`,
      phase: 'qa',
      agentType: pickAgent(input.catalog, 'eng-qa'),
      kind: 'test',
      requirementKeys: reqs.map((r) => r.key),
      dependsOn: [],
      acceptanceCriteria: reqs.map((r) => oneLine(r.text)),
      // One evidence document for all sections: they would edit the same file.
      areas: ['tests:acceptance', 'docs:acceptance'],
    });
  });
}
