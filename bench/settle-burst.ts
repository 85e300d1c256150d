/**
 * The settle path measured directly, without agents: <tasks> development tasks are
 * made running (an agent run each, as a claim leaves them), then settled as completed
 * through src/runner/steps/settle.ts from <pools> pools (one per simulated runner
 * process) with <concurrency> settles in flight on each. A second phase holds a few
 * tasks, so the last completion must advance the project and queue them exactly once.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/settle-burst.ts [tasks=1000] [pools=4] [concurrency=16]
 *
 * Used by bench/scaling.ts; the integration test test/integration/settle-burst.test.ts
 * checks the same burst for correctness.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createLogger } from '../src/log/logger.js';
import { settle } from '../src/runner/steps/settle.js';
import { createPool } from '../src/store/connection.js';
import { loadTask } from '../src/store/task-attempts.js';
import { freshDatabase } from './support.js';

export interface SettleBurstResult {
  tasks: number;
  pools: number;
  concurrency: number;
  /** Until the last settle returned and every advance it asked for ran. */
  seconds: number;
  perSecond: number;
  /** Next-phase tasks queued, and their jobs (each must be 1). */
  nextQueued: number;
  nextJobs: number;
  nextTasks: number;
  phase: string;
}

const NEXT_TASKS = 5;

/** Seeds a running project whose <tasks> development tasks are all running on a fake agent run. */
export async function seedRunning(pool: pg.Pool, tasks: number): Promise<{ projectId: string; taskIds: string[] }> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into projects (name, git_url, working_path, default_branch, status, phase, config, prd_content)
     values ('burst', 'file:///nonexistent', '/nonexistent', 'main', 'running', 'development', $1, '# PRD\n') returning id`,
    [JSON.stringify({ phases: ['development', 'qa'] })],
  );
  const projectId = rows[0]!.id;
  const runnerId = randomUUID();
  await pool.query(`insert into runners (id, name, host, pid, capacity) values ($1, 'burst', 'bench', 1, 1)`, [
    runnerId,
  ]);
  const { rows: ids } = await pool.query<{ id: string }>(
    `insert into tasks (project_id, key, title, phase, agent_type, status, attempts, started_at)
     select $1, 'd' || lpad(i::text, 5, '0'), 'Dev ' || i, 'development', 'eng-backend', 'running', 1, now()
       from generate_series(1, $2) i returning id`,
    [projectId, tasks],
  );
  await pool.query(
    `insert into tasks (project_id, key, title, phase, agent_type)
     select $1, 't' || i, 'Test ' || i, 'qa', 'eng-qa' from generate_series(1, $2) i`,
    [projectId, NEXT_TASKS],
  );
  await pool.query(
    `with runs as (
       insert into agent_runs (project_id, current_task_id, runner_id, agent_type, node, status)
       select $1, t.id, $2, t.agent_type, 'bench', 'act' from tasks t where t.project_id = $1 and t.status = 'running'
       returning id, current_task_id)
     update tasks t set agent_id = runs.id from runs where t.id = runs.current_task_id`,
    [projectId, runnerId],
  );
  return { projectId, taskIds: ids.map((r) => r.id) };
}

/** Settles every task as completed from <pools> pools, <concurrency> at a time on each. */
export async function settleBurst(
  url: string,
  check: pg.Pool,
  taskIds: readonly string[],
  opts: { pools: number; concurrency: number },
): Promise<number> {
  const log = createLogger({ level: 'silent' });
  const pools = Array.from({ length: opts.pools }, () => createPool(url, { max: opts.concurrency + 2 }));
  const { rows: runs } = await check.query<{ id: string; agent_id: string }>(
    'select id, agent_id from tasks where id = any($1::uuid[])',
    [[...taskIds]],
  );
  const runOf = new Map(runs.map((r) => [r.id, r.agent_id]));
  const loaded = await Promise.all(taskIds.map((id) => loadTask(check, id)));
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      pools.flatMap((pool, p) =>
        Array.from({ length: opts.concurrency }, async () => {
          const ctx = {
            pool,
            runnerId: `burst-${p}`,
            host: 'bench',
            claudeBin: 'none',
            samgitaHome: '/nonexistent',
            log,
            signal: new AbortController().signal,
          };
          for (let i = next++; i < loaded.length; i = next++) {
            const task = loaded[i]!;
            await settle(ctx, task!, runOf.get(task!.id) ?? null, { kind: 'completed' });
          }
        }),
      ),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
  }
}

/** A fresh database, <tasks> running tasks, the burst, and what it left. */
export async function measureSettleBurst(
  tasks: number,
  pools: number,
  concurrency: number,
): Promise<SettleBurstResult> {
  const db = await freshDatabase(4);
  try {
    const { projectId, taskIds } = await seedRunning(db.pool, tasks);
    const seconds = await settleBurst(db.url, db.pool, taskIds, { pools, concurrency });
    const { rows } = await db.pool.query<{ queued: number; jobs: number; phase: string }>(
      `select (select count(*)::int from tasks where project_id = $1 and phase = 'qa' and status = 'queued') as queued,
              (select count(*)::int from graphile_worker.jobs j join tasks t on j.key = 'task:' || t.id::text
                where t.project_id = $1 and t.phase = 'qa') as jobs,
              (select phase from projects where id = $1) as phase`,
      [projectId],
    );
    const r = rows[0]!;
    return {
      tasks,
      pools,
      concurrency,
      seconds,
      perSecond: tasks / seconds,
      nextQueued: r.queued,
      nextJobs: r.jobs,
      nextTasks: NEXT_TASKS,
      phase: r.phase,
    };
  } finally {
    await db.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [tasks = 1000, pools = 4, concurrency = 16] = process.argv.slice(2).map(Number);
  const r = await measureSettleBurst(tasks, pools, concurrency);
  console.log(
    `${r.tasks} settles from ${r.pools} pools × ${r.concurrency}: ${r.seconds.toFixed(2)} s, ${r.perSecond.toFixed(0)} tasks settled/s; ` +
      `phase ${r.phase}, next phase ${r.nextQueued}/${r.nextTasks} queued with ${r.nextJobs} job(s)`,
  );
}
