import { z } from 'zod';
import { type AgentCatalog, BUILTIN_AGENT_TYPES, PHASES, type PhaseName } from '../agents/catalog.js';
import { SamgitaError } from '../errors.js';
import { slugify } from '../prd/text.js';
import type { ParsedPrd } from '../prd/types.js';
import { topoSort } from './graph.js';
import { combinedHash } from './hash.js';
import { type Plan, type PlannedTask, TASK_KINDS, type TaskKind } from './types.js';

/**
 * JSON Schema of the structured work breakdown a discovery agent returns
 * (passed to the Claude CLI with --json-schema). `agentTypes` narrows
 * agent_type to the project's catalog.
 */
export function workBreakdownJsonSchema(agentTypes: readonly string[] = BUILTIN_AGENT_TYPES.map((t) => t.type)) {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Samgita work breakdown',
    type: 'object',
    additionalProperties: false,
    required: ['tasks'],
    properties: {
      summary: { type: 'string', description: 'Two or three sentences on the approach.' },
      tasks: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: [
            'key',
            'title',
            'description',
            'phase',
            'agent_type',
            'priority',
            'depends_on',
            'acceptance_criteria',
            'areas',
          ],
          properties: {
            key: {
              type: 'string',
              pattern: '^[a-z0-9][a-z0-9./-]*$',
              description:
                'Stable identifier, "<phase>/<subject>-<work>", e.g. "development/fr-1-4-implement". Reuse keys across re-plans.',
            },
            title: { type: 'string', minLength: 1, maxLength: 200 },
            description: { type: 'string', minLength: 1, description: 'What to do, self-contained.' },
            phase: { type: 'string', enum: [...PHASES] },
            agent_type: { type: 'string', enum: [...agentTypes] },
            kind: { type: 'string', enum: [...TASK_KINDS] },
            priority: { type: 'string', enum: ['P0', 'P1', 'P2'] },
            requirement_keys: {
              type: 'array',
              items: { type: 'string' },
              description: 'PRD requirement IDs/keys this task implements, e.g. ["FR-1.4"].',
            },
            depends_on: {
              type: 'array',
              items: { type: 'string' },
              description: 'Keys of tasks in this breakdown that must finish first.',
            },
            acceptance_criteria: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
            areas: {
              type: 'array',
              items: { type: 'string', minLength: 1 },
              description:
                'The files or directories the task will change (e.g. "src/api/projects.ts", "src/api/"), or area names ("api:projects") where no path is known yet. Tasks whose areas overlap (equal, or one inside the other) never run at the same time, so name what the task changes, as narrowly as you can.',
            },
          },
        },
      },
    },
  } as const;
}

export const WORK_BREAKDOWN_JSON_SCHEMA = workBreakdownJsonSchema();

const taskSchema = z.strictObject({
  key: z.string().regex(/^[a-z0-9][a-z0-9./-]*$/u, 'must be lower-case letters, digits, ".", "/" or "-"'),
  title: z.string().trim().min(1).max(200),
  description: z.string().trim().min(1),
  phase: z.enum(PHASES),
  agent_type: z.string().min(1),
  kind: z.enum(TASK_KINDS as [TaskKind, ...TaskKind[]]).optional(),
  priority: z.enum(['P0', 'P1', 'P2']),
  requirement_keys: z.array(z.string().min(1)).default([]),
  depends_on: z.array(z.string().min(1)),
  acceptance_criteria: z.array(z.string().trim().min(1)).min(1),
  areas: z.array(z.string().min(1)).default([]),
});
const breakdownSchema = z.strictObject({
  summary: z.string().optional(),
  tasks: z.array(taskSchema),
});

export interface ParseBreakdownOptions {
  /** When given, requirement keys are checked against it and hashes filled in. */
  prd?: ParsedPrd | undefined;
  /** Phases enabled for the project; tasks of other phases are an error. */
  phases?: readonly PhaseName[] | undefined;
}

