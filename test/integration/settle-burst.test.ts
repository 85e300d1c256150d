/**
 * Settles share project advances (src/projects/advance.ts): a burst of
 * completions settled at once from several pools (as several runner processes
 * would) leaves the project advanced exactly as one advance per completion
 * would — dependants queued once, the next phase queued once, no request left
 * — and a request whose advance never ran (its runner died) is advanced by
 * the queue repair.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceRequested } from '../../src/projects/advance.js';
import { advanceWork } from '../../src/queue/jobs.js';
import { repairQueue } from '../../src/queue/maintenance.js';
import { settle } from '../../src/runner/steps/settle.js';
import { createPool } from '../../src/store/connection.js';
import { loadTask, type TaskRecord } from '../../src/store/task-attempts.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { quietLog } from '../support/runner-harness.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const q = async <T extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
  (await db.pool.query<T>(text, params)).rows;

/**
 * A running project in development: `running` tasks on agent runs (as claims
 * leave them), `dependants` pending tasks that each wait on two of them, and
 * `next` tasks of the qa phase.
 */
async function seed(running: number, dependants: number, next: number) {
  const [p] = await q<{ id: string }>(
    `insert into projects (name, git_url, working_path, status, phase, config)
     values ('burst', $2, '/x', 'running', 'development', $1) returning id`,
    [JSON.stringify({ phases: ['development', 'qa'] }), `file:///x/${randomUUID()}`],
  );
  const projectId = p!.id;
  const runnerId = randomUUID();
  await q(`insert into runners (id, name, host, pid, capacity) values ($1, 'burst', 'test', 1, 1)`, [runnerId]);
  const ids = await q<{ id: string }>(
    `insert into tasks (project_id, key, title, phase, agent_type, status, attempts, started_at)
     select $1, 'r' || lpad(i::text, 3, '0'), 'R', 'development', 'eng-backend', 'running', 1, now()
       from generate_series(1, $2) i returning id`,
    [projectId, running],
  );
  await q(
    `insert into tasks (project_id, key, title, phase, agent_type, status)
     select $1, 'd' || i, 'D', 'development', 'eng-backend', 'blocked' from generate_series(1, $2) i`,
    [projectId, dependants],
  );
  // Dependant i waits on running tasks 2i-1 and 2i (by key): their completions land in different settles.
  await q(
    `insert into task_dependencies (task_id, depends_on)
     select d.id, r.id from tasks d join tasks r on r.project_id = d.project_id and r.key like 'r%'
      where d.project_id = $1 and d.key like 'd%'
        and substring(r.key from 2)::int in (2 * substring(d.key from 2)::int - 1, 2 * substring(d.key from 2)::int)`,
    [projectId],
  );
  await q(
    `insert into tasks (project_id, key, title, phase, agent_type)
     select $1, 'q' || i, 'Q', 'qa', 'eng-qa' from generate_series(1, $2) i`,
    [projectId, next],
  );
  await q(
    `with runs as (
       insert into agent_runs (project_id, current_task_id, runner_id, agent_type, node, status)
       select $1, t.id, $2, t.agent_type, 'test', 'act' from tasks t where t.project_id = $1 and t.status = 'running'
       returning id, current_task_id)
     update tasks t set agent_id = runs.id from runs where t.id = runs.current_task_id`,
    [projectId, runnerId],
  );
  const tasks = await Promise.all(ids.map((r) => loadTask(db.pool, r.id)));
  const runs = new Map(
    (
      await q<{ id: string; agent_id: string }>(`select id, agent_id from tasks where project_id = $1`, [projectId])
    ).map((r) => [r.id, r.agent_id]),
  );
  return { projectId, tasks: tasks as TaskRecord[], runs };
}

function ctxFor(pool: pg.Pool, n: number) {
  return {
    pool,
    runnerId: `pool-${n}`,
    host: 'test',
    claudeBin: 'none',
    samgitaHome: '/nonexistent',
    log: quietLog,
    signal: new AbortController().signal,
  };
}

/** Settles `tasks` as completed from `pools` pools, all at once. */
async function burst(tasks: TaskRecord[], runs: Map<string, string>, pools: number): Promise<void> {
  const ps = Array.from({ length: pools }, () => createPool(db.url, { max: 6 }));
  try {
    await Promise.all(
      tasks.map((t, i) => settle(ctxFor(ps[i % pools]!, i % pools), t, runs.get(t.id)!, { kind: 'completed' })),
    );
  } finally {
    await Promise.all(ps.map((p) => p.end()));
  }
}

