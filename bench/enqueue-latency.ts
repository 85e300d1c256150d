/**
 * Enqueue → task start latency, Samgita's path beside bare graphile-worker, in one run.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/enqueue-latency.ts [N=500]
 *
 * Samgita: a planned task (its row inserted first, as the planner does) is
 * enqueued by advanceProject (phase gating, dependency check, graphile_worker.add_job,
 * in one round trip when the phase has work) → a runner (startRunner) claims
 * it → run_task handler entered. Bare: graphile-worker addJob → handler
 * entered. One at a time (each waits for its start), so this is idle latency.
 * Also printed: the same path with the task row's insert counted in.
 * The bench project has no working path, so a started task parks at once and
 * no CLI runs: only the queue path is measured (the parked task is then retired).
 */
import { performance } from 'node:perf_hooks';
import { makeWorkerUtils, run } from 'graphile-worker';
import { createLogger } from '../src/log/logger.js';
import { advanceProject } from '../src/projects/transition.js';
import { quietWorkerLogger } from '../src/queue/worker.js';
import { startRunner } from '../src/runner/runner.js';
import { fmt, freshDatabase, pct } from './support.js';

const N = Number(process.argv[2] ?? 500);
const db = await freshDatabase();
const waiters = new Map<string, (t: number) => void>();
const started = (id: string) => {
  const t = performance.now();
  waiters.get(id)?.(t);
};
const wait = (id: string) => new Promise<number>((r) => waiters.set(id, r));

const runner = await startRunner({
  pool: db.pool,
  samgitaHome: '/tmp/samgita-bench',
  claudeBin: 'claude',
  concurrency: 4,
  log: createLogger({ level: 'silent' }),
  onTaskStart: started,
});
const bare = await run({
  pgPool: db.pool,
  concurrency: 4,
  noHandleSignals: true,
  logger: quietWorkerLogger(),
  taskList: { bench_noop: async (p) => started((p as { id: string }).id) },
});
const utils = await makeWorkerUtils({ pgPool: db.pool, logger: quietWorkerLogger() });

const { rows } = await db.pool.query<{ id: string }>(
  `insert into projects (name, git_url, status, phase, config) values ('bench', 'bench://latency', 'running', 'development', '{"phases":["development"],"limits":{"max_concurrent_agents":1000}}') returning id`,
);
const projectId = rows[0]!.id;

const samgita: number[] = [];
const plain: number[] = [];
const withInsert: number[] = [];
// Where the Samgita path's time goes: the task row's insert, advanceProject's transaction, commit → handler.
const parts = { insert: [] as number[], advance: [] as number[], handler: [] as number[] };
for (let i = 0; i < N + 20; i++) {
  // Samgita path
  const t0 = performance.now();
  const ins = await db.pool.query<{ id: string }>(
    `insert into tasks (project_id, key, title, phase, agent_type) values ($1, $2, $2, 'development', 'eng-backend') returning id`,
    [projectId, `t${i}`],
  );
  const id = ins.rows[0]!.id;
  const p = wait(id);
  const ta = performance.now();
  await advanceProject(db.pool, projectId);
  const tc = performance.now();
  if (process.env.BENCH_DEBUG) console.log('advanced', i);
  const t1 = await p;
  if (process.env.BENCH_DEBUG) console.log('started', i, (performance.now() - t0).toFixed(1));
  // The parked task would be re-queued by the next advanceProject: retire it first.
  for (;;) {
    const r = await db.pool.query(`update tasks set status = 'cancelled' where id = $1 and status = 'pending'`, [id]);
    if (r.rowCount) break;
    await new Promise((res) => setTimeout(res, 2));
  }
  // bare graphile-worker
  const bid = `bare${i}`;
  const b0 = performance.now();
  const bp = wait(bid);
  await utils.addJob('bench_noop', { id: bid });
  const b1 = await bp;
  if (process.env.BENCH_DEBUG) console.log('bare', i, (b1 - b0).toFixed(1));
  if (i >= 20) {
    samgita.push(t1 - ta); // first 20 are warm-up
    withInsert.push(t1 - t0);
    plain.push(b1 - b0);
    parts.insert.push(ta - t0);
    parts.advance.push(tc - ta);
    parts.handler.push(t1 - tc);
  }
}
console.log(`enqueue → task start, ${N} tasks, one at a time`);
console.log(
  `  samgita (advanceProject → runner handler):               p50 ${fmt(pct(samgita, 50))}  p99 ${fmt(pct(samgita, 99))}`,
);
console.log(
  `  bare graphile-worker (addJob → handler):                 p50 ${fmt(pct(plain, 50))}  p99 ${fmt(pct(plain, 99))}`,
);
console.log(
  `  samgita with the task row's insert counted in:           p50 ${fmt(pct(withInsert, 50))}  p99 ${fmt(pct(withInsert, 99))} (${(pct(withInsert, 50) / pct(plain, 50)).toFixed(2)}× bare)`,
);
console.log(
  `  samgita p50 by part: insert ${fmt(pct(parts.insert, 50))}, advanceProject ${fmt(pct(parts.advance, 50))}, commit → handler ${fmt(pct(parts.handler, 50))}`,
);
console.log(`  ratio of p50s (enqueue → start): ${(pct(samgita, 50) / pct(plain, 50)).toFixed(2)}×`);
await runner.stop();
await bare.stop();
await utils.release();
await db.drop();
