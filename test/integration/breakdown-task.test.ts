/**
 * The discovery task's own work is the structured breakdown: run by a runner
 * with the stand-in CLI, its Act asks with --json-schema, feeds validation
 * errors back, records the analysis, re-plans the later phases (a revision of
 * source 'breakdown', a project.reconciled event naming the task), and the
 * later phases run the new plan. An answer that never validates keeps the
 * deterministic plan; the task still completes, with a warning event.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSamgitaYaml } from '../../src/config/samgita-yaml/index.js';
import { runProject } from '../../src/projects/transition.js';
import { replanProject } from '../../src/reconcile/replan.js';
import { registerProject } from '../../src/store/projects.js';
import { git, makeRepo } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type FakeScenario, readFakeLog } from '../support/fake-claude/index.js';
import { allSettled, fakeCli, runner, type TestRunner, waitForTasks } from '../support/runner-harness.js';

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Store a note in a file | P0 |
| FR-2 | List notes alphabetically | P1 |
`;
const YAML = 'phases: [discovery, development]\nverify:\n  test: "true"\n';
const config = parseSamgitaYaml(YAML, 'samgita.yaml');
const actor = { type: 'cli' as const };

const task = (over: Record<string, unknown>) => ({
  title: 'A task',
  description: 'Do it.',
  phase: 'development',
  agent_type: 'eng-backend',
  priority: 'P1',
  requirement_keys: [],
  depends_on: [],
  acceptance_criteria: ['It is done'],
  areas: [],
  ...over,
});
/** Narrows FR-2's task to one file and adds an index task. */
const VALID = {
  summary: 'A store, a listing and an index.',
  tasks: [
    task({
      key: 'development/fr-2-implement',
      title: 'List notes',
      description: 'List notes sorted by title.',
      requirement_keys: ['FR-2'],
      acceptance_criteria: ['Sorted alphabetically'],
      areas: ['src/list.ts'],
    }),
    task({ key: 'development/notes-index', title: 'Notes index', areas: ['src/index.ts'], agent_type: 'eng-database' }),
  ],
};
const WIZARD = { tasks: [task({ key: 'development/x', agent_type: 'wizard' })] };
const UNKNOWN_FR = { tasks: [task({ key: 'development/x', requirement_keys: ['FR-9'] })] };

const answer = (match: string, output: unknown): FakeScenario => ({
  match,
  steps: [{ structured_output: output }, { result: { text: 'ok' } }],
});
/** Every other task writes a file of its own (its worktree's name), so merges never conflict. */
const WORK: FakeScenario = { steps: [{ run: 'echo done > "$(basename "$PWD").txt"' }, { text: 'done' }] };
const PLANNING = 'You are the planning agent of Samgita';

let db: TestDatabase;
const runners: TestRunner[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});
afterAll(async () => {
  await db.drop();
});

const q = async <T extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
  (await db.pool.query<T>(text, params)).rows;

/** A registered, reconciled, running project on a fresh repository, worked by one runner. */
async function runWith(name: string, scenarios: FakeScenario[]) {
  const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': YAML });
  const head = await git(repo, 'rev-parse', 'HEAD');
  const { project } = await registerProject(
    db.pool,
    { name, gitUrl: `file://${repo}`, workingPath: repo, defaultBranch: 'main' },
    actor,
  );
  const planned = await replanProject(db.pool, project.id, {
    commitSha: head,
    prd: PRD,
    config,
    configText: YAML,
    actor,
  });
  const cli = fakeCli(scenarios);
  runners.push(await runner(db.url, cli, { concurrency: 3 }));
  await runProject(db.pool, project.id, actor, { resumePaused: true });
  const statuses = await waitForTasks(db.pool, project.id, allSettled, 60_000);
  return { projectId: project.id, planned, statuses, calls: readFakeLog(cli.log).filter((c) => c.command === 'print') };
}

const breakdownActs = (projectId: string) =>
  q<{ input: { breakdown_attempt: number } }>(
    `select s.input from rarv_steps s join tasks t on t.id = s.task_id
      where t.project_id = $1 and t.key = 'discovery/prd-breakdown' and s.step = 'act' order by s.id`,
    [projectId],
  );

