import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveAgentTypes } from '../../src/agents/catalog.js';
import { isSamgitaError } from '../../src/errors.js';
import { CANCELLED_HASH, type RecordedTask, reconcilePlan, summarizeActions } from '../../src/planner/diff.js';
import { formatPlan, formatPlanDiff } from '../../src/planner/format.js';
import { topoSort } from '../../src/planner/graph.js';
import { areasOverlap } from '../../src/planner/locate.js';
import { planPerpetual, planProject } from '../../src/planner/plan.js';
import { mergeBreakdown, parseWorkBreakdown, WORK_BREAKDOWN_JSON_SCHEMA } from '../../src/planner/structured.js';
import type { Plan } from '../../src/planner/types.js';
import { parsePrd } from '../../src/prd/parse.js';

const fixture = readFileSync(fileURLToPath(new URL('../fixtures/prd/samgita-prd.md', import.meta.url)), 'utf8');
const catalog = resolveAgentTypes({});
const prd = parsePrd(fixture);
const plan = planProject({ prd, catalog });

const record = (p: Plan, status: RecordedTask['status'] = 'pending'): RecordedTask[] =>
  p.tasks.map((t) => ({
    key: t.key,
    status,
    requirementKey: t.requirementKey,
    requirementHash: t.requirementHash,
    phase: t.phase,
    agentType: t.agentType,
    dependsOn: t.dependsOn,
    priority: t.priority,
  }));

