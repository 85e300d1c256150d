/**
 * Queue semantics and RARV outcomes on a real PostgreSQL with the scripted
 * stand-in CLI (FR-3, FR-2.2, FR-5.2): priority, dependencies, timeouts,
 * retries and dead letter, verify loops and escalation, rate limits, overload,
 * authentication failure, budgets, resume from a persisted step, caps, aborts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { retryTask } from '../../src/projects/retry-task.js';
import { addTaskJob } from '../../src/queue/jobs.js';
import { backoffMs } from '../../src/runner/backoff.js';
import { capDelayMs } from '../../src/runner/decide/claim.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { readFakeLog } from '../support/fake-claude/index.js';
import { processesWithEnv } from '../support/processes.js';
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

const at = (c: unknown) => Date.parse((c as { at: string }).at);
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
    // The agent hangs until the test lets it go, which it does only once the first attempt has timed out:
    // on a loaded machine the 1.5 s may run out before the agent even starts, and that must not matter.
    const release = path.join(cli.dir, 'release');
    cli.rewrite([{ steps: [{ run: `if [ ! -e ${release} ]; then sleep 30; fi` }, { text: 'ok' }] }]);
    const { projectId } = await seedProject(db.pool, { limits: { task_timeout: 1_500 } });
    const ids = await seedTasks(db.pool, projectId, [{ key: 'slow' }]);
    // The retry waits (an hour) until the first attempt's timeout is on record; only then
    // does it run, with a timeout no busy machine can hit, so exactly two attempts are made.
    await start(cli, { retryBaseMs: 3_600_000 });
    await waitFor(
      'the first attempt to time out',
      async () =>
        (await q(`select 1 from events where kind = 'task.retrying' and subject_id = $1`, [ids.get('slow')])).length >
        0,
    );
    // The first attempt's job must be settled (unlocked, waiting for its retry time) before it is moved:
    // moving a job its runner still holds leaves two.
    await waitFor(
      'the retry to be scheduled',
      async () =>
        (
          await q(
            `select 1 from graphile_worker.jobs where key = $1 and locked_at is null and run_at > now() + interval '1 minute'`,
            [`task:${ids.get('slow')}`],
          )
        ).length > 0,
    );
    fs.writeFileSync(release, '');
    await db.pool.query(
      `update projects set config = jsonb_set(config, '{limits,task_timeout}', '600000') where id = $1`,
      [projectId],
    );
    await addTaskJob(db.pool, { id: ids.get('slow')!, priority: 100, max_attempts: 3 });
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
    expect(at(calls[1]) - at(calls[0])).toBeGreaterThanOrEqual(100);
    // The project is stuck on it, visibly.
    await waitFor(
      'project failed',
      async () =>
        (await q<{ status: string }>('select status from projects where id = $1', [projectId]))[0]!.status === 'failed',
    );
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
    // The project completes in the transaction after the task's: wait for that state.
    const p2 = await waitFor('project completed', async () => {
      const [row] = await q<{ status: string }>('select status from projects where id = $1', [projectId]);
      return row?.status === 'completed' ? row : null;
    });
    expect(p2.status).toBe('completed');
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
    for (const c of calls.slice(1)) expect(at(c)).toBeGreaterThanOrEqual(pause!.paused_until.getTime());
    expect(Object.values(await taskStatuses(db.pool, projectId))).toEqual(['completed', 'completed']);
    expect((await q(`select 1 from events where kind = 'rate_limit.hit'`)).length).toBe(1);
  });
});

describe('RARV loops', () => {
  // The command's text (which the prompt lists) differs from its output: "OK-FILE-""MISSING" prints OK-FILE-MISSING.
  const VERIFY = `sh -c 'test -f ok.txt || { echo "OK-FILE-""MISSING: ok.txt not found"; exit 1; }'`;

  it('a failed verify feeds its output into the next loop, which succeeds', async () => {
    const cli = fakeCli([
      { match: 'OK-FILE-MISSING', steps: [{ write: { path: 'ok.txt', content: 'ok\n' } }, { text: 'fixed' }] },
      { steps: [{ write: { path: 'wrong.txt', content: 'x\n' } }, { text: 'tried' }] },
    ]);
    const { projectId } = await seedProject(db.pool, { verify: { test: VERIFY } });
    const ids = await seedTasks(db.pool, projectId, [{ key: 'loop' }]);
    await start(cli);
    await waitForTasks(db.pool, projectId, allSettled);
    const calls = prompts(cli.log);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.prompt).not.toContain('OK-FILE-MISSING');
    expect(calls[1]!.prompt).toContain('OK-FILE-MISSING: ok.txt not found');
    const steps = await q<{ loop: number; step: string; status: string }>(
      'select loop, step, status from rarv_steps where task_id = $1 order by id',
      [ids.get('loop')],
    );
    expect(steps.map((s) => `${s.loop}:${s.step}:${s.status}`)).toEqual([
      '0:reason:completed',
      '0:act:completed',
      '0:reflect:completed',
      '0:verify:failed',
      '1:reason:completed',
      '1:act:completed',
      '1:reflect:completed',
      '1:verify:completed',
      // Verified, the branch goes through the merge queue onto the integration branch.
      '1:integrate:completed',
    ]);
    // Every step ends when or after it starts (the Reason step is recorded in one statement).
    const backwards = await q<{ step: string }>(
      'select step from rarv_steps where task_id = $1 and (ended_at is null or ended_at < started_at)',
      [ids.get('loop')],
    );
    expect(backwards).toEqual([]);
    const [t] = await q<{ status: string; attempts: number }>('select status, attempts from tasks where id = $1', [
      ids.get('loop'),
    ]);
    expect(t).toEqual({ status: 'completed', attempts: 1 });
  });

  it('escalates to the next model tier after rarv_loops failed loops', async () => {
    const cli = fakeCli([
      { match: '/Loop 2:/', steps: [{ write: { path: 'ok.txt', content: 'ok\n' } }, { text: 'fixed' }] },
      { steps: [{ text: 'tried' }] },
    ]);
    const { projectId } = await seedProject(db.pool, { verify: { test: VERIFY }, limits: { rarv_loops: 2 } });
    await seedTasks(db.pool, projectId, [{ key: 'hard' }]);
    await start(cli);
    await waitForTasks(db.pool, projectId, allSettled);
    const models = prompts(cli.log).map((c) => c.flags['--model']);
    // eng-backend is standard tier: two loops on sonnet, then opus (the default tiers are the CLI's aliases).
    expect(models).toEqual(['sonnet', 'sonnet', 'opus']);
    expect(Object.values(await taskStatuses(db.pool, projectId))).toEqual(['completed']);
  });
});

describe('budgets', () => {
  for (const scope of ['task', 'phase', 'project'] as const) {
    it(`a ${scope} budget stops before the next call and pauses the project`, async () => {
      const cli = fakeCli([{ steps: [{ text: 'spent' }, { result: { cost_usd: 0.5 } }] }]);
      const { projectId } = await seedProject(db.pool, {
        verify: { test: 'false' },
        budget: { [scope]: { usd: 0.4, tokens: null } },
      });
      const ids = await seedTasks(db.pool, projectId, [{ key: `spend-${scope}` }]);
      await start(cli);
      await waitFor('project paused', async () => {
        const [p] = await q<{ status: string }>('select status from projects where id = $1', [projectId]);
        return p!.status === 'paused';
      });
      const [p] = await q<{ status_reason: string; cost_usd: number }>(
        'select status_reason, cost_usd from projects where id = $1',
        [projectId],
      );
      expect(p!.status_reason).toMatch(
        new RegExp(`^budget reached: ${scope} budget spent \\(\\$0\\.50 of \\$0\\.40\\)`),
      );
      expect(p!.cost_usd).toBeCloseTo(0.5, 6);
      // One call: the budget check before the second Act stopped it.
      expect(prompts(cli.log)).toHaveLength(1);
      expect(prompts(cli.log)[0]!.flags['--max-budget-usd']).toBe('0.4');
      const [t] = await q<{ status: string }>('select status from tasks where id = $1', [ids.get(`spend-${scope}`)]);
      expect(t!.status).toBe('pending');
      expect(
        (await q(`select 1 from events where kind = 'budget.exceeded' and project_id = $1`, [projectId])).length,
      ).toBe(1);
    });
  }
});

describe('resume', () => {
  it('a task stopped mid-verify resumes at verify, not at Act', async () => {
    const cli = fakeCli([{ steps: [{ write: { path: 'ok.txt', content: 'ok\n' } }, { text: 'done' }] }]);
    const started = path.join(cli.dir, 'verify-started');
    const { projectId } = await seedProject(db.pool, {
      verify: { test: `sh -c 'if [ -e ${started} ]; then exit 0; fi; touch ${started}; sleep 30'` },
      // The command signals the test through a file outside its worktree, which the sandbox would hide.
      sandbox: { enabled: false },
    });
    const ids = await seedTasks(db.pool, projectId, [{ key: 'resumable' }]);
    const first = await runner(db.url, cli, { drainTimeoutMs: 200 });
    await waitFor('verify to start', async () => fs.existsSync(started));
    await first.stop(); // verify is killed at the drain timeout; the task keeps rarv_step = verify
    const [mid] = await q<{ status: string; rarv_step: string }>('select status, rarv_step from tasks where id = $1', [
      ids.get('resumable'),
    ]);
    expect(mid).toEqual({ status: 'queued', rarv_step: 'verify' });
    await start(cli);
    await waitForTasks(db.pool, projectId, allSettled);
    expect(prompts(cli.log)).toHaveLength(1); // Act ran once, before the stop
    const runs = await q<{ id: string }>('select id from agent_runs where current_task_id = $1 order by started_at', [
      ids.get('resumable'),
    ]);
    expect(runs).toHaveLength(2);
    const second = await q<{ step: string; status: string }>(
      'select step, status from rarv_steps where agent_run_id = $1 order by id',
      [runs[1]!.id],
    );
    expect(second).toEqual([
      { step: 'verify', status: 'completed' },
      { step: 'integrate', status: 'completed' },
    ]);
    expect(Object.values(await taskStatuses(db.pool, projectId))).toEqual(['completed']);
  });
});

describe('concurrency', () => {
  it('no task runs twice at once across several runners', async () => {
    const cli = fakeCli([]);
    const overlap = path.join(cli.dir, 'overlap');
    cli.rewrite([
      {
        steps: [
          { run: `if [ -e .busy ]; then echo "$PWD" >> ${overlap}; fi; touch .busy; sleep 0.1; rm -f .busy` },
          { text: 'ok' },
        ],
      },
    ]);
    const { projectId } = await seedProject(db.pool, { limits: { max_concurrent_agents: 50 } });
    const keys = Array.from({ length: 30 }, (_, i) => ({ key: `t${i}` }));
    await seedTasks(db.pool, projectId, keys);
    await Promise.all([1, 2, 3].map(() => start(cli, { concurrency: 4, heartbeatMs: 200 })));
    // 30 CLI runs on a loaded 2-core machine: 40 s seen on CI.
    await waitForTasks(db.pool, projectId, allSettled, 90_000);
    expect(fs.existsSync(overlap)).toBe(false);
    const runs = await q<{ task: string; runner_id: string; started_at: Date; ended_at: Date; status: string }>(
      `select current_task_id as task, runner_id, started_at, ended_at, status from agent_runs
        where project_id = $1 order by current_task_id, started_at`,
      [projectId],
    );
    expect(runs).toHaveLength(30);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
    expect(new Set(runs.map((r) => r.runner_id)).size).toBeGreaterThan(1);
    expect(prompts(cli.log)).toHaveLength(30);
    expect(
      (await q(`select 1 from events where kind = 'task.completed' and project_id = $1`, [projectId])).length,
    ).toBe(30);
  }, 150_000);

  it('respects per-agent-type and per-project caps across runners without spinning', async () => {
    const cli = fakeCli([{ steps: [{ sleep: 150 }, { text: 'ok' }] }]);
    const { projectId } = await seedProject(db.pool, {
      limits: { max_concurrent_agents: 3 },
      agents: { 'eng-backend': { max_concurrency: 1 } },
    });
    await seedTasks(db.pool, projectId, [
      ...Array.from({ length: 4 }, (_, i) => ({ key: `be${i}`, agentType: 'eng-backend' })),
      ...Array.from({ length: 6 }, (_, i) => ({ key: `qa${i}`, agentType: 'eng-qa' })),
    ]);
    await Promise.all([1, 2].map(() => start(cli, { concurrency: 5 })));
    await waitForTasks(db.pool, projectId, allSettled, 45_000);
    const runs = await q<{ agent_type: string; started_at: Date; ended_at: Date }>(
      'select agent_type, started_at, ended_at from agent_runs where project_id = $1',
      [projectId],
    );
    expect(runs).toHaveLength(10);
    const peak = (rs: typeof runs) => {
      let max = 0;
      for (const r of rs) {
        const at = r.started_at.getTime();
        const n = rs.filter((o) => o.started_at.getTime() <= at && o.ended_at.getTime() > at).length;
        max = Math.max(max, n);
      }
      return max;
    };
    expect(peak(runs.filter((r) => r.agent_type === 'eng-backend'))).toBe(1);
    expect(peak(runs)).toBeLessThanOrEqual(3);
    expect(peak(runs)).toBeGreaterThanOrEqual(2);
    // Waiting at a cap is cheap: a bounded number of re-checks, not a hot loop.
    const [w] = await q<{ n: number }>(
      `select count(*)::int as n from events where kind = 'task.started' and project_id = $1`,
      [projectId],
    );
    expect(w!.n).toBe(10);
    expect(capDelayMs(0, () => 0)).toBe(250);
    expect(capDelayMs(20, () => 1)).toBe(30_000);
  });
});

describe('stopping agents', () => {
  it('a task cancelled by re-planning stops its running agent at once', async () => {
    // Its CLI would run for ten minutes: the run ending at all means it was stopped.
    const cli = fakeCli([{ steps: [{ run: 'sleep 600' }, { text: 'never' }] }]);
    const { projectId } = await seedProject(db.pool);
    const ids = await seedTasks(db.pool, projectId, [{ key: 'doomed' }]);
    await start(cli);
    const call = await waitFor('the agent to start', async () => prompts(cli.log)[0]);
    await db.pool.query(`update tasks set status = 'cancelled' where id = $1`, [ids.get('doomed')]);
    await db.pool.query(
      `insert into events (project_id, kind, subject_type, subject_id) values ($1, 'task.cancelled', 'task', $2)`,
      [projectId, ids.get('doomed')],
    );
    await waitFor('the agent run to end', async () => {
      const [r] = await q<{ ended_at: Date | null }>('select ended_at from agent_runs where current_task_id = $1', [
        ids.get('doomed'),
      ]);
      return r?.ended_at;
    });
    expect(call.pid).toBeGreaterThan(0);
    // The stand-in CLI ran in its own PID namespace: found from the host by its environment.
    await waitFor('the CLI gone', async () => processesWithEnv(`FAKE_CLAUDE_LOG=${cli.log}`).length === 0);
    const [t] = await q<{ status: string }>('select status from tasks where id = $1', [ids.get('doomed')]);
    expect(t!.status).toBe('cancelled');
  });

  it('a cancelled project stops its agents; its tasks end cancelled', async () => {
    // Its CLI would run for ten minutes: the run ending at all means it was stopped.
    const cli = fakeCli([{ steps: [{ run: 'sleep 600' }, { text: 'never' }] }]);
    const { projectId } = await seedProject(db.pool);
    await seedTasks(db.pool, projectId, [{ key: 'c1' }, { key: 'c2' }]);
    await start(cli);
    await waitFor('both agents', async () => prompts(cli.log).length === 2);
    await db.pool.query(`update projects set status = 'cancelled' where id = $1`, [projectId]);
    await db.pool.query(
      `insert into events (project_id, kind, subject_type, subject_id) values ($1::uuid, 'project.cancelled', 'project', $1::text)`,
      [projectId],
    );
    const s = await waitForTasks(db.pool, projectId, (x) => x.every((v) => v === 'cancelled'), 10_000);
    expect(Object.values(s)).toEqual(['cancelled', 'cancelled']);
  });

  it('a paused project lets the running step finish, then hands the task back', async () => {
    const cli = fakeCli([]);
    const acting = path.join(cli.dir, 'acting');
    cli.rewrite([{ steps: [{ run: `touch ${acting}; sleep 1` }, { text: 'done' }] }]);
    const { projectId } = await seedProject(db.pool);
    const ids = await seedTasks(db.pool, projectId, [{ key: 'p' }]);
    await start(cli);
    await waitFor('act', async () => fs.existsSync(acting));
    await db.pool.query(`update projects set status = 'paused' where id = $1`, [projectId]);
    await db.pool.query(
      `insert into events (project_id, kind, subject_type, subject_id) values ($1::uuid, 'project.paused', 'project', $1::text)`,
      [projectId],
    );
    await waitForTasks(db.pool, projectId, (x) => x[0] === 'pending', 10_000);
    const [t] = await q<{ rarv_step: string; attempts: number }>(
      'select rarv_step, attempts from tasks where id = $1',
      [ids.get('p')],
    );
    // Act completed and was checkpointed; Reflect did not start.
    expect(t).toEqual({ rarv_step: 'reflect', attempts: 0 });
    const steps = await q<{ step: string; status: string }>(
      'select step, status from rarv_steps where task_id = $1 order by id',
      [ids.get('p')],
    );
    expect(steps.map((x) => `${x.step}:${x.status}`)).toEqual(['reason:completed', 'act:completed']);
  });
});
