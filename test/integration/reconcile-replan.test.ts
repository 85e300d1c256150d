import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAgentTypes } from '../../src/agents/catalog.js';
import { parseSamgitaYaml } from '../../src/config/samgita-yaml/index.js';
import { planProject } from '../../src/planner/plan.js';
import { parsePrd } from '../../src/prd/parse.js';
import { reconcileProject } from '../../src/reconcile/reconcile.js';
import { replanProject } from '../../src/reconcile/replan.js';
import { registerProject } from '../../src/store/projects.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const PRD = readFileSync(new URL('../fixtures/prd/samgita-prd.md', import.meta.url), 'utf8');
const config = parseSamgitaYaml('', 'samgita.yaml');
const actor = { type: 'cli' as const, id: 'test' };

let db: TestDatabase;
let projectId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  const { project } = await registerProject(
    db.pool,
    { name: 'samgita', gitUrl: 'file:///tmp/samgita-replan', workingPath: null, defaultBranch: 'main' },
    actor,
  );
  projectId = project.id;
});
afterAll(async () => {
  await db.drop();
});

const counts = async () => {
  const q = async (sql: string) => (await db.pool.query<{ n: number }>(sql)).rows[0]!.n;
  return {
    tasks: await q('select count(*)::int as n from tasks'),
    events: await q('select count(*)::int as n from events'),
    revisions: await q('select count(*)::int as n from prd_revisions'),
    requirements: await q('select count(*)::int as n from requirements'),
    deps: await q('select count(*)::int as n from task_dependencies'),
  };
};
const taskRows = async () =>
  new Map(
    (
      await db.pool.query<{ key: string; status: string; requirement_hash: string | null; description: string }>(
        'select key, status, requirement_hash, description from tasks where project_id = $1',
        [projectId],
      )
    ).rows.map((r) => [r.key, r]),
  );

describe('the planner on the shared PRD', () => {
  const prd = parsePrd(PRD);
  const plan = planProject({ prd, config, catalog: resolveAgentTypes(config.agents) });

  it('covers every FR row with a development task', () => {
    const frs = prd.requirements.filter((r) => r.kind === 'functional' && /^FR-\d+\.\d+$/u.test(r.key));
    expect(frs.length).toBeGreaterThanOrEqual(50);
    const dev = plan.tasks.filter((t) => t.phase === 'development');
    for (const r of frs)
      expect(
        dev.some((t) => t.requirementKeys.includes(r.key)),
        r.key,
      ).toBe(true);
    expect(plan.warnings.filter((w) => /not covered/u.test(w))).toEqual([]);
  });

  it('routes FR rows to fitting agent types', () => {
    const agentOf = (fr: string) => plan.tasks.find((t) => t.key === `development/${fr}-implement`)?.agentType;
    for (const fr of ['fr-6-1', 'fr-6-2', 'fr-6-5', 'fr-6-9']) expect(agentOf(fr), fr).toBe('eng-frontend');
    for (const fr of ['fr-7-1', 'fr-7-2', 'fr-7-4']) expect(agentOf(fr), fr).toBe('eng-api');
    for (const fr of ['fr-3-1', 'fr-3-2', 'fr-3-3', 'fr-3-4', 'fr-3-5']) expect(agentOf(fr), fr).toBe('eng-backend');
    expect(plan.tasks.find((t) => t.key === 'discovery/prd-breakdown')?.agentType).toBe('prod-pm');
    expect(plan.tasks.find((t) => t.key === 'qa/security-review')?.agentType).toBe('review-security');
  });

  it('orders dependencies sensibly: designs before implementations, the UI on the API', () => {
    const byKey = new Map(plan.tasks.map((t) => [t.key, t]));
    expect(byKey.get('development/api-projects-implement')?.dependsOn).toContain('architecture/api-projects-design');
    const ui = byKey.get('development/fr-6-1-implement')!;
    expect(ui.dependsOn.some((d) => d.startsWith('development/'))).toBe(true);
    const phaseIndex = (k: string) => plan.phases.indexOf(byKey.get(k)!.phase);
    for (const t of plan.tasks)
      for (const d of t.dependsOn) expect(phaseIndex(d)).toBeLessThanOrEqual(phaseIndex(t.key));
  });
});

