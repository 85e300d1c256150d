import { pickAgent } from '../assign.js';
import { taskBuilder } from '../build.js';
import type { PlannedTask } from '../types.js';
import type { PhaseInput } from './input.js';

const PIPELINE_KEY = 'deployment/pipeline';
const MONITORING_KEY = 'deployment/monitoring';
const DOCUMENTATION_KEY = 'deployment/documentation';

/**
 * Ship it: pipeline, monitoring and documentation in parallel, then a release
 * that needs all three (nothing is released that cannot be deployed, watched
 * and explained).
 */
export function planDeployment(input: PhaseInput): PlannedTask[] {
  const { catalog } = input;
  const task = taskBuilder(input.prd);
  return [
    task({
      key: PIPELINE_KEY,
      title: 'Deployment pipeline',
      what: 'Automate deployment (blue-green or rolling) from CI with health checks and one-command rollback; document the environments.',
      phase: 'deployment',
      agentType: pickAgent(catalog, 'ops-devops'),
      kind: 'ops',
      requirementKeys: [],
      dependsOn: [],
      acceptanceCriteria: [
        'A tagged commit deploys without manual steps',
        'A failed health check rolls back automatically',
      ],
      areas: ['deploy', 'ci'],
      rank: 0,
    }),
    task({
      key: MONITORING_KEY,
      title: 'Production monitoring and alerts',
      what: 'Expose metrics, structured logs and health endpoints; define dashboards and alerts on the non-functional targets; write runbooks for each alert.',
      phase: 'deployment',
      agentType: pickAgent(catalog, 'ops-monitor'),
      kind: 'ops',
      requirementKeys: [],
      dependsOn: [],
      acceptanceCriteria: ['Metrics endpoint scrapes successfully', 'Every alert links to a runbook'],
      areas: ['observability', 'docs:runbooks'],
    }),
    task({
      key: DOCUMENTATION_KEY,
      title: 'User and operator documentation',
      what: 'Write the getting-started guide, configuration reference, API reference and operations guide, checking every example against the running system.',
      phase: 'deployment',
      agentType: pickAgent(catalog, 'prod-techwriter'),
      kind: 'doc',
      requirementKeys: [],
      dependsOn: [],
      acceptanceCriteria: [
        'A new user can follow the getting-started guide to a working setup',
        'Every documented command and endpoint exists',
      ],
      areas: ['docs'],
    }),
    task({
      key: 'deployment/release',
      title: 'Cut the first release',
      what: 'Version the release, write the changelog and release notes, tag it, and run the rollout checklist (smoke tests, rollback readiness).',
      phase: 'deployment',
      agentType: pickAgent(catalog, 'ops-release', 'ops-devops'),
      kind: 'ops',
      requirementKeys: [],
      dependsOn: [PIPELINE_KEY, MONITORING_KEY, DOCUMENTATION_KEY],
      acceptanceCriteria: ['CHANGELOG.md lists the shipped requirements', 'The release is tagged and deployed'],
      areas: ['release'],
    }),
  ];
}
