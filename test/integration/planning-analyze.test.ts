import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAgentTypes } from '../../src/agents/catalog.js';
import { parseSamgitaYaml } from '../../src/config/samgita-yaml/index.js';
import { analyzePrdDetailed, storeAnalysis } from '../../src/reconcile/analyze.js';
import { proposePerpetualCycle } from '../../src/reconcile/perpetual.js';
import { replanProject } from '../../src/reconcile/replan.js';
import { registerProject } from '../../src/store/projects.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { fakeClaudePath, readFakeLog, writeFakeScript } from '../support/fake-claude/index.js';

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Store a note in a file | P0 |
| FR-2 | List notes alphabetically | P1 |
`;
const config = parseSamgitaYaml('phases: [discovery, development]\n', 'samgita.yaml');
const catalog = resolveAgentTypes(config.agents);
const VALID = {
  summary: 'Two endpoints and a store.',
  tasks: [
    {
      key: 'development/note-store',
      title: 'Note store',
      description: 'A file-backed note store.',
      phase: 'development',
      agent_type: 'eng-backend',
      priority: 'P0',
      requirement_keys: ['FR-1'],
      depends_on: [],
      acceptance_criteria: ['Notes survive a restart'],
      areas: ['src/store/'],
    },
    {
      key: 'development/note-listing',
      title: 'Listing',
      description: 'List notes sorted by title.',
      phase: 'development',
      agent_type: 'eng-api',
      priority: 'P1',
      requirement_keys: ['FR-2'],
      depends_on: ['development/note-store'],
      acceptance_criteria: ['Sorted alphabetically'],
    },
  ],
};
const INVALID = { tasks: [{ ...VALID.tasks[0], agent_type: 'wizard' }] };

let dir: string;
let db: TestDatabase;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'samgita-analyze-'));
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

function analyze(scenarios: Parameters<typeof writeFakeScript>[1], name: string) {
  const sub = path.join(dir, name);
  mkdirSync(sub, { recursive: true });
  const script = writeFakeScript(sub, scenarios);
  const log = path.join(sub, 'log.jsonl');
  return {
    log,
    run: () =>
      analyzePrdDetailed({
        claudeBin: fakeClaudePath,
        cwd: dir,
        prd: PRD,
        catalog,
        config,
        env: { FAKE_CLAUDE_SCRIPT: script, FAKE_CLAUDE_LOG: log, FAKE_CLAUDE_LOGGED_IN: '1' },
        timeoutMs: 20_000,
        maxAttempts: 3,
      }),
  };
}

describe('analyzePrd with the stand-in CLI', () => {
  it('a valid structured answer becomes planned tasks; the schema goes to --json-schema', async () => {
    const a = analyze([{ steps: [{ structured_output: VALID }, { result: { text: 'ok', cost_usd: 0.02 } }] }], 'valid');
    const r = await a.run();
    expect(r.attempts).toBe(1);
    expect(r.tasks.map((t) => [t.key, t.agentType, t.requirementKeys])).toEqual([
      ['development/note-store', 'eng-backend', ['FR-1']],
      ['development/note-listing', 'eng-api', ['FR-2']],
    ]);
    expect(r.tasks[1]?.dependsOn).toEqual(['development/note-store']);
    const calls = readFakeLog(a.log);
    expect(calls).toHaveLength(1);
    expect(String(calls[0]?.flags['--json-schema'])).toMatch(/Samgita work breakdown/u);
  });

  it('an invalid answer is retried with the validation error fed back', async () => {
    const a = analyze(
      [
        { match: 'previous answer was invalid', steps: [{ structured_output: VALID }, { result: { text: 'ok' } }] },
        { steps: [{ structured_output: INVALID }, { result: { text: 'ok' } }] },
      ],
      'retry',
    );
    const r = await a.run();
    expect(r.attempts).toBe(2);
    expect(r.tasks).toHaveLength(2);
    const calls = readFakeLog(a.log);
    expect(calls[1]?.prompt).toMatch(/unknown agent type "wizard"/u);
  });

  it('an answer that never validates is PLAN_INVALID, never an empty plan', async () => {
    const a = analyze([{ steps: [{ structured_output: { tasks: [] } }, { result: { text: 'ok' } }] }], 'invalid');
    await expect(a.run()).rejects.toMatchObject({ code: 'PLAN_INVALID', message: /after 3 attempt/u });
    expect(readFakeLog(a.log)).toHaveLength(3);
  });

  it('a recorded breakdown is merged into every later re-plan (and its tasks are not cancelled)', async () => {
    const { project } = await registerProject(
      db.pool,
      { name: 'notes', gitUrl: 'file:///tmp/notes-analyze', workingPath: null, defaultBranch: 'main' },
      { type: 'cli' },
    );
    const a = analyze([{ steps: [{ structured_output: VALID }, { result: { text: 'ok' } }] }], 'merge');
    const result = await a.run();
    await storeAnalysis(db.pool, { projectId: project.id, revisionId: null, prdHash: 'x', configHash: '', result });
    const r = await replanProject(db.pool, project.id, {
      commitSha: '1'.repeat(40),
      prd: PRD,
      config,
      actor: { type: 'cli' },
    });
    const keys = r.plan.tasks.map((t) => t.key);
    expect(keys).toContain('development/note-store');
    expect(keys).toContain('discovery/prd-breakdown');
    // The deterministic implementation tasks are superseded by the agent's.
    expect(keys).not.toContain('development/fr-1-implement');
    const again = await replanProject(db.pool, project.id, {
      commitSha: '2'.repeat(40),
      prd: PRD,
      config,
      actor: { type: 'cli' },
    });
    expect(again.actions).toEqual([]);
  });
});

describe('perpetual mode', () => {
  it('proposes numbered improvement cycles after the plan is done and stops at the budget', async () => {
    const yaml =
      'phases: [development, perpetual]\nperpetual:\n  enabled: true\n  max_tasks_per_cycle: 2\nbudget:\n  project:\n    usd: 1\n';
    const cfg = parseSamgitaYaml(yaml, 'samgita.yaml');
    const { project } = await registerProject(
      db.pool,
      { name: 'perp', gitUrl: 'file:///tmp/notes-perpetual', workingPath: null, defaultBranch: 'main' },
      { type: 'cli' },
    );
    await replanProject(db.pool, project.id, {
      commitSha: '3'.repeat(40),
      prd: PRD,
      config: cfg,
      actor: { type: 'cli' },
    });
    await db.pool.query(`update projects set status = 'running' where id = $1`, [project.id]);
    expect(await proposePerpetualCycle(db.pool, project.id)).toMatchObject({ kind: 'skipped', reason: 'not_finished' });
    await db.pool.query(`update tasks set status = 'completed' where project_id = $1`, [project.id]);
    const c1 = await proposePerpetualCycle(db.pool, project.id);
    expect(c1).toMatchObject({ kind: 'proposed', cycle: 1 });
    expect(c1.kind === 'proposed' && c1.keys.every((k) => k.startsWith('perpetual/cycle-1/'))).toBe(true);
    expect(await proposePerpetualCycle(db.pool, project.id)).toMatchObject({ reason: 'cycle_in_progress' });
    // A re-plan does not cancel the improvement tasks.
    const re = await replanProject(db.pool, project.id, {
      commitSha: '4'.repeat(40),
      prd: PRD,
      config: cfg,
      actor: { type: 'cli' },
    });
    expect(re.actions.filter((x) => x.type === 'cancel')).toEqual([]);
    await db.pool.query(`update tasks set status = 'completed' where project_id = $1`, [project.id]);
    const c2 = await proposePerpetualCycle(db.pool, project.id);
    expect(c2).toMatchObject({ kind: 'proposed', cycle: 2 });
    await db.pool.query(`update tasks set status = 'completed' where project_id = $1`, [project.id]);
    await db.pool.query(`update projects set cost_usd = 1.5 where id = $1`, [project.id]);
    expect(await proposePerpetualCycle(db.pool, project.id)).toMatchObject({ kind: 'budget_reached' });
    const p = await db.pool.query<{ status: string; perpetual_cycle: number }>(
      'select status, perpetual_cycle from projects where id = $1',
      [project.id],
    );
    expect(p.rows[0]).toEqual({ status: 'paused', perpetual_cycle: 2 });
  });
});
