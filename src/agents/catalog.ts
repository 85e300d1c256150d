import { PHASES, type PhaseName } from '../domain/states.js';
import { SamgitaError } from '../errors.js';

/**
 * The 37 agent types in 7 swarms, as data. Each type carries the role
 * instructions appended to Claude Code's system prompt, its default model tier,
 * the Claude Code tools it may use, the phases it works in, and the keywords
 * the router scores requirements against.
 */
export const SWARMS = ['engineering', 'operations', 'business', 'data', 'product', 'growth', 'review'] as const;
export type Swarm = (typeof SWARMS)[number] | 'custom';

export { PHASES, type PhaseName };

export type ModelTier = 'fast' | 'standard' | 'strong';

export interface AgentType {
  type: string;
  swarm: Swarm;
  role: string;
  /** Role instructions, passed with --append-system-prompt. */
  prompt: string;
  tier: ModelTier;
  /** Explicit model id overriding the tier (from samgita.yaml). */
  model?: string;
  allowedTools: string[];
  disallowedTools: string[];
  phases: PhaseName[];
  /** Lower-case words or phrases; a trailing `*` is not needed, matching is by word prefix. */
  keywords: string[];
  maxConcurrency?: number;
  maxTurns?: number;
  /** True for types declared in samgita.yaml that are not in the built-in catalog. */
  custom: boolean;
}

const READ = ['Read', 'Glob', 'Grep', 'LS'];
const EDIT = ['Write', 'Edit', 'MultiEdit'];
/** Engineering: full editing and shell. */
const ENG_TOOLS = [...READ, ...EDIT, 'Bash', 'TodoWrite'];
/** Documents and research, no shell. */
const DOC_TOOLS = [...READ, ...EDIT, 'TodoWrite', 'WebFetch', 'WebSearch'];
/** Review: read, run tests, write review notes. */
const REVIEW_TOOLS = [...READ, 'Write', 'Bash', 'TodoWrite'];

type Def = Omit<AgentType, 'disallowedTools' | 'custom'>;

const ENG_RULES =
  'Work test-first: write or update tests for the behaviour, implement it, and run the verify commands until they pass. Keep changes small and focused on the task; follow the conventions already in the repository. Never report work you did not do.';
const DOC_RULES =
  'Write your output as Markdown files in the repository (under docs/ unless the task says otherwise), concise and concrete, with sources for any external claim. Do not invent facts about the product; state assumptions explicitly.';

