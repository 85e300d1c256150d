/**
 * Claim → CLI spawned, worktree creation included, on a repository of 1,000 files.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/claim-to-spawn.ts [N=200] [concurrency=4]
 *
 * A project whose working copy is a git repository of 1,000 files gets N tasks at
 * once; one runner (startRunner, in this process) works them with the stand-in CLI
 * bench/stand-in-claude.sh, which appends its start time ($EPOCHREALTIME) and cwd to a
 * log. Measured per task: the runner's onTaskStart hook (run_task handler entered,
 * i.e. the job was claimed) → the stand-in's first instruction. In between: task load,
 * the claim transaction (caps, agent run, events), `git worktree add` of a 1,000-file
 * tree, the Reason step (repo state, memories, context), the budget check, spawn.
 * Concurrency 1 is the idle path; higher shows contention on the one repository.
 * Creates and drops its own database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/log/logger.js';
import { advanceProject } from '../src/projects/transition.js';
import { startRunner } from '../src/runner/runner.js';
import { commitRepo, fmt, freshDatabase, pct } from './support.js';

const N = Number(process.argv[2] ?? 200);
const CONCURRENCY = Number(process.argv[3] ?? 4);
const FILES = 1_000;
const standIn = fileURLToPath(new URL('./stand-in-claude.sh', import.meta.url));
const now = () => performance.timeOrigin + performance.now();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-claim-bench-'));
const repo = path.join(tmp, 'repo');
const home = path.join(tmp, 'home');
const standInLog = path.join(tmp, 'stand-in.log');

// A repository of 1,000 files in 50 directories, about 1 KB each.
fs.mkdirSync(repo);
for (let i = 0; i < FILES; i++) {
  const dir = path.join(repo, 'src', `mod${String(i % 50).padStart(2, '0')}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, `file${String(i).padStart(4, '0')}.ts`),
    `export const value${i} = ${i};\n${'// filler line for a realistic size\n'.repeat(28)}`,
  );
}
commitRepo(repo);

const db = await freshDatabase(CONCURRENCY + 6);
const started = new Map<string, number>();
let settled = 0;
let allDone: () => void = () => {};
const done = new Promise<void>((r) => {
  allDone = r;
});
const runner = await startRunner({
  pool: db.pool,
  samgitaHome: home,
  claudeBin: standIn,
  claudeEnv: { STANDIN_LOG: standInLog },
  concurrency: CONCURRENCY,
  pollIntervalMs: 200,
  log: createLogger({ level: 'silent' }),
  onTaskStart: (id) => started.set(id, now()),
  onTaskSettled: () => {
    if (++settled >= N) allDone();
  },
});

const { rows } = await db.pool.query<{ id: string }>(
  `insert into projects (name, git_url, working_path, default_branch, status, phase, config, prd_content)
   values ('bench', $1, $2, 'main', 'running', 'development', $3, '# PRD\n') returning id`,
  [
    `file://${repo}`,
    repo,
    JSON.stringify({ phases: ['development'], limits: { max_concurrent_agents: 10_000, max_attempts: 1 } }),
  ],
);
const projectId = rows[0]!.id;
const keys = new Map<string, string>();
const ins = await db.pool.query<{ id: string; key: string }>(
  `insert into tasks (project_id, key, title, phase, agent_type)
   select $1, 't' || lpad(i::text, 5, '0'), 'Task ' || i, 'development', 'eng-backend' from generate_series(1, $2) i
   returning id, key`,
  [projectId, N],
);
for (const r of ins.rows) keys.set(r.key, r.id);
const t0 = now();
await advanceProject(db.pool, projectId);
const timeout = setTimeout(() => {
  console.error(`timed out: ${settled} of ${N} settled`);
  allDone();
}, 300_000);
await done;
clearTimeout(timeout);
const wall = now() - t0;

const spawnedAt = new Map<string, number>();
for (const line of fs.readFileSync(standInLog, 'utf8').split('\n')) {
  const [at, , cwd] = line.split(' ');
  if (!at || !cwd) continue;
  const id = keys.get(path.basename(cwd));
  if (id && !spawnedAt.has(id)) spawnedAt.set(id, Number(at) * 1000);
}
const lat: number[] = [];
for (const [id, t] of started) {
  const s = spawnedAt.get(id);
  if (s !== undefined) lat.push(s - t);
}
const statuses = await db.pool.query<{ status: string; n: number }>(
  'select status, count(*)::int as n from tasks group by status',
);
console.log(`claim → CLI spawned, ${N} tasks, runner concurrency ${CONCURRENCY}, repository of ${FILES} files`);
console.log(
  `  measured ${lat.length}; tasks ${statuses.rows.map((r) => `${r.status} ${r.n}`).join(', ')}; wall ${(wall / 1000).toFixed(1)} s`,
);
console.log(
  `  p50 ${fmt(pct(lat, 50))}  p90 ${fmt(pct(lat, 90))}  p99 ${fmt(pct(lat, 99))}  max ${fmt(Math.max(...lat))}`,
);
const p50 = pct(lat, 50);
console.log(p50 <= 50 ? `  PASS: p50 ≤ 50 ms` : `  FAIL: p50 ${fmt(p50)} > 50 ms`);

await runner.stop();
await db.drop();
fs.rmSync(tmp, { recursive: true, force: true });