const DEFAULT_KIND: Record<PhaseName, TaskKind> = {
  bootstrap: 'ops',
  discovery: 'plan',
  architecture: 'design',
  infrastructure: 'ops',
  development: 'implement',
  qa: 'test',
  deployment: 'ops',
  business: 'business',
  growth: 'growth',
  perpetual: 'improve',
};

/**
 * Validates an agent's work breakdown (a JSON string or parsed value) and turns
 * it into planned tasks. Errors are PLAN_INVALID with the offending path:
 * schema violations, unknown agent types, unknown requirement keys, unknown or
 * cyclic dependencies, and an empty breakdown (never silently empty).
 */
export function parseWorkBreakdown(
  json: unknown,
  catalog: AgentCatalog,
  options: ParseBreakdownOptions = {},
): PlannedTask[] {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new SamgitaError('PLAN_INVALID', `work breakdown is not valid JSON: ${(err as Error).message}`, {
        hint: 'The discovery agent must answer with JSON matching the work breakdown schema.',
        cause: err,
      });
    }
  }
  const parsed = breakdownSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue ? formatPath(issue.path) : '';
    throw new SamgitaError('PLAN_INVALID', `work breakdown: ${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`, {
      location: { field: path },
      details: { issues: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) },
    });
  }
  const raw = parsed.data.tasks;
  if (raw.length === 0) {
    throw new SamgitaError('PLAN_INVALID', 'work breakdown has no tasks', {
      hint: 'An empty plan is never valid: the breakdown must contain at least one task.',
      location: { field: 'tasks' },
    });
  }
  const reqs = options.prd ? new Map(options.prd.requirements.map((r) => [r.key, r])) : undefined;
  const tasks = raw.map((t, i): PlannedTask => {
    const field = `tasks[${i}]`;
    if (!catalog.has(t.agent_type)) {
      throw new SamgitaError(
        'PLAN_INVALID',
        `work breakdown: ${field}.agent_type: unknown agent type "${t.agent_type}"`,
        {
          hint: `Known agent types: ${[...catalog.keys()].join(', ')}.`,
          location: { field: `${field}.agent_type` },
        },
      );
    }
    if (options.phases && !options.phases.includes(t.phase)) {
      throw new SamgitaError(
        'PLAN_INVALID',
        `work breakdown: ${field}.phase: phase "${t.phase}" is not enabled for this project`,
        {
          hint: `Enabled phases: ${options.phases.join(', ')}.`,
          location: { field: `${field}.phase` },
        },
      );
    }
    const covered = t.requirement_keys.map((k, j) => {
      const r = reqs?.get(k);
      if (reqs && !r) {
        throw new SamgitaError(
          'PLAN_INVALID',
          `work breakdown: ${field}.requirement_keys[${j}]: unknown requirement "${k}"`,
          {
            location: { field: `${field}.requirement_keys[${j}]` },
          },
        );
      }
      return r;
    });
    const known = covered.filter((r) => r !== undefined);
    const key = t.key.startsWith(`${t.phase}/`) ? t.key : `${t.phase}/${slugify(t.key.replace(/\//gu, '-'), 80)}`;
    return {
      key,
      title: t.title,
      description: t.description,
      phase: t.phase,
      agentType: t.agent_type,
      priority: PHASES.indexOf(t.phase) * 3 + { P0: 0, P1: 1, P2: 2 }[t.priority],
      requirementKey: t.requirement_keys[0] ?? null,
      requirementHash: known.length === t.requirement_keys.length ? combinedHash(known) : null,
      requirementKeys: [...t.requirement_keys],
      dependsOn: [...t.depends_on],
      acceptanceCriteria: [...t.acceptance_criteria],
      areas: [...t.areas],
      kind: t.kind ?? DEFAULT_KIND[t.phase],
    };
  });
  // Dependencies may use the raw keys the agent wrote; map them to normalized keys.
  const rename = new Map(raw.map((t, i) => [t.key, tasks[i]?.key ?? t.key]));
  tasks.forEach((t, i) => {
    t.dependsOn = t.dependsOn.map((d, j) => {
      const k = rename.get(d) ?? (tasks.some((x) => x.key === d) ? d : undefined);
      if (k === undefined) {
        throw new SamgitaError('PLAN_INVALID', `work breakdown: tasks[${i}].depends_on[${j}]: unknown task "${d}"`, {
          hint: 'depends_on may only name keys of tasks in the same breakdown.',
          location: { field: `tasks[${i}].depends_on[${j}]` },
        });
      }
      return k;
    });
  });
  topoSort(tasks, 'work breakdown');
  return tasks;
}

