import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkClaude } from '../../src/claude/preflight.js';
import { runClaude } from '../../src/claude/run-claude.js';
import { isSamgitaError } from '../../src/errors.js';
import { useSpawner } from '../../src/spawner/helper.js';
import { type FakeScenario, fakeClaudePath, readFakeLog, writeFakeScript } from '../support/fake-claude/index.js';
import { parentPid } from '../support/processes.js';

let dir: string;
let cwd: string;
let logFile: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-fake-claude-'));
  cwd = path.join(dir, 'work');
  fs.mkdirSync(cwd);
  logFile = path.join(dir, 'calls.jsonl');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(
  prompt: string,
  scenarios: FakeScenario[] | undefined,
  extra: Partial<Parameters<typeof runClaude>[0]> = {},
) {
  const env: Record<string, string> = { FAKE_CLAUDE_LOG: logFile, HOME: dir };
  if (scenarios) env.FAKE_CLAUDE_SCRIPT = writeFakeScript(dir, scenarios);
  return runClaude({
    bin: fakeClaudePath,
    cwd,
    claude: { prompt, permissionMode: 'acceptEdits', allowedTools: ['Write', 'Read', 'Edit', 'Bash'], maxTurns: 10 },
    env,
    timeoutMs: 10_000,
    ...extra,
  });
}