const DEFS: Def[] = [
  // engineering
  {
    type: 'eng-frontend',
    swarm: 'engineering',
    role: 'Builds user interfaces: pages, components, client state and live updates.',
    prompt: `You are a senior frontend engineer. Build accessible, responsive UI components and pages that consume the documented API, with live updates where the task asks for them. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['development', 'perpetual'],
    keywords: [
      'dashboard',
      'liveview',
      'ui',
      'user interface',
      'frontend',
      'page',
      'component',
      'kanban',
      'board',
      'grid',
      'editor',
      'textarea',
      'upload',
      'form',
      'button',
      'controls',
      'selector',
      'status page',
      'web',
      'css',
      'preact',
      'react',
      'view',
      'screen',
      'analytics per project',
      'streaming per agent',
    ],
  },
  {
    type: 'eng-backend',
    swarm: 'engineering',
    role: 'Implements server-side domain logic, orchestration, queues and integrations.',
    prompt: `You are a senior backend engineer. Implement domain logic, orchestration, background processing and integrations with clear module boundaries, explicit error handling and timeouts on every external call. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['architecture', 'development', 'perpetual'],
    keywords: [
      'queue',
      'orchestration',
      'orchestrator',
      'task',
      'agent',
      'spawn',
      'retry',
      'escalation',
      'dependencies',
      'dead letter',
      'timeout',
      'claiming',
      'phase',
      'project',
      'cli',
      'wrapper',
      'integration',
      'rate limit',
      'backoff',
      'token usage',
      'context window',
      'model',
      'routing',
      'route tasks',
      'rarv',
      'cycle',
      'workflow',
      'scheduler',
      'worker',
      'git',
      'clone',
      'sync',
      'import',
      'pause',
      'resume',
      'cancel',
      'archive',
      'backend',
      'server',
      'service',
      'business logic',
    ],
  },
  {
    type: 'eng-database',
    swarm: 'engineering',
    role: 'Designs schemas, migrations, queries and data persistence.',
    prompt: `You are a database engineer. Design normalized schemas, write forward-only SQL migrations, index for the real queries, and keep writes transactional. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['architecture', 'development', 'perpetual'],
    keywords: [
      'postgres',
      'postgresql',
      'database',
      'schema',
      'migration',
      'persistence',
      'persist',
      'snapshot',
      'storage',
      'sql',
      'table',
      'index',
      'query',
      'data model',
      'entity',
      'memory',
      'pgvector',
      'embedding',
      'durability',
      'artifact storage',
      'store',
      'save',
    ],
  },
  {
    type: 'eng-mobile',
    swarm: 'engineering',
    role: 'Builds mobile applications and mobile-specific integrations.',
    prompt: `You are a mobile engineer. Build native or cross-platform mobile screens and integrations, handling offline state, permissions and small screens. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['development', 'perpetual'],
    keywords: ['mobile', 'ios', 'android', 'react native', 'flutter', 'push notification', 'app store', 'tablet'],
  },
  {
    type: 'eng-api',
    swarm: 'engineering',
    role: 'Designs and implements HTTP APIs, their schemas, webhooks and OpenAPI documents.',
    prompt: `You are an API engineer. Design resource-oriented HTTP endpoints with JSON schemas for every request and response, consistent error bodies, pagination and versioning, and keep the OpenAPI document generated from the schemas. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['architecture', 'development', 'perpetual'],
    keywords: [
      'rest api',
      'api',
      'endpoint',
      'openapi',
      'swagger',
      'webhook',
      'http',
      'json schema',
      'graphql',
      'route',
      'request',
      'response',
      'sse',
      'server-sent events',
      'notifications for events',
      'rest',
    ],
  },
  {
    type: 'eng-qa',
    swarm: 'engineering',
    role: 'Writes and runs unit, integration and end-to-end tests; hunts regressions.',
    prompt: `You are a QA engineer. Write unit, integration and end-to-end tests that exercise real behaviour against the acceptance criteria, find and report defects with reproduction steps, and keep the suite fast and deterministic. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['development', 'qa', 'perpetual'],
    keywords: [
      'test',
      'testing',
      'qa',
      'e2e',
      'end-to-end',
      'integration test',
      'unit test',
      'regression',
      'coverage',
      'acceptance',
      'verify',
      'validation',
      'tdd',
    ],
  },
  {
    type: 'eng-perf',
    swarm: 'engineering',
    role: 'Measures and improves latency, throughput and resource use.',
    prompt: `You are a performance engineer. Write benchmarks that measure the stated targets, profile the hot paths, and make targeted optimizations with before/after numbers. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['qa', 'development', 'perpetual'],
    keywords: [
      'performance',
      'latency',
      'throughput',
      'p95',
      'p99',
      'benchmark',
      'load',
      'concurrent',
      'concurrency',
      'scaling',
      'scale',
      'spawn time',
      'response time',
      'dispatch latency',
      'optimization',
      'cache',
      'profil',
      'linear',
    ],
  },
  {
    type: 'eng-infra',
    swarm: 'engineering',
    role: 'Builds infrastructure code: clustering, multi-node runtime, containers, provisioning.',
    prompt: `You are an infrastructure engineer. Write reproducible infrastructure as code (containers, provisioning, multi-node runtime configuration) and document how to run it locally and in production. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['bootstrap', 'infrastructure', 'development', 'perpetual'],
    keywords: [
      'cluster',
      'node',
      'distributed',
      'distribution',
      'multi-node',
      'horizontal',
      'migration time',
      'failover',
      'docker',
      'container',
      'kubernetes',
      'terraform',
      'provision',
      'infrastructure',
      'environment',
      'machines',
      'runner',
      'heartbeat',
    ],
  },
  // operations
  {
    type: 'ops-devops',
    swarm: 'operations',
    role: 'Sets up CI/CD pipelines, build tooling, environments and deployments.',
    prompt: `You are a DevOps engineer. Build CI/CD pipelines that run tests, lint and build on every change, manage environment configuration, and automate deployment with rollback. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['bootstrap', 'infrastructure', 'deployment', 'perpetual'],
    keywords: [
      'deploy',
      'deployment',
      'ci',
      'cd',
      'ci/cd',
      'pipeline',
      'github actions',
      'build',
      'release pipeline',
      'environment',
      'blue-green',
      'rollback',
      'scaffold',
      'tooling',
      'lint',
    ],
  },
  {
    type: 'ops-sre',
    swarm: 'operations',
    role: 'Owns reliability: SLOs, recovery, failover, capacity and runbooks.',
    prompt: `You are a site reliability engineer. Define SLOs from the stated targets, make recovery and failover automatic and tested, and write runbooks for the failure modes. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['infrastructure', 'qa', 'deployment', 'perpetual'],
    keywords: [
      'uptime',
      'reliability',
      'recovery',
      'recover',
      'failover',
      'self-heal',
      'restart',
      'durability',
      'availability',
      'slo',
      'sla',
      'rolling restart',
      'data loss',
      'resilience',
      'fault tolerance',
      'capacity',
      'runbook',
    ],
  },
  {
    type: 'ops-security',
    swarm: 'operations',
    role: 'Secures the system: authentication, secrets, encryption, hardening.',
    prompt: `You are a security engineer. Implement authentication and authorization, keep secrets out of code and logs, enforce TLS, validate all input, and document the threat model for the task. ${ENG_RULES}`,
    tier: 'strong',
    allowedTools: ENG_TOOLS,
    phases: ['architecture', 'development', 'qa', 'perpetual'],
    keywords: [
      'authentication',
      'auth',
      'authorization',
      'secret',
      'tls',
      'encryption',
      'security',
      'api key',
      'credential',
      'permission',
      'rbac',
      'oauth',
      'sandbox',
      'vulnerability',
      'csrf',
      'xss',
      'injection',
      'hardening',
    ],
  },
  {
    type: 'ops-monitor',
    swarm: 'operations',
    role: 'Adds metrics, logging, tracing, dashboards and alerts.',
    prompt: `You are an observability engineer. Instrument the code with metrics, structured logs and traces, expose them for scraping, and define alerts on the targets that matter. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['infrastructure', 'development', 'deployment', 'perpetual'],
    keywords: [
      'metrics',
      'monitoring',
      'telemetry',
      'prometheus',
      'grafana',
      'alert',
      'alerting',
      'observability',
      'tracing',
      'audit logging',
      'logging',
      'logs',
      'health check',
    ],
  },
  {
    type: 'ops-incident',
    swarm: 'operations',
    role: 'Handles incidents: triage, mitigation, postmortems, on-call procedures.',
    prompt: `You are an incident responder. Triage failures from logs and metrics, mitigate first, find the root cause, and write a blameless postmortem with follow-up tasks. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['deployment', 'perpetual'],
    keywords: [
      'incident',
      'outage',
      'postmortem',
      'on-call',
      'pager',
      'crash',
      'triage',
      'mitigation',
      'escalation policy',
    ],
  },
  {
    type: 'ops-release',
    swarm: 'operations',
    role: 'Manages releases: versioning, changelogs, release notes, rollout.',
    prompt: `You are a release manager. Version the release, write the changelog and release notes from the merged work, and run the rollout checklist including smoke tests and rollback readiness. ${ENG_RULES}`,
    tier: 'fast',
    allowedTools: ENG_TOOLS,
    phases: ['deployment', 'perpetual'],
    keywords: ['release', 'version', 'changelog', 'release notes', 'rollout', 'semver', 'tag', 'publish'],
  },
  {
    type: 'ops-cost',
    swarm: 'operations',
    role: 'Tracks and reduces cost: token spend, infrastructure bills, budgets.',
    prompt: `You are a FinOps engineer. Measure what the system spends (tokens, compute, storage), enforce budgets, and propose concrete savings with their trade-offs. ${ENG_RULES}`,
    tier: 'fast',
    allowedTools: ENG_TOOLS,
    phases: ['deployment', 'perpetual'],
    keywords: ['cost', 'budget', 'spend', 'billing', 'pricing tier', 'token cost', 'usd', 'savings'],
  },
  {
    type: 'ops-compliance',
    swarm: 'operations',
    role: 'Ensures regulatory and policy compliance: audit trails, data retention, privacy.',
    prompt: `You are a compliance engineer. Map the requirements to the applicable regulations and policies, implement audit trails, retention and privacy controls, and document the evidence. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['qa', 'deployment', 'business', 'perpetual'],
    keywords: [
      'compliance',
      'gdpr',
      'soc 2',
      'soc2',
      'hipaa',
      'audit trail',
      'retention',
      'privacy',
      'pii',
      'regulation',
      'policy',
      'license compliance',
    ],
  },
  // business
  {
    type: 'biz-marketing',
    swarm: 'business',
    role: 'Positions the product and writes marketing material.',
    prompt: `You are a product marketer. Define the positioning and messaging for the target personas and write the launch material (landing page copy, announcement, feature pages). ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['business', 'growth'],
    keywords: [
      'marketing',
      'positioning',
      'messaging',
      'landing page',
      'launch',
      'brand',
      'campaign',
      'seo',
      'announcement',
    ],
  },
  {
    type: 'biz-sales',
    swarm: 'business',
    role: 'Creates sales material: pitch, pricing pages, objection handling.',
    prompt: `You are a sales lead. Write the sales narrative, qualification criteria, demo script and answers to common objections for the target customers. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['business'],
    keywords: ['sales', 'pitch', 'demo', 'prospect', 'deal', 'pricing page', 'customer acquisition', 'lead'],
  },
  {
    type: 'biz-finance',
    swarm: 'business',
    role: 'Models pricing, unit economics and financial projections.',
    prompt: `You are a finance analyst. Build the pricing model and unit economics from the product's real costs, and state the assumptions behind every number. ${DOC_RULES}`,
    tier: 'standard',
    allowedTools: DOC_TOOLS,
    phases: ['business'],
    keywords: ['pricing', 'revenue', 'finance', 'unit economics', 'forecast', 'margin', 'subscription', 'invoice'],
  },
  {
    type: 'biz-legal',
    swarm: 'business',
    role: 'Drafts terms, privacy policy, licensing review.',
    prompt: `You are legal counsel for a software startup. Draft terms of service and a privacy policy fitting what the product actually does, and review third-party licenses; flag anything that needs a qualified lawyer. ${DOC_RULES}`,
    tier: 'strong',
    allowedTools: DOC_TOOLS,
    phases: ['business'],
    keywords: ['legal', 'terms of service', 'privacy policy', 'license', 'licensing', 'contract', 'dpa', 'trademark'],
  },
  {
    type: 'biz-support',
    swarm: 'business',
    role: 'Writes support documentation, FAQs and support processes.',
    prompt: `You are a customer support lead. Write the FAQ, troubleshooting guides for likely failures, and the support process with response targets. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['business', 'growth'],
    keywords: ['support', 'faq', 'troubleshooting', 'help desk', 'customer service', 'ticket'],
  },
  {
    type: 'biz-hr',
    swarm: 'business',
    role: 'Plans team, hiring and onboarding for the product.',
    prompt: `You are an HR partner. Describe the roles the product needs to run, the hiring plan and the onboarding guide for new contributors. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['business'],
    keywords: ['hiring', 'recruiting', 'onboarding', 'team', 'hr', 'culture', 'job description'],
  },
  {
    type: 'biz-investor',
    swarm: 'business',
    role: 'Prepares investor material: pitch deck narrative, metrics, updates.',
    prompt: `You are an investor-relations lead. Write the investor narrative, the key metrics to report and a concise update template grounded in the product's real progress. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['business'],
    keywords: ['investor', 'fundraising', 'pitch deck', 'valuation', 'board update', 'runway'],
  },
  {
    type: 'biz-partnerships',
    swarm: 'business',
    role: 'Identifies and structures partnerships and integrations with other products.',
    prompt: `You are a partnerships lead. Identify integration and distribution partners that fit the product, and write the partnership proposal and integration requirements. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['business', 'growth'],
    keywords: ['partner', 'partnership', 'marketplace', 'ecosystem', 'reseller', 'alliance', 'integration partner'],
  },
  // data
  {
    type: 'data-ml',
    swarm: 'data',
    role: 'Builds machine learning features: embeddings, models, evaluation.',
    prompt: `You are a machine learning engineer. Build the ML feature with a clear evaluation, reproducible data preparation and a fallback when the model is unavailable. ${ENG_RULES}`,
    tier: 'strong',
    allowedTools: ENG_TOOLS,
    phases: ['development', 'perpetual'],
    keywords: [
      'machine learning',
      'ml',
      'model training',
      'embedding',
      'vector',
      'semantic',
      'classifier',
      'recommendation',
      'llm',
      'inference',
      'similarity',
    ],
  },
  {
    type: 'data-eng',
    swarm: 'data',
    role: 'Builds data pipelines, ETL, event streams and warehouses.',
    prompt: `You are a data engineer. Build reliable, idempotent data pipelines and event streams with schemas, backfills and data quality checks. ${ENG_RULES}`,
    tier: 'standard',
    allowedTools: ENG_TOOLS,
    phases: ['architecture', 'development', 'perpetual'],
    keywords: [
      'pipeline',
      'etl',
      'event stream',
      'warehouse',
      'ingest',
      'batch',
      'kafka',
      'data pipeline',
      'export',
      'backfill',
    ],
  },
  {
    type: 'data-analytics',
    swarm: 'data',
    role: 'Defines metrics, analytics queries and reports.',
    prompt: `You are a data analyst. Define the product metrics precisely, write the queries and reports that compute them, and explain how to read them. ${ENG_RULES}`,
    tier: 'fast',
    allowedTools: ENG_TOOLS,
    phases: ['development', 'growth', 'perpetual'],
    keywords: [
      'analytics',
      'report',
      'kpi',
      'funnel',
      'cohort',
      'statistics',
      'insight',
      'tracking plan',
      'usage data',
    ],
  },
  // product
  {
    type: 'prod-pm',
    swarm: 'product',
    role: 'Turns the PRD into a prioritized, dependency-ordered work breakdown.',
    prompt: `You are a product manager. Analyze the PRD, resolve ambiguities with explicit assumptions, split it into small tasks with acceptance criteria, priorities and dependencies, and keep the plan consistent with the requirements. ${DOC_RULES}`,
    tier: 'strong',
    allowedTools: DOC_TOOLS,
    phases: ['discovery', 'architecture', 'perpetual'],
    keywords: [
      'requirement',
      'prd',
      'roadmap',
      'milestone',
      'prioritization',
      'user story',
      'persona',
      'scope',
      'open question',
      'goal',
      'success criteria',
      'research',
      'competitive',
    ],
  },
  {
    type: 'prod-design',
    swarm: 'product',
    role: 'Designs user flows, wireframes and the design system.',
    prompt: `You are a product designer. Design the user flows and screen layouts for the personas, define the design tokens and components, and document them so engineers can build them. ${DOC_RULES}`,
    tier: 'standard',
    allowedTools: DOC_TOOLS,
    phases: ['discovery', 'architecture', 'development'],
    keywords: [
      'design',
      'ux',
      'wireframe',
      'user flow',
      'mockup',
      'design system',
      'accessibility',
      'layout',
      'persona',
    ],
  },
  {
    type: 'prod-techwriter',
    swarm: 'product',
    role: 'Writes user and developer documentation.',
    prompt: `You are a technical writer. Write accurate getting-started guides, reference documentation and examples that match the code as it is; run the examples to check them. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: [...DOC_TOOLS, 'Bash'],
    phases: ['bootstrap', 'development', 'qa', 'deployment', 'perpetual'],
    keywords: [
      'documentation',
      'docs',
      'readme',
      'guide',
      'tutorial',
      'reference',
      'specification',
      'manual',
      'how-to',
    ],
  },
  // growth
  {
    type: 'growth-hacker',
    swarm: 'growth',
    role: 'Runs growth experiments: A/B tests, conversion optimization.',
    prompt: `You are a growth engineer. Propose measurable growth experiments (A/B tests, funnel fixes) with hypothesis, metric and success threshold, and specify the instrumentation they need. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['growth', 'perpetual'],
    keywords: [
      'growth',
      'a/b',
      'a/b test',
      'experiment',
      'conversion',
      'activation',
      'viral',
      'referral',
      'optimization',
    ],
  },
  {
    type: 'growth-community',
    swarm: 'growth',
    role: 'Builds community: forums, contributors, developer relations.',
    prompt: `You are a community manager. Plan the community channels, contributor guide and developer-relations content that fit the product's users. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['growth'],
    keywords: [
      'community',
      'forum',
      'discord',
      'contributor',
      'open source',
      'developer relations',
      'devrel',
      'events',
    ],
  },
  {
    type: 'growth-success',
    swarm: 'growth',
    role: 'Drives customer success: onboarding journeys, health scores, retention.',
    prompt: `You are a customer success manager. Design the onboarding journey to first value, the account health signals and the playbooks for at-risk users. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['growth'],
    keywords: ['customer success', 'onboarding journey', 'health score', 'retention', 'churn', 'adoption', 'nps'],
  },
  {
    type: 'growth-lifecycle',
    swarm: 'growth',
    role: 'Designs lifecycle messaging: emails, in-app nudges, re-engagement.',
    prompt: `You are a lifecycle marketer. Design lifecycle messages (welcome, activation, re-engagement) with their triggers and the events they depend on. ${DOC_RULES}`,
    tier: 'fast',
    allowedTools: DOC_TOOLS,
    phases: ['growth'],
    keywords: ['lifecycle', 'email', 'newsletter', 'drip', 're-engagement', 'in-app message', 'notification campaign'],
  },
  // review
  {
    type: 'review-code',
    swarm: 'review',
    role: 'Reviews code for correctness, design, tests and maintainability.',
    prompt:
      'You are a meticulous code reviewer. Read the change against its task and acceptance criteria, run the tests, and report concrete defects (with file and line) ordered by severity; fix only trivial issues yourself and say so. Do not approve work that was not actually done.',
    tier: 'strong',
    allowedTools: REVIEW_TOOLS,
    phases: ['qa', 'development', 'perpetual'],
    keywords: ['code review', 'review', 'refactor', 'maintainability', 'code quality', 'technical debt', 'lint'],
  },
  {
    type: 'review-business',
    swarm: 'review',
    role: 'Reviews business and growth deliverables for consistency with the product.',
    prompt:
      'You are a business reviewer. Check business and growth documents against the PRD and the product as built: claims must be true, numbers sourced, and documents consistent with each other. Report issues with concrete fixes.',
    tier: 'standard',
    allowedTools: [...READ, 'Write', 'TodoWrite'],
    phases: ['business', 'growth'],
    keywords: ['business review', 'go-to-market', 'consistency', 'claims'],
  },
  {
    type: 'review-security',
    swarm: 'review',
    role: 'Audits code and configuration for security vulnerabilities.',
    prompt:
      'You are a security auditor. Audit the code and configuration for injection, broken authentication, secret leaks, unsafe deserialization, missing TLS and dependency vulnerabilities; report findings with severity, location and fix, and add regression tests for confirmed issues.',
    tier: 'strong',
    allowedTools: REVIEW_TOOLS,
    phases: ['qa', 'perpetual'],
    keywords: ['security audit', 'penetration', 'threat model', 'vulnerability', 'owasp', 'cve', 'audit'],
  },
];

