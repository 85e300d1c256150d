/**
 * A runner PROCESS's PostgreSQL connections stay within `--pool-size` in all (its session
 * connection, graphile-worker's LISTEN and the queries), read from pg_stat_activity by its
 * per-process application_name while more tasks than connections run; a pool size too small
 * to work is refused with the flag named.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import {
  allSettled,
  type FakeCli,
  fakeCli,
  seedProject,
  seedTasks,
  spawnRunnerProcess,
  waitForTasks,
} from '../support/runner-harness.js';

let db: TestDatabase;
const children: ChildProcess[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await db.drop();
});

function spawnRunner(cli: FakeCli, args: string[], env: Record<string, string> = {}) {
  return spawnRunnerProcess(db.url, cli, ['--no-preflight', ...args], { env, children });
}

/** This process's connections to the test database now. */
async function connectionsOf(pid: number): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    'select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2',
    [db.name, `samgita-runner:${pid}`],
  );
  return rows[0]!.n;
}

describe('runner connections', () => {
  it('never exceed --pool-size while more tasks than connections run', async () => {
    const cli = fakeCli([{ steps: [{ run: 'sleep 0.3' }, { text: 'ok' }] }]);
    const { projectId } = await seedProject(db.pool);
    await seedTasks(
      db.pool,
      projectId,
      Array.from({ length: 16 }, (_, i) => ({ key: `c${i}` })),
    );
    const poolSize = 4;
    const runner = spawnRunner(cli, ['--concurrency', '8', '--pool-size', String(poolSize)]);
    const pid = runner.child.pid!;
    // Sampled until every task has settled: the samples are observations, the wait is on task state.
    let peak = 0;
    let samples = 0;
    let settled = false;
    const sampling = (async () => {
      while (!settled) {
        peak = Math.max(peak, await connectionsOf(pid));
        samples++;
        // A sampling rate (50 a second), not a wait for anything: the test ends on task state.
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const statuses = await waitForTasks(db.pool, projectId, allSettled, 90_000);
      expect(Object.values(statuses).every((s) => s === 'completed')).toBe(true);
    } finally {
      settled = true;
      await sampling;
    }
    console.log(`runner connections: peak ${peak} of --pool-size ${poolSize} over ${samples} samples`);
    expect(samples).toBeGreaterThan(0);
    // Its session connection and graphile-worker's LISTEN at least, never more than it was given.
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(poolSize);
    runner.child.kill('SIGTERM');
    expect((await runner.exited).code).toBe(0);
  }, 120_000);

  it('refuses a pool size too small to work, naming the flag or the variable', async () => {
    const cli = fakeCli([]);
    const byFlag = spawnRunner(cli, ['--pool-size', '2']);
    expect((await byFlag.exited).code).not.toBe(0);
    expect(byFlag.output()).toMatch(/--pool-size must be at least 3/);
    const byEnv = spawnRunner(cli, [], { SAMGITA_RUNNER_POOL_SIZE: '1' });
    expect((await byEnv.exited).code).not.toBe(0);
    expect(byEnv.output()).toMatch(/SAMGITA_RUNNER_POOL_SIZE must be at least 3/);
  });
});
