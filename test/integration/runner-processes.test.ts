/**
 * Runner PROCESSES (`samgita runner`) on one database: SIGKILL of the runner
 * holding a task mid-step → another runner declares it dead and completes the
 * task exactly once within 30 s; SIGTERM drains to a checkpoint and exits 0.
 */

import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { readFakeLog } from '../support/fake-claude/index.js';
import {
  allSettled,
  type FakeCli,
  fakeCli,
  type RunnerProcess,
  seedProject,
  seedTasks,
  spawnRunnerProcess,
  waitFor,
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

type Proc = RunnerProcess;

function spawnRunner(cli: FakeCli, name: string, extra: string[] = []): Proc {
  // Default --heartbeat and --dead-after (120 s): a takeover within the waits below can only
  // come from PostgreSQL having closed the dead runner's session.
  return spawnRunnerProcess(db.url, cli, ['--name', name, '--concurrency', '2', '--poll-interval', '200', ...extra], {
    children,
  });
}

const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await db.pool.query<T>(sql, params)).rows;

describe('runner processes', () => {
  it('a SIGTERM while the runner is still starting drains it and exits 0', async () => {
    const cli = fakeCli([]);
    // Inserts into events wait on this lock: the runner stops, registered, in the middle of starting.
    const holder = await db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('lock table events in exclusive mode');
      const proc = spawnRunner(cli, 'starting');
      await waitFor(
        'the runner held mid-start',
        async () =>
          (
            await q(`select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`, [
              `samgita-runner:${proc.child.pid}`,
            ])
          ).length > 0,
        30_000,
      );
      proc.child.kill('SIGTERM');
      await holder.query('rollback');
      const exited = await proc.exited;
      expect({ ...exited, output: exited.code === 0 ? '' : proc.output() }).toEqual({
        code: 0,
        signal: null,
        output: '',
      });
      expect(proc.output()).toMatch(/SIGTERM: draining[\s\S]*stopped/);
    } finally {
      await holder.query('rollback').catch(() => {});
      holder.release();
    }
  }, 60_000);

  it('a runner frozen (SIGSTOP) past its heartbeats is not declared dead while PostgreSQL holds its session', async () => {
    const cli = fakeCli([]);
    const procs = ['s1', 's2'].map((n) => spawnRunner(cli, n));
    const byName = async () =>
      Object.fromEntries(
        (
          await q<{ name: string; status: string; heartbeat_at: Date }>(
            `select name, status, heartbeat_at from runners where name in ('s1', 's2') and status <> 'stopped'`,
          )
        ).map((r) => [r.name, r]),
      );
    await waitFor('two runners', async () => Object.keys(await byName()).length === 2, 30_000);
    // Frozen once started: this is about a runner that stalls while it works, not while it starts.
    await waitFor('both runners started', async () => procs.every((p) => p.output().includes(' started (pid')), 30_000);
    const frozen = procs[0]!;
    frozen.child.kill('SIGSTOP');
    try {
      const stoppedBeat = (await byName()).s1!.heartbeat_at.getTime();
      // s2 keeps beating (and reaping) long after s1's silence passed the 5 s grace of the default heartbeat.
      await waitFor(
        "s2's heartbeats well past s1's silence",
        async () => (await byName()).s2!.heartbeat_at.getTime() > stoppedBeat + 12_000,
        60_000,
      );
      expect((await byName()).s1!.status).toBe('active');
    } finally {
      frozen.child.kill('SIGCONT');
    }
    const before = (await byName()).s1!.heartbeat_at.getTime();
    await waitFor('s1 to beat again', async () => (await byName()).s1!.heartbeat_at.getTime() > before, 30_000).catch(
      async (err) => {
        console.log(
          JSON.stringify(
            {
              runners: await q('select name, status, heartbeat_at, now() as now from runners'),
              sessions: await q(
                `select application_name, state, wait_event_type, wait_event, left(query, 100) as query
                   from pg_stat_activity where datname = current_database()`,
              ),
              out: procs.map((p) => p.output().slice(-3000)),
            },
            null,
            1,
          ),
        );
        throw err;
      },
    );
    expect((await byName()).s1!.status).toBe('active');
    for (const p of procs) p.child.kill('SIGTERM');
    for (const p of procs) expect((await p.exited).code).toBe(0);
  }, 120_000);

  it('a runner killed with SIGKILL mid-task: another completes the task exactly once, with default settings', async () => {
    const cli = fakeCli([
      { steps: [{ run: 'sleep 3' }, { write: { path: 'done.txt', content: 'ok\n' } }, { text: 'ok' }] },
    ]);
    const { projectId } = await seedProject(db.pool);
    const ids = await seedTasks(db.pool, projectId, [{ key: 'survivor' }]);
    const taskId = ids.get('survivor')!;
    const procs = ['r1', 'r2', 'r3'].map((n) => spawnRunner(cli, n));
    await waitFor(
      'three runners',
      async () => (await q(`select 1 from runners where status = 'active'`)).length === 3,
      30_000,
    );
    const [run] = await waitFor(
      'the task to be in Act',
      async () => {
        const rows = await q<{ runner_id: string; pid: number }>(
          `select a.runner_id, r.pid from agent_runs a join runners r on r.id = a.runner_id
            where a.current_task_id = $1 and a.status = 'act'`,
          [taskId],
        );
        return rows.length ? rows : null;
      },
      30_000,
    );
    const victim = procs.find((p) => p.child.pid === run!.pid)!;
    // The victim's spawner process (src/spawner/helper.ts) must not outlive it.
    const helper = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(run!.pid)])
      .toString()
      .split('\n')
      .find((l) => l.includes("require('node:child_process')"));
    expect(helper).toBeDefined();
    const helperPid = Number(helper!.trim().split(/\s+/)[0]);
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    // Gone, or a zombie waiting for whoever adopted it to reap it.
    await waitFor("the dead runner's spawner to exit", async () => {
      try {
        return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${helperPid}/stat`, 'utf8'));
      } catch {
        return true;
      }
    });
    await waitForTasks(db.pool, projectId, allSettled, 30_000).catch(async (err) => {
      console.log(
        JSON.stringify(
          {
            runners: await q('select name, status, worker_ids, heartbeat_at from runners'),
            runs: await q('select runner_id, status, error, ended_at from agent_runs'),
            jobs: await q('select key, locked_by, locked_at, run_at, attempts, last_error from graphile_worker.jobs'),
            tasks: await q('select status, rarv_step, error from tasks'),
            out: procs.map((p) => p.output().slice(-2000)),
          },
          null,
          1,
        ),
      );
      throw err;
    });
    console.log(`takeover: task completed ${Date.now() - killedAt} ms after SIGKILL`);

    const runs = await q<{ status: string; runner_id: string; error: { message: string } | null }>(
      'select status, runner_id, error from agent_runs where current_task_id = $1 order by started_at',
      [taskId],
    );
    expect(runs.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(runs[0]!.runner_id).toBe(run!.runner_id);
    expect(runs[0]!.error!.message).toBe('runner died');
    expect(runs[1]!.runner_id).not.toBe(run!.runner_id);
    const [t] = await q<{ status: string }>('select status from tasks where id = $1', [taskId]);
    expect(t!.status).toBe('completed');
    expect((await q(`select 1 from events where kind = 'task.completed' and subject_id = $1`, [taskId])).length).toBe(
      1,
    );
    const [dead] = await q<{ status: string }>('select status from runners where id = $1', [run!.runner_id]);
    expect(dead!.status).toBe('dead');
    expect(
      (await q(`select 1 from events where kind = 'runner.dead' and subject_id = $1`, [run!.runner_id])).length,
    ).toBe(1);
    // No job left behind locked by the dead runner (the finished job is removed once its handler returns).
    await waitFor(
      'no locked jobs',
      async () => (await q('select 1 from graphile_worker.jobs where locked_at is not null')).length === 0,
      5_000,
    );
    for (const p of procs.filter((x) => x !== victim)) p.child.kill('SIGTERM');
    for (const p of procs.filter((x) => x !== victim)) expect((await p.exited).code).toBe(0);
  });

  it('a runner cut off past --dead-after (a partition): the task completes elsewhere, and its late outcome changes nothing', async () => {
    const cli = fakeCli([
      { steps: [{ run: 'sleep 3' }, { write: { path: 'done.txt', content: 'ok\n' } }, { text: 'ok' }] },
    ]);
    const { projectId } = await seedProject(db.pool);
    const ids = await seedTasks(db.pool, projectId, [{ key: 'fenced' }]);
    const taskId = ids.get('fenced')!;
    const cut = spawnRunner(cli, 'p1');
    const [first] = await waitFor(
      'the task to be in Act on p1',
      async () => {
        const rows = await q<{ id: string }>(
          `select id from agent_runs where current_task_id = $1 and status = 'act'`,
          [taskId],
        );
        return rows.length ? rows : null;
      },
      30_000,
    );
    // Frozen, it still holds its PostgreSQL session: only --dead-after can declare it dead, as for a
    // runner cut off from the database while its connection lingers.
    cut.child.kill('SIGSTOP');
    const other = spawnRunner(cli, 'p2', ['--heartbeat', '500', '--dead-after', '4000']);
    try {
      await waitForTasks(db.pool, projectId, allSettled, 60_000).catch(async (err) => {
        console.log(
          JSON.stringify(
            {
              runners: await q('select name, status, heartbeat_at from runners'),
              runs: await q('select runner_id, status, error, ended_at from agent_runs'),
              jobs: await q('select key, locked_by, locked_at, run_at, attempts, last_error from graphile_worker.jobs'),
              tasks: await q('select status, rarv_step, error from tasks'),
              locks: await q(
                'select pid, state, wait_event_type, left(query, 120) as query from pg_stat_activity where datname = current_database()',
              ),
              out: [cut.output().slice(-1500), other.output().slice(-3000)],
            },
            null,
            1,
          ),
        );
        throw err;
      });
    } finally {
      cut.child.kill('SIGCONT');
    }
    // Back, p1 finishes its step and drains: its settle meets a task another attempt owns.
    cut.child.kill('SIGTERM');
    expect((await cut.exited).code).toBe(0);
    const runs = await q<{ id: string; status: string }>(
      'select id, status from agent_runs where current_task_id = $1 order by started_at',
      [taskId],
    );
    expect(runs.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(runs[0]!.id).toBe(first!.id);
    const [t] = await q<{ status: string; agent_id: string }>('select status, agent_id from tasks where id = $1', [
      taskId,
    ]);
    expect(t).toEqual({ status: 'completed', agent_id: runs[1]!.id });
    expect((await q(`select 1 from events where kind = 'task.completed' and subject_id = $1`, [taskId])).length).toBe(
      1,
    );
    other.child.kill('SIGTERM');
    expect((await other.exited).code).toBe(0);
  }, 120_000);

  it('SIGTERM drains: the running step finishes, the task is handed back at its checkpoint, exit 0', async () => {
    const cli = fakeCli([{ steps: [{ run: 'sleep 1.5' }, { text: 'ok' }] }]);
    const { projectId } = await seedProject(db.pool, { verify: { test: 'true' } });
    const ids = await seedTasks(db.pool, projectId, [{ key: 'drained' }]);
    const p = spawnRunner(cli, 'drainer', ['--drain-timeout', '10000']);
    await waitFor('act', async () => readFakeLog(cli.log).some((c) => c.command === 'print'), 30_000);
    p.child.kill('SIGTERM');
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.output()).toMatch(/SIGTERM: draining \(1 task\(s\) in flight\)/);
    const [t] = await q<{ status: string; rarv_step: string; attempts: number }>(
      'select status, rarv_step, attempts from tasks where id = $1',
      [ids.get('drained')],
    );
    expect(t).toEqual({ status: 'queued', rarv_step: 'reflect', attempts: 0 });
    const [r] = await q<{ status: string }>(`select status from runners where name = 'drainer'`);
    expect(r!.status).toBe('stopped');
    // Another runner picks it up at Reflect: the CLI is not called again.
    const next = spawnRunner(cli, 'next');
    await waitForTasks(db.pool, projectId, allSettled, 30_000);
    expect(readFakeLog(cli.log).filter((c) => c.command === 'print')).toHaveLength(1);
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  });
});