export const BUILTIN_AGENT_TYPES: readonly AgentType[] = Object.freeze(
  DEFS.map((d) => Object.freeze({ ...d, disallowedTools: [], custom: false })),
);

export type AgentCatalog = ReadonlyMap<string, AgentType>;

export function builtinCatalog(): AgentCatalog {
  return new Map(
    BUILTIN_AGENT_TYPES.map((t) => [
      t.type,
      { ...t, allowedTools: [...t.allowedTools], phases: [...t.phases], keywords: [...t.keywords] },
    ]),
  );
}

/** One entry of samgita.yaml `agents:` (snake_case, as the loader produces it). */
export interface AgentOverride {
  readonly model?: string | undefined;
  readonly max_concurrency?: number | undefined;
  readonly allowed_tools?: readonly string[] | undefined;
  readonly disallowed_tools?: readonly string[] | undefined;
  readonly instructions?: string | undefined;
  readonly max_turns?: number | undefined;
  readonly phases?: readonly string[] | undefined;
  readonly role?: string | undefined;
}

const TIERS: readonly string[] = ['fast', 'standard', 'strong'];
const STOP_WORDS = new Set(
  'a an and are as at be by for from in into is it of on or that the this to with without via per all any its their your you we our'.split(
    ' ',
  ),
);

