/**
 * The exit-code contract (src/cli/outcome.ts) as a user meets it: the real
 * `bin/samgita.js` process, the real Claude Code CLI against a scripted
 * Messages API answering as the real one does, the exit code and output read
 * afterwards, and the database and repository checked for what happened.
 *
 *   0 completed · 1 failed / dead-lettered · 2 usage or configuration error
 *   3 stopped for the user (authentication, budget, provider outage) · 130 Ctrl-C
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { git, makeRepo, SAMGITA_BIN, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type MessagesScript, type MessagesServer, startMessagesServer } from '../support/messages-server/index.js';
import { waitFor } from '../support/runner-harness.js';

const CLAUDE = path.resolve(import.meta.dirname, '../../node_modules/.bin/claude');

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Write ok.txt to say the work is done | P0 |
`;

let db: TestDatabase;
const dirs: string[] = [];
const servers: MessagesServer[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
afterAll(async () => {
  await db.drop();
});

interface Case {
  repo: string;
  env: Record<string, string | undefined>;
  server: MessagesServer;
  projectId: () => Promise<string>;
}

/** A repository with PRD.md and `config`, a scripted API, and the environment a user would set. */
async function setup(script: MessagesScript, config: string): Promise<Case> {
  const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': `phases: [development]\n${config}` });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-outcome-'));
  dirs.push(repo, home);
  const server = await startMessagesServer({ script });
  servers.push(server);
  const env = {
    DATABASE_URL: db.url,
    HOME: home,
    SAMGITA_HOME: path.join(home, 'samgita'),
    SAMGITA_CLAUDE_BIN: CLAUDE,
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-test',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
    API_TIMEOUT_MS: '20000',
  };
  const projectId = async () =>
    (await db.pool.query<{ id: string }>('select id from projects where working_path = $1', [repo])).rows[0]!.id;
  return { repo, env, server, projectId };
}

function summaryOf(stdout: string): { outcome: string; exit_code: number; project: { status: string } } {
  return JSON.parse(stdout) as { outcome: string; exit_code: number; project: { status: string } };
}

const writeOk = { toolUse: { name: 'Write', input: { file_path: 'ok.txt', content: 'ok\n' } } } as const;

