import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSamgitaError } from '../../src/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { controlProject, removeProjectWorktrees, resolveProject, worktreesDir } from '../../src/projects/control.js';
import { advanceProject } from '../../src/projects/transition.js';
import { readDesiredState } from '../../src/reconcile/desired-state.js';
import { replanProject } from '../../src/reconcile/replan.js';
import { projectStatus } from '../../src/reconcile/status.js';
import { type RunningRunner, startRunner } from '../../src/runner/runner.js';
import { registerProject } from '../../src/store/projects.js';
import { git, makeRepo } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { fakeClaudePath, writeFakeScript } from '../support/fake-claude/index.js';
import { exposeToSandbox } from '../support/runner-harness.js';

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Store a note in a file | P0 |
| FR-2 | List notes alphabetically | P1 |
| FR-3 | Delete a note by title | P1 |
| FR-4 | Count words across notes | P2 |
`;
const YAML = 'phases: [development]\n';
const actor = { type: 'cli' as const, id: 'test' };

let db: TestDatabase;
let home: string;
let repo: string;
let projectId: string;
let runner: RunningRunner | undefined;

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const statuses = async () =>
  Object.fromEntries(
    (
      await db.pool.query<{ key: string; status: string }>('select key, status from tasks where project_id = $1', [
        projectId,
      ])
    ).rows.map((r) => [r.key, r.status]),
  );
const byStatus = async (s: string) => Object.values(await statuses()).filter((x) => x === s).length;
const jobCount = async () =>
  (
    await db.pool.query<{ n: number }>(
      `select count(*)::int as n from graphile_worker.jobs j join tasks t on j.key = 'task:' || t.id::text
        where t.project_id = $1`,
      [projectId],
    )
  ).rows[0]!.n;

beforeAll(async () => {
  db = await createTestDatabase();
  home = await mkdtemp(path.join(os.tmpdir(), 'samgita-control-'));
  repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': YAML });
  const { project } = await registerProject(
    db.pool,
    { name: 'notes', gitUrl: `file://${repo}`, workingPath: repo, defaultBranch: 'main' },
    actor,
  );
  projectId = project.id;
  const head = await git(repo, 'rev-parse', 'HEAD');
  const desired = await readDesiredState(repo, head);
  await replanProject(db.pool, projectId, {
    commitSha: head,
    prd: desired.prd,
    config: desired.config,
    configText: desired.configText,
    actor,
  });
  await db.pool.query(`update projects set status = 'running' where id = $1`, [projectId]);
  await advanceProject(db.pool, projectId, actor);
  // Apart from SAMGITA_HOME (hidden in the sandbox), and made visible to the sandboxed stand-in CLI.
  const scripts = await mkdtemp(path.join(os.tmpdir(), 'samgita-control-script-'));
  exposeToSandbox(scripts);
  const script = writeFakeScript(scripts, [
    {
      steps: [
        { sleep: 1500 },
        { write: { path: 'out.txt', content: 'done\n' } },
        { result: { text: 'done', cost_usd: 0.01, usage: { input_tokens: 10, output_tokens: 5 } } },
      ],
    },
  ]);
  runner = await startRunner({
    pool: db.pool,
    samgitaHome: home,
    claudeBin: fakeClaudePath,
    claudeEnv: { FAKE_CLAUDE_SCRIPT: script, FAKE_CLAUDE_LOGGED_IN: '1' },
    concurrency: 1,
    pollIntervalMs: 100,
    heartbeatMs: 500,
    log: createLogger({ level: 'silent' }),
  });
});
afterAll(async () => {
  await runner?.stop();
  await db.drop();
});