/**
 * Merges an agent's breakdown into the deterministic plan. Breakdown tasks win
 * on equal keys; a deterministic task whose requirements are all covered by
 * breakdown tasks of the same phase is superseded (dependencies on it move to
 * those tasks). Tasks of phases the plan does not run are dropped with a
 * warning. The result is validated (no unknown dependency, no cycle).
 */
export function mergeBreakdown(plan: Plan, breakdown: readonly PlannedTask[]): Plan {
  const warnings = [...plan.warnings];
  const enabled = new Set(plan.phases);
  const incoming = breakdown.filter((t) => {
    if (enabled.has(t.phase)) return true;
    warnings.push(`breakdown task ${t.key} dropped: phase ${t.phase} is not enabled`);
    return false;
  });
  const byKey = new Map(incoming.map((t) => [t.key, t]));
  const coveredBy = new Map<string, string[]>(); // phase\0requirement → breakdown task keys
  for (const t of incoming) {
    for (const r of t.requirementKeys) {
      const k = `${t.phase}\0${r}`;
      coveredBy.set(k, [...(coveredBy.get(k) ?? []), t.key]);
    }
  }
  const replaced = new Map<string, string[]>(); // superseded task key → replacement keys
  const kept: PlannedTask[] = [];
  for (const t of plan.tasks) {
    const override = byKey.get(t.key);
    if (override) {
      kept.push({
        ...override,
        requirementKeys: [...new Set([...override.requirementKeys, ...t.requirementKeys])],
        requirementKey: override.requirementKey ?? t.requirementKey,
        requirementHash: override.requirementKeys.length > 0 ? override.requirementHash : t.requirementHash,
        dependsOn: [...new Set([...t.dependsOn, ...override.dependsOn])],
        // An agent that names no areas for a task leaves the planner's: no areas would let it run beside anything.
        areas: override.areas.length > 0 ? override.areas : t.areas,
      });
      byKey.delete(t.key);
      continue;
    }
    const replacements =
      t.requirementKeys.length > 0 &&
      t.requirementKeys.every((r) => coveredBy.has(`${t.phase}\0${r}`)) &&
      t.kind === 'implement'
        ? [...new Set(t.requirementKeys.flatMap((r) => coveredBy.get(`${t.phase}\0${r}`) ?? []))]
        : undefined;
    if (replacements) {
      replaced.set(t.key, replacements);
      continue;
    }
    kept.push({ ...t, dependsOn: [...t.dependsOn] });
  }
  const tasks = [...kept, ...byKey.values()];
  const present = new Set(tasks.map((t) => t.key));
  for (const t of tasks) {
    const deps = t.dependsOn.flatMap((d) => replaced.get(d) ?? [d]).filter((d) => d !== t.key);
    t.dependsOn = [...new Set(deps)].filter((d) => {
      if (present.has(d)) return true;
      warnings.push(`task ${t.key}: dependency ${d} dropped (not in the plan)`);
      return false;
    });
  }
  const order = new Map(plan.phases.map((p, i) => [p, i]));
  const sorted = tasks
    .map((t, i) => ({ t, i }))
    .sort((a, b) => (order.get(a.t.phase) ?? 0) - (order.get(b.t.phase) ?? 0) || a.i - b.i)
    .map((x) => x.t);
  topoSort(sorted, 'merged plan');
  return { ...plan, tasks: sorted, warnings };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}
