/**
 * 1,000 concurrent agents on ONE runner process, with a stand-in CLI that sleeps.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/many-agents.ts [agents=1000] [sleepSeconds=20] [-- extra runner args]
 *
 * Starts `node bin/samgita.js runner --concurrency <agents>` as its own process (so
 * the numbers are the runner's alone) against a scratch database, a small git
 * repository and bench/stand-in-claude.sh (init + result events, then `exec sleep`:
 * one small process per agent). Enqueues <agents> tasks at once and samples every
 * 250 ms: agents in their Act step (agent_runs.status = 'act'), stand-ins started
 * (their log) and alive (/proc), the runner's RSS (/proc/<pid>/status VmRSS) and CPU
 * (/proc/<pid>/stat utime+stime). Reports the most agents running at once, the time
 * until all were running, peak RSS and CPU, then drains the runner (SIGTERM) and
 * drops the database.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { advanceProject } from '../src/projects/transition.js';
import { commitRepo, compileCli, freshDatabase } from './support.js';

const args = process.argv.slice(2);
const sep = args.indexOf('--');
const positional = sep === -1 ? args : args.slice(0, sep);
const extraRunnerArgs = sep === -1 ? [] : args.slice(sep + 1);
const AGENTS = Number(positional[0] ?? 1000);
const SLEEP_S = Number(positional[1] ?? 20);
const root = fileURLToPath(new URL('..', import.meta.url));
const standIn = path.join(root, 'bench/stand-in-claude.sh');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-many-agents-'));
const repo = path.join(tmp, 'repo');
const home = path.join(tmp, 'home');
const standInLog = path.join(tmp, 'stand-in.log');
fs.mkdirSync(repo);
fs.writeFileSync(path.join(repo, 'README.md'), '# small repo\n');
fs.writeFileSync(path.join(repo, 'index.js'), 'console.log("hi");\n');
commitRepo(repo);

const db = await freshDatabase(4);
const { rows } = await db.pool.query<{ id: string }>(
  `insert into projects (name, git_url, working_path, default_branch, status, phase, config, prd_content)
   values ('many', $1, $2, 'main', 'running', 'development', $3, '# PRD\n') returning id`,
  [
    `file://${repo}`,
    repo,
    JSON.stringify({
      phases: ['development'],
      limits: { max_concurrent_agents: AGENTS, max_attempts: 1, task_timeout: 600_000, claude_timeout: 600_000 },
    }),
  ],
);
const projectId = rows[0]!.id;
await db.pool.query(
  `insert into tasks (project_id, key, title, phase, agent_type)
   select $1, 'a' || lpad(i::text, 5, '0'), 'Agent ' || i, 'development', 'eng-backend' from generate_series(1, $2) i`,
  [projectId, AGENTS],
);

// The runner runs compiled, as a deployed one does (tsx would add ~60 MB of RSS and its
// transpiling): the sources are compiled into the bench's temp dir. BENCH_FROM_SOURCE=1
// runs bin/samgita.js through tsx instead.
let entry = 'bin/samgita.js';
if (!process.env.BENCH_FROM_SOURCE) entry = compileCli(tmp);
// --no-sandbox: the stand-ins are counted as the runner's own children (/proc); bench/sandbox.ts
// measures bubblewrap. The runner's connections are its default (8 in all).
const runnerArgs = [
  entry,
  'runner',
  '--concurrency',
  String(AGENTS),
  '--no-preflight',
  '--no-sandbox',
  ...extraRunnerArgs,
];
// Node flags for the runner, e.g. BENCH_RUNNER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const nodeArgs = (process.env.BENCH_RUNNER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...runnerArgs], {
  cwd: root,
  env: {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: db.url,
    SAMGITA_HOME: home,
    SAMGITA_CLAUDE_BIN: standIn,
    SAMGITA_CLAUDE_PASS_ENV: 'STANDIN_LOG,STANDIN_SLEEP',
    STANDIN_LOG: standInLog,
    STANDIN_SLEEP: String(SLEEP_S),
    LOG_LEVEL: 'warn',
    SAMGITA_FROM_SOURCE: '1',
    // Profiling hooks, e.g. BENCH_RUNNER_NODE_OPTIONS='--import /tmp/probe.mjs'.
    ...(process.env.BENCH_RUNNER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_RUNNER_NODE_OPTIONS } : {}),
    ...(process.env.MEMPROBE_FILE ? { MEMPROBE_FILE: process.env.MEMPROBE_FILE } : {}),
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let runnerOut = '';
child.stdout?.on('data', (d: Buffer) => {
  runnerOut += d.toString();
});
child.stderr?.on('data', (d: Buffer) => {
  runnerOut += d.toString();
});
const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
const pid = child.pid!;
// Wait for the runner to be up before enqueueing, so start-up is not counted.
for (;;) {
  if (/runner .* started/.test(runnerOut)) break;
  if (child.exitCode !== null) {
    await db.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`runner exited: ${runnerOut}`);
  }
  await new Promise((r) => setTimeout(r, 50));
}

function rssMb(of = pid): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${of}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
/** The runner's spawner process (src/spawner/helper.ts), once it has started: its memory is the runner's too. */
let helperPid: number | null = null;
function helperRssMb(): number {
  if (helperPid === null) {
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
        if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes("require('node:child_process')"))
          helperPid = Number(d);
      } catch {
        /* gone */
      }
    }
  }
  return helperPid === null ? 0 : rssMb(helperPid);
}
function cpuSeconds(): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime
}
function standInsStarted(): number {
  try {
    return fs.readFileSync(standInLog, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}
/**
 * Live stand-ins (now `sleep <s>`, children of the runner's spawner, or of the runner when it
 * starts them itself). A process's children come from one file, and each child's name is
 * read once: it stays `sleep` until it exits. Reading every process's stat four times a second took ~6 % of this 2-core machine during a start (perf),
 * CPU the runner then did not have.
 */
const sleeping = new Set<number>();
function childrenOf(parent: number): number[] {
  return fs.readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}
function standInsAlive(): number {
  helperRssMb(); // finds the spawner once it exists: it starts the stand-ins
  let children: number[];
  try {
    children = [...childrenOf(pid), ...(helperPid === null ? [] : childrenOf(helperPid))];
  } catch {
    return standInsAliveByScan(); // a kernel without CONFIG_PROC_CHILDREN (or the spawner just died)
  }
  const now = new Set(children);
  for (const p of sleeping) if (!now.has(p)) sleeping.delete(p);
  let n = 0;
  for (const p of children) {
    if (!sleeping.has(p)) {
      try {
        if (!fs.readFileSync(`/proc/${p}/stat`, 'utf8').includes('(sleep)')) continue;
      } catch {
        continue; // gone
      }
      sleeping.add(p);
    }
    n++;
  }
  return n;
}
function standInsAliveByScan(): number {
  let n = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if ((ppid === pid || ppid === helperPid) && stat.includes('(sleep)')) n++;
    } catch {
      /* gone */
    }
  }
  return n;
}

