/**
 * Tasks whose areas overlap do not run at the same time (checked at claim,
 * under the project's claim lock, across runners); tasks with disjoint areas
 * do. The waiting task is woken when the task it waited for settles, not
 * after a long fixed delay.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import type { FakeScenario } from '../support/fake-claude/index.js';
import {
  allSettled,
  fakeCli,
  runner,
  seedProject,
  seedTasks,
  type TestRunner,
  waitForTasks,
} from '../support/runner-harness.js';

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

/** A task's agent works `ms` in its worktree (named after the task), writing a file of its own. */
const works = (key: string, ms: number): FakeScenario => ({
  match: { cwd: `/\\/${key}$/` },
  steps: [{ run: `echo ${key} > ${key}.txt` }, { sleep: ms }, { text: 'done' }],
});

interface Run {
  key: string;
  started: number;
  ended: number;
}
const overlaps = (a: Run, b: Run) => a.started < b.ended && b.started < a.ended;

describe('areas at claim', () => {
  it('overlapping tasks never run at once across runners; disjoint ones do; the waiter starts when the first settles', async () => {
    const cli = fakeCli([
      works('api-all', 2_500),
      works('api-projects', 2_500),
      works('ui-dashboard', 1_500),
      works('docs', 1_500),
    ]);
    const { projectId } = await seedProject(db.pool, { limits: { max_concurrent_agents: 10 } });
    const areas: Record<string, string[]> = {
      'api-all': ['api'],
      'api-projects': ['api:projects'],
      'ui-dashboard': ['ui:dashboard'],
      docs: ['docs'],
    };
    const ids = await seedTasks(
      db.pool,
      projectId,
      Object.keys(areas).map((key, i) => ({ key, priority: 10 + i })),
    );
    for (const [key, a] of Object.entries(areas)) {
      await db.pool.query(`update tasks set payload = jsonb_build_object('areas', $2::jsonb) where id = $1`, [
        ids.get(key),
        JSON.stringify(a),
      ]);
    }
    runners.push(...(await Promise.all([1, 2].map(() => runner(db.url, cli, { concurrency: 4 })))));
    const statuses = await waitForTasks(db.pool, projectId, allSettled, 60_000);
    expect(Object.values(statuses)).toEqual(['completed', 'completed', 'completed', 'completed']);

    const rows = await q<{ key: string; started_at: Date; ended_at: Date }>(
      `select t.key, a.started_at, a.ended_at from agent_runs a join tasks t on t.id = a.current_task_id
        where a.project_id = $1`,
      [projectId],
    );
    // One agent run each: waiting is not claiming (no attempt, no agent run).
    expect(rows).toHaveLength(4);
    const run = new Map<string, Run>(
      rows.map((r) => [r.key, { key: r.key, started: r.started_at.getTime(), ended: r.ended_at.getTime() }]),
    );
    const api = run.get('api-all')!;
    const projects = run.get('api-projects')!;
    expect(overlaps(api, projects)).toBe(false);
    // Disjoint areas ran beside the api work.
    expect(overlaps(run.get('ui-dashboard')!, api) || overlaps(run.get('ui-dashboard')!, projects)).toBe(true);
    expect(overlaps(run.get('docs')!, api) || overlaps(run.get('docs')!, projects)).toBe(true);
    // The second api task started right after the first settled (woken), not after a grown delay.
    const [first, second] = [api, projects].sort((a, b) => a.started - b.started);
    expect(second!.started - first!.ended).toBeGreaterThanOrEqual(0);
    expect(second!.started - first!.ended).toBeLessThan(1_000);
    const [started] = await q<{ n: number }>(
      `select count(*)::int as n from events where kind = 'task.started' and project_id = $1`,
      [projectId],
    );
    expect(started!.n).toBe(4);
  });
});