function waitForFile(file: string, ms = 5000): Promise<string> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim()) return resolve(fs.readFileSync(file, 'utf8'));
      if (Date.now() > until) return reject(new Error(`no ${file}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** Polls until the pid is gone (ESRCH) or a zombie awaiting its reaper; false if still running after `ms`. */
async function gone(pid: number, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z/.test(stat)) return true;
    } catch {
      /* gone between the two calls */
    }
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

// In-process, as `samgita` commands run it, and through the spawner process, as a runner does.
describe.each(['in-process', 'through the spawner'])('runClaude with the fake CLI, %s', (way) => {
  let release: (() => void) | undefined;
  beforeEach(() => {
    if (way === 'through the spawner') release = useSpawner();
  });
  afterEach(() => release?.());

  it('default scenario writes NOTES.md and succeeds; flags are logged', async () => {
    const events: string[] = [];
    const r = await run('Describe the project', undefined, { onEvent: (e) => events.push(e.type) });
    expect(r.outcome.kind).toBe('success');
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(cwd, 'NOTES.md'), 'utf8')).toContain('Describe the project');
    expect(r.summary.usage.inputTokens).toBe(200);
    expect(r.summary.costUsd).toBeGreaterThan(0);
    expect(events[0]).toBe('system');
    expect(events.at(-1)).toBe('result');
    const [call] = readFakeLog(logFile);
    expect(call?.prompt).toBe('Describe the project');
    // The prompt came on stdin, not the command line.
    expect(call?.argv.join(' ')).not.toContain('Describe the project');
    expect(call?.cwd).toBe(fs.realpathSync(cwd));
    expect(call?.flags['--allowedTools']).toEqual(['Write,Read,Edit,Bash']);
    expect(call?.flags['--permission-mode']).toBe('acceptEdits');
  });

  it('picks the scenario by prompt and honours --session-id', async () => {
    const sessionId = '0b7c6a9e-1111-4222-8333-444455556666';
    const r = await run(
      'please fix the bug',
      [
        { match: 'unrelated', steps: [{ fail: 'server_error' }] },
        {
          match: '/fix the (bug|issue)/',
          steps: [
            { write: { path: 'src/a.ts', content: 'x' } },
            { append: { path: 'src/a.ts', content: 'y' } },
            { run: 'echo ran > ran.txt' },
            { result: { text: 'fixed', cost_usd: 0.42, usage: { input_tokens: 7, output_tokens: 3 } } },
          ],
        },
      ],
      { claude: { prompt: 'please fix the bug', sessionId } },
    );
    expect(r.outcome).toEqual({ kind: 'success', message: 'fixed' });
    expect(fs.readFileSync(path.join(cwd, 'src/a.ts'), 'utf8')).toBe('xy');
    expect(fs.readFileSync(path.join(cwd, 'ran.txt'), 'utf8')).toBe('ran\n');
    expect(r.summary.sessionId).toBe(sessionId);
    expect(r.summary.costUsd).toBe(0.42);
    expect(r.summary.usage).toMatchObject({ inputTokens: 7, outputTokens: 3 });
  });

  it('rate limit → rate_limited with resetsAt', async () => {
    const r = await run('go', [{ steps: [{ rate_limit: { resetsInSeconds: 120 } }] }]);
    expect(r.exitCode).toBe(1);
    expect(r.outcome.kind).toBe('rate_limited');
    const delta = (r.outcome.resetsAt?.getTime() ?? 0) - Date.now();
    expect(delta).toBeGreaterThan(100_000);
    expect(delta).toBeLessThan(125_000);
  });

  it.each([
    ['overloaded', 'overloaded'],
    ['authentication_failed', 'auth_failed'],
    ['billing_error', 'billing'],
    ['server_error', 'server_error'],
  ] as const)('fail %s → %s', async (fail, kind) => {
    const r = await run('go', [{ steps: [{ fail }] }]);
    expect(r.exitCode).toBe(1);
    expect(r.outcome.kind).toBe(kind);
  });

  it('not logged in → auth_failed', async () => {
    const r = await run('go', undefined, { env: { FAKE_CLAUDE_LOGGED_IN: '0', HOME: dir } });
    expect(r.outcome).toEqual({ kind: 'auth_failed', message: 'Not logged in · Please run /login' });
  });

  it('max turns, crash, structured output', async () => {
    const steps = [{ write: { path: 'a', content: '1' } }, { write: { path: 'b', content: '2' } }];
    const mt = await run('go', [{ steps }], { claude: { prompt: 'go', maxTurns: 1 } });
    expect(mt.outcome.kind).toBe('max_turns');
    const crash = await run('go', [{ steps: [{ text: 'hi' }, { crash: { code: 3 } }] }]);
    expect(crash.outcome.kind).toBe('crashed');
    expect(crash.exitCode).toBe(3);
    const so = await run('go', [{ steps: [{ structured_output: { tasks: [1, 2] } }] }], {
      claude: { prompt: 'go', jsonSchema: { type: 'object' } },
    });
    expect(so.outcome.kind).toBe('success');
    expect(so.structuredOutput).toEqual({ tasks: [1, 2] });
  });

  // Grandchildren on a stop are the next test's: there the test waits for the
  // sleeper to exist, where a 1.5 s timeout could fire before a loaded machine
  // has started the fake CLI at all.
  it('timeout stops a hanging CLI and reports timeout', async () => {
    const r = await run('go', [{ steps: [{ hang: true }] }], { timeoutMs: 1500, killGraceMs: 500 });
    expect(r.outcome.kind).toBe('timeout');
    expect(await gone(r.pid ?? 0)).toBe(true);
  });

  it('abort signal cancels and kills the group', async () => {
    const pidFile = path.join(cwd, 'bg.pid');
    const ac = new AbortController();
    const p = run('go', [{ steps: [{ run: `sleep 300 & echo $! > ${pidFile}` }, { hang: true }] }], {
      signal: ac.signal,
    });
    const bgPid = Number(await waitForFile(pidFile));
    ac.abort();
    const r = await p;
    expect(r.outcome.kind).toBe('cancelled');
    expect(await gone(bgPid)).toBe(true);
  });

  it('the CLI is a child of this process, or of the spawner', async () => {
    const pidFile = path.join(cwd, 'cli.pid');
    const ac = new AbortController();
    const p = run('go', [{ steps: [{ run: `echo $PPID > ${pidFile}` }, { hang: true }] }], { signal: ac.signal });
    const cliPid = Number(await waitForFile(pidFile));
    const parent = parentPid(cliPid);
    ac.abort();
    expect((await p).outcome.kind).toBe('cancelled');
    if (way === 'in-process') expect(parent).toBe(process.pid);
    else expect(fs.readFileSync(`/proc/${parent}/cmdline`, 'utf8')).toContain("require('node:net')");
  });

  it('a background process left behind after a normal exit is killed too', async () => {
    const pidFile = path.join(cwd, 'bg.pid');
    const r = await run('go', [{ steps: [{ run: `sleep 300 & echo $! > ${pidFile}` }] }]);
    expect(r.outcome.kind).toBe('success');
    expect(await gone(Number(fs.readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  it('missing binary → CLAUDE_NOT_FOUND', async () => {
    const err = await runClaude({ bin: path.join(dir, 'nope'), cwd, args: ['-p'], timeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(isSamgitaError(err, 'CLAUDE_NOT_FOUND')).toBe(true);
  });
});

describe('checkClaude with the fake CLI', () => {
  it('reports version and login', async () => {
    const c = await checkClaude({ bin: fakeClaudePath, env: { HOME: dir }, timeoutMs: 5000 });
    expect(c).toEqual({ version: '2.1.197', loggedIn: true, method: 'claude.ai' });
  });
  it('not logged in → CLAUDE_NOT_LOGGED_IN with hint', async () => {
    const err = await checkClaude({
      bin: fakeClaudePath,
      env: { HOME: dir, FAKE_CLAUDE_LOGGED_IN: '0', ANTHROPIC_API_KEY: undefined, CLAUDE_CODE_OAUTH_TOKEN: undefined },
    }).catch((e: unknown) => e);
    expect(isSamgitaError(err, 'CLAUDE_NOT_LOGGED_IN')).toBe(true);
    expect((err as { hint: string }).hint).toContain('claude /login');
  });
  it('missing → CLAUDE_NOT_FOUND with install hint', async () => {
    const err = await checkClaude({ bin: path.join(dir, 'nope') }).catch((e: unknown) => e);
    expect(isSamgitaError(err, 'CLAUDE_NOT_FOUND')).toBe(true);
    expect((err as { hint: string }).hint).toContain('SAMGITA_CLAUDE_BIN');
  });
});
