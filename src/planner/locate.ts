import { swarmOf } from '../agents/catalog.js';
import { slugify } from '../prd/text.js';
import type { Requirement } from '../prd/types.js';
import type { Area } from './types.js';

/**
 * The kinds of work a task can do to a project, as area names (see Area).
 * Names, not directories: the planner does not know, and must not assume,
 * how the user's repository is laid out.
 */
export const WORK_AREAS = {
  ui: 'screens, components and client-side state',
  mobile: 'the mobile application',
  api: 'the interface other programs call: endpoints, contracts, authentication of calls',
  service: 'server-side domain logic, background work and integrations',
  data: 'schemas, migrations and stored data',
  pipelines: 'data pipelines and event streams',
  ml: 'models and the code that trains or serves them',
  analytics: 'metrics definitions, queries and reports',
  infra: 'environments, runtime configuration and deployment targets',
  build: 'project skeleton, manifests, tooling and dependencies',
  ci: 'continuous integration',
  deploy: 'deployment automation',
  release: 'versions, changelog and release notes',
  security: 'authentication, authorization, secrets and hardening',
  observability: 'metrics, logs, health checks and alerts',
  operations: 'runbooks and incident handling',
  performance: 'benchmarks and the code paths they measure',
  cost: 'spend and what drives it',
  compliance: 'policies, controls and their evidence',
  tests: 'automated tests and test harnesses',
  code: 'source code at large (refactoring may touch any module)',
  requirements: 'analysed requirements and the work breakdown',
  architecture: 'architecture documents and decision records',
  ux: 'user experience design',
  docs: 'user and operator documentation',
  business: 'business deliverables (positioning, legal, support, finance...)',
  growth: 'growth deliverables (experiments, onboarding, community...)',
} as const;

export type WorkArea = keyof typeof WORK_AREAS;

const WORK_BY_AGENT: Readonly<Record<string, WorkArea>> = {
  'eng-frontend': 'ui',
  'eng-mobile': 'mobile',
  'eng-api': 'api',
  'eng-backend': 'service',
  'eng-database': 'data',
  'eng-infra': 'infra',
  'eng-perf': 'performance',
  'eng-qa': 'tests',
  'ops-devops': 'build',
  'ops-sre': 'operations',
  'ops-incident': 'operations',
  'ops-security': 'security',
  'ops-monitor': 'observability',
  'ops-release': 'release',
  'ops-cost': 'cost',
  'ops-compliance': 'compliance',
  'data-eng': 'pipelines',
  'data-ml': 'ml',
  'data-analytics': 'analytics',
  'prod-pm': 'requirements',
  'prod-design': 'ux',
  'prod-techwriter': 'docs',
  'review-code': 'code',
  'review-security': 'security',
  'review-business': 'business',
};

/**
 * The kind of work an agent type does. A type samgita.yaml declares is its
 * own kind of work: its name is the best description of it there is.
 */
export function workOf(agentType: string): string {
  if (WORK_BY_AGENT[agentType]) return WORK_BY_AGENT[agentType];
  const swarm = swarmOf(agentType);
  if (swarm === 'business' || swarm === 'growth') return swarm;
  return agentType;
}

/**
 * Headings that only say "these are requirements": two requirements under one
 * of them have nothing in common but the document, so each is its own topic.
 */
const GENERIC_HEADING =
  /^(?:(?:functional|non-functional|core|product|key|main|user|system|technical|business)\s+)?(?:requirements?|features?|stories|user stories|capabilities|scope|specifications?|must haves?)$/iu;

/**
 * The PRD group a requirement belongs to, as a slug: its nearest heading
 * without the group ID ("FR-6: Web Dashboard" → "web-dashboard"), or the
 * requirement's own ID under a heading that groups nothing ("Functional
 * Requirements"). Undefined for a requirement outside any heading.
 */
export function topicOf(r: Pick<Requirement, 'sectionPath' | 'key'>): string | undefined {
  const heading = r.sectionPath.at(-1);
  if (!heading) return undefined;
  const name = heading.replace(/^[A-Z]+-\d+(\.\d+)*:?\s*/u, '').trim();
  if (GENERIC_HEADING.test(name)) return slugify(r.key.split('/').at(-1) ?? r.key) || undefined;
  return slugify(name) || undefined;
}

/**
 * "<work>:<topic>", or just "<work>" without a topic or when the topic names
 * the work itself (a PRD section "API" is the whole API, so it must overlap
 * every "api:<group>").
 */
export function areaOf(work: string, topic?: string | undefined): Area {
  return topic && topic !== work ? `${work}:${topic}` : work;
}

/**
 * Equal areas overlap, and so do an area and anything below it ("ui" and
 * "ui:web-dashboard", "src/api" and "src/api/prd.ts"); siblings do not.
 */
export function areasOverlap(a: Area, b: Area): boolean {
  const x = a.replace(/\/+$/u, '');
  const y = b.replace(/\/+$/u, '');
  return x === y || contains(x, y) || contains(y, x);
}

function contains(outer: string, inner: string): boolean {
  return inner.startsWith(`${outer}:`) || inner.startsWith(`${outer}/`);
}
