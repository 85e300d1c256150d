/**
 * The checkpoint record in git, the way a user meets it: `samgita run` keeps
 * refs/samgita/state in the repository; the database is dropped mid-project
 * (some tasks completed, one in the middle of Verify); `samgita import` into a
 * fresh database rebuilds the project from the ref and the branches, and
 * `samgita run` finishes it without re-running a completed task, the mid-verify
 * task resuming at Verify. A third database (another deployment) is refused;
 * `samgita restore` shows the plan diff before it rolls back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeClaudeEnv, git, makeRepo, SAMGITA_BIN, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { readFakeLog, writeFakeScript } from '../support/fake-claude/index.js';
import { waitFor } from '../support/runner-harness.js';

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Store a note in a file | P0 |
| FR-2 | List the stored notes | P0 |
| FR-3 | Search the notes by word | P1 |
`;

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop().catch(() => {});
});

interface StateTask {
  id: string;
  key: string;
  title: string;
  status: string;
  rarv_step: string | null;
}

async function statePlan(repo: string, rev = 'refs/samgita/state'): Promise<{ tasks: StateTask[] } | null> {
  try {
    const names = (await git(repo, 'ls-tree', '--name-only', `${rev}:tasks`)).split('\n').filter(Boolean);
    const tasks = await Promise.all(
      names.map(async (n) => JSON.parse(await git(repo, 'show', `${rev}:tasks/${n}`)) as StateTask),
    );
    return tasks.length ? { tasks } : null;
  } catch {
    return null;
  }
}

function start(args: string[], env: Record<string, string | undefined>) {
  const child: ChildProcess = spawn(process.execPath, [SAMGITA_BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, out: () => out };
}

describe('the checkpoint record in git', () => {
  it('survives a dropped database: import rebuilds the project and the run finishes without re-running completed work', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'samgita-ckpt-'));
    const gate = path.join(work, 'open');
    // FR-3's work makes Verify wait for the gate: the test holds that task mid-verify.
    const config = `phases: [development]
limits:
  max_concurrent_agents: 1
verify:
  test: "if [ -f search.txt ]; then while [ ! -f ${gate} ]; do sleep 0.1; done; fi; true"
`;
    const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': config });
    const log = path.join(work, 'claude.log');
    const script = writeFakeScript(work, [
      {
        match: 'Implement FR-3',
        steps: [{ write: { path: 'search.txt', content: 'search\n' } }, { result: { text: 'Search', cost_usd: 0.01 } }],
      },
      {
        match: 'Implement FR-2',
        steps: [{ write: { path: 'list.txt', content: 'list\n' } }, { result: { text: 'List', cost_usd: 0.01 } }],
      },
      {
        steps: [{ write: { path: 'store.txt', content: 'store\n' } }, { result: { text: 'Store', cost_usd: 0.01 } }],
      },
    ]);
    const dbA = await createTestDatabase();
    dbs.push(dbA);
    const homeA = await mkdtemp(path.join(os.tmpdir(), 'samgita-home-'));
    const envA = fakeClaudeEnv({ databaseUrl: dbA.url, home: homeA, script, log });

    const first = start(['run', repo], envA);
    // The ref (not the database) says: two tasks completed, the search task at Verify.
    const before = await waitFor(
      'the state ref to record two completed tasks and one at verify',
      async () => {
        const plan = await statePlan(repo);
        if (!plan) return null;
        const completed = plan.tasks.filter((t) => t.status === 'completed');
        const atVerify = plan.tasks.find((t) => t.status === 'running' && t.rarv_step === 'verify');
        return completed.length === plan.tasks.length - 1 && atVerify ? { completed, atVerify } : null;
      },
      120_000,
    );
    expect(before.atVerify.title).toMatch(/search/i);
    first.child.kill('SIGKILL');
    await first.exit;
    await dbA.drop();
    const callsBefore = readFakeLog(log).filter((c) => c.command === 'print').length;

    // A fresh database, another deployment: the import rebuilds the project from the repository.
    const dbB = await createTestDatabase();
    dbs.push(dbB);
    const homeB = await mkdtemp(path.join(os.tmpdir(), 'samgita-home-'));
    const envB = fakeClaudeEnv({ databaseUrl: dbB.url, home: homeB, script, log });
    // Without --take-over the state's deployment (the lost one) still holds it: refused, nothing written.
    const refused = await samgita(['import', repo], envB);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/held by another Samgita deployment/);
    expect(refused.stderr).toMatch(/--take-over/);
    expect((await dbB.pool.query('select id from projects')).rows).toEqual([]);

    const imported = await samgita(['import', repo, '--take-over'], envB);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(new RegExp(`resumes ${before.atVerify.key} at verify`));
    const rows = await dbB.pool.query<{ id: string; key: string; status: string; rarv_step: string | null }>(
      'select id, key, status, rarv_step from tasks order by key',
    );
    expect(rows.rows.map((r) => r.id).sort()).toEqual([...before.completed, before.atVerify].map((t) => t.id).sort());
    for (const t of before.completed) expect(rows.rows.find((r) => r.id === t.id)?.status).toBe('completed');

    await writeFile(gate, '');
    const second = await samgita(['run', repo], envB);
    expect(second.stderr).not.toMatch(/error/i);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/tasks: 3 done, 0 failed/);

    // No completed task ran again: no agent run for them here, and the CLI was not called again.
    const runs = await dbB.pool.query<{ task_id: string; n: number }>(
      'select current_task_id as task_id, count(*)::int as n from agent_runs group by current_task_id',
    );
    expect(runs.rows.map((r) => r.task_id)).toEqual([before.atVerify.id]);
    expect(readFakeLog(log).filter((c) => c.command === 'print').length).toBe(callsBefore);
    // The mid-verify task resumed at Verify: its first step here is verify, and no Reason or Act ran.
    const steps = await dbB.pool.query<{ step: string }>('select step from rarv_steps where task_id = $1 order by id', [
      before.atVerify.id,
    ]);
    expect(steps.rows[0]?.step).toBe('verify');
    expect(steps.rows.map((s) => s.step)).not.toContain('act');
    // The branch holds the agent's work, and the integration branch all three tasks'.
    expect(await git(repo, 'show', 'samgita/integration:search.txt')).toBe('search');

    // The ref now records deployment B and the finished plan.
    const after = await statePlan(repo);
    expect(after?.tasks.every((t) => t.status === 'completed')).toBe(true);

    // A third database is another deployment: `samgita run` is refused with the reason and the remedy.
    const dbC = await createTestDatabase();
    dbs.push(dbC);
    const homeC = await mkdtemp(path.join(os.tmpdir(), 'samgita-home-'));
    const third = await samgita(['run', repo], fakeClaudeEnv({ databaseUrl: dbC.url, home: homeC, script, log }));
    expect(third.code).toBe(3);
    expect(third.stderr).toMatch(/held by another Samgita deployment/);
    expect((await dbC.pool.query('select id from projects')).rows).toEqual([]);

    // Restore: back to the state commit in which the search task was at verify. The diff comes first.
    const commits = (await git(repo, 'log', '--format=%H', 'refs/samgita/state')).split('\n');
    let target: string | null = null;
    for (const c of commits) {
      const plan = await statePlan(repo, c);
      if (plan?.tasks.some((t) => t.id === before.atVerify.id && t.rarv_step === 'verify')) {
        target = c;
        break;
      }
    }
    expect(target).not.toBeNull();
    const project = (await dbB.pool.query<{ name: string }>('select name from projects')).rows[0]!.name;
    const shown = await samgita(['restore', project, '--snapshot', target!.slice(0, 12)], envB);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      new RegExp(`~ ${before.atVerify.key}: completed at done .* → (running|queued|pending) at verify`),
    );
    expect(shown.stdout).toMatch(/nothing changed; run again with --yes/);
    expect((await dbB.pool.query('select status from tasks where id = $1', [before.atVerify.id])).rows[0].status).toBe(
      'completed',
    );

    const applied = await samgita(['restore', project, '--snapshot', target!.slice(0, 12), '--yes'], envB);
    expect(applied.code).toBe(0);
    const restored = await dbB.pool.query<{ status: string; rarv_step: string }>(
      'select status, rarv_step from tasks where id = $1',
      [before.atVerify.id],
    );
    expect(restored.rows[0]).toEqual({ status: 'pending', rarv_step: 'verify' });
    expect((await dbB.pool.query('select status from projects')).rows[0].status).toBe('paused');
  }, 300_000);
});