const expectCode = (fn: () => unknown, code: string, message?: RegExp) => {
  try {
    fn();
    expect.unreachable();
  } catch (err) {
    expect(isSamgitaError(err), String(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    if (message) expect((err as Error).message).toMatch(message);
  }
};

describe('planProject', () => {
  it('covers every FR row with an implementation task', () => {
    const fr = prd.requirements.filter((r) => r.kind === 'functional');
    expect(fr).toHaveLength(51);
    for (const r of fr) {
      const t = plan.tasks.find((x) => x.phase === 'development' && x.requirementKeys.includes(r.key));
      expect(t, r.key).toBeDefined();
      expect(t?.description).toContain(r.text);
    }
    expect(plan.tasks.find((t) => t.key === 'development/fr-1-4-implement')).toMatchObject({
      requirementKey: 'FR-1.4',
      requirementHash: prd.requirements.find((r) => r.key === 'FR-1.4')?.contentHash,
      kind: 'implement',
    });
    expect(plan.warnings).toEqual([]);
  });

  it('has unique keys, known agent types, no cycles, and only known dependencies', () => {
    const keys = plan.tasks.map((t) => t.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const t of plan.tasks) {
      expect(catalog.has(t.agentType), t.agentType).toBe(true);
      expect(t.key.startsWith(`${t.phase}/`)).toBe(true);
      expect(t.acceptanceCriteria.length).toBeGreaterThan(0);
    }
    expect(topoSort(plan.tasks)).toHaveLength(plan.tasks.length);
  });

  it('uses each phase and sensible agents and dependencies', () => {
    expect(new Set(plan.tasks.map((t) => t.phase))).toEqual(new Set(plan.phases));
    const byKey = new Map(plan.tasks.map((t) => [t.key, t]));
    expect(byKey.get('development/fr-6-5-implement')?.agentType).toBe('eng-frontend');
    expect(byKey.get('development/fr-6-5-implement')?.dependsOn).toContain('development/fr-7-1-implement');
    expect(byKey.get('development/fr-6-4-implement')?.dependsOn).toEqual(
      expect.arrayContaining(['development/fr-1-6-implement', 'development/fr-1-7-implement']),
    );
    expect(byKey.get('development/fr-8-2-implement')?.dependsOn).toContain('architecture/data-model-snapshot-design');
    expect(byKey.get('qa/nfr-1-verify')?.acceptanceCriteria).toContain('Dashboard update latency: <100ms');
    expect(byKey.get('discovery/prd-breakdown')?.agentType).toBe('prod-pm');
    expect(byKey.get('business/biz-legal')?.agentType).toBe('biz-legal');
    // P0 work sorts before P2 work within a phase
    expect(byKey.get('development/fr-1-1-implement')?.priority).toBeLessThan(
      byKey.get('development/fr-1-9-implement')?.priority ?? 0,
    );
    expect(byKey.get('development/fr-1-9-implement')?.priority).toBeLessThan(
      byKey.get('qa/backend-test')?.priority ?? 0,
    );
  });

  it('is deterministic and keys are stable under edits', () => {
    expect(planProject({ prd: parsePrd(fixture), catalog })).toEqual(plan);
    const edited = planProject({
      prd: parsePrd(fixture.replace('| Edit PRD mid-execution | P0 |', '| Edit the PRD at any time | P0 |')),
      catalog,
    });
    expect(edited.tasks.map((t) => t.key)).toEqual(plan.tasks.map((t) => t.key));
  });

  it('respects disabled phases and drops dependencies into them', () => {
    const p = planProject({
      prd,
      catalog,
      config: { phases: ['development', 'qa', { name: 'growth', enabled: false }] },
    });
    expect(p.phases).toEqual(['development', 'qa']);
    expect(new Set(p.tasks.map((t) => t.phase))).toEqual(new Set(['development', 'qa']));
    const present = new Set(p.tasks.map((t) => t.key));
    for (const t of p.tasks) for (const d of t.dependsOn) expect(present.has(d)).toBe(true);
    expect(p.tasks.filter((t) => t.phase === 'development' && t.requirementKey?.startsWith('FR-'))).toHaveLength(51);
    expectCode(() => planProject({ prd, catalog, config: { phases: ['testing'] } }), 'CONFIG_YAML_INVALID');
  });

  it('honours routing pins and custom agent types', () => {
    const custom = resolveAgentTypes({ 'eng-tui': { role: 'Builds terminal dashboards', phases: ['development'] } });
    const p = planProject({ prd, catalog: custom, config: { routing: { 'FR-6.*': 'eng-tui' } } });
    expect(p.tasks.find((t) => t.key === 'development/fr-6-1-implement')?.agentType).toBe('eng-tui');
  });

  it('plans perpetual improvement cycles', () => {
    expect(planPerpetual({ prd, catalog, cycle: 1 })).toEqual([]);
    const config = { perpetual: { enabled: true, max_tasks_per_cycle: 3 } };
    const c1 = planPerpetual({ prd, catalog, config, cycle: 1 });
    const c2 = planPerpetual({ prd, catalog, config, cycle: 2 });
    expect(c1.map((t) => t.key)).toEqual([
      'perpetual/cycle-1/performance',
      'perpetual/cycle-1/test-gaps',
      'perpetual/cycle-1/security',
    ]);
    expect(c2.map((t) => t.key)).toEqual([
      'perpetual/cycle-2/refactor',
      'perpetual/cycle-2/docs',
      'perpetual/cycle-2/cost',
    ]);
    expect(c1.every((t) => t.kind === 'improve' && t.phase === 'perpetual')).toBe(true);
  });

  it('names areas after the PRD and the kind of work, never after a repository layout', () => {
    const byKey = new Map(plan.tasks.map((t) => [t.key, t]));
    expect(byKey.get('development/fr-6-5-implement')?.areas).toEqual(['ui:web-dashboard']);
    expect(byKey.get('development/fr-8-2-implement')?.areas).toEqual(['data:persistence-and-recovery']);
    expect(byKey.get('development/fr-7-3-implement')?.areas).toEqual(['security:api']);
    // "FR-7: API" is the API as a whole, so it covers every API group
    expect(byKey.get('development/fr-7-1-implement')?.areas).toEqual(['api']);
    expect(byKey.get('architecture/api-projects-design')?.areas).toEqual(['api:projects']);
    expect(byKey.get('development/api-projects-implement')?.areas).toEqual(['api:projects']);
    expect(byKey.get('architecture/data-model-snapshot-design')?.areas).toEqual(['data:snapshot']);
    expect(byKey.get('discovery/user-personas-analyze')?.areas).toEqual(['requirements:user-personas']);
    expect(byKey.get('qa/frontend-test')?.areas).toEqual(['tests:ui']);
    const perpetual = planPerpetual({ prd, catalog, config: { perpetual: { enabled: true } }, cycle: 1 });
    for (const t of [...plan.tasks, ...perpetual]) {
      expect(t.areas.length, t.key).toBeGreaterThan(0);
      for (const a of t.areas) expect(a, t.key).toMatch(/^[a-z0-9-]+(:[a-z0-9-]+)?$/u);
    }

    const todo = planProject({
      prd: parsePrd('# Todo\n\n## Features\n- Add a todo item\n- Show the list on a web page\n'),
      catalog,
    });
    expect(todo.tasks.filter((t) => t.phase === 'development').map((t) => [t.agentType, t.areas])).toEqual([
      ['eng-backend', ['service:add-a-todo-item']],
      ['eng-frontend', ['ui:show-the-list-on-a-web-page']],
    ]);
    // Under a heading that groups nothing, each requirement is its own topic: they may run side by side.
    const flat = planProject({
      prd: parsePrd(
        '# Greeter\n\n## Functional Requirements\n\n| ID | Requirement |\n|--|--|\n| FR-1 | Greet the user by name |\n| FR-2 | Keep a history of greetings |\n',
      ),
      catalog,
    });
    expect(flat.tasks.filter((t) => t.phase === 'development').map((t) => t.areas)).toEqual([
      ['service:fr-1'],
      ['service:fr-2'],
    ]);
  });

  it('overlaps an area with the areas below it, not with its siblings', () => {
    expect(areasOverlap('ui', 'ui:web-dashboard')).toBe(true);
    expect(areasOverlap('ui:web-dashboard', 'ui:web-dashboard')).toBe(true);
    expect(areasOverlap('ui:web-dashboard', 'ui:settings')).toBe(false);
    expect(areasOverlap('api', 'api-docs')).toBe(false);
    expect(areasOverlap('src/api/', 'src/api/prd.ts')).toBe(true);
    expect(areasOverlap('src/api', 'src/apiary')).toBe(false);
  });

  it('formats the plan like terraform plan', () => {
    const text = formatPlan(plan);
    expect(text).toContain('  + development/fr-1-4-implement');
    expect(text.trim().split('\n').at(-1)).toBe(`Plan: ${plan.tasks.length} to add, 0 to change, 0 to cancel.`);
    expect(text.includes(String.fromCharCode(27))).toBe(false);
  });
});

describe('reconcilePlan', () => {
  it('is idempotent: recorded == desired gives no actions', () => {
    for (const status of ['pending', 'running', 'completed'] as const) {
      expect(reconcilePlan({ desired: plan, recorded: record(plan, status) })).toEqual([]);
    }
    expect(formatPlanDiff([])).toMatch(/No changes/u);
  });

  it('creates everything for a new project', () => {
    const actions = reconcilePlan({ desired: plan, recorded: [] });
    expect(actions.every((a) => a.type === 'create')).toBe(true);
    expect(summarizeActions(actions).create).toBe(plan.tasks.length);
  });

  it('editing one requirement touches only the tasks covering it', () => {
    const edited = planProject({
      prd: parsePrd(
        fixture.replace('| Edit PRD mid-execution | P0 |', '| Edit PRD mid-execution, keeping agent state | P0 |'),
      ),
      catalog,
    });
    const covering = plan.tasks.filter((t) => t.requirementKeys.includes('FR-1.5')).map((t) => t.key);
    expect(covering).toContain('development/fr-1-5-implement');

    const pending = reconcilePlan({
      desired: edited,
      recorded: record(plan, 'pending'),
      changedRequirementKeys: ['FR-1.5'],
    });
    expect(pending.map((a) => a.key).sort()).toEqual([...covering].sort());
    expect(pending.every((a) => a.type === 'update')).toBe(true);
    const update = pending.find((a) => a.key === 'development/fr-1-5-implement');
    expect(update?.type === 'update' && update.task.description).toContain('keeping agent state');

    const completed = reconcilePlan({ desired: edited, recorded: record(plan, 'completed') });
    expect(completed.map((a) => a.type)).toEqual(covering.map(() => 'reopen'));
    const running = reconcilePlan({ desired: edited, recorded: record(plan, 'running') });
    expect(running.map((a) => a.type)).toEqual(covering.map(() => 'restart'));
    expect(formatPlanDiff(completed)).toContain('↺ development/fr-1-5-implement');
  });

  it('removing a requirement cancels its tasks (not the completed ones)', () => {
    const removed = planProject({ prd: parsePrd(fixture.replace(/^\| FR-1\.9 \|.*\n/mu, '')), catalog });
    const recorded = record(plan, 'pending');
    const actions = reconcilePlan({ desired: removed, recorded, removedRequirementKeys: ['FR-1.9'] });
    const cancels = actions.filter((a) => a.type === 'cancel');
    expect(cancels).toEqual([
      {
        type: 'cancel',
        key: 'development/fr-1-9-implement',
        phase: 'development',
        reason: 'requirement_removed',
        previousStatus: 'pending',
      },
    ]);
    // group tasks that covered FR-1.9 are updated, nothing else changes
    expect(actions.filter((a) => a.type !== 'cancel').every((a) => a.type === 'update')).toBe(true);
    const text = formatPlanDiff(actions);
    expect(text).toContain('  - development/fr-1-9-implement');
    expect(text).toMatch(/Plan: 0 to add, \d+ to change, 1 to cancel\.$/u);

    const done = recorded.map((r) =>
      r.key === 'development/fr-1-9-implement' ? { ...r, status: 'completed' as const } : r,
    );
    expect(reconcilePlan({ desired: removed, recorded: done }).some((a) => a.type === 'cancel')).toBe(false);

    // the requirement comes back: the reconciler-cancelled task is reopened, a hand-cancelled one stays
    const cancelled = recorded.map((r) =>
      r.key === 'development/fr-1-9-implement'
        ? { ...r, status: 'cancelled' as const, requirementHash: CANCELLED_HASH }
        : r,
    );
    expect(reconcilePlan({ desired: plan, recorded: cancelled }).map((a) => [a.type, a.key])).toEqual([
      ['reopen', 'development/fr-1-9-implement'],
    ]);
    const byHand = recorded.map((r) =>
      r.key === 'development/fr-1-9-implement' ? { ...r, status: 'cancelled' as const } : r,
    );
    expect(reconcilePlan({ desired: plan, recorded: byHand })).toEqual([]);
  });

  it('updates not-started tasks whose routing or dependencies changed', () => {
    const recorded = record(plan).map((r) =>
      r.key === 'development/fr-6-1-implement' ? { ...r, agentType: 'eng-backend', dependsOn: [] } : r,
    );
    const actions = reconcilePlan({ desired: plan, recorded });
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      type: 'update',
      key: 'development/fr-6-1-implement',
      changes: ['agentType', 'dependsOn'],
    });
  });
});

