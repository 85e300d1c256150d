/**
 * Ctrl-C in the middle of `samgita run`: the command hands its running tasks
 * back at their checkpoint and exits; a second `samgita run` resumes them from
 * there and finishes. No task ever has two live agent runs at once, and the
 * branches hold the work.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClaudeEnv, git, makeRepo, SAMGITA_BIN, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { readFakeLog, writeFakeScript } from '../support/fake-claude/index.js';
import { waitFor } from '../support/runner-harness.js';

const PRD = `# Greeter

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Greet the user by name from the command line | P0 |
| FR-2 | Keep a history of greetings in a file | P1 |
`;

const CONFIG = `phases: [development]
limits:
  max_concurrent_agents: 2
verify:
  test: test -f greeting.txt
`;

let db: TestDatabase;
let home: string;
beforeAll(async () => {
  db = await createTestDatabase();
  home = await mkdtemp(path.join(os.tmpdir(), 'samgita-home-'));
});
afterAll(async () => {
  await db.drop();
});

function start(args: string[], env: Record<string, string | undefined>) {
  const child: ChildProcess = spawn(process.execPath, [SAMGITA_BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, out: () => ({ stdout, stderr }) };
}

describe('samgita run, interrupted with Ctrl-C', () => {
  it('hands running tasks back, and a second run resumes them to completion without running any twice at once', async () => {
    const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': CONFIG });
    const log = path.join(home, 'claude.log');
    const script = writeFakeScript(home, [
      {
        steps: [
          { write: { path: 'greeting.txt', content: 'hello\n' } },
          // Long enough to be interrupted mid-Act.
          { sleep: 2500 },
          { result: { text: 'Wrote greeting.txt', cost_usd: 0.01 } },
        ],
      },
    ]);
    const env = fakeClaudeEnv({ databaseUrl: db.url, home, script, log });

    const first = start(['run', repo], env);
    // Both agents are in their Act step (their CLI has started).
    await waitFor(
      'two CLI runs started',
      async () => readFakeLog(log).filter((c) => c.command === 'print').length >= 2,
      30_000,
    );
    first.child.kill('SIGINT');
    const code = await Promise.race([first.exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
    expect(code).not.toBe('hung');
    expect(code).toBe(130);
    const { stdout } = first.out();
    expect(stdout).toMatch(/interrupted: running tasks were handed back and resume on the next run/);

    // It waited for the running steps to reach their checkpoint, not for the tasks to finish:
    // nothing was left running or claimed; the work so far is checkpointed on the branches.
    const after = await db.pool.query<{ key: string; status: string; rarv_step: string; branch: string }>(
      'select key, status, rarv_step, branch from tasks order by key',
    );
    expect(after.rows).toHaveLength(2);
    for (const t of after.rows) {
      expect(['queued', 'pending']).toContain(t.status);
      expect(t.rarv_step).not.toBe('done');
    }
    const live = await db.pool.query('select id from agent_runs where ended_at is null');
    expect(live.rows).toEqual([]);
    const runner = await db.pool.query<{ status: string }>('select status from runners');
    expect(runner.rows.map((r) => r.status)).toEqual(['stopped']);
    const callsBefore = readFakeLog(log).filter((c) => c.command === 'print').length;

    // The second run picks them up and finishes.
    const second = await samgita(['run', repo], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/found project/);
    expect(second.stdout).toMatch(/tasks: 2 done, 0 failed/);
    const done = await db.pool.query<{ id: string; key: string; status: string; branch: string; attempts: number }>(
      'select id, key, status, branch, attempts from tasks order by key',
    );
    expect(done.rows.map((t) => t.status)).toEqual(['completed', 'completed']);

    // Resumed from the checkpoint: an Act interrupted mid-way finished its step before the
    // hand-back, so the second run continues at Reflect/Verify and calls the CLI no more.
    const calls = readFakeLog(log).filter((c) => c.command === 'print');
    expect(calls.length).toBe(callsBefore);
    const acts = await db.pool.query<{ task_id: string; n: number }>(
      `select task_id, count(*)::int as n from rarv_steps where step = 'act' group by task_id`,
    );
    for (const a of acts.rows) expect(a.n).toBe(1);

    // No task ever had two agent runs alive at the same time.
    for (const t of done.rows) {
      const runs = await db.pool.query<{ started_at: Date; ended_at: Date; status: string }>(
        'select started_at, ended_at, status from agent_runs where current_task_id = $1 order by started_at',
        [t.id],
      );
      expect(runs.rows.length).toBe(2);
      expect(runs.rows.map((r) => r.status)).toEqual(['cancelled', 'completed']);
      for (let i = 1; i < runs.rows.length; i++)
        expect(runs.rows[i]!.started_at.getTime()).toBeGreaterThanOrEqual(runs.rows[i - 1]!.ended_at.getTime());
    }
    const runners = await db.pool.query<{ status: string }>('select status from runners order by started_at');
    expect(runners.rows.map((r) => r.status)).toEqual(['stopped', 'stopped']);

    // The branches have the work, committed with trailers; the checkout is untouched.
    for (const t of done.rows) {
      expect(await git(repo, 'show', `${t.branch}:greeting.txt`)).toBe('hello');
      expect(await git(repo, 'log', '-1', '--format=%B', t.branch)).toContain(`Samgita-Task: ${t.id}`);
    }
    expect(await git(repo, 'status', '--porcelain')).toBe('');
  });
});