describe('samgita run exit codes, through the real process and the real Claude Code CLI', { timeout: 240_000 }, () => {
  it('0: every task completed', async () => {
    const c = await setup({ turns: [writeOk, { text: 'Wrote ok.txt.' }] }, 'verify:\n  test: test -f ok.txt\n');
    const r = await samgita(['run', c.repo, '--json'], c.env, 180_000);
    expect(r.code).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ outcome: 'completed', exit_code: 0, project: { status: 'completed' } });
    expect(r.stderr).toMatch(/outcome: completed \(exit 0\)/);
    const branch = (
      await db.pool.query<{ branch: string }>('select branch from tasks where project_id = $1', [await c.projectId()])
    ).rows[0]!.branch;
    expect(await git(c.repo, 'show', `${branch}:ok.txt`)).toBe('ok');
  });

  it('3: the API rejects the key (401): the project pauses for the user, nothing is retried', async () => {
    const c = await setup({ turns: [{ status: 401, message: 'invalid x-api-key' }] }, 'verify:\n  test: "true"\n');
    const r = await samgita(['run', c.repo], c.env, 180_000);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/Summary .*: paused \(Claude authentication failed/);
    expect(r.stdout).toMatch(/outcome: action_required \(exit 3\)/);
    const [p] = (
      await db.pool.query<{ status: string }>('select status from projects where id = $1', [await c.projectId()])
    ).rows;
    expect(p!.status).toBe('paused');
    expect(c.server.requests.filter((q) => q.kind === 'main')).toHaveLength(1);
  });

  it('1: every call hangs past claude_timeout: the task is dead-lettered, the project fails', async () => {
    const c = await setup(
      { turns: [{ hang: true }] },
      'limits:\n  claude_timeout: 8s\n  max_attempts: 1\nverify:\n  test: "true"\n',
    );
    const r = await samgita(['run', c.repo, '--json'], c.env, 180_000);
    expect(r.code).toBe(1);
    expect(summaryOf(r.stdout)).toMatchObject({ outcome: 'failed', exit_code: 1, project: { status: 'failed' } });
    const [t] = (
      await db.pool.query<{ status: string; error: { message: string } }>(
        'select status, error from tasks where project_id = $1',
        [await c.projectId()],
      )
    ).rows;
    expect(t!.status).toBe('dead_letter');
    expect(t!.error.message).toMatch(/^timeout: run timed out/);
  });

  it('1: the API answers malformed JSON: the task is dead-lettered with the reason', async () => {
    const c = await setup({ turns: [{ malformed: true }] }, 'limits:\n  max_attempts: 1\nverify:\n  test: "true"\n');
    const r = await samgita(['run', c.repo], c.env, 180_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Summary .*: failed/);
    expect(r.stdout).toMatch(/✗ development\/fr-1-implement: /);
    const [t] = (
      await db.pool.query<{ status: string }>('select status from tasks where project_id = $1', [await c.projectId()])
    ).rows;
    expect(t!.status).toBe('dead_letter');
  });

  it('3: a sustained overload (529) waits provider-wide, probing one call at a time, then pauses at limits.overload_give_up', async () => {
    const c = await setup(
      { turns: [{ status: 529, message: 'Overloaded' }] },
      'limits:\n  overload_give_up: 20s\nverify:\n  test: "true"\n',
    );
    const r = await samgita(['run', c.repo, '--json'], c.env, 180_000);
    expect(r.code).toBe(3);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ outcome: 'action_required', project: { status: 'paused' } });
    const [p] = (
      await db.pool.query<{ status_reason: string }>('select status_reason from projects where id = $1', [
        await c.projectId(),
      ])
    ).rows;
    expect(p!.status_reason).toMatch(/^Claude API overloaded since \d\d:\d\d .*limits\.overload_give_up = 20 s/);
    // The task spent no attempt and stays for a resume.
    const [t] = (
      await db.pool.query<{ status: string; attempts: number }>(
        'select status, attempts from tasks where project_id = $1',
        [await c.projectId()],
      )
    ).rows;
    expect(t).toEqual({ status: 'pending', attempts: 0 });
    // Backoff, not a hammering: a 20 s outage took a handful of calls (each CLI run makes one, with retries off).
    const calls = c.server.requests.filter((q) => q.kind === 'main');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.length).toBeLessThanOrEqual(6);
    const waiting = await db.pool.query(`select 1 from events where kind = 'provider.waiting'`);
    expect(waiting.rows.length).toBeGreaterThanOrEqual(1);
  });

  it('3: the task budget is spent: the project pauses "budget reached"', async () => {
    const c = await setup(
      { turns: [{ text: 'Did some work.', usage: { input_tokens: 100_000, output_tokens: 1_000 } }] },
      'budget:\n  task: { usd: 0.05 }\nverify:\n  test: "false"\n',
    );
    const r = await samgita(['run', c.repo], c.env, 180_000);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/paused \(budget reached: task budget spent/);
  });

  it('2: a usage error (unknown option) and a configuration error start nothing', async () => {
    const c = await setup({ turns: [] }, '');
    const bad = await samgita(['run', c.repo, '--frobnicate'], c.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option '--frobnicate'/);
    fs.writeFileSync(path.join(c.repo, 'samgita.yaml'), 'limits:\n  max_atempts: 3\n');
    await git(c.repo, 'commit', '-qam', 'typo');
    const conf = await samgita(['run', c.repo, '--json'], c.env);
    expect(conf.code).toBe(2);
    expect(conf.stderr).toMatch(/samgita\.yaml:2:3: error CONFIG_YAML_INVALID/);
    expect(JSON.parse(conf.stdout)).toMatchObject({ outcome: 'usage_error', exit_code: 2 });
    expect(c.server.requests.filter((q) => q.kind === 'main')).toHaveLength(0);
  });

  it('130: Ctrl-C hands the running task back', async () => {
    const c = await setup({ turns: [{ hang: true }] }, 'verify:\n  test: "true"\n');
    const child: ChildProcess = spawn(process.execPath, [SAMGITA_BIN, 'run', c.repo], {
      env: { PATH: process.env.PATH, ...c.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // The agent's call reached the API: it is in its Act step.
    await waitFor('the agent to call the API', async () => c.server.requests.some((q) => q.kind === 'main'), 60_000);
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(stdout).toMatch(/outcome: interrupted \(exit 130\)/);
    const live = await db.pool.query('select 1 from agent_runs where ended_at is null and project_id = $1', [
      await c.projectId(),
    ]);
    expect(live.rows).toEqual([]);
  });
});