const cpu0 = cpuSeconds();
const rss0 = rssMb();
const t0 = Date.now();
await advanceProject(db.pool, projectId);
let maxAct = 0;
let maxAlive = 0;
let peakRss = rss0;
let peakBoth = rss0;
let allRunningAt: number | null = null;
let allStartedAt: number | null = null;
let cpuAtAllRunning = 0;
const timeline: string[] = [];
let lastLog = 0;
for (;;) {
  await new Promise((r) => setTimeout(r, 250));
  const { rows: s } = await db.pool.query<{ act: number; done: number; dead: number }>(
    `select count(*) filter (where status = 'act' and ended_at is null)::int as act,
            (select count(*)::int from tasks where status = 'completed') as done,
            (select count(*)::int from tasks where status in ('dead_letter', 'failed')) as dead
       from agent_runs`,
  );
  const { act, done, dead } = s[0]!;
  const alive = standInsAlive();
  const started = standInsStarted();
  const rss = rssMb();
  const cpu = cpuSeconds() - cpu0;
  const t = (Date.now() - t0) / 1000;
  maxAct = Math.max(maxAct, act);
  maxAlive = Math.max(maxAlive, alive);
  peakRss = Math.max(peakRss, rss);
  peakBoth = Math.max(peakBoth, rss + helperRssMb());
  if (allStartedAt === null && started >= AGENTS) allStartedAt = t;
  if (allRunningAt === null && alive >= AGENTS) {
    allRunningAt = t;
    cpuAtAllRunning = cpu;
  }
  if (t - lastLog >= 2) {
    lastLog = t;
    const line = `t=${t.toFixed(1)}s act=${act} alive=${alive} started=${started} done=${done} failed=${dead} rss=${rss.toFixed(0)}MB cpu=${cpu.toFixed(1)}s`;
    timeline.push(line);
    console.log(line);
  }
  if (done + dead >= AGENTS) break;
  if (t > SLEEP_S + 600) {
    console.log('giving up after the time limit');
    break;
  }
}
const total = (Date.now() - t0) / 1000;
const cpuTotal = cpuSeconds() - cpu0;
const { rows: final } = await db.pool.query<{ status: string; n: number }>(
  'select status, count(*)::int as n from tasks group by status order by status',
);
console.log(`\n${AGENTS} agents on one runner (concurrency ${AGENTS}), stand-in sleeping ${SLEEP_S} s`);
console.log(`  runner: node ${runnerArgs.slice(1).join(' ')}`);
console.log(`  most running at once: ${maxAlive} stand-in processes alive, ${maxAct} agent runs in Act`);
console.log(
  `  all ${AGENTS} started: ${allStartedAt === null ? 'never' : `${allStartedAt.toFixed(1)} s`}; all alive at once: ${allRunningAt === null ? 'never' : `${allRunningAt.toFixed(1)} s`} after enqueue`,
);
console.log(`  runner RSS: ${rss0.toFixed(0)} MB idle, peak ${peakRss.toFixed(0)} MB`);
console.log(`  runner + its spawner RSS: peak ${peakBoth.toFixed(0)} MB`);
console.log(
  `  runner CPU: ${cpuTotal.toFixed(1)} s over ${total.toFixed(1)} s wall (${allRunningAt === null ? '' : `${cpuAtAllRunning.toFixed(1)} s until all running; `}${((cpuTotal / total) * 100).toFixed(0)}% of one core on average)`,
);
console.log(`  tasks: ${final.map((r) => `${r.status} ${r.n}`).join(', ')}`);
const { rows: errors } = await db.pool.query<{ message: string; n: number }>(
  `select left(error->>'message', 160) as message, count(*)::int as n from agent_runs
    where error is not null group by 1 order by 2 desc limit 5`,
);
for (const e of errors) console.log(`  agent run error ×${e.n}: ${e.message}`);
console.log(
  peakBoth < 300 && maxAlive >= AGENTS ? '  PASS: all running at once, RSS (runner + spawner) < 300 MB' : '  FAIL',
);

child.kill('SIGTERM');
const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
if (code === 'timeout') child.kill('SIGKILL');
if (runnerOut.trim()) console.log(`\nrunner output (tail):\n${runnerOut.trim().split('\n').slice(-15).join('\n')}`);
await db.drop();
fs.rmSync(tmp, { recursive: true, force: true });
