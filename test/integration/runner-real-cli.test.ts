/**
 * The runner (startRunner → runTask → RARV) driving the REAL Claude Code CLI
 * (node_modules/.bin/claude) offline against the scripted Messages API server:
 * every outcome the issue names, asserted on the domain rows (tasks,
 * agent_runs, rarv_steps, events, provider_pauses, projects) and on git.
 * Each CLI run gets a fresh HOME through the runner's claudeEnv.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type MessagesScript, type MessagesServer, startMessagesServer } from '../support/messages-server/index.js';
import { processesWithEnv } from '../support/processes.js';
import {
  allSettled,
  runner,
  seedProject,
  seedTasks,
  type TestRunner,
  waitFor,
  waitForTasks,
} from '../support/runner-harness.js';

const claudeBin = path.resolve(import.meta.dirname, '../../node_modules/.bin/claude');

let db: TestDatabase;
const runners: TestRunner[] = [];
const servers: MessagesServer[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
afterAll(async () => {
  await db.drop();
});

const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await db.pool.query<T>(sql, params)).rows;

interface Setup {
  server: MessagesServer;
  runner: TestRunner;
  projectId: string;
  repo: string;
  taskId: string;
  dir: string;
}

/**
 * A project on a fresh repo with `config`, one task, the scripted server and a
 * runner whose CLI is the real one, pointed at the server with a fresh HOME.
 */
async function setup(
  script: MessagesScript,
  config: Record<string, unknown>,
  opts: { oauth?: boolean; maxAttempts?: number; retries?: number } = {},
): Promise<Setup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-real-runner-'));
  dirs.push(dir);
  const home = path.join(dir, 'claude-home');
  fs.mkdirSync(home);
  const server = await startMessagesServer({ script });
  servers.push(server);
  const { projectId, repo } = await seedProject(db.pool, config);
  dirs.push(repo);
  const env: Record<string, string | undefined> = {
    HOME: home,
    ANTHROPIC_BASE_URL: server.url,
    ...(opts.oauth
      ? { CLAUDE_CODE_OAUTH_TOKEN: 'test-oauth', ANTHROPIC_API_KEY: undefined }
      : { ANTHROPIC_API_KEY: 'test', CLAUDE_CODE_OAUTH_TOKEN: undefined }),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_RETRIES: String(opts.retries ?? 0),
    API_TIMEOUT_MS: '15000',
    // Inherited by the CLI and everything it starts, in or out of the sandbox: finds them from the host.
    SAMGITA_TEST_MARKER: dir,
  };
  const ids = await seedTasks(db.pool, projectId, [{ key: 'work', maxAttempts: opts.maxAttempts ?? 3 }]);
  const r = await runner(db.url, { env, dir }, { claudeBin, concurrency: 1, retryBaseMs: 200 });
  runners.push(r);
  return { server, runner: r, projectId, repo, taskId: ids.get('work')!, dir };
}

const mainRequests = (s: MessagesServer) => s.requests.filter((r) => r.kind === 'main');

/** Strings the model saw as the user's prompt in one request (the first user message's text). */
function userText(body: unknown): string {
  const messages = (body as { messages?: Array<{ role: string; content: unknown }> }).messages ?? [];
  return messages
    .filter((m) => m.role === 'user')
    .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
    .join('\n');
}

async function taskRow(id: string) {
  const [t] = await q<{
    status: string;
    attempts: number;
    rarv_step: string | null;
    rarv_loop: number;
    branch: string | null;
    head_sha: string | null;
    session_id: string | null;
    input_tokens: number;
    output_tokens: number;
    cache_read_tokens: number;
    tokens_used: number;
    cost: number;
    error: { message: string; kind: string } | null;
    run_after: Date | null;
  }>(
    `select status, attempts, rarv_step, rarv_loop, branch, head_sha, session_id, input_tokens, output_tokens,
            cache_read_tokens, tokens_used, cost_usd::float8 as cost, error, run_after
       from tasks where id = $1`,
    [id],
  );
  return t!;
}

async function runsOf(taskId: string) {
  return q<{ status: string; attempt: number; error: { message: string } | null; started_at: Date; cost: number }>(
    `select status, attempt, error, started_at, cost_usd::float8 as cost from agent_runs
      where current_task_id = $1 order by started_at`,
    [taskId],
  );
}

async function eventKinds(taskId: string): Promise<string[]> {
  return (await q<{ kind: string }>('select kind from events where subject_id = $1 order by id', [taskId])).map(
    (e) => e.kind,
  );
}

