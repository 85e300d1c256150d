import { SamgitaError } from '../../errors.js';
import { taskPriority } from '../prioritize.js';
import type { Area, PlanInput, PlannedTask } from '../types.js';

export interface PerpetualInput extends PlanInput {
  /** 1-based improvement cycle number; part of every task key. */
  cycle: number;
  /** Overrides config.perpetual.max_tasks_per_cycle. */
  maxTasks?: number | undefined;
}

interface Improvement {
  slug: string;
  type: string;
  title: string;
  what: string;
  areas: Area[];
}

const IMPROVEMENTS: readonly Improvement[] = [
  {
    slug: 'performance',
    type: 'eng-perf',
    title: 'Performance pass',
    what: 'Benchmark the hottest paths against the non-functional targets and fix the worst regression found.',
    areas: ['performance'],
  },
  {
    slug: 'test-gaps',
    type: 'eng-qa',
    title: 'Close test gaps',
    what: 'Find untested behaviour (coverage, recent bug fixes) and add the missing tests.',
    areas: ['tests'],
  },
  {
    slug: 'security',
    type: 'review-security',
    title: 'Security audit',
    what: 'Audit changes since the last cycle and dependencies for vulnerabilities; fix or report findings.',
    areas: ['security'],
  },
  {
    slug: 'refactor',
    type: 'review-code',
    title: 'Pay down technical debt',
    what: 'Pick the module with the most complexity or duplication and refactor it without behaviour change.',
    areas: ['code'],
  },
  {
    slug: 'docs',
    type: 'prod-techwriter',
    title: 'Refresh documentation',
    what: 'Bring the docs in line with the current behaviour; fix stale examples.',
    areas: ['docs'],
  },
  {
    slug: 'cost',
    type: 'ops-cost',
    title: 'Cost review',
    what: 'Review token and infrastructure spend since the last cycle and implement the largest safe saving.',
    areas: ['cost'],
  },
  {
    slug: 'observability',
    type: 'ops-monitor',
    title: 'Observability gaps',
    what: 'Find failures that were hard to diagnose and add the metrics, logs or alerts that would have shown them.',
    areas: ['observability'],
  },
  {
    slug: 'dependencies',
    type: 'ops-devops',
    title: 'Dependency updates',
    what: 'Update outdated dependencies that have security or bug fixes, keeping the verify commands green.',
    areas: ['build'],
  },
  {
    slug: 'ux',
    type: 'eng-frontend',
    title: 'UX polish',
    what: 'Fix the most visible usability problems in the UI (empty states, errors, loading).',
    areas: ['ui'],
  },
  {
    slug: 'experiment',
    type: 'growth-hacker',
    title: 'Growth experiment',
    what: 'Specify the next growth experiment from the latest usage data.',
    areas: ['growth'],
  },
];

/**
 * Improvement tasks for perpetual mode (FR-4.4): up to N per cycle, rotating
 * through improvement kinds so consecutive cycles cover different ones. Keys
 * are "perpetual/cycle-<n>/<kind>": the cycle number keeps them unique, since
 * the same improvement comes round again. Empty when perpetual mode is off.
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
      priority: taskPriority('perpetual', 1),
      requirementKey: null,
      requirementHash: null,
      requirementKeys: [],
      dependsOn: [],
      acceptanceCriteria: [
        'The improvement is measurable (before/after) or covered by a test',
        'The verify commands pass',
      ],
      areas: [...c.areas],
      kind: 'improve',
    });
  }
  return out;
}