/** Jobs per task of the project (graphile-worker's public view), by key. */
async function jobsByKey(projectId: string): Promise<Map<string, number>> {
  const rows = await q<{ key: string; n: number }>(
    `select t.key, count(j.id)::int as n from tasks t left join graphile_worker.jobs j on j.key = 'task:' || t.id::text
      where t.project_id = $1 group by t.key`,
    [projectId],
  );
  return new Map(rows.map((r) => [r.key, r.n]));
}

describe('a burst of concurrent completions', () => {
  it('queues the dependants once each, and then the next phase once each', async () => {
    const { projectId, tasks, runs } = await seed(50, 25, 5);
    await burst(tasks, runs, 5);

    // Every dependant's two dependencies completed in (possibly) different settles: each is queued, once.
    const dependants = await q<{ key: string; status: string }>(
      `select key, status from tasks where project_id = $1 and key like 'd%' order by key`,
      [projectId],
    );
    expect(dependants).toHaveLength(25);
    expect(dependants.every((d) => d.status === 'queued')).toBe(true);
    let jobs = await jobsByKey(projectId);
    for (const d of dependants) expect(jobs.get(d.key), d.key).toBe(1);
    // Nothing of qa yet: development still has work (the dependants).
    expect(
      (await q(`select 1 from tasks where project_id = $1 and phase = 'qa' and status = 'queued'`, [projectId])).length,
    ).toBe(0);
    expect((await q(`select 1 from tasks where project_id = $1 and advance_wanted`, [projectId])).length).toBe(0);

    // The dependants now run and complete at once, as another burst.
    await q(
      `with runs as (
         insert into agent_runs (project_id, current_task_id, agent_type, node, status)
         select project_id, id, agent_type, 'test', 'act' from tasks where project_id = $1 and key like 'd%'
         returning id, current_task_id)
       update tasks t set status = 'running', attempts = 1, started_at = now(), agent_id = runs.id
         from runs where t.id = runs.current_task_id`,
      [projectId],
    );
    const second = await q<{ id: string; agent_id: string }>(
      `select id, agent_id from tasks where project_id = $1 and key like 'd%'`,
      [projectId],
    );
    const loaded = (await Promise.all(second.map((r) => loadTask(db.pool, r.id)))) as TaskRecord[];
    await burst(loaded, new Map(second.map((r) => [r.id, r.agent_id])), 5);

    const [project] = await q<{ phase: string; status: string }>(`select phase, status from projects where id = $1`, [
      projectId,
    ]);
    expect(project).toEqual({ phase: 'qa', status: 'running' });
    const qa = await q<{ key: string; status: string }>(
      `select key, status from tasks where project_id = $1 and phase = 'qa' order by key`,
      [projectId],
    );
    expect(qa.map((t) => t.status)).toEqual(['queued', 'queued', 'queued', 'queued', 'queued']);
    jobs = await jobsByKey(projectId);
    for (const t of qa) expect(jobs.get(t.key), t.key).toBe(1);
    // The phase moved once, and no request is left.
    const moves = await q(`select 1 from events where project_id = $1 and kind = 'project.phase_changed'`, [projectId]);
    expect(moves).toHaveLength(1);
    expect((await q(`select 1 from tasks where project_id = $1 and advance_wanted`, [projectId])).length).toBe(0);
    // No task is ready but unqueued: every pending/blocked one still waits on an unfinished dependency.
    const readyUnqueued = await q(
      `select 1 from tasks t where t.project_id = $1 and t.phase = 'qa' and t.status in ('pending', 'blocked')`,
      [projectId],
    );
    expect(readyUnqueued).toHaveLength(0);
  });

  it('a request made while another advance holds the lock is served by that holder', async () => {
    const { projectId, tasks, runs } = await seed(1, 0, 2);
    // Another runner holds the project's advance lock (mid-advance).
    const holder = await db.pool.connect();
    await holder.query(`select pg_advisory_lock(hashtext('samgita:advance:' || $1::text))`, [projectId]);
    const other = createPool(db.url, { max: 4 });
    try {
      await settle(ctxFor(other, 1), tasks[0]!, runs.get(tasks[0]!.id)!, { kind: 'completed' });
      // The settle returned without advancing: the request is left for the holder.
      expect((await q(`select 1 from tasks where project_id = $1 and advance_wanted`, [projectId])).length).toBe(1);
      expect((await q<{ phase: string }>(`select phase from projects where id = $1`, [projectId]))[0]!.phase).toBe(
        'development',
      );
    } finally {
      await holder.query(`select pg_advisory_unlock(hashtext('samgita:advance:' || $1::text))`, [projectId]);
      holder.release();
    }
    // The holder's check after its release finds the request and runs again (here: the next request path).
    expect(await advanceRequested(other, projectId, { type: 'system' })).toBe('advanced');
    await other.end();
    expect((await q<{ phase: string }>(`select phase from projects where id = $1`, [projectId]))[0]!.phase).toBe('qa');
    expect((await q(`select 1 from tasks where project_id = $1 and advance_wanted`, [projectId])).length).toBe(0);
  });

  it('a request left behind by a runner that died before its advance is advanced by the queue repair', async () => {
    const { projectId, tasks, runs } = await seed(1, 0, 2);
    const holder = await db.pool.connect();
    await holder.query(`select pg_advisory_lock(hashtext('samgita:advance:' || $1::text))`, [projectId]);
    const dying = createPool(db.url, { max: 4 });
    await settle(ctxFor(dying, 1), tasks[0]!, runs.get(tasks[0]!.id)!, { kind: 'completed' });
    await dying.end();
    // The holder dies too, without its check: the request stays in the table.
    holder.release(true);
    expect((await q(`select 1 from tasks where project_id = $1 and advance_wanted`, [projectId])).length).toBe(1);

    await repairQueue(db.pool);
    expect((await q<{ phase: string }>(`select phase from projects where id = $1`, [projectId]))[0]!.phase).toBe('qa');
    const qa = await q<{ status: string }>(`select status from tasks where project_id = $1 and phase = 'qa'`, [
      projectId,
    ]);
    expect(qa.map((t) => t.status)).toEqual(['queued', 'queued']);
  });

  it('the one-round-trip advance queues only when the phase has work, and otherwise changes nothing', async () => {
    // Two running tasks; d1 waits on r001 and r002. r001 completes with a request: the phase still has work.
    const { projectId } = await seed(2, 1, 1);
    const complete = (key: string) =>
      q(`update tasks set status = 'completed', advance_wanted = true where project_id = $1 and key = $2`, [
        projectId,
        key,
      ]);
    const wanted = async () =>
      (await q(`select 1 from tasks where project_id = $1 and advance_wanted`, [projectId])).length;
    const statusOf = async (key: string) =>
      (await q<{ status: string }>(`select status from tasks where project_id = $1 and key = $2`, [projectId, key]))[0]!
        .status;
    await complete('r001');
    expect(await advanceWork(db.pool, projectId, { requested: true })).toEqual({
      outcome: 'work',
      phase: 'development',
      queued: 0,
    });
    expect(await wanted()).toBe(0);
    expect(await statusOf('d1')).toBe('blocked');

    // Another advance holds the project: busy, and the request stays for it.
    await complete('r002');
    const holder = await db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(hashtext('samgita:advance:' || $1::text))`, [projectId]);
      expect(await advanceWork(db.pool, projectId, { requested: true })).toEqual({ outcome: 'busy' });
      expect(await wanted()).toBe(1);
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    // d1's dependencies are done: it is queued with its job.
    expect(await advanceWork(db.pool, projectId, { requested: true })).toEqual({
      outcome: 'work',
      phase: 'development',
      queued: 1,
    });
    expect(await statusOf('d1')).toBe('queued');
    expect(
      (
        await q(
          `select 1 from graphile_worker.jobs j join tasks t on j.key = 'task:' || t.id
            where t.project_id = $1 and t.key = 'd1'`,
          [projectId],
        )
      ).length,
    ).toBe(1);

    // d1 completes: the phase has no work left. The fast path hands over, its request put back,
    // and the full advance moves the project to qa and takes the request.
    await complete('d1');
    expect(await advanceWork(db.pool, projectId, { requested: true })).toEqual({ outcome: 'other' });
    expect(await wanted()).toBe(1);
    expect((await q<{ phase: string }>(`select phase from projects where id = $1`, [projectId]))[0]!.phase).toBe(
      'development',
    );
    expect(await advanceRequested(db.pool, projectId, { type: 'system' })).toBe('advanced');
    expect(await wanted()).toBe(0);
    expect((await q<{ phase: string }>(`select phase from projects where id = $1`, [projectId]))[0]!.phase).toBe('qa');
    expect(await statusOf('q1')).toBe('queued');
  });
});
