/**
 * Scaling: the same <tasks> short tasks on 1, 2, 4 and 8 runner processes.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/scaling.ts [tasks=1000] [-- runners…]
 *
 * For each runner count: a fresh database, a project on a small git repository with
 * <tasks> development tasks (no sandbox, no verify commands), then that many
 * `node dist/cli/main.js runner` processes (the sources compiled once into a temp dir,
 * as a deployed runner runs) with the stand-in CLI (bench/stand-in-claude.sh: its two
 * events, then exit). Once every runner is active the tasks are queued at once; the
 * bench waits until all are completed. Per run it prints: completion throughput
 * (tasks / time from enqueue to the last completion), settle rate (completions per
 * second between the first and the last one), p50/p95 enqueue→start (queued_at to the
 * agent run's start), and CPU seconds of the runner processes, of what they spawn
 * (git, the spawner and the stand-in CLIs: every descendant, live or reaped), and of the PostgreSQL
 * backends serving this database (sampled from /proc), each as cores busy on average.
 * Finally it measures the settle path alone (bench/settle-burst.ts: <tasks> running
 * tasks settled as completed from 4 pools × 16).
 *
 * Env: SCALING_PROJECTS (spread the tasks over this many projects, each with its own
 * repository and merge queue; default 1), SCALING_CONCURRENCY (agents per runner, default 8), SCALING_POOL (connections per
 * runner, default 8: 8 runners fit in PostgreSQL's default 100), SCALING_TIMEOUT_S (per
 * run, default 600).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { advanceProject } from '../src/projects/transition.js';
import { measureSettleBurst } from './settle-burst.js';
import { commitRepo, compileCli, freshDatabase, pct } from './support.js';

const args = process.argv.slice(2);
const sep = args.indexOf('--');
const TASKS = Number((sep === -1 ? args : args.slice(0, sep))[0] ?? 1000);
const COUNTS = sep === -1 ? [1, 2, 4, 8] : args.slice(sep + 1).map(Number);
const CONCURRENCY = Number(process.env.SCALING_CONCURRENCY ?? 8);
const POOL = Number(process.env.SCALING_POOL ?? 8);
const PROJECTS = Number(process.env.SCALING_PROJECTS ?? 1);
const TIMEOUT_MS = Number(process.env.SCALING_TIMEOUT_S ?? 600) * 1000;
const root = fileURLToPath(new URL('..', import.meta.url));
const standIn = path.join(root, 'bench/stand-in-claude.sh');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-scaling-'));
const entry = compileCli(tmp);
/** Every runner started, killed if the bench ends early (an error must not leave them running). */
const spawned = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of spawned) if (c.exitCode === null) c.kill('SIGKILL');
});

/** A process's /proc stat fields after the command name (field 3 is f[0]); null once it is gone. */
function statOf(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime+stime of a process, in seconds; 0 once it is gone. */
function cpuOf(pid: number): number {
  const f = statOf(pid);
  return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : 0;
}

/**
 * CPU seconds of everything a process started (git, the spawner, the stand-in
 * CLIs the spawner starts): each live descendant's own time, plus the reaped
 * children's time (cutime+cstime) of the process and of each live descendant.
 * A descendant that ends moves its time into its parent's reaped count, so a
 * difference of two readings counts it once. The runner's own CLIs are the
 * spawner's children, reaped by the spawner, not by the runner.
 */
function descendantsCpu(root: number): number {
  const stats = new Map<number, string[]>();
  const byParent = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const f = statOf(pid);
    if (!f) continue;
    stats.set(pid, f);
    const ppid = Number(f[1]);
    byParent.set(ppid, [...(byParent.get(ppid) ?? []), pid]);
  }
  let total = 0;
  const visit = (pid: number, own: boolean) => {
    const f = stats.get(pid);
    if (!f) return;
    total += (Number(f[13]) + Number(f[14]) + (own ? Number(f[11]) + Number(f[12]) : 0)) / CLK_TCK;
    for (const child of byParent.get(pid) ?? []) visit(child, true);
  };
  visit(root, false);
  return total;
}

/** PostgreSQL backends whose command line names `dbName` (other databases on the server are not counted). */
function backendsOf(dbName: string): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.startsWith('postgres: ') && cmd.includes(` ${dbName} `)) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

interface Row {
  runners: number;
  seconds: number;
  tasksPerSecond: number;
  settleRate: number;
  p50: number;
  p95: number;
  cpuRunners: number;
  cpuChildren: number;
  cpuPostgres: number;
  load: string;
  failed: number;
  breakdown: string;
}

