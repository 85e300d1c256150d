import { createHash } from 'node:crypto';
import { type AgentCatalog, PHASES, type PhaseName } from '../agents/catalog.js';
import { routeRequirement } from '../agents/route.js';
import { SamgitaError } from '../errors.js';
import { headingSlug, slugify } from '../prd/text.js';
import type { ParsedPrd, Requirement } from '../prd/types.js';
import { topoSort, wouldCycle } from './graph.js';
import type { PhaseEntry, Plan, PlannedTask, PlannerConfig } from './types.js';

/** Phases run by default when samgita.yaml does not list them (perpetual is opt-in). */
export const DEFAULT_PHASES: readonly PhaseName[] = PHASES.filter((p) => p !== 'perpetual');

export interface PlanInput {
  prd: ParsedPrd;
  config?: PlannerConfig | undefined;
  catalog: AgentCatalog;
}

/** Enabled phases from config, in canonical order. Unknown names are a config error. */
export function enabledPhases(phases: readonly PhaseEntry[] | undefined): PhaseName[] {
  if (phases === undefined) return [...DEFAULT_PHASES];
  const names = new Set<string>();
  for (const p of phases) {
    const name = typeof p === 'string' ? p : p.name;
    const enabled = typeof p === 'string' ? true : p.enabled !== false;
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new SamgitaError('CONFIG_YAML_INVALID', `unknown phase "${name}"`, {
        hint: `Phases are: ${PHASES.join(', ')}.`,
        location: { field: 'phases' },
      });
    }
    if (enabled) names.add(name);
  }
  return PHASES.filter((p) => names.has(p));
}

const PRIORITY_RANK = { P0: 0, P1: 1, P2: 2 } as const;

const AREAS: Record<string, string[]> = {
  'eng-frontend': ['web/src/'],
  'eng-backend': ['src/'],
  'eng-database': ['migrations/', 'src/db/'],
  'eng-api': ['src/api/'],
  'eng-infra': ['deploy/', 'src/runner/'],
  'eng-perf': ['bench/'],
  'eng-qa': ['test/'],
  'ops-security': ['src/auth/'],
  'ops-monitor': ['src/metrics/'],
  'ops-sre': ['docs/runbooks/'],
  'ops-devops': ['.github/workflows/', 'package.json'],
  'ops-release': ['CHANGELOG.md'],
  'prod-techwriter': ['docs/', 'README.md'],
  'prod-pm': ['docs/requirements/'],
  'prod-design': ['docs/design/'],
};

/** Dependency layers: a development task may depend on tasks of strictly lower layers. */
const LAYER: Record<string, number> = {
  'eng-database': 0,
  'data-eng': 1,
  'eng-backend': 1,
  'eng-infra': 1,
  'data-ml': 1,
  'eng-api': 2,
  'ops-security': 2,
  'ops-monitor': 2,
  'data-analytics': 2,
  'eng-perf': 2,
  'ops-sre': 2,
  'eng-frontend': 3,
  'eng-mobile': 3,
};

const STOP = new Set(
  'a an and are as at be by for from in into is it of on or that the this to with without via per all any its their can if not but when then also only each both via using use set get add new'.split(
    ' ',
  ),
);

/**
 * The deterministic plan (FR-2.1 fallback, FR-4.2): phase-specific tasks derived
 * from the parsed PRD. Keys are stable across re-plans (they depend on requirement
 * keys and section slugs, not on text or order), so the reconciler can match them.
 *
 * Phase ordering is enforced by phase gating (see `decidePhase` in src/queue/phase.ts); `dependsOn` holds
 * the specific dependencies (an implementation on its design, a dashboard page on
 * the API and backend it uses).
 */