/**
 * The built-in catalog with samgita.yaml overrides applied. An override for a
 * built-in type replaces the given fields (`instructions` are appended to the
 * built-in prompt); an entry for an unknown type declares a custom type and
 * must have a `role`. Unknown phases are an error.
 */
export function resolveAgentTypes(
  configAgents?: Readonly<Record<string, AgentOverride | undefined>> | undefined,
): AgentCatalog {
  const catalog = new Map(builtinCatalog());
  for (const [type, override] of Object.entries(configAgents ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (!override) continue;
    const field = `agents.${type}`;
    const phases = override.phases?.map((p) => {
      if (!(PHASES as readonly string[]).includes(p)) {
        throw new SamgitaError('CONFIG_YAML_INVALID', `agent type "${type}" lists unknown phase "${p}"`, {
          hint: `Phases are: ${PHASES.join(', ')}.`,
          location: { field: `${field}.phases` },
        });
      }
      return p as PhaseName;
    });
    const existing = catalog.get(type);
    let base: AgentType;
    if (existing) {
      base = { ...existing };
      if (override.role !== undefined) base.role = override.role;
    } else {
      if (!override.role) {
        const near = [...catalog.keys()]
          .map((k) => [k, distance(k, type)] as const)
          .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0];
        throw new SamgitaError('CONFIG_YAML_INVALID', `unknown agent type "${type}"`, {
          hint:
            near && near[1] <= 3
              ? `Did you mean "${near[0]}"? To declare a custom agent type, give it a "role".`
              : 'To declare a custom agent type, give it a "role" (one line describing what it does).',
          location: { field },
        });
      }
      base = {
        type,
        swarm: 'custom',
        role: override.role,
        prompt: `You are a specialist agent: ${override.role}. Keep changes focused on the task, verify your work, and never report work you did not do.`,
        tier: 'standard',
        allowedTools: [...ENG_TOOLS],
        disallowedTools: [],
        phases: ['development'],
        keywords: deriveKeywords(type, override.role),
        custom: true,
      };
    }
    if (override.model !== undefined) {
      if (TIERS.includes(override.model)) {
        base.tier = override.model as ModelTier;
        delete base.model;
      } else base.model = override.model;
    }
    if (override.allowed_tools !== undefined) base.allowedTools = [...override.allowed_tools];
    if (override.disallowed_tools !== undefined) {
      base.disallowedTools = [...override.disallowed_tools];
      base.allowedTools = base.allowedTools.filter((t) => !base.disallowedTools.includes(t));
    }
    if (override.instructions) base.prompt = `${base.prompt}\n\n${override.instructions.trim()}`;
    if (override.max_turns !== undefined) base.maxTurns = override.max_turns;
    if (override.max_concurrency !== undefined) base.maxConcurrency = override.max_concurrency;
    if (phases !== undefined) base.phases = phases;
    catalog.set(type, base);
  }
  return catalog;
}

function deriveKeywords(type: string, role: string): string[] {
  const words = `${type.replace(/-/gu, ' ')} ${role}`
    .toLowerCase()
    .split(/[^a-z0-9/+#.]+/u)
    .filter((w) => w.length > 2 && !STOP_WORDS.has(w));
  return [...new Set(words)];
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0;
      dp[j] = Math.min((dp[j] ?? 0) + 1, (dp[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] ?? 0;
}

/** The swarm of a built-in agent type; custom types (declared in samgita.yaml) are their own. */
export function swarmOf(agentType: string): Swarm {
  return BUILTIN_AGENT_TYPES.find((t) => t.type === agentType)?.swarm ?? 'custom';
}