describe('structured work breakdown', () => {
  const valid = {
    tasks: [
      {
        key: 'development/fr-1-4-implement',
        title: 'PRD upload endpoint and form',
        description: 'Accept PRD.md via multipart upload and a textarea.',
        phase: 'development',
        agent_type: 'eng-api',
        priority: 'P0',
        requirement_keys: ['FR-1.4'],
        depends_on: [],
        acceptance_criteria: ['Uploading a PRD stores a new revision'],
        areas: ['src/api/prd.ts'],
      },
      {
        key: 'prd-form',
        title: 'PRD form',
        description: 'Form on the status page.',
        phase: 'development',
        agent_type: 'eng-frontend',
        priority: 'P1',
        requirement_keys: ['FR-6.3'],
        depends_on: ['development/fr-1-4-implement'],
        acceptance_criteria: ['The form submits'],
      },
    ],
  };

  it('exposes a JSON schema for --json-schema', () => {
    expect(WORK_BREAKDOWN_JSON_SCHEMA.properties.tasks.minItems).toBe(1);
    expect(WORK_BREAKDOWN_JSON_SCHEMA.properties.tasks.items.properties.agent_type.enum).toContain('eng-frontend');
    expect(JSON.parse(JSON.stringify(WORK_BREAKDOWN_JSON_SCHEMA))).toEqual(WORK_BREAKDOWN_JSON_SCHEMA);
  });

  it('parses a valid breakdown', () => {
    const tasks = parseWorkBreakdown(JSON.stringify(valid), catalog, { prd });
    expect(tasks.map((t) => [t.key, t.kind, t.priority, t.dependsOn])).toEqual([
      ['development/fr-1-4-implement', 'implement', 12, []],
      ['development/prd-form', 'implement', 13, ['development/fr-1-4-implement']],
    ]);
    expect(tasks[0]?.requirementHash).toBe(prd.requirements.find((r) => r.key === 'FR-1.4')?.contentHash);
  });

  it('reports precise errors', () => {
    const withTask = (patch: Record<string, unknown>, i = 0) => ({
      tasks: valid.tasks.map((t, j) => (j === i ? { ...t, ...patch } : t)),
    });
    expectCode(() => parseWorkBreakdown('{not json', catalog), 'PLAN_INVALID', /not valid JSON/u);
    expectCode(() => parseWorkBreakdown({ tasks: [] }, catalog), 'PLAN_INVALID', /no tasks/u);
    expectCode(
      () => parseWorkBreakdown(withTask({ agent_type: 'eng-wizard' }), catalog),
      'PLAN_INVALID',
      /tasks\[0\]\.agent_type: unknown agent type "eng-wizard"/u,
    );
    expectCode(() => parseWorkBreakdown(withTask({ phase: 'testing' }), catalog), 'PLAN_INVALID', /tasks\[0\]\.phase/u);
    expectCode(
      () => parseWorkBreakdown(withTask({ acceptance_criteria: [] }), catalog),
      'PLAN_INVALID',
      /tasks\[0\]\.acceptance_criteria/u,
    );
    expectCode(
      () => parseWorkBreakdown(withTask({ depends_on: ['nope'] }, 1), catalog),
      'PLAN_INVALID',
      /tasks\[1\]\.depends_on\[0\]: unknown task "nope"/u,
    );
    expectCode(
      () => parseWorkBreakdown(withTask({ requirement_keys: ['FR-99'] }), catalog, { prd }),
      'PLAN_INVALID',
      /unknown requirement "FR-99"/u,
    );
    expectCode(() => parseWorkBreakdown(withTask({ depends_on: ['prd-form'] }), catalog), 'PLAN_INVALID', /cycle/u);
    expectCode(() => parseWorkBreakdown(valid, catalog, { phases: ['qa'] }), 'PLAN_INVALID', /not enabled/u);
  });

  it('merges into the deterministic plan', () => {
    const tasks = parseWorkBreakdown(valid, catalog, { prd });
    const merged = mergeBreakdown(plan, tasks);
    const byKey = new Map(merged.tasks.map((t) => [t.key, t]));
    expect(byKey.get('development/fr-1-4-implement')?.agentType).toBe('eng-api');
    // FR-6.3's deterministic task is superseded by the breakdown task, dependants follow it
    expect(byKey.has('development/fr-6-3-implement')).toBe(false);
    expect(byKey.get('development/prd-form')).toBeDefined();
    expect(byKey.get('qa/frontend-test')?.dependsOn).toContain('development/prd-form');
    expect(topoSort(merged.tasks)).toHaveLength(merged.tasks.length);
    for (const r of prd.requirements.filter((x) => x.kind === 'functional')) {
      expect(merged.tasks.some((t) => t.requirementKeys.includes(r.key))).toBe(true);
    }
  });
});