export function planProject(input: PlanInput): Plan {
  const { prd, catalog } = input;
  const config = input.config ?? {};
  const phases = enabledPhases(config.phases);
  const on = new Set<PhaseName>(phases);
  const reqByKey = new Map(prd.requirements.map((r) => [r.key, r]));
  const tasks: PlannedTask[] = [];
  const warnings: string[] = [];

  const agent = (preferred: string, ...fallbacks: string[]): string => {
    for (const t of [preferred, ...fallbacks]) if (catalog.has(t)) return t;
    return catalog.keys().next().value ?? preferred;
  };
  const push = (
    t: Omit<PlannedTask, 'requirementHash' | 'requirementKey' | 'priority' | 'areas' | 'description'> & {
      requirementKeys: string[];
      areas?: string[];
      prio?: number;
      what: string;
    },
  ): PlannedTask | undefined => {
    if (!on.has(t.phase)) return undefined;
    const covered = t.requirementKeys.map((k) => reqByKey.get(k)).filter((r): r is Requirement => r !== undefined);
    const rank = t.prio ?? Math.min(...covered.map((r) => (r.priority ? PRIORITY_RANK[r.priority] : 1)), 1);
    const task: PlannedTask = {
      key: t.key,
      title: t.title,
      description: describe(t.what, covered, t.acceptanceCriteria),
      phase: t.phase,
      agentType: t.agentType,
      priority: PHASES.indexOf(t.phase) * 3 + rank,
      requirementKey: covered[0]?.key ?? null,
      requirementHash: combinedHash(covered),
      requirementKeys: covered.map((r) => r.key),
      dependsOn: t.dependsOn,
      acceptanceCriteria: t.acceptanceCriteria,
      areas: t.areas ?? AREAS[t.agentType] ?? ['docs/'],
      kind: t.kind,
    };
    tasks.push(task);
    return task;
  };

  const byKind = (kind: Requirement['kind']) => prd.requirements.filter((r) => r.kind === kind);
  const topSection = (r: Requirement) => r.sectionPath[0] ?? 'PRD';
  const constraints = byKind('section').filter((r) =>
    r.sectionPath.some((t) => /constraint|tech(nology)? stack/iu.test(t)),
  );

  // bootstrap
  const scaffold = push({
    key: 'bootstrap/repo-scaffold',
    title: 'Scaffold the repository and its conventions',
    what: 'Create the project skeleton: directory layout, package manifest, formatter and linter, test runner, and the verify commands (test, lint, build) that every later task must pass. Record the conventions in docs/CONVENTIONS.md.',
    phase: 'bootstrap',
    agentType: agent('ops-devops', 'eng-backend'),
    kind: 'ops',
    requirementKeys: constraints.map((r) => r.key),
    dependsOn: [],
    acceptanceCriteria: [
      'A fresh clone installs and runs the verify commands successfully',
      'docs/CONVENTIONS.md describes layout, naming, testing and commit conventions',
    ],
    areas: ['package.json', 'README.md', 'docs/CONVENTIONS.md', '.github/'],
    prio: 0,
  });
  const bootstrapDeps = scaffold ? [scaffold.key] : [];

  // discovery
  const breakdown = push({
    key: 'discovery/prd-breakdown',
    title: 'Break the PRD down into a structured work plan',
    what: 'Read the whole PRD and return the structured work breakdown (tasks with agent type, phase, priority, dependencies, acceptance criteria and areas) following the JSON schema you are given. Keep requirement IDs as task references.',
    phase: 'discovery',
    agentType: agent('prod-pm'),
    kind: 'plan',
    requirementKeys: [],
    dependsOn: bootstrapDeps,
    acceptanceCriteria: ['Every functional requirement is covered by at least one task', 'Dependencies form no cycle'],
    prio: 0,
  });
  const discoveryTasks: string[] = breakdown ? [breakdown.key] : [];
  const topSections = new Map<string, Requirement[]>();
  for (const r of prd.requirements) {
    const s = topSection(r);
    topSections.set(s, [...(topSections.get(s) ?? []), r]);
  }
  for (const [section, reqs] of topSections) {
    const slug = headingSlug(section);
    const isPersona = /persona|user/iu.test(section);
    const t = push({
      key: `discovery/${slug}-analyze`,
      title: `Analyze PRD section "${section}"`,
      what: `Analyze the "${section}" section of the PRD: resolve ambiguities with explicit assumptions, note open questions and risks, and write acceptance criteria for each item to docs/requirements/${slug}.md.`,
      phase: 'discovery',
      agentType: agent(isPersona ? 'prod-design' : 'prod-pm', 'prod-pm'),
      kind: 'plan',
      requirementKeys: reqs.map((r) => r.key),
      dependsOn: bootstrapDeps,
      acceptanceCriteria: [
        `docs/requirements/${slug}.md lists every item of the section with testable acceptance criteria`,
        'Assumptions and open questions are stated explicitly',
      ],
      areas: [`docs/requirements/${slug}.md`],
    });
    if (t) discoveryTasks.push(t.key);
  }

  // architecture
  const systemDesign = push({
    key: 'architecture/system-design',
    title: 'Design the system architecture',
    what: 'Design the system: components and their boundaries, data flow, concurrency and failure handling, and how each non-functional target will be met. Write docs/architecture/overview.md and an ADR per major decision.',
    phase: 'architecture',
    agentType: agent('eng-backend'),
    kind: 'design',
    requirementKeys: byKind('non_functional').map((r) => r.key),
    dependsOn: discoveryTasks,
    acceptanceCriteria: [
      'docs/architecture/overview.md covers components, data flow and failure modes',
      'Each non-functional target has a stated approach',
    ],
    areas: ['docs/architecture/'],
    prio: 0,
  });
  const techStack = push({
    key: 'architecture/tech-stack',
    title: 'Choose the technology stack',
    what: 'Choose languages, frameworks, storage and libraries within the technical constraints; record each choice and its alternatives as an ADR.',
    phase: 'architecture',
    agentType: agent('eng-backend'),
    kind: 'design',
    requirementKeys: constraints.map((r) => r.key),
    dependsOn: discoveryTasks,
    acceptanceCriteria: [
      'Every technical constraint is satisfied or an exception is justified',
      'ADRs record the choices',
    ],
    areas: ['docs/adr/'],
    prio: 0,
  });
  const archBase = [systemDesign?.key, techStack?.key].filter((k): k is string => k !== undefined);
  const dataModelTasks = new Map<string, string>(); // entity slug → task key
  const dataModels = byKind('data_model');
  for (const r of dataModels) {
    const entity = slugify(r.title);
    const t = push({
      key: `architecture/${slugify(r.key)}-design`,
      title: `Data model: ${r.title}`,
      what: `Design the "${r.title}" schema from the PRD's data model and write its SQL migration, with constraints and indexes for the queries the requirements imply.`,
      phase: 'architecture',
      agentType: agent(routeRequirement(r, catalog, config.routing).agentType, 'eng-database'),
      kind: 'design',
      requirementKeys: [r.key],
      dependsOn: archBase,
      acceptanceCriteria: [
        `A migration creates ${r.title} with every listed field`,
        'Foreign keys, enums and indexes are defined',
        'The migration applies cleanly to an empty database',
      ],
      areas: ['migrations/', 'src/db/'],
    });
    if (t) dataModelTasks.set(entity, t.key);
  }
  if (dataModels.length === 0 && byKind('functional').length + byKind('bullet').length > 0) {
    const t = push({
      key: 'architecture/data-model-design',
      title: 'Data model',
      what: 'Derive the data model from the requirements and write the SQL migrations for it.',
      phase: 'architecture',
      agentType: agent('eng-database'),
      kind: 'design',
      requirementKeys: [],
      dependsOn: archBase,
      acceptanceCriteria: [
        'Migrations create every entity the requirements need',
        'The migrations apply cleanly to an empty database',
      ],
      areas: ['migrations/', 'src/db/'],
    });
    if (t) dataModelTasks.set('*', t.key);
  }
  const entityDeps = (text: string): string[] => {
    const lower = text.toLowerCase();
    const out = [...dataModelTasks]
      .filter(
        ([entity]) =>
          entity === '*' || new RegExp(`(?<![a-z])${entity.replace(/-/gu, '[ _-]?')}s?(?![a-z])`, 'u').test(lower),
      )
      .map(([, k]) => k);
    return out;
  };
  const apiDesigns: string[] = [];
  const apis = byKind('api');
  for (const r of apis) {
    const t = push({
      key: `architecture/${slugify(r.key)}-design`,
      title: `API contract: ${r.title}`,
      what: `Specify the "${r.title}" endpoints as JSON schemas for requests and responses (the OpenAPI document is generated from them), including errors, pagination and authentication.`,
      phase: 'architecture',
      agentType: agent(routeRequirement(r, catalog, config.routing).agentType, 'eng-api'),
      kind: 'design',
      requirementKeys: [r.key],
      dependsOn: [...archBase, ...entityDeps(r.text)],
      acceptanceCriteria: [
        'Every endpoint listed has a request and response schema',
        'Error responses share one documented shape',
      ],
      areas: ['src/api/schemas/'],
    });
    if (t) apiDesigns.push(t.key);
  }

  // infrastructure
  const ci = push({
    key: 'infrastructure/ci-pipeline',
    title: 'Continuous integration pipeline',
    what: 'Set up CI that runs the verify commands (tests, lint, build) on every push and pull request, with caching and a required status check.',
    phase: 'infrastructure',
    agentType: agent('ops-devops'),
    kind: 'ops',
    requirementKeys: [],
    dependsOn: [...bootstrapDeps, ...(techStack ? [techStack.key] : [])],
    acceptanceCriteria: [
      'CI runs on every pull request and reports a status check',
      'A failing test fails the pipeline',
    ],
    areas: ['.github/workflows/'],
    prio: 0,
  });
  push({
    key: 'infrastructure/environments',
    title: 'Development and production environments',
    what: 'Provide reproducible environments: local development (one command), test services for integration tests, and production configuration via environment variables, documented in docs/operations.md.',
    phase: 'infrastructure',
    agentType: agent('eng-infra', 'ops-devops'),
    kind: 'ops',
    requirementKeys: constraints.map((r) => r.key),
    dependsOn: ci ? [ci.key] : [],
    acceptanceCriteria: [
      'A new machine reaches a running system with the documented commands',
      'No secret is committed; configuration comes from the environment',
    ],
    areas: ['deploy/', 'docs/operations.md'],
  });

  // development: one implementation task per functional requirement / bullet, plus NFR groups and API groups
  const devReqs = prd.requirements.filter((r) => r.kind === 'functional' || r.kind === 'bullet');
  const routed = devReqs.map((r) => ({
    req: r,
    agentType: routeRequirement(r, catalog, config.routing, { phase: 'development' }).agentType,
  }));
  const devKey = (r: Requirement) => `development/${slugify(r.key, 80)}-implement`;
  const apiImpl: string[] = [];
  for (const r of apis) {
    const t = push({
      key: `development/${slugify(r.key)}-implement`,
      title: `Implement API: ${r.title}`,
      what: `Implement the "${r.title}" endpoints exactly as specified by their contract, with handler tests against a real database.`,
      phase: 'development',
      agentType: agent(routeRequirement(r, catalog, config.routing).agentType, 'eng-api'),
      kind: 'implement',
      requirementKeys: [r.key],
      dependsOn: [`architecture/${slugify(r.key)}-design`],
      acceptanceCriteria: [
        'Every endpoint responds as its schema says, including errors',
        'Handler tests cover success and failure cases',
      ],
      areas: ['src/api/'],
    });
    if (t) apiImpl.push(t.key);
  }
  // The API hub: the functional requirement routed to eng-api that talks about the REST API as a whole.
  const apiRouted = routed.filter((x) => x.agentType === 'eng-api');
  const hub = apiRouted.find((x) => /\brest\b|\bapi\b/iu.test(x.req.title)) ?? apiRouted[0];
  const docFreq = documentFrequency(devReqs);
  const rareTerms = (r: Requirement) =>
    new Set(
      [...terms(`${r.title} ${r.text}`)].filter((w) => (docFreq.get(w) ?? 0) / Math.max(devReqs.length, 1) <= 0.2),
    );
  const devDeps = new Map<string, string[]>();
  for (const { req, agentType } of routed) {
    const deps = new Set<string>(archBase.length > 0 && systemDesign ? [systemDesign.key] : []);
    if (agentType === 'eng-database')
      for (const d of entityDeps(req.text).length > 0 ? entityDeps(req.text) : [...dataModelTasks.values()])
        deps.add(d);
    else for (const d of entityDeps(req.text)) deps.add(d);
    if (agentType === 'eng-api') for (const d of apiImpl) deps.add(d);
    devDeps.set(devKey(req), [...deps]);
  }
  // Layering: a task depends on lower-layer tasks it shares rare terms with (a dashboard page on the backend feature it shows).
  const mine = new Map(routed.map((x) => [x.req.key, rareTerms(x.req)]));
  for (const { req, agentType } of routed) {
    const layer = LAYER[agentType] ?? 1;
    const deps = devDeps.get(devKey(req)) ?? [];
    if ((agentType === 'eng-frontend' || agentType === 'eng-mobile') && hub && hub.req.key !== req.key)
      deps.push(devKey(hub.req));
    const candidates = routed
      .filter((o) => o.req.key !== req.key && (LAYER[o.agentType] ?? 1) < layer)
      .map((o) => ({ o, overlap: intersect(mine.get(req.key), mine.get(o.req.key)) }))
      .filter((c) => c.overlap > 0)
      .sort((a, b) => b.overlap - a.overlap)
      .slice(0, 3);
    for (const c of candidates) deps.push(devKey(c.o.req));
    // explicit references ("see FR-7.1")
    for (const ref of req.refs) {
      const target = reqByKey.get(ref);
      if (
        target &&
        (target.kind === 'functional' || target.kind === 'bullet') &&
        !wouldCycle(devDeps, devKey(req), devKey(target))
      )
        deps.push(devKey(target));
    }
    devDeps.set(devKey(req), [...new Set(deps)]);
  }
  for (const { req, agentType } of routed) {
    push({
      key: devKey(req),
      title: `Implement ${req.key.includes('/') ? '' : `${req.key}: `}${req.title}`,
      what: `Implement this requirement test-first in the existing architecture. Add or update automated tests that demonstrate it, and keep the API contract and docs in sync.`,
      phase: 'development',
      agentType,
      kind: 'implement',
      requirementKeys: [req.key],
      dependsOn: devDeps.get(devKey(req)) ?? [],
      acceptanceCriteria: [
        `${req.title} works as specified (${req.key})`,
        'Automated tests exercise the behaviour, including an error case',
        'The verify commands pass',
      ],
      areas: [...(AREAS[agentType] ?? ['src/']), ...topicArea(req)],
    });
  }
  const nfrGroups = groupBy(byKind('non_functional'), (r) => r.key.split('/')[0] ?? r.key);
  const devByType = groupBy(routed, (x) => x.agentType);
  for (const [group, reqs] of nfrGroups) {
    const heading = reqs[0]?.sectionPath.at(-1) ?? group;
    const type = majority(
      reqs.map((r) => routeRequirement(r, catalog, config.routing, { phase: 'development' }).agentType),
    );
    push({
      key: `development/${slugify(group)}-implement`,
      title: `Meet ${heading} targets`,
      what: `Build what is needed to meet the "${heading}" targets below (configuration, instrumentation, mechanisms), reusing existing components.`,
      phase: 'development',
      agentType: agent(type, 'eng-backend'),
      kind: 'implement',
      requirementKeys: reqs.map((r) => r.key),
      dependsOn: systemDesign ? [systemDesign.key] : [],
      acceptanceCriteria: reqs.map((r) => targetCriterion(r)),
      areas: AREAS[type] ?? ['src/'],
    });
  }

  // qa
  const devTaskKeys = (type: string) =>
    (devByType.get(type) ?? []).map((x) => devKey(x.req)).filter((k) => tasks.some((t) => t.key === k));
  for (const [type, items] of [...devByType].sort(([a], [b]) => a.localeCompare(b))) {
    const area = type.replace(/^eng-/u, '');
    const reqKeys = items.map((x) => x.req.key);
    const testTask = push({
      key: `qa/${area}-test`,
      title: `Integration and end-to-end tests: ${area}`,
      what: `Write integration and end-to-end tests for the ${area} requirements below, against real dependencies; report defects as failing tests with a clear reproduction.`,
      phase: 'qa',
      agentType: agent('eng-qa'),
      kind: 'test',
      requirementKeys: reqKeys,
      dependsOn: devTaskKeys(type),
      acceptanceCriteria: [
        'Every requirement listed has at least one integration or end-to-end test',
        'The suite is deterministic (passes 3 runs in a row)',
      ],
      areas: ['test/'],
    });
    push({
      key: `qa/${area}-review`,
      title: `Code review: ${area}`,
      what: `Review the ${area} implementation against its requirements: correctness, error handling, tests, and maintainability. Fix trivial issues; report the rest.`,
      phase: 'qa',
      agentType: agent('review-code'),
      kind: 'review',
      requirementKeys: reqKeys,
      dependsOn: testTask ? [testTask.key] : devTaskKeys(type),
      acceptanceCriteria: ['Findings are listed with file, line and severity', 'No open high-severity finding remains'],
      areas: AREAS[type] ?? ['src/'],
    });
  }
  const securityReqs = [
    ...routed.filter((x) => x.agentType === 'ops-security').map((x) => x.req),
    ...byKind('non_functional').filter((r) => /security/iu.test(r.sectionPath.join(' '))),
  ];
  push({
    key: 'qa/security-review',
    title: 'Security review',
    what: 'Audit the whole codebase and configuration: authentication, secrets handling, input validation, injection, TLS, dependency vulnerabilities. Add regression tests for confirmed issues.',
    phase: 'qa',
    agentType: agent('review-security', 'ops-security'),
    kind: 'review',
    requirementKeys: securityReqs.map((r) => r.key),
    dependsOn: devTaskKeys('ops-security'),
    acceptanceCriteria: [
      'Threat model documented in docs/security.md',
      'No open high-severity finding',
      ...securityReqs.map((r) => targetCriterion(r)),
    ],
    areas: ['src/', 'docs/security.md'],
  });
  for (const [group, reqs] of nfrGroups) {
    const heading = reqs[0]?.sectionPath.at(-1) ?? group;
    const type = majority(reqs.map((r) => routeRequirement(r, catalog, config.routing, { phase: 'qa' }).agentType));
    push({
      key: `qa/${slugify(group)}-verify`,
      title: `Verify ${heading} targets`,
      what: `Measure each "${heading}" target below with a repeatable benchmark or test, commit the harness, and report measured values against targets.`,
      phase: 'qa',
      agentType: agent(type === 'ops-security' ? 'review-security' : type, 'eng-qa'),
      kind: 'test',
      requirementKeys: reqs.map((r) => r.key),
      dependsOn: on.has('development') ? [`development/${slugify(group)}-implement`] : [],
      acceptanceCriteria: reqs.map((r) => targetCriterion(r)),
      areas: ['bench/', 'test/'],
    });
  }
  const acceptanceGroups = groupBy(byKind('acceptance'), (r) => r.sectionKey);
  const lastSlugs = [...acceptanceGroups.keys()].map((k) => k.split('/').at(-1) ?? k);
  for (const [section, reqs] of acceptanceGroups) {
    const heading = reqs[0]?.sectionPath.at(-1) ?? section;
    const last = section.split('/').at(-1) ?? section;
    const slug = lastSlugs.filter((s) => s === last).length > 1 ? slugify(section.replace(/\//gu, '-')) : last;
    push({
      key: `qa/${slug}-acceptance`,
      title: `Acceptance: ${heading}`,
      what: `Demonstrate each "${heading}" criterion below end to end, with an automated check where possible, and record the evidence in docs/acceptance.md.`,
      phase: 'qa',
      agentType: agent('eng-qa'),
      kind: 'test',
      requirementKeys: reqs.map((r) => r.key),
      dependsOn: [],
      acceptanceCriteria: reqs.map((r) => r.text.replace(/\n/gu, ' — ')),
      areas: ['test/e2e/', 'docs/acceptance.md'],
    });
  }

  // deployment
  const deployPipeline = push({
    key: 'deployment/pipeline',
    title: 'Deployment pipeline',
    what: 'Automate deployment (blue-green or rolling) from CI with health checks and one-command rollback; document the environments.',
    phase: 'deployment',
    agentType: agent('ops-devops'),
    kind: 'ops',
    requirementKeys: [],
    dependsOn: [],
    acceptanceCriteria: [
      'A tagged commit deploys without manual steps',
      'A failed health check rolls back automatically',
    ],
    areas: ['.github/workflows/', 'deploy/'],
    prio: 0,
  });
  const monitoring = push({
    key: 'deployment/monitoring',
    title: 'Production monitoring and alerts',
    what: 'Expose metrics, structured logs and health endpoints; define dashboards and alerts on the non-functional targets; write runbooks for each alert.',
    phase: 'deployment',
    agentType: agent('ops-monitor'),
    kind: 'ops',
    requirementKeys: [],
    dependsOn: [],
    acceptanceCriteria: ['Metrics endpoint scrapes successfully', 'Every alert links to a runbook'],
    areas: ['src/metrics/', 'docs/runbooks/'],
  });
  const docs = push({
    key: 'deployment/documentation',
    title: 'User and operator documentation',
    what: 'Write the getting-started guide, configuration reference, API reference and operations guide, checking every example against the running system.',
    phase: 'deployment',
    agentType: agent('prod-techwriter'),
    kind: 'doc',
    requirementKeys: [],
    dependsOn: [],
    acceptanceCriteria: [
      'A new user can follow the getting-started guide to a working setup',
      'Every documented command and endpoint exists',
    ],
    areas: ['docs/', 'README.md'],
  });
  push({
    key: 'deployment/release',
    title: 'Cut the first release',
    what: 'Version the release, write the changelog and release notes, tag it, and run the rollout checklist (smoke tests, rollback readiness).',
    phase: 'deployment',
    agentType: agent('ops-release', 'ops-devops'),
    kind: 'ops',
    requirementKeys: [],
    dependsOn: [deployPipeline?.key, monitoring?.key, docs?.key].filter((k): k is string => k !== undefined),
    acceptanceCriteria: ['CHANGELOG.md lists the shipped requirements', 'The release is tagged and deployed'],
    areas: ['CHANGELOG.md'],
  });

  // business and growth
  const roster = (phase: 'business' | 'growth', defaults: [string, string, string][]) => {
    const keys: string[] = [];
    const extra = Object.keys(config.agents ?? {})
      .filter(
        (type) =>
          catalog.get(type)?.phases.includes(phase) &&
          !defaults.some(([d]) => d === type) &&
          !type.startsWith('review-'),
      )
      .sort()
      .map((type): [string, string, string] => [
        type,
        catalog.get(type)?.role ?? type,
        `Deliver the ${phase} work of your role for this product.`,
      ]);
    for (const [type, title, what] of [...defaults, ...extra]) {
      if (!catalog.has(type)) continue;
      const t = push({
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
        areas: [`docs/${phase}/`],
      });
      if (t) keys.push(t.key);
    }
    push({
      key: `${phase}/review`,
      title: `Review ${phase} deliverables`,
      what: `Review the ${phase} deliverables for accuracy against the product and consistency with each other.`,
      phase,
      agentType: agent('review-business'),
      kind: 'review',
      requirementKeys: [],
      dependsOn: keys,
      acceptanceCriteria: ['Every deliverable reviewed with concrete fixes applied or listed'],
      areas: [`docs/${phase}/`],
    });
  };
  roster('business', [
    [
      'biz-marketing',
      'Positioning and launch material',
      'Write the positioning, messaging per persona, and the launch announcement and landing page copy.',
    ],
    [
      'biz-legal',
      'Terms, privacy policy and license review',
      'Draft the terms of service and privacy policy and review third-party licenses.',
    ],
    ['biz-support', 'Support documentation', 'Write the FAQ, troubleshooting guide and support process.'],
    ['biz-finance', 'Pricing and unit economics', 'Model pricing and unit economics from the real running costs.'],
  ]);
  roster('growth', [
    [
      'growth-hacker',
      'Growth experiments',
      'Propose and specify the first growth experiments with metrics and thresholds.',
    ],
    ['growth-success', 'Onboarding journey', 'Design the onboarding journey to first value and its health signals.'],
    ['growth-community', 'Community plan', 'Plan the community channels and write the contributor guide.'],
  ]);

  // Drop dependencies on tasks that are not in the plan (disabled phases), then validate.
  const present = new Set(tasks.map((t) => t.key));
  for (const t of tasks) t.dependsOn = [...new Set(t.dependsOn.filter((d) => present.has(d) && d !== t.key))];
  topoSort(tasks, 'plan');

  if (on.has('development')) {
    const covered = new Set(tasks.flatMap((t) => t.requirementKeys));
    for (const r of prd.requirements) {
      if (r.kind === 'functional' && !covered.has(r.key))
        warnings.push(`requirement ${r.key} is not covered by any task`);
    }
  }
  return { title: prd.title, phases, tasks, warnings };
}

export interface PerpetualInput extends PlanInput {
  /** 1-based improvement cycle number; part of every task key. */
  cycle: number;
  /** Overrides config.perpetual.max_tasks_per_cycle. */
  maxTasks?: number | undefined;
}

const IMPROVEMENTS: { slug: string; type: string; title: string; what: string }[] = [
  {
    slug: 'performance',
    type: 'eng-perf',
    title: 'Performance pass',
    what: 'Benchmark the hottest paths against the non-functional targets and fix the worst regression found.',
  },
  {
    slug: 'test-gaps',
    type: 'eng-qa',
    title: 'Close test gaps',
    what: 'Find untested behaviour (coverage, recent bug fixes) and add the missing tests.',
  },
  {
    slug: 'security',
    type: 'review-security',
    title: 'Security audit',
    what: 'Audit changes since the last cycle and dependencies for vulnerabilities; fix or report findings.',
  },
  {
    slug: 'refactor',
    type: 'review-code',
    title: 'Pay down technical debt',
    what: 'Pick the module with the most complexity or duplication and refactor it without behaviour change.',
  },
  {
    slug: 'docs',
    type: 'prod-techwriter',
    title: 'Refresh documentation',
    what: 'Bring the docs in line with the current behaviour; fix stale examples.',
  },
  {
    slug: 'cost',
    type: 'ops-cost',
    title: 'Cost review',
    what: 'Review token and infrastructure spend since the last cycle and implement the largest safe saving.',
  },
  {
    slug: 'observability',
    type: 'ops-monitor',
    title: 'Observability gaps',
    what: 'Find failures that were hard to diagnose and add the metrics, logs or alerts that would have shown them.',
  },
  {
    slug: 'dependencies',
    type: 'ops-devops',
    title: 'Dependency updates',
    what: 'Update outdated dependencies that have security or bug fixes, keeping the verify commands green.',
  },
  {
    slug: 'ux',
    type: 'eng-frontend',
    title: 'UX polish',
    what: 'Fix the most visible usability problems in the UI (empty states, errors, loading).',
  },
  {
    slug: 'experiment',
    type: 'growth-hacker',
    title: 'Growth experiment',
    what: 'Specify the next growth experiment from the latest usage data.',
  },
];

/**
 * Improvement tasks for perpetual mode (FR-4.4): up to N per cycle, rotating
 * through improvement areas so consecutive cycles cover different ones. Keys are
 * "perpetual/cycle-<n>/<area>". Empty when perpetual mode is disabled.
 */
export function planPerpetual(input: PerpetualInput): PlannedTask[] {
  const perpetual = input.config?.perpetual;
  if (perpetual?.enabled !== true) return [];
  const max = input.maxTasks ?? perpetual.max_tasks_per_cycle ?? 3;
  if (!Number.isInteger(input.cycle) || input.cycle < 1) {
    throw new SamgitaError('INVALID_INPUT', `perpetual cycle must be a positive integer, got ${input.cycle}`);
  }
  const candidates = IMPROVEMENTS.filter((i) => input.catalog.has(i.type));
  const n = Math.min(max, candidates.length);
  const start = ((input.cycle - 1) * n) % Math.max(candidates.length, 1);
  const out: PlannedTask[] = [];
  for (let i = 0; i < n; i++) {
    const c = candidates[(start + i) % candidates.length];
    if (!c) continue;
    out.push({
      key: `perpetual/cycle-${input.cycle}/${c.slug}`,
      title: `${c.title} (cycle ${input.cycle})`,
      description: `${c.what}\n\nProduct: ${input.prd.title ?? 'see PRD.md'}. Keep the change small, tested, and the verify commands green.`,
      phase: 'perpetual',
      agentType: c.type,
      priority: PHASES.indexOf('perpetual') * 3 + 1,
      requirementKey: null,
      requirementHash: null,
      requirementKeys: [],
      dependsOn: [],
      acceptanceCriteria: [
        'The improvement is measurable (before/after) or covered by a test',
        'The verify commands pass',
      ],
      areas: AREAS[c.type] ?? ['src/'],
      kind: 'improve',
    });
  }
  return out;
}

/** sha256 over the covered requirements' keys and content hashes (null when none). */
export function combinedHash(reqs: readonly Pick<Requirement, 'key' | 'contentHash'>[]): string | null {
  if (reqs.length === 0) return null;
  if (reqs.length === 1) return reqs[0]?.contentHash ?? null;
  const h = createHash('sha256');
  for (const r of [...reqs].sort((a, b) => a.key.localeCompare(b.key))) h.update(`${r.key}\0${r.contentHash}\n`);
  return h.digest('hex');
}

function describe(what: string, reqs: readonly Requirement[], criteria: readonly string[]): string {
  const parts = [what];
  if (reqs.length > 0) {
    parts.push(
      reqs
        .map((r) => {
          const where = r.sectionPath.join(' › ');
          const head = `${r.key}${r.priority ? ` (${r.priority})` : ''}${where ? ` — ${where}` : ''}, PRD line ${r.line}:`;
          return `${head}\n${indent(r.text)}`;
        })
        .join('\n\n'),
    );
  }
  if (criteria.length > 0) parts.push(`Acceptance criteria:\n${criteria.map((c) => `- ${c}`).join('\n')}`);
  return parts.join('\n\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function targetCriterion(r: Requirement): string {
  const target = r.attributes.Target ?? r.attributes.Implementation;
  return target ? `${r.title}: ${target}` : r.text.replace(/\n/gu, ' — ');
}

function topicArea(r: Requirement): string[] {
  const heading = r.sectionPath.at(-1);
  if (!heading) return [];
  const topic = slugify(heading.replace(/^[A-Z]+-\d+(\.\d+)*:?\s*/u, ''));
  return topic ? [topic] : [];
}

function terms(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9]+/u)
      .filter((w) => w.length > 2 && !STOP.has(w) && !/^\d+$/u.test(w))
      .map((w) => w.replace(/(ing|ed|es|s)$/u, '')),
  );
}

function documentFrequency(reqs: readonly Requirement[]): Map<string, number> {
  const df = new Map<string, number>();
  for (const r of reqs) for (const w of terms(`${r.title} ${r.text}`)) df.set(w, (df.get(w) ?? 0) + 1);
  return df;
}

function intersect(a: Set<string> | undefined, b: Set<string> | undefined): number {
  if (!a || !b) return 0;
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

function majority(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0] ?? 'eng-backend';
  for (const [v, n] of counts) if (n > (counts.get(best) ?? 0)) best = v;
  return best;
}
