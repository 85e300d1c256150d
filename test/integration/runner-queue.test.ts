/**
 * Queue semantics and RARV outcomes on a real PostgreSQL with the scripted
 * stand-in CLI (FR-3, FR-2.2, FR-5.2): priority, dependencies, timeouts,
 * retries and dead letter, verify loops and escalation, rate limits, overload,
 * authentication failure, budgets, resume from a persisted step, caps, aborts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { retryTask } from '../../src/queue/retry.js';
import { backoffMs } from '../../src/runner/backoff.js';
import { capDelayMs } from '../../src/runner/run-task.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { readFakeLog } from '../support/fake-claude/index.js';
import {
  allSettled,
  fakeCli,
  runner,
  seedProject,
  seedTasks,
  type TestRunner,
  taskStatuses,
  waitFor,
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

async function start(cli: Parameters<typeof runner>[1], opts: Parameters<typeof runner>[2] = {}) {
  const r = await runner(db.url, cli, opts);
  runners.push(r);
  return r;
}

const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await db.pool.query<T>(sql, params)).rows;

const prompts = (log: string) => readFakeLog(log).filter((c) => c.command === 'print');

describe('queue order', () => {
  it('starts tasks in priority order', async () => {
    const cli = fakeCli([{ steps: [{ text: 'ok' }] }]);
    const { projectId } = await seedProject(db.pool, { limits: { max_concurrent_agents: 10 } });
    await seedTasks(db.pool, projectId, [
      { key: 'low', priority: 300 },
      { key: 'high', priority: 10 },
      { key: 'mid', priority: 200 },
    ]);
    await start(cli, { concurrency: 1 });
    await waitForTasks(db.pool, projectId, allSettled);
    const order = prompts(cli.log).map((c) => /Task (\w+):/.exec(c.prompt ?? '')?.[1]);
    expect(order).toEqual(['high', 'mid', 'low']);
  });

  it('enqueues a child only after its parent completed', async () => {
    const cli = fakeCli([{ steps: [{ sleep: 200 }, { text: 'ok' }] }]);
    const { projectId } = await seedProject(db.pool);
    const ids = await seedTasks(db.pool, projectId, [
      { key: 'parent' },
      { key: 'child', priority: 1, dependsOn: ['parent'] },
    ]);
    // Before any runner: only the parent has a job.
    expect(await taskStatuses(db.pool, projectId)).toEqual({ parent: 'queued', child: 'blocked' });
    const jobs = await q<{ key: string }>(`select key from graphile_worker.jobs where key = any($1)`, [
      [...ids.values()].map((id) => `task:${id}`),
    ]);
    expect(jobs.map((j) => j.key)).toEqual([`task:${ids.get('parent')}`]);
    await start(cli, { concurrency: 4 });
    await waitForTasks(db.pool, projectId, allSettled);
    const [p] = await q<{ completed_at: Date }>('select completed_at from tasks where id = $1', [ids.get('parent')]);
    const [c] = await q<{ started_at: Date; queued_at: Date }>(
      'select started_at, queued_at from tasks where id = $1',
      [ids.get('child')],
    );
    expect(c!.queued_at.getTime()).toBeGreaterThanOrEqual(p!.completed_at.getTime());
    expect(c!.started_at.getTime()).toBeGreaterThanOrEqual(p!.completed_at.getTime());
  });
});

describe('failures and retries', () => {
  it('a task that times out is retried and then succeeds', async () => {
    const cli = fakeCli([]);
    const marker = path.join(cli.dir, 'first-attempt');
    cli.rewrite([{ steps: [{ run: `if [ ! -e ${marker} ]; then touch ${marker}; sleep 30; fi` }, { text: 'ok' }] }]);
    const { projectId } = await seedProject(db.pool, { limits: { task_timeout: 1_500 } });
    const ids = await seedTasks(db.pool, projectId, [{ key: 'slow' }]);
    await start(cli);
    await waitForTasks(db.pool, projectId, allSettled);
    const [t] = await q<{ status: string; attempts: number }>('select status, attempts from tasks where id = $1', [
      ids.get('slow'),
    ]);
    expect(t).toEqual({ status: 'completed', attempts: 2 });
    const retry = await q<{ data: { error: string } }>(
      `select data from events where kind = 'task.retrying' and subject_id = $1`,
      [ids.get('slow')],
    );
    expect(retry[0]!.data.error).toMatch(/timed out after 1500 ms/);
    const runs = await q<{ status: string }>(
      'select status from agent_runs where current_task_id = $1 order by started_at',
      [ids.get('slow')],
    );
    expect(runs.map((r) => r.status)).toEqual(['failed', 'completed']);
  });

  it('retries with backoff, dead-letters with the last error, and `retry` brings it back', async () => {
    const cli = fakeCli([{ steps: [{ crash: { code: 3 } }] }]);
    const { projectId } = await seedProject(db.pool, { limits: { max_attempts: 2 } });
    const ids = await seedTasks(db.pool, projectId, [{ key: 'flaky' }]);
    await start(cli, { retryBaseMs: 200 });
    await waitForTasks(db.pool, projectId, allSettled);
    const [t] = await q<{ status: string; attempts: number; error: { message: string } }>(
      'select status, attempts, error from tasks where id = $1',
      [ids.get('flaky')],
    );
    expect(t!.status).toBe('dead_letter');
    expect(t!.attempts).toBe(2);
    expect(t!.error.message).toMatch(/crashed|ended without a result/);
    const kinds = (
      await q<{ kind: string }>('select kind from events where subject_id = $1 order by id', [ids.get('flaky')])
    ).map((e) => e.kind);
    expect(kinds).toEqual(['task.started', 'task.retrying', 'task.started', 'task.failed', 'task.dead_lettered']);
    // The retry waited for its backoff (at least half the base delay).
    const calls = prompts(cli.log);
    expect(calls).toHaveLength(2);
    expect(
      Date.parse(readFakeLog(cli.log)[1]!.at as unknown as string) - Date.parse(calls[0]!.at as unknown as string),
    ).toBeGreaterThanOrEqual(100);
    // The project is stuck on it, visibly.
    const [p] = await q<{ status: string; status_reason: string }>(
      'select status, status_reason from projects where id = $1',
      [projectId],
    );
    expect(p).toMatchObject({ status: 'failed' });
    expect(p!.status_reason).toMatch(/samgita retry/);

    cli.rewrite([{ steps: [{ text: 'fixed' }] }]);
    const r = await retryTask(db.pool, 'flaky', { projectId, actor: { type: 'cli' } });
    expect(r).toMatchObject({ from: 'dead_letter', status: 'queued' });
    await waitForTasks(db.pool, projectId, allSettled);
    const [after] = await q<{ status: string; attempts: number }>('select status, attempts from tasks where id = $1', [
      ids.get('flaky'),
    ]);
    expect(after).toEqual({ status: 'completed', attempts: 1 });
    expect(
      (await q('select 1 from events where kind = $1 and subject_id = $2', ['task.retried', ids.get('flaky')])).length,
    ).toBe(1);
    const [p2] = await q<{ status: string }>('select status from projects where id = $1', [projectId]);
    expect(p2!.status).toBe('completed');
  });

  it('overloaded: backs off with jitter and does not count the attempt', async () => {
    const cli = fakeCli([]);
    const { projectId } = await seedProject(db.pool);
    const ids = await seedTasks(db.pool, projectId, [{ key: 'busy' }]);
    fs.writeFileSync(cli.script, JSON.stringify({ scenarios: [{ steps: [{ fail: 'overloaded' }] }] }));
    await start(cli, { retryBaseMs: 400 });
    await waitFor('first overloaded call', async () => prompts(cli.log).length >= 1);
    fs.writeFileSync(cli.script, JSON.stringify({ scenarios: [{ steps: [{ text: 'ok' }] }] }));
    await waitForTasks(db.pool, projectId, allSettled);
    const [t] = await q<{ status: string; attempts: number }>('select status, attempts from tasks where id = $1', [
      ids.get('busy'),
    ]);
    expect(t).toEqual({ status: 'completed', attempts: 1 });
    const [ev] = await q<{ data: { error: string; attempts: number } }>(
      `select data from events where kind = 'task.retrying' and subject_id = $1`,
      [ids.get('busy')],
    );
    expect(ev!.data.error).toMatch(/^overloaded/);
    expect(ev!.data.attempts).toBe(0);
    // Full jitter within [ceiling/2, ceiling], doubling per attempt.
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(new Set(Array.from({ length: 20 }, () => backoffMs(4))).size).toBeGreaterThan(1);
  });

  it('authentication failure pauses the project with the reason and does not retry', async () => {
    const cli = fakeCli([{ steps: [{ fail: 'authentication_failed' }] }]);
    const { projectId } = await seedProject(db.pool);
    const ids = await seedTasks(db.pool, projectId, [{ key: 'a' }, { key: 'b' }]);
    await start(cli, { concurrency: 1 });
    await waitFor('project paused', async () => {
      const [p] = await q<{ status: string }>('select status from projects where id = $1', [projectId]);
      return p!.status === 'paused';
    });
    await new Promise((r) => setTimeout(r, 500));
    const [p] = await q<{ status_reason: string }>('select status_reason from projects where id = $1', [projectId]);
    expect(p!.status_reason).toMatch(/^Claude authentication failed: .*Invalid API key/);
    expect(prompts(cli.log)).toHaveLength(1);
    const statuses = await taskStatuses(db.pool, projectId);
    expect(Object.values(statuses).sort()).toEqual(['pending', 'pending']);
    const [a] = await q<{ attempts: number }>('select attempts from tasks where id = $1', [ids.get('a')]);
    expect(a!.attempts).toBe(0);
    expect(
      (await q(`select 1 from events where kind = 'project.paused' and project_id = $1`, [projectId])).length,
    ).toBe(1);
  });
});

describe('rate limits', () => {
  it('requeues after the reset, pauses the provider for every task, and does not fail', async () => {
    const cli = fakeCli([]);
    const { projectId } = await seedProject(db.pool);
    const ids = await seedTasks(db.pool, projectId, [
      { key: 'first', priority: 1 },
      { key: 'second', priority: 2 },
    ]);
    fs.writeFileSync(cli.script, JSON.stringify({ scenarios: [{ steps: [{ rate_limit: { resetsInSeconds: 3 } }] }] }));
    await start(cli, { concurrency: 1 });
    await waitFor('the rate limit', async () => (await q('select 1 from provider_pauses')).length > 0);
    fs.writeFileSync(cli.script, JSON.stringify({ scenarios: [{ steps: [{ text: 'ok' }] }] }));
    const [pause] = await q<{ paused_until: Date }>('select paused_until from provider_pauses');
    const [limited] = await q<{ status: string; attempts: number; run_after: Date }>(
      'select status, attempts, run_after from tasks where id = $1',
      [ids.get('first')],
    );
    expect(limited).toMatchObject({ status: 'queued', attempts: 0 });
    expect(limited!.run_after.getTime()).toBe(pause!.paused_until.getTime());
    await waitForTasks(db.pool, projectId, allSettled, 20_000);
    const calls = prompts(cli.log);
    expect(calls).toHaveLength(3);
    // Nothing called the provider again before the reset.
    for (const c of calls.slice(1))
      expect(Date.parse(c.at as unknown as string)).toBeGreaterThanOrEqual(pause!.paused_until.getTime());
    expect(Object.values(await taskStatuses(db.pool, projectId))).toEqual(['completed', 'completed']);
    expect((await q(`select 1 from events where kind = 'rate_limit.hit'`)).length).toBe(1);
  });
});