async function run(runners: number): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(tmp, `r${runners}-`));
  const db = await freshDatabase(4);
  const dbName = new URL(db.url).pathname.slice(1);
  // One project (one merge queue) unless SCALING_PROJECTS spreads the tasks over several.
  const projectIds: string[] = [];
  for (let p = 0; p < PROJECTS; p++) {
    const repo = path.join(dir, `repo-${p}`);
    fs.mkdirSync(repo);
    fs.writeFileSync(path.join(repo, 'README.md'), '# small repo\n');
    fs.writeFileSync(path.join(repo, 'index.js'), 'console.log("hi");\n');
    commitRepo(repo);
    const { rows } = await db.pool.query<{ id: string }>(
      `insert into projects (name, git_url, working_path, default_branch, status, phase, config, prd_content)
       values ($4, $1, $2, 'main', 'running', 'development', $3, '# PRD\n') returning id`,
      [
        `file://${repo}`,
        repo,
        JSON.stringify({
          phases: ['development'],
          limits: { max_concurrent_agents: 1000, max_attempts: 3, task_timeout: 600_000, claude_timeout: 600_000 },
          sandbox: { enabled: false },
        }),
        `scaling-${p}`,
      ],
    );
    projectIds.push(rows[0]!.id);
  }
  await db.pool.query(
    `insert into tasks (project_id, key, title, phase, agent_type)
     select ($1::uuid[])[1 + (i % cardinality($1::uuid[]))], 's' || lpad(i::text, 5, '0'), 'Short ' || i,
            'development', 'eng-backend'
       from generate_series(1, $2) i`,
    [projectIds, TASKS],
  );

  const children: { child: ChildProcess; out: string; id: string | null }[] = [];
  for (let i = 0; i < runners; i++) {
    const child = spawn(
      process.execPath,
      [
        entry,
        'runner',
        '--concurrency',
        String(CONCURRENCY),
        '--pool-size',
        String(POOL),
        '--no-preflight',
        '--no-sandbox',
        '--name',
        `scaling-${i}`,
      ],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATABASE_URL: db.url,
          SAMGITA_HOME: path.join(dir, 'home'),
          SAMGITA_CLAUDE_BIN: standIn,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    spawned.add(child);
    const c = { child, out: '', id: null as string | null };
    const onData = (d: Buffer) => {
      c.out += d.toString();
      c.id ??= /samgita runner (\S+) started/.exec(c.out)?.[1] ?? null;
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    children.push(c);
  }
  for (const until = Date.now() + 120_000; ; ) {
    const { rows: a } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from runners where status = 'active'`,
    );
    if (a[0]!.n >= runners) break;
    const dead = children.find((c) => c.child.exitCode !== null);
    if (dead || Date.now() > until) throw new Error(`a runner did not start:\n${(dead ?? children[0]!).out}`);
    await sleep(100);
  }

  const pids = children.map((c) => c.child.pid!);
  const pgCpu = new Map<number, { first: number; last: number }>();
  const samplePg = () => {
    for (const pid of backendsOf(dbName)) {
      const now = cpuOf(pid);
      const seen = pgCpu.get(pid);
      if (seen) seen.last = Math.max(seen.last, now);
      else pgCpu.set(pid, { first: now, last: now });
    }
  };
  samplePg();
  const cpu0 = pids.map((p) => cpuOf(p));
  const child0 = pids.map((p) => descendantsCpu(p));
  const t0 = Date.now();
  for (const id of projectIds) await advanceProject(db.pool, id);
  let done = 0;
  let failed = 0;
  for (;;) {
    await sleep(250);
    samplePg();
    const { rows: s } = await db.pool.query<{ done: number; failed: number }>(
      `select count(*) filter (where status = 'completed')::int as done,
              count(*) filter (where status in ('failed', 'dead_letter'))::int as failed
         from tasks where project_id = any($1::uuid[])`,
      [projectIds],
    );
    ({ done, failed } = s[0]!);
    if (done + failed >= TASKS) break;
    if (Date.now() - t0 > TIMEOUT_MS) {
      console.log(`  giving up after ${TIMEOUT_MS / 1000} s: ${done} completed`);
      break;
    }
  }
  const wall = (Date.now() - t0) / 1000;
  samplePg();
  const cpuRunners = pids.reduce((n, p, i) => n + cpuOf(p) - cpu0[i]!, 0);
  const cpuChildren = pids.reduce((n, p, i) => n + descendantsCpu(p) - child0[i]!, 0);
  const cpuPostgres = [...pgCpu.values()].reduce((n, v) => n + v.last - v.first, 0);
  const load = os.loadavg()[0]!.toFixed(2);

  const { rows: times } = await db.pool.query<{ first: number; last: number; n: number }>(
    `select extract(epoch from min(completed_at))::float8 * 1000 as first,
            extract(epoch from max(completed_at))::float8 * 1000 as last, count(*)::int as n
       from tasks where project_id = any($1::uuid[]) and status = 'completed'`,
    [projectIds],
  );
  const { first, last, n } = times[0]!;
  const { rows: waits } = await db.pool.query<{ ms: number }>(
    `select extract(epoch from r.started_at - t.queued_at)::float8 * 1000 as ms
       from tasks t join agent_runs r on r.current_task_id = t.id and r.attempt = 1
      where t.project_id = any($1::uuid[])`,
    [projectIds],
  );
  const w = waits.map((r) => r.ms);
  // Where a task's time goes: each step's mean, the wait for the merge lock (verify's end to integrate's start),
  // and the whole attempt (claim to completion).
  const { rows: steps } = await db.pool.query<{ step: string; ms: number }>(
    `select step, avg(extract(epoch from s.ended_at - s.started_at) * 1000)::float8 as ms
       from rarv_steps s join tasks t on t.id = s.task_id where t.project_id = any($1::uuid[]) and s.ended_at is not null
      group by step order by min(s.id)`,
    [projectIds],
  );
  const { rows: mergeWaits } = await db.pool.query<{ ms: number }>(
    `select extract(epoch from i.started_at - v.ended_at)::float8 * 1000 as ms
       from rarv_steps v join rarv_steps i on i.agent_run_id = v.agent_run_id and i.step = 'integrate'
       join tasks t on t.id = v.task_id
      where t.project_id = any($1::uuid[]) and v.step = 'verify' and v.ended_at is not null`,
    [projectIds],
  );
  const { rows: attempts } = await db.pool.query<{ ms: number }>(
    `select extract(epoch from t.completed_at - r.started_at)::float8 * 1000 as ms
       from tasks t join agent_runs r on r.id = t.agent_id where t.project_id = any($1::uuid[]) and t.status = 'completed'`,
    [projectIds],
  );
  const mw = mergeWaits.map((r) => r.ms);
  const at = attempts.map((r) => r.ms);
  const breakdown =
    `steps (mean): ${steps.map((r) => `${r.step} ${r.ms.toFixed(0)} ms`).join(', ')}; ` +
    `merge-lock wait p50 ${mw.length ? pct(mw, 50).toFixed(0) : '-'} ms p95 ${mw.length ? pct(mw, 95).toFixed(0) : '-'} ms; ` +
    `claim→completed p50 ${at.length ? pct(at, 50).toFixed(0) : '-'} ms p95 ${at.length ? pct(at, 95).toFixed(0) : '-'} ms`;
  const completedIn = (last - t0) / 1000;

  for (const c of children) c.child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.child.exitCode !== null) return r();
          const t = setTimeout(() => {
            c.child.kill('SIGKILL');
            r();
          }, 30_000);
          c.child.once('exit', () => {
            clearTimeout(t);
            r();
          });
        }),
    ),
  );
  await db.drop();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    runners,
    seconds: completedIn,
    tasksPerSecond: n / completedIn,
    settleRate: n > 1 ? ((n - 1) * 1000) / (last - first) : 0,
    p50: w.length ? pct(w, 50) : Number.NaN,
    p95: w.length ? pct(w, 95) : Number.NaN,
    cpuRunners: cpuRunners / wall,
    cpuChildren: cpuChildren / wall,
    cpuPostgres: cpuPostgres / wall,
    load,
    failed,
    breakdown,
  };
}

console.log(
  `${TASKS} short tasks in ${PROJECTS} project(s); runners of concurrency ${CONCURRENCY}, pool ${POOL}; ${os.cpus().length} cores; load ${os.loadavg()[0]!.toFixed(2)} at start`,
);
const table: Row[] = [];
for (const n of COUNTS) {
  const r = await run(n);
  table.push(r);
  console.log(
    `  ${n} runner(s): ${r.tasksPerSecond.toFixed(1)} tasks/s over ${r.seconds.toFixed(1)} s (load ${r.load}${r.failed ? `, ${r.failed} failed` : ''})`,
  );
  console.log(`    ${r.breakdown}`);
}
const s = (v: number) => v.toFixed(2);
console.log(
  '\n| runners | tasks/s (completion) | settle rate /s | p50 enqueue→start | p95 enqueue→start | CPU runners | CPU git + stand-in | CPU postgres | load (1 min) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of table)
  console.log(
    `| ${r.runners} | ${r.tasksPerSecond.toFixed(1)} | ${r.settleRate.toFixed(1)} | ${(r.p50 / 1000).toFixed(1)} s | ${(r.p95 / 1000).toFixed(1)} s | ${s(r.cpuRunners)} | ${s(r.cpuChildren)} | ${s(r.cpuPostgres)} | ${r.load} |`,
  );
console.log('(CPU: cores busy on average over the run; this machine has', os.cpus().length, 'cores)');

const burst = await measureSettleBurst(TASKS, 4, 16);
console.log(
  `\nsettle path alone: ${burst.tasks} running tasks settled as completed from ${burst.pools} pools × ${burst.concurrency}: ` +
    `${burst.perSecond.toFixed(0)} tasks settled/s (${burst.seconds.toFixed(2)} s; next phase ${burst.nextQueued}/${burst.nextTasks} queued, ${burst.nextJobs} job(s); load ${os.loadavg()[0]!.toFixed(2)})`,
);
fs.rmSync(tmp, { recursive: true, force: true });