describe('runner + real Claude Code CLI', () => {
  it('edits files with Write, passes verify → completed, usage recorded, checkpoint commit with trailers', async () => {
    const s = await setup(
      {
        turns: [
          {
            text: 'Writing the greeting.',
            toolUse: { name: 'Write', input: { file_path: 'src/greeting.txt', content: 'hello from the model\n' } },
            usage: { input_tokens: 1200, output_tokens: 60, cache_read_input_tokens: 300 },
          },
          { text: 'Wrote src/greeting.txt.', usage: { input_tokens: 1300, output_tokens: 15 } },
        ],
      },
      { verify: { test: 'grep -q "hello from the model" src/greeting.txt' } },
    );
    await waitForTasks(db.pool, s.projectId, allSettled, 30_000);
    const t = await taskRow(s.taskId);
    expect(t).toMatchObject({ status: 'completed', attempts: 1, rarv_step: 'done', rarv_loop: 0 });
    expect(t.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect([t.input_tokens, t.output_tokens, t.cache_read_tokens]).toEqual([2500, 75, 300]);
    expect(t.tokens_used).toBe(2875);
    expect(t.cost).toBeGreaterThan(0);

    const runs = await runsOf(s.taskId);
    expect(runs.map((r) => r.status)).toEqual(['completed']);
    expect(runs[0]!.cost).toBeCloseTo(t.cost, 8);
    // The project completes in the transaction after the task's (advanceProject): wait for it, not for time.
    const p = await waitFor('project completed', async () => {
      const [row] = await q<{ cost: number; status: string }>(
        'select cost_usd::float8 as cost, status from projects where id = $1',
        [s.projectId],
      );
      return row?.status === 'completed' ? row : null;
    });
    expect(p.cost).toBeCloseTo(t.cost, 8);
    expect(p.status).toBe('completed');

    const steps = await q<{ step: string; status: string; loop: number; cost: number; input_tokens: number }>(
      'select step, status, loop, cost_usd::float8 as cost, input_tokens from rarv_steps where task_id = $1 order by id',
      [s.taskId],
    );
    expect(steps.map((x) => `${x.loop}:${x.step}:${x.status}`)).toEqual([
      '0:reason:completed',
      '0:act:completed',
      '0:reflect:completed',
      '0:verify:completed',
      '0:integrate:completed',
    ]);
    expect(steps[1]!.input_tokens).toBe(2500);
    expect(steps[1]!.cost).toBeCloseTo(t.cost, 8);
    expect(await eventKinds(s.taskId)).toEqual(['task.started', 'task.integrated', 'task.completed']);

    // The work is on the task branch, committed with Samgita trailers; the user's checkout is untouched.
    expect(t.branch).toBe('samgita/work');
    expect(await git(s.repo, 'show', 'samgita/work:src/greeting.txt')).toBe('hello from the model');
    const body = await git(s.repo, 'log', '-1', '--format=%B', 'samgita/work');
    expect(body).toContain(`Samgita-Task: ${s.taskId}`);
    expect(body).toContain(`Samgita-Project: ${s.projectId}`);
    expect(await git(s.repo, 'rev-parse', 'samgita/work')).toBe(t.head_sha);
    expect(fs.existsSync(path.join(s.repo, 'src/greeting.txt'))).toBe(false);
    const [art] = await q<{ path: string; content: string }>('select path, content from artifacts where task_id = $1', [
      s.taskId,
    ]);
    expect(art).toEqual({ path: 'src/greeting.txt', content: 'hello from the model\n' });

    // The CLI really ran against our server, with the agent type's flags.
    const main = mainRequests(s.server);
    expect(main).toHaveLength(2);
    expect(userText(main[0]!.body)).toContain('Task work: Do work');
    expect(s.server.unknown).toEqual([]);
  });

  it('fails verify, then passes in the next RARV loop: the failure output is in the second prompt', async () => {
    const s = await setup(
      {
        turns: [
          { toolUse: { name: 'Write', input: { file_path: 'answer.txt', content: 'wrong\n' } } },
          { text: 'Done (first try).' },
          // The CLI's Write refuses to overwrite a file the session has not read.
          { toolUse: { name: 'Read', input: { file_path: 'answer.txt' } } },
          { toolUse: { name: 'Write', input: { file_path: 'answer.txt', content: 'right\n' } } },
          { text: 'Fixed answer.txt.' },
        ],
      },
      {
        verify: {
          // The marker is split in the command so only its output (not the command text) contains it.
          test: 'test "$(cat answer.txt)" = right || { echo "VERIFY-""MARKER answer.txt holds: $(cat answer.txt)"; exit 1; }',
        },
      },
    );
    await waitForTasks(db.pool, s.projectId, allSettled, 30_000);
    const t = await taskRow(s.taskId);
    expect(t).toMatchObject({ status: 'completed', attempts: 1, rarv_loop: 1 });
    const steps = await q<{ step: string; status: string; loop: number; output: { steps?: { output: string }[] } }>(
      'select step, status, loop, output from rarv_steps where task_id = $1 order by id',
      [s.taskId],
    );
    expect(steps.map((x) => `${x.loop}:${x.step}:${x.status}`)).toEqual([
      '0:reason:completed',
      '0:act:completed',
      '0:reflect:completed',
      '0:verify:failed',
      '1:reason:completed',
      '1:act:completed',
      '1:reflect:completed',
      '1:verify:completed',
      '1:integrate:completed',
    ]);
    expect(steps[3]!.output.steps?.[0]?.output).toContain('VERIFY-MARKER answer.txt holds: wrong');

    // Two CLI runs: the second one's first request carries the verify failure; the first's did not.
    const main = mainRequests(s.server);
    expect(main).toHaveLength(5);
    expect(userText(main[0]!.body)).not.toContain('VERIFY-MARKER');
    const second = userText(main[2]!.body);
    expect(second).toContain('VERIFY-MARKER answer.txt holds: wrong');
    expect(second).toMatch(/Verify step `test`/);

    expect(await git(s.repo, 'show', 'samgita/work:answer.txt')).toBe('right');
    const log = (await git(s.repo, 'log', '--format=%s|%(trailers:key=Samgita-Task,valueonly)', 'main..samgita/work'))
      .split('\n')
      .filter(Boolean);
    expect(log).toHaveLength(2); // one checkpoint per loop
    for (const l of log) expect(l).toContain(s.taskId);
    const [mem] = await q<{ content: string }>(
      `select content from memories where task_id = $1 and type = 'procedural'`,
      [s.taskId],
    );
    expect(mem!.content).toContain('VERIFY-MARKER');
  });

  it('rate limit with a reset time: not failed, provider paused, requeued after the reset, then completes', async () => {
    // Counted from the answer, not from the test's start: a CLI slow to start on a loaded machine
    // (CI took 8 s once) would otherwise report a reset already past.
    let resetsAt = 0;
    const s = await setup(
      {
        turns: [
          {
            status: 429,
            retryAfterSeconds: 0,
            resetsAt: () => {
              resetsAt = Math.ceil(Date.now() / 1000) + 6;
              return resetsAt;
            },
            message: 'rate limited',
          },
          { toolUse: { name: 'Write', input: { file_path: 'ok.txt', content: 'ok\n' } } },
          { text: 'Done.' },
        ],
      },
      { verify: { test: 'test -f ok.txt' } },
      { oauth: true },
    );
    // First: the task is back in the queue with the reset as its run time, and the provider is paused.
    const pause = await waitFor('provider pause', async () => {
      const rows = await q<{ paused_until: Date; reason: string }>(
        `select paused_until, reason from provider_pauses where provider = 'anthropic'`,
      );
      return rows[0];
    });
    expect(pause.paused_until.getTime()).toBe(resetsAt * 1000); // the announced reset, not a backoff
    expect(pause.reason).toMatch(/^rate limited until/);
    const waiting = await taskRow(s.taskId);
    expect(waiting.status).toBe('queued');
    expect(waiting.attempts).toBe(0);
    expect(waiting.run_after?.getTime()).toBe(resetsAt * 1000);
    const [job] = await q<{ run_at: Date }>(`select run_at from graphile_worker.jobs where key = $1`, [
      `task:${s.taskId}`,
    ]);
    expect(job!.run_at.getTime()).toBe(resetsAt * 1000);

    await waitForTasks(db.pool, s.projectId, allSettled, 20_000);
    const t = await taskRow(s.taskId);
    expect(t).toMatchObject({ status: 'completed', attempts: 1 });
    const runs = await runsOf(s.taskId);
    expect(runs.map((r) => r.status)).toEqual(['cancelled', 'completed']);
    expect(runs[0]!.error?.message).toMatch(/^rate limited until/);
    expect(runs[1]!.started_at.getTime()).toBeGreaterThanOrEqual(resetsAt * 1000);
    const kinds = await eventKinds(s.taskId);
    expect(kinds).toContain('rate_limit.hit');
    expect(kinds).not.toContain('task.failed');
    expect(kinds).not.toContain('task.retrying');
    const main = mainRequests(s.server);
    expect(main[0]!.answer).toBe('error:429');
    expect(main.filter((r) => r.answer === 'error:429')).toHaveLength(1);
  });

  it('overloaded (529): retried with backoff, the attempt not counted', async () => {
    const s = await setup(
      {
        turns: [
          { status: 529, message: 'Overloaded' },
          { toolUse: { name: 'Write', input: { file_path: 'ok.txt', content: 'ok\n' } } },
          { text: 'Done.' },
        ],
      },
      { verify: { test: 'test -f ok.txt' } },
      { maxAttempts: 1 },
    );
    await waitForTasks(db.pool, s.projectId, allSettled, 30_000);
    // max_attempts is 1: had the overload counted, the task would be dead-lettered.
    const t = await taskRow(s.taskId);
    expect(t).toMatchObject({ status: 'completed', attempts: 1 });
    const runs = await runsOf(s.taskId);
    expect(runs.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(runs[0]!.error?.message).toMatch(/^overloaded/);
    const [retry] = await q<{ data: { error: string; attempts: number; run_at: string }; created: Date }>(
      `select data, created_at as created from events where kind = 'task.retrying' and subject_id = $1`,
      [s.taskId],
    );
    expect(retry!.data.error).toMatch(/^overloaded/);
    expect(retry!.data.attempts).toBe(0);
    // Backoff: the second run started no earlier than half the base delay (200 ms, full jitter from 1/2).
    const main = mainRequests(s.server);
    expect(main[0]!.answer).toBe('error:529');
    expect(runs[1]!.started_at.getTime() - runs[0]!.started_at.getTime()).toBeGreaterThanOrEqual(100);
    expect(await eventKinds(s.taskId)).toEqual([
      'task.started',
      'task.retrying',
      'task.started',
      'task.integrated',
      'task.completed',
    ]);
  });

  it('authentication failure (401): the project pauses with the reason, no retry', async () => {
    const s = await setup({ turns: [{ status: 401, message: 'invalid x-api-key' }] }, { verify: { test: 'true' } });
    const [p] = await waitFor('project paused', async () => {
      const rows = await q<{ status: string; status_reason: string }>(
        'select status, status_reason from projects where id = $1',
        [s.projectId],
      );
      return rows[0]?.status === 'paused' ? rows : null;
    });
    expect(p!.status_reason).toMatch(/^Claude authentication failed: /);
    expect(p!.status_reason).toMatch(/invalid x-api-key|API key|authentication/i);
    // Give a retry the chance to happen: none does.
    await new Promise((r) => setTimeout(r, 1500));
    const t = await taskRow(s.taskId);
    expect(t.status).toBe('pending');
    expect(t.attempts).toBe(0);
    expect(t.error?.message).toBeTruthy();
    expect((await runsOf(s.taskId)).map((r) => r.status)).toEqual(['cancelled']);
    const kinds = await eventKinds(s.taskId);
    expect(kinds).toEqual(['task.started']);
    const paused = await q<{ data: { reason: string } }>(
      `select data from events where kind = 'project.paused' and subject_id = $1`,
      [s.projectId],
    );
    expect(paused).toHaveLength(1);
    expect(mainRequests(s.server)).toHaveLength(1);
    expect(await q(`select 1 from graphile_worker.jobs where key = $1`, [`task:${s.taskId}`])).toEqual([]);
  });

  it('hang: the CLI timeout kills the process group and its Bash background children; retried, then dead-lettered', {
    timeout: 120_000,
  }, async () => {
    const CLAUDE_TIMEOUT = 12_000;
    const s = await setup(
      {
        turns: [
          {
            toolUse: {
              name: 'Bash',
              input: { command: 'sleep 300 > /dev/null 2>&1 & echo sleeper-started', description: 'start a sleeper' },
            },
          },
          { hang: true },
        ],
      },
      // Long enough for the real CLI to start and run the Bash tool on a loaded machine; the
      // hang that follows is what the timeout ends.
      { limits: { claude_timeout: CLAUDE_TIMEOUT, max_attempts: 2 }, verify: { test: 'true' } },
      { maxAttempts: 2 },
    );
    await waitForTasks(db.pool, s.projectId, allSettled, 4 * CLAUDE_TIMEOUT);
    const t = await taskRow(s.taskId);
    expect(t.status).toBe('dead_letter');
    expect(t.attempts).toBe(2);
    expect(t.error?.message).toMatch(/^timeout: run timed out/);
    const runs = await runsOf(s.taskId);
    expect(runs.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(await eventKinds(s.taskId)).toEqual([
      'task.started',
      'task.retrying',
      'task.started',
      'task.failed',
      'task.dead_lettered',
    ]);
    const steps = await q<{ step: string; status: string; duration: number }>(
      `select step, status, extract(epoch from ended_at - started_at) * 1000 as duration
         from rarv_steps where task_id = $1 and step = 'act' order by id`,
      [s.taskId],
    );
    expect(steps.map((x) => x.status)).toEqual(['failed', 'failed']);
    // Each Act ended at the timeout plus the kill grace, not at the hang's end.
    for (const x of steps) expect(Number(x.duration)).toBeLessThan(CLAUDE_TIMEOUT + 5_000);

    // The first attempt's Bash tool started a background sleeper (the server replays the hang for
    // the second attempt, so only one is expected); it, and every claude process of the run, is gone.
    expect(JSON.stringify(s.server.requests.map((r) => r.body))).toContain('sleeper-started');
    await waitFor(
      'nothing of the run left',
      async () => processesWithEnv(`SAMGITA_TEST_MARKER=${s.dir}`).length === 0,
      5_000,
    );
  });

  it('budget (USD): the CLI stops at --max-budget-usd from what is left; the project pauses "budget reached"', async () => {
    const s = await setup(
      // Sonnet pricing: 100k input tokens cost about $0.30, well over the $0.05 task cap.
      { turns: [{ text: 'Did some work.', usage: { input_tokens: 100_000, output_tokens: 1_000 } }] },
      { budget: { task: { usd: 0.05 } }, verify: { test: 'true' } },
    );
    const p = await waitFor('project paused', async () => {
      const rows = await q<{ status: string; status_reason: string; cost: number }>(
        'select status, status_reason, cost_usd::float8 as cost from projects where id = $1',
        [s.projectId],
      );
      return rows[0]?.status === 'paused' ? rows[0] : null;
    });
    expect(p.status_reason).toMatch(/^budget reached: task budget spent \(\$0\.\d\d of \$0\.05\)/);
    expect(p.cost).toBeGreaterThan(0.05);
    // The CLI was told what is left.
    const argv = (
      await q<{ input: { max_budget_usd: number } }>(
        `select input from rarv_steps where task_id = $1 and step = 'act'`,
        [s.taskId],
      )
    ).map((r) => r.input.max_budget_usd);
    expect(argv).toEqual([0.05]);
    const t = await taskRow(s.taskId);
    expect(t).toMatchObject({ status: 'pending', attempts: 0 });
    expect(t.cost).toBeCloseTo(p.cost, 8);
    const events = await q(`select data from events where kind = 'budget.exceeded' and subject_id = $1`, [s.projectId]);
    expect(events).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 800));
    expect(mainRequests(s.server)).toHaveLength(1);
  });

  it('budget (tokens): spend past budget.task.tokens stops before the next call; the project pauses "budget reached"', async () => {
    const s = await setup(
      { turns: [{ text: 'Did some work.', usage: { input_tokens: 60_000, output_tokens: 1_000 } }] },
      // The CLI has no token cap: only the runner's check before each call can stop this one.
      { budget: { task: { usd: null, tokens: 50_000 } }, verify: { test: 'false' } },
    );
    const p = await waitFor('project paused', async () => {
      const rows = await q<{ status: string; status_reason: string }>(
        'select status, status_reason from projects where id = $1',
        [s.projectId],
      );
      return rows[0]?.status === 'paused' ? rows[0] : null;
    });
    expect(p.status_reason).toBe(
      'budget reached: task budget spent (61000 of 50000 tokens); raise budget.task.tokens in samgita.yaml to continue',
    );
    // One call made and paid for; verify failed; the next loop's Act was never started.
    const steps = await q<{ step: string; status: string; loop: number }>(
      'select step, status, loop from rarv_steps where task_id = $1 order by id',
      [s.taskId],
    );
    expect(steps.map((x) => `${x.loop}:${x.step}:${x.status}`)).toEqual([
      '0:reason:completed',
      '0:act:completed',
      '0:reflect:completed',
      '0:verify:failed',
      '1:reason:completed',
    ]);
    await new Promise((r) => setTimeout(r, 800));
    expect(mainRequests(s.server)).toHaveLength(1);
    const t = await taskRow(s.taskId);
    expect(t).toMatchObject({ status: 'pending', attempts: 0, tokens_used: 61_000 });
    expect(t.error?.message).toMatch(/^task budget spent/);
    const [ev] = await q<{ data: { reason: string } }>(
      `select data from events where kind = 'budget.exceeded' and subject_id = $1`,
      [s.projectId],
    );
    expect(ev!.data.reason).toBe(p.status_reason);
  });
});