describe('the discovery breakdown task', () => {
  it('re-plans the later phases from a valid breakdown, and they run the new plan', async () => {
    const { projectId, planned, statuses, calls } = await runWith('valid', [answer(PLANNING, VALID), WORK]);
    expect(planned.plan.tasks.map((t) => t.key)).not.toContain('development/notes-index');
    expect(Object.values(statuses).every((s) => s === 'completed')).toBe(true);
    expect(statuses['development/notes-index']).toBe('completed');

    // Asked once, with the schema, about the later phases only.
    const asked = calls.filter((c) => c.prompt?.includes(PLANNING));
    expect(asked).toHaveLength(1);
    expect(String(asked[0]?.flags['--json-schema'])).toMatch(/Samgita work breakdown/u);
    expect(asked[0]?.prompt).toMatch(/Use only these phases: development\./u);
    expect(asked[0]?.flags['--disallowedTools']).toEqual(expect.arrayContaining([expect.stringMatching(/Write/u)]));
    expect(await breakdownActs(projectId)).toHaveLength(1);
    // No file changed: the schema check is its verify; no command runs, nothing to integrate.
    const steps = await q<{ step: string }>(
      `select s.step from rarv_steps s join tasks t on t.id = s.task_id
        where t.project_id = $1 and t.key = 'discovery/prd-breakdown' order by s.id`,
      [projectId],
    );
    expect(steps.map((x) => x.step)).toEqual(['reason', 'act', 'reflect']);

    // The plan after it: the new task, and FR-2's task narrowed to one file.
    const [narrowed] = await q<{ payload: { areas: string[]; acceptanceCriteria: string[] } }>(
      `select payload from tasks where project_id = $1 and key = 'development/fr-2-implement'`,
      [projectId],
    );
    expect(narrowed?.payload.areas).toEqual(['src/list.ts']);
    expect(narrowed?.payload.acceptanceCriteria).toEqual(['Sorted alphabetically']);

    // Recorded: the analysis, a revision refined by it (current), and the event naming the task.
    const [analysis] = await q<{ id: string; attempts: number }>(
      'select id, attempts from prd_analyses where project_id = $1',
      [projectId],
    );
    expect(analysis?.attempts).toBe(1);
    const revs = await q<{ id: string; source: string; analysis_id: string | null; current: boolean }>(
      `select r.id, r.source, r.analysis_id, p.current_revision_id = r.id as current
         from prd_revisions r join projects p on p.id = r.project_id where r.project_id = $1 order by r.inserted_at`,
      [projectId],
    );
    expect(revs.map((r) => [r.source, r.analysis_id, r.current])).toEqual([
      ['git', null, false],
      ['breakdown', analysis?.id, true],
    ]);
    const events = await q<{ subject_id: string; data: { cause?: { source?: string } } }>(
      `select subject_id, data from events where project_id = $1 and kind = 'project.reconciled' order by id`,
      [projectId],
    );
    const fromBreakdown = events.filter((e) => e.data.cause?.source === 'breakdown');
    expect(fromBreakdown).toHaveLength(1);
    expect(fromBreakdown[0]).toMatchObject({
      subject_id: revs[1]?.id,
      data: {
        cause: { task_key: 'discovery/prd-breakdown', analysis_id: analysis?.id },
        tasks: { created: 1, updated: ['development/fr-2-implement'], cancelled: [] },
      },
    });

    // The later phase ran after the re-plan, on the new plan.
    const order = await q<{ key: string; started_at: Date; completed_at: Date }>(
      `select key, started_at, completed_at from tasks where project_id = $1`,
      [projectId],
    );
    const at = new Map(order.map((t) => [t.key, t]));
    const breakdownDone = at.get('discovery/prd-breakdown')!.completed_at.getTime();
    for (const t of order.filter((x) => x.key.startsWith('development/')))
      expect(t.started_at.getTime(), t.key).toBeGreaterThanOrEqual(breakdownDone);

    // A re-plan of the same commit (e.g. `samgita run` again) keeps the refined plan and stays in sync.
    const head = await git(
      (await q<{ working_path: string }>('select working_path from projects where id = $1', [projectId]))[0]!
        .working_path,
      'rev-parse',
      'HEAD',
    );
    const again = await replanProject(db.pool, projectId, {
      commitSha: head,
      prd: PRD,
      config,
      configText: YAML,
      actor,
    });
    expect(again.actions).toEqual([]);
    expect(again.revisionId).toBe(revs[1]?.id);
  });

  it('feeds validation errors back: invalid twice, then valid', async () => {
    const { projectId, statuses, calls } = await runWith('retry', [
      answer('unknown requirement "FR-9"', VALID),
      answer('unknown agent type "wizard"', UNKNOWN_FR),
      answer(PLANNING, WIZARD),
      WORK,
    ]);
    expect(statuses['development/notes-index']).toBe('completed');
    const asked = calls.filter((c) => c.prompt?.includes(PLANNING));
    expect(asked).toHaveLength(3);
    expect(asked[1]?.prompt).toMatch(/previous answer was invalid: .*unknown agent type "wizard"/u);
    expect(asked[2]?.prompt).toMatch(/previous answer was invalid: .*unknown requirement "FR-9"/u);
    expect((await breakdownActs(projectId)).map((s) => s.input.breakdown_attempt)).toEqual([1, 2, 3]);
    const [analysis] = await q<{ attempts: number }>('select attempts from prd_analyses where project_id = $1', [
      projectId,
    ]);
    expect(analysis?.attempts).toBe(3);
    // Every call's usage counts on the task, like any Act.
    const [t] = await q<{ cost_usd: number }>(
      `select cost_usd::float8 as cost_usd from tasks where project_id = $1 and key = 'discovery/prd-breakdown'`,
      [projectId],
    );
    expect(t!.cost_usd).toBeGreaterThan(0);
  });

  it('keeps the deterministic plan when no answer validates; the task still completes, with a warning', async () => {
    const { projectId, planned, statuses, calls } = await runWith('invalid', [answer(PLANNING, { tasks: [] }), WORK]);
    expect(calls.filter((c) => c.prompt?.includes(PLANNING))).toHaveLength(3);
    expect(Object.values(statuses).every((s) => s === 'completed')).toBe(true);
    expect(Object.keys(statuses).sort()).toEqual(planned.plan.tasks.map((t) => t.key).sort());
    const [warning] = await q<{ data: { reason: string; attempts: number; error: string } }>(
      `select data from events where project_id = $1 and kind = 'project.breakdown_rejected'`,
      [projectId],
    );
    expect(warning?.data).toMatchObject({ reason: 'invalid', attempts: 3 });
    expect(warning?.data.error).toMatch(/no tasks|tasks/u);
    expect(await q('select 1 from prd_analyses where project_id = $1', [projectId])).toHaveLength(0);
    expect(
      await q(`select 1 from prd_revisions where project_id = $1 and source = 'breakdown'`, [projectId]),
    ).toHaveLength(0);
    const [t] = await q<{ result: { verify: { passed: boolean; summary: string } } }>(
      `select result from tasks where project_id = $1 and key = 'discovery/prd-breakdown'`,
      [projectId],
    );
    expect(t?.result.verify).toMatchObject({ passed: false });
    expect(t?.result.verify.summary).toMatch(/no valid work breakdown after 3 attempts/u);
  });
});
