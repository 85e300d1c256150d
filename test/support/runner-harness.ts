/**
 * Helpers for runner tests: a project on a real git repository, tasks seeded
 * straight into the tables, runners on their own pools, waiting for states.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { createLogger } from '../../src/log/logger.js';
import { advanceProject } from '../../src/projects/transition.js';
import { type RunnerOptions, type RunningRunner, startRunner } from '../../src/runner/runner.js';
import { createPool } from '../../src/store/connection.js';
import { makeRepo, SAMGITA_BIN } from './cli.js';
import { type FakeScenario, fakeClaudePath, writeFakeScript } from './fake-claude/index.js';

export const quietLog = createLogger({ level: 'silent' });

export interface SeedTask {
  key: string;
  priority?: number;
  agentType?: string;
  phase?: string;
  dependsOn?: string[];
  maxAttempts?: number;
}

/** A running project on a fresh repository, with `config` stored as the loader would. */
export async function seedProject(
  pool: pg.Pool,
  config: Record<string, unknown> = {},
  files: Record<string, string> = { 'README.md': '# app\n' },
): Promise<{ projectId: string; repo: string }> {
  const repo = await makeRepo(files);
  const { rows } = await pool.query<{ id: string }>(
    `insert into projects (name, git_url, working_path, default_branch, status, phase, config, prd_content)
     values ($1, $2, $3, 'main', 'running', 'development', $4, '# PRD\n') returning id`,
    [path.basename(repo), `file://${repo}`, repo, JSON.stringify({ phases: ['development'], ...config })],
  );
  return { projectId: rows[0]!.id, repo };
}

export async function seedTasks(pool: pg.Pool, projectId: string, tasks: SeedTask[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const t of tasks) {
    const { rows } = await pool.query<{ id: string }>(
      `insert into tasks (project_id, key, title, phase, agent_type, priority, max_attempts)
       values ($1, $2, $3, $4, $5, $6, $7) returning id`,
      [
        projectId,
        t.key,
        `Do ${t.key}`,
        t.phase ?? 'development',
        t.agentType ?? 'eng-backend',
        t.priority ?? 100,
        t.maxAttempts ?? 3,
      ],
    );
    ids.set(t.key, rows[0]!.id);
  }
  for (const t of tasks) {
    for (const dep of t.dependsOn ?? []) {
      await pool.query('insert into task_dependencies (task_id, depends_on) values ($1, $2)', [
        ids.get(t.key),
        ids.get(dep),
      ]);
    }
  }
  await advanceProject(pool, projectId);
  return ids;
}

export interface FakeCli {
  dir: string;
  log: string;
  script: string;
  env: Record<string, string>;
  /** Rewrites the script (the next CLI run reads the new one). */
  rewrite(scenarios: FakeScenario[]): void;
}

/** Makes `dir` visible (read-write) inside the sandboxes of runners in this process (SAMGITA_SANDBOX_BIND). */
export function exposeToSandbox(dir: string): void {
  const binds = process.env.SAMGITA_SANDBOX_BIND;
  process.env.SAMGITA_SANDBOX_BIND = binds ? `${binds}:${dir}` : dir;
}

export function fakeCli(scenarios: FakeScenario[]): FakeCli {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-runner-'));
  const log = path.join(dir, 'claude.log');
  const script = writeFakeScript(dir, scenarios);
  // The stand-in CLI runs sandboxed like the real one: its script and log must be visible inside.
  exposeToSandbox(dir);
  return {
    dir,
    log,
    script,
    env: { FAKE_CLAUDE_SCRIPT: script, FAKE_CLAUDE_LOG: log, FAKE_CLAUDE_LOGGED_IN: '1', SAMGITA_SANDBOX_BIND: dir },
    rewrite: (s) => writeFakeScript(dir, s),
  };
}

export interface TestRunner extends RunningRunner {
  pool: pg.Pool;
}

/** A runner on its own pool, as a separate process would have. */
export async function runner(
  url: string,
  cli: { env: Record<string, string | undefined>; dir: string },
  opts: Partial<RunnerOptions> = {},
): Promise<TestRunner> {
  const pool = createPool(url, { max: Math.min((opts.concurrency ?? 2) + 4, 20) });
  const r = await startRunner({
    pool,
    samgitaHome: path.join(cli.dir, 'home'),
    claudeBin: fakeClaudePath,
    claudeEnv: cli.env,
    concurrency: 2,
    heartbeatMs: 500,
    pollIntervalMs: 200,
    retryBaseMs: 50,
    providerBackoff: { baseMs: 200, capMs: 2_000 },
    drainTimeoutMs: 2_000,
    log: quietLog,
    ...opts,
  });
  return {
    ...r,
    pool,
    async stop() {
      await r.stop();
      await pool.end().catch(() => {});
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function taskStatuses(pool: pg.Pool, projectId: string): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ key: string; status: string }>(
    'select key, status from tasks where project_id = $1',
    [projectId],
  );
  return Object.fromEntries(rows.map((r) => [r.key, r.status]));
}

export async function waitForTasks(
  pool: pg.Pool,
  projectId: string,
  done: (statuses: string[]) => boolean,
  timeoutMs = 30_000,
): Promise<Record<string, string>> {
  return waitFor(
    'tasks to settle',
    async () => {
      const s = await taskStatuses(pool, projectId);
      return done(Object.values(s)) ? s : null;
    },
    timeoutMs,
  );
}

export const allSettled = (s: string[]) =>
  s.length > 0 && s.every((x) => ['completed', 'dead_letter', 'failed', 'cancelled'].includes(x));

export interface RunnerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `samgita runner <args>` as its own process against `databaseUrl`, with the
 * scripted stand-in CLI; `children` collects it for the test's cleanup.
 */
export function spawnRunnerProcess(
  databaseUrl: string,
  cli: FakeCli,
  args: string[],
  opts: { env?: Record<string, string>; children?: ChildProcess[] } = {},
): RunnerProcess {
  const child = spawn(process.execPath, [SAMGITA_BIN, 'runner', ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      SAMGITA_HOME: path.join(cli.dir, 'home'),
      SAMGITA_CLAUDE_BIN: fakeClaudePath,
      SAMGITA_CLAUDE_PASS_ENV: 'FAKE_CLAUDE_SCRIPT,FAKE_CLAUDE_LOG,FAKE_CLAUDE_LOGGED_IN',
      LOG_LEVEL: 'warn',
      ...cli.env,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  opts.children?.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}
