/**
 * The pure parts of "a plan that knows what tasks touch": which Act a task
 * gets, which phases its breakdown plans, what a breakdown may change in the
 * recorded plan, and the claim-time decisions on overlapping areas.
 */
import { describe, expect, it } from 'vitest';
import { resolveAgentTypes } from '../../src/agents/catalog.js';
import { type Action, actionsAfterPhase, type RecordedTask, reconcilePlan } from '../../src/planner/diff.js';
import { planProject } from '../../src/planner/plan.js';
import { mergeBreakdown, parseWorkBreakdown, WORK_BREAKDOWN_JSON_SCHEMA } from '../../src/planner/structured.js';
import type { PlannedTask } from '../../src/planner/types.js';
import { parsePrd } from '../../src/prd/parse.js';
import { askForBreakdown } from '../../src/reconcile/analyze.js';
import { actKind, breakdownPhases } from '../../src/runner/decide/act.js';
import { areaConflict, tasksToWake } from '../../src/runner/decide/claim.js';

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Store a note in a file | P0 |
| FR-2 | List notes alphabetically | P1 |
`;
const catalog = resolveAgentTypes({});
const prd = parsePrd(PRD);
const plan = planProject({ prd, catalog, config: { phases: ['discovery', 'development', 'qa'] } });

const record = (tasks: readonly PlannedTask[], status: RecordedTask['status'] = 'pending'): RecordedTask[] =>
  tasks.map((t) => ({
    key: t.key,
    status,
    requirementKey: t.requirementKey,
    requirementHash: t.requirementHash,
    phase: t.phase,
    agentType: t.agentType,
    dependsOn: t.dependsOn,
    priority: t.priority,
    acceptanceCriteria: t.acceptanceCriteria,
    areas: t.areas,
  }));

describe('the breakdown task', () => {
  it('is the discovery task prd-breakdown; every other task edits', () => {
    expect(actKind({ key: 'discovery/prd-breakdown', phase: 'discovery' })).toBe('breakdown');
    expect(actKind({ key: 'discovery/notes-analyze', phase: 'discovery' })).toBe('edit');
    expect(actKind({ key: 'development/fr-1-implement', phase: 'development' })).toBe('edit');
  });

  it('plans only the enabled phases after its own', () => {
    expect(breakdownPhases(['bootstrap', 'discovery', 'development', 'qa'], 'discovery')).toEqual([
      'development',
      'qa',
    ]);
    expect(breakdownPhases(['discovery'], 'discovery')).toEqual([]);
    expect(breakdownPhases(['development'], 'discovery')).toEqual([]);
  });

  it('has an area of its own, so the section analyses run beside it', () => {
    const byKey = new Map(plan.tasks.map((t) => [t.key, t]));
    expect(byKey.get('discovery/prd-breakdown')?.areas).toEqual(['requirements:work-breakdown']);
    const analyses = plan.tasks.filter((t) => t.key.endsWith('-analyze'));
    expect(analyses.length).toBeGreaterThan(0);
    for (const t of analyses)
      expect(areaConflict(t.areas, [{ key: 'b', areas: ['requirements:work-breakdown'] }])).toBe(null);
  });

  it('asks for the areas of every task', () => {
    expect(WORK_BREAKDOWN_JSON_SCHEMA.properties.tasks.items.required).toContain('areas');
  });
});

describe('asking for a breakdown', () => {
  const good = {
    tasks: [
      {
        key: 'development/notes',
        title: 'Notes',
        description: 'Store and list notes.',
        phase: 'development',
        agent_type: 'eng-backend',
        priority: 'P0',
        requirement_keys: ['FR-1', 'FR-2'],
        depends_on: [],
        acceptance_criteria: ['Notes are listed'],
        areas: ['src/notes.ts'],
      },
    ],
  };
  const spec = { prd: PRD, catalog, phases: ['development' as const] };

  it('asks again with the validation error until an answer validates', async () => {
    const prompts: string[] = [];
    const answers = [{ tasks: [] }, { tasks: [{ ...good.tasks[0], phase: 'qa' }] }, good];
    const r = await askForBreakdown(spec, async ({ prompt, attempt }) => {
      prompts.push(prompt);
      return { kind: 'answer', answer: answers[attempt - 1], costUsd: 0.5 };
    });
    expect(r.kind === 'valid' && [r.result.attempts, r.result.costUsd, r.result.tasks[0]?.areas]).toEqual([
      3,
      1.5,
      ['src/notes.ts'],
    ]);
    expect(prompts[0]).toMatch(/Use only these phases: development\./u);
    expect(prompts[1]).toMatch(/previous answer was invalid: work breakdown has no tasks/u);
    expect(prompts[2]).toMatch(/phase "qa" is not enabled/u);
  });

  it('gives up after the attempts with the last error, or stops when the caller says so', async () => {
    const invalid = await askForBreakdown(spec, async () => ({ kind: 'answer', answer: 'not json', costUsd: 0 }));
    expect(invalid).toMatchObject({ kind: 'invalid', attempts: 3, error: { code: 'PLAN_INVALID' } });
    const stopped = await askForBreakdown<string>(spec, async () => ({ kind: 'stop', stop: 'budget' }));
    expect(stopped).toEqual({ kind: 'stop', stop: 'budget' });
  });
});

describe('re-planning from a breakdown', () => {
  const breakdown = parseWorkBreakdown(
    {
      tasks: [
        {
          key: 'development/fr-2-implement',
          title: 'List notes',
          description: 'List notes sorted by title, in src/list.ts.',
          phase: 'development',
          agent_type: 'eng-backend',
          priority: 'P1',
          requirement_keys: ['FR-2'],
          depends_on: [],
          acceptance_criteria: ['Sorted alphabetically'],
          areas: ['src/list.ts'],
        },
        {
          key: 'development/notes-index',
          title: 'Notes index',
          description: 'Keep an index of note titles.',
          phase: 'development',
          agent_type: 'eng-database',
          priority: 'P2',
          depends_on: [],
          acceptance_criteria: ['The index lists every note'],
          areas: ['src/index.ts'],
        },
      ],
    },
    catalog,
    { prd, phases: ['development', 'qa'] },
  );

  it('a task the breakdown overrides keeps the planner’s areas when it names none', () => {
    const [first] = breakdown;
    const merged = mergeBreakdown(plan, [{ ...first!, areas: [] }]);
    const planned = plan.tasks.find((t) => t.key === 'development/fr-2-implement');
    expect(merged.tasks.find((t) => t.key === 'development/fr-2-implement')?.areas).toEqual(planned?.areas);
  });

  it('updates a not-started task whose areas or criteria it refined, and adds its new tasks', () => {
    const actions = reconcilePlan({ desired: mergeBreakdown(plan, breakdown), recorded: record(plan.tasks) });
    expect(actions.filter((a) => a.type === 'create').map((a) => a.key)).toEqual(['development/notes-index']);
    const update = actions.find((a) => a.key === 'development/fr-2-implement');
    expect(update).toMatchObject({ type: 'update', changes: ['acceptanceCriteria', 'areas'] });
    // Rows without areas or criteria (seeded, older) are not compared on them.
    const bare = record(plan.tasks).map(({ areas: _a, acceptanceCriteria: _c, ...r }) => r);
    expect(reconcilePlan({ desired: plan, recorded: bare })).toEqual([]);
    expect(reconcilePlan({ desired: plan, recorded: record(plan.tasks) })).toEqual([]);
  });

  it('leaves the breakdown’s own phase and earlier ones alone', () => {
    const act = (phase: string, type: 'create' | 'cancel'): Action =>
      type === 'create'
        ? { type, key: `${phase}/x`, phase, task: plan.tasks[0]! }
        : { type, key: `${phase}/y`, phase, reason: 'not_desired', previousStatus: 'running' };
    const actions = [
      act('bootstrap', 'cancel'),
      act('discovery', 'cancel'),
      act('discovery', 'create'),
      act('development', 'create'),
      act('qa', 'cancel'),
    ];
    const phases = ['bootstrap', 'discovery', 'architecture', 'development', 'qa'];
    expect(actionsAfterPhase(actions, phases, 'discovery').map((a) => a.key)).toEqual(['development/x', 'qa/y']);
  });
});

describe('areas at claim', () => {
  const running = [
    { key: 'development/api-projects', areas: ['api:projects'] },
    { key: 'development/page', areas: ['src/web/page.tsx'] },
  ];

  it('a task waits beside a running task whose areas overlap its own', () => {
    expect(areaConflict(['api'], running)).toEqual({
      task: 'development/api-projects',
      area: 'api',
      theirs: 'api:projects',
    });
    expect(areaConflict(['api:projects:list'], running)?.task).toBe('development/api-projects');
    expect(areaConflict(['src/web/'], running)).toEqual({
      task: 'development/page',
      area: 'src/web/',
      theirs: 'src/web/page.tsx',
    });
  });

  it('disjoint areas run in parallel; no areas overlap nothing', () => {
    expect(areaConflict(['api:keys', 'ui:dashboard'], running)).toBeNull();
    expect(areaConflict(['src/web/other.tsx'], running)).toBeNull();
    expect(areaConflict([], running)).toBeNull();
    expect(areaConflict(['api'], [{ key: 'bare', areas: [] }])).toBeNull();
    expect(areaConflict(['api'], [])).toBeNull();
  });

  it('a settled task wakes everyone waiting on its areas, and the next waiter for its slot', () => {
    const waiters = [
      { id: 'a', agentType: 'eng-qa', areas: ['tests'] },
      { id: 'b', agentType: 'eng-api', areas: ['api:projects'] },
      { id: 'c', agentType: 'eng-backend', areas: ['service'] },
      { id: 'd', agentType: 'eng-api', areas: ['api:keys'] },
      { id: 'e', agentType: 'eng-backend', areas: [] },
    ];
    // An api task settled: both api waiters, then one more (same agent type first: none left, so by priority).
    expect(tasksToWake(waiters, { agentType: 'eng-api', areas: ['api'] }, 1)).toEqual(['b', 'd', 'a']);
    // A backend task without areas: the next backend waiter only.
    expect(tasksToWake(waiters, { agentType: 'eng-backend', areas: [] }, 1)).toEqual(['c']);
    expect(tasksToWake(waiters, { agentType: 'eng-backend', areas: [] }, 0)).toEqual([]);
    expect(tasksToWake([], { agentType: 'eng-api', areas: ['api'] }, 1)).toEqual([]);
  });
});