describe('replanProject on real PostgreSQL', () => {
  it('creates the plan once; the same commit twice is a no-op with no new events', async () => {
    const first = await replanProject(db.pool, projectId, { commitSha: 'a'.repeat(40), prd: PRD, config, actor });
    expect(first.summary.create).toBeGreaterThan(100);
    expect(first.newRevision).toBe(true);
    const before = await counts();
    const again = await replanProject(db.pool, projectId, { commitSha: 'a'.repeat(40), prd: PRD, config, actor });
    expect(again.actions).toEqual([]);
    expect(again.newRevision).toBe(false);
    expect(await counts()).toEqual(before);
    // A different commit with the same content: a new revision, but no task actions.
    const moved = await replanProject(db.pool, projectId, { commitSha: 'b'.repeat(40), prd: PRD, config, actor });
    expect(moved.actions).toEqual([]);
  });

  it('a dry run writes nothing', async () => {
    const before = await counts();
    const edited = PRD.replace(
      '| FR-1.5 | Edit PRD mid-execution | P0 |',
      '| FR-1.5 | Edit PRD mid-execution and re-plan | P0 |',
    );
    const r = await reconcileProject(db.pool, {
      projectId,
      revisionId: null,
      prd: edited,
      config,
      dryRun: true,
      actor,
    });
    expect(r.applied).toBe(false);
    expect(r.requirements.changed).toEqual(['FR-1.5']);
    expect(r.actions.length).toBeGreaterThan(0);
    expect(await counts()).toEqual(before);
  });

  it('editing one requirement re-plans only its tasks: update pending, restart running, reopen completed', async () => {
    // Simulate progress: the FR-1.5 implementation is running, its QA test completed, another task completed.
    await db.pool.query(
      `update tasks set status = 'running' where project_id = $1 and key = 'development/fr-1-5-implement'`,
      [projectId],
    );
    await db.pool.query(
      `update tasks set status = 'completed' where project_id = $1 and key in ('qa/backend-test', 'development/fr-1-6-implement')`,
      [projectId],
    );
    const edited = PRD.replace(
      '| FR-1.5 | Edit PRD mid-execution | P0 |',
      '| FR-1.5 | Edit PRD mid-execution and re-plan | P0 |',
    );
    const before = await taskRows();
    const r = await replanProject(db.pool, projectId, { commitSha: 'c'.repeat(40), prd: edited, config, actor });
    expect(r.requirements.changed).toEqual(['FR-1.5']);
    expect(r.summary.create).toBe(0);
    expect(r.summary.cancel).toBe(0);
    // Every touched task covers FR-1.5; every task covering FR-1.5 is touched.
    const covering = r.plan.tasks.filter((t) => t.requirementKeys.includes('FR-1.5')).map((t) => t.key);
    expect(r.actions.map((a) => a.key).sort()).toEqual([...covering].sort());
    const byType = Object.fromEntries(r.actions.map((a) => [a.key, a.type]));
    expect(byType['development/fr-1-5-implement']).toBe('restart');
    expect(byType['qa/backend-test']).toBe('reopen');
    expect(byType['development/fr-1-6-implement']).toBeUndefined();
    const after = await taskRows();
    expect(after.get('development/fr-1-5-implement')?.status).toBe('pending');
    expect(after.get('development/fr-1-5-implement')?.description).toMatch(/and re-plan/u);
    expect(after.get('qa/backend-test')?.status).toBe('pending');
    expect(after.get('development/fr-1-6-implement')?.status).toBe('completed');
    for (const [key, row] of after) {
      if (!covering.includes(key)) expect(row.requirement_hash, key).toBe(before.get(key)?.requirement_hash);
    }
    const ev = await db.pool.query<{ data: { requirements: { changed: string[] }; tasks: Record<string, unknown> } }>(
      `select data from events where project_id = $1 and kind = 'project.reconciled' order by id desc limit 1`,
      [projectId],
    );
    expect(ev.rows[0]?.data.requirements.changed).toEqual(['FR-1.5']);
    expect(ev.rows[0]?.data.tasks.restarted).toEqual(['development/fr-1-5-implement']);
  });

  it('removing a requirement cancels its tasks and deletes their queue jobs', async () => {
    const edited = PRD.replace(
      '| FR-1.5 | Edit PRD mid-execution | P0 |',
      '| FR-1.5 | Edit PRD mid-execution and re-plan | P0 |',
    ).replace(/\| FR-1\.9 \| Clone project configuration \| P2 \|\n/u, '');
    const t = await db.pool.query<{ id: string }>(
      `update tasks set status = 'queued' where project_id = $1 and key = 'development/fr-1-9-implement' returning id`,
      [projectId],
    );
    await db.pool.query(`select graphile_worker.add_job('run_task', '{}'::json, job_key => $1)`, [
      `task:${t.rows[0]!.id}`,
    ]);
    const r = await replanProject(db.pool, projectId, { commitSha: 'd'.repeat(40), prd: edited, config, actor });
    expect(r.requirements.removed).toEqual(['FR-1.9']);
    const cancelled = r.actions.filter((a) => a.type === 'cancel');
    expect(cancelled.map((a) => a.key)).toEqual(['development/fr-1-9-implement']);
    expect(cancelled[0]).toMatchObject({ reason: 'requirement_removed' });
    const changed = r.actions.filter((a) => a.type !== 'cancel').map((a) => a.key);
    // The other touched tasks are the ones that covered FR-1.9 together with other requirements.
    const previous = planProject({
      prd: parsePrd(
        PRD.replace('| FR-1.5 | Edit PRD mid-execution | P0 |', '| FR-1.5 | Edit PRD mid-execution and re-plan | P0 |'),
      ),
      config,
      catalog: resolveAgentTypes(config.agents),
    });
    for (const k of changed) expect(previous.tasks.find((x) => x.key === k)?.requirementKeys, k).toContain('FR-1.9');
    const row = await taskRows();
    expect(row.get('development/fr-1-9-implement')?.status).toBe('cancelled');
    const jobs = await db.pool.query('select 1 from graphile_worker.jobs where key = $1', [`task:${t.rows[0]!.id}`]);
    expect(jobs.rowCount).toBe(0);
    // Reconciling the same commit again: nothing.
    const again = await replanProject(db.pool, projectId, { commitSha: 'd'.repeat(40), prd: edited, config, actor });
    expect(again.actions).toEqual([]);
    // Putting the requirement back reopens the cancelled task.
    const back = await replanProject(db.pool, projectId, {
      commitSha: 'e'.repeat(40),
      prd: PRD.replace(
        '| FR-1.5 | Edit PRD mid-execution | P0 |',
        '| FR-1.5 | Edit PRD mid-execution and re-plan | P0 |',
      ),
      config,
      actor,
    });
    expect(back.actions.find((a) => a.key === 'development/fr-1-9-implement')?.type).toBe('reopen');
  });
});