describe('pause, resume and cancel on a running project', () => {
  it('resolves a project by id, name and repository path', async () => {
    expect((await resolveProject(db.pool, projectId)).id).toBe(projectId);
    expect((await resolveProject(db.pool, 'notes')).id).toBe(projectId);
    expect((await resolveProject(db.pool, repo)).id).toBe(projectId);
    await expect(resolveProject(db.pool, 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('pause: the running task reaches its checkpoint, nothing new is claimed', async () => {
    await waitFor('a running task', async () => (await byStatus('running')) > 0);
    const r = await controlProject(db.pool, projectId, 'pause', actor, 'test pause');
    expect(r.to).toBe('paused');
    expect(await byStatus('queued')).toBe(0);
    expect(await jobCount()).toBeLessThanOrEqual(1); // only the running task's job (locked)
    const runningKey = Object.entries(await statuses()).find(([, v]) => v === 'running')?.[0];
    await waitFor('the running task to settle', async () => (await byStatus('running')) === 0);
    // It reached its checkpoint: finished, or handed back to be continued on resume.
    expect(['completed', 'pending']).toContain((await statuses())[runningKey ?? '']);
    const snapshot = await statuses();
    const runs = async () =>
      (
        await db.pool.query<{ n: number }>('select count(*)::int as n from agent_runs where project_id = $1', [
          projectId,
        ])
      ).rows[0]!.n;
    const runsBefore = await runs();
    // Nothing is claimed while paused.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await statuses()).toEqual(snapshot);
    expect(await runs()).toBe(runsBefore);
    expect(await jobCount()).toBe(0);
    const st = await projectStatus(db.pool, projectId);
    expect(st.health.state).toBe('suspended');
    expect(st.sync.state).toBe('synced');
  });

  it('resume: continues with the remaining tasks; resuming again is a clear error', async () => {
    const done = await byStatus('completed');
    const r = await controlProject(db.pool, projectId, 'resume', actor);
    expect(r.to).toBe('running');
    expect(r.enqueued).toBeGreaterThan(0);
    await waitFor('more work done', async () => (await byStatus('completed')) > done);
    const err = await controlProject(db.pool, projectId, 'resume', actor).catch((e: unknown) => e);
    expect(isSamgitaError(err, 'CONFLICT')).toBe(true);
    expect((err as { hint?: string }).hint).toMatch(/pause|cancel/u);
  });

  it('cancel: open tasks cancelled, jobs gone, running agent stopped, worktrees removed', async () => {
    await waitFor('a running task', async () => (await byStatus('running')) > 0);
    await waitFor('a worktree', async () => existsSync(worktreesDir(home, projectId)));
    const r = await controlProject(db.pool, projectId, 'cancel', actor, 'test cancel');
    expect(r.to).toBe('cancelled');
    expect(r.stoppedRunning).toBe(1);
    const s = await statuses();
    expect(Object.values(s).every((x) => x === 'completed' || x === 'cancelled')).toBe(true);
    const wt = await removeProjectWorktrees(db.pool, { id: projectId, working_path: repo }, home, {
      waitMs: 15_000,
      actor,
    });
    expect(wt.stillRunning).toBe(0);
    expect(wt.removed.length).toBeGreaterThan(0);
    expect(existsSync(worktreesDir(home, projectId))).toBe(false);
    const list = await git(repo, 'worktree', 'list', '--porcelain');
    expect(list.split('\n').filter((l) => l.startsWith('worktree ')).length).toBe(1);
    expect(await jobCount()).toBe(0);
    // The stopped run did not complete its task.
    expect(Object.values(await statuses()).filter((x) => x === 'running')).toEqual([]);
    const ev = await db.pool.query<{ kind: string }>(
      `select kind from events where project_id = $1 and kind in ('project.cancelled', 'project.worktrees_removed')`,
      [projectId],
    );
    expect(ev.rows.map((e) => e.kind).sort()).toEqual(['project.cancelled', 'project.worktrees_removed']);
    // A cancelled project can be archived, not resumed.
    await expect(controlProject(db.pool, projectId, 'resume', actor)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await controlProject(db.pool, projectId, 'archive', actor)).to).toBe('archived');
    expect((await projectStatus(db.pool, projectId)).health.state).toBe('suspended');
  });
});
