/**
 * Runs the REAL Claude Code CLI (node_modules/.bin/claude) offline against the
 * scripted Messages API server, with a fresh HOME per run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkClaude } from '../../src/claude/preflight.js';
import { type RunClaudeOptions, runClaude } from '../../src/claude/run-claude.js';
import { useSpawner } from '../../src/spawner/helper.js';
import { type MessagesScript, type MessagesServer, startMessagesServer } from '../support/messages-server/index.js';

const claudeBin = path.resolve(import.meta.dirname, '../../node_modules/.bin/claude');

let dir: string;
let home: string;
let cwd: string;
let server: MessagesServer | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-real-claude-'));
  home = path.join(dir, 'home');
  cwd = path.join(dir, 'work');
  fs.mkdirSync(home);
  fs.mkdirSync(cwd);
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(
  script: MessagesScript,
  opts: { oauth?: boolean; retries?: number } & Partial<RunClaudeOptions> = {},
) {
  server = await startMessagesServer({ script });
  const { oauth, retries, ...rest } = opts;
  return runClaude({
    bin: claudeBin,
    cwd,
    claude: {
      prompt: 'Create the file please',
      permissionMode: 'acceptEdits',
      allowedTools: ['Write', 'Read', 'Edit', 'Bash'],
      maxTurns: 8,
    },
    env: {
      HOME: home,
      ANTHROPIC_BASE_URL: server.url,
      ...(oauth
        ? { CLAUDE_CODE_OAUTH_TOKEN: 'test-oauth', ANTHROPIC_API_KEY: undefined }
        : { ANTHROPIC_API_KEY: 'test', CLAUDE_CODE_OAUTH_TOKEN: undefined }),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_MAX_RETRIES: String(retries ?? 0),
      API_TIMEOUT_MS: '20000',
    },
    timeoutMs: 30_000,
    ...rest,
  });
}

async function gone(pid: number, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
    try {
      if (/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      /* raced with exit */
    }
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

// In-process, as `samgita` commands run it, and through the spawner process, as a runner does.
describe.each(['in-process', 'through the spawner'])('runClaude with the real Claude Code CLI, %s', (way) => {
  let release: (() => void) | undefined;
  beforeEach(() => {
    if (way === 'through the spawner') release = useSpawner();
  });
  afterEach(() => release?.());

  it('edits a file and succeeds; usage and cost parsed', async () => {
    const r = await run({
      turns: [
        {
          text: 'Writing it.',
          toolUse: { name: 'Write', input: { file_path: 'hello.txt', content: 'hello from the model\n' } },
          usage: { input_tokens: 1000, output_tokens: 50, cache_read_input_tokens: 200 },
        },
        { text: 'Wrote hello.txt.', usage: { input_tokens: 1100, output_tokens: 10 } },
      ],
    });
    expect(r.outcome).toEqual({ kind: 'success', message: 'Wrote hello.txt.' });
    expect(r.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(cwd, 'hello.txt'), 'utf8')).toBe('hello from the model\n');
    expect(r.summary.usage).toEqual({ inputTokens: 2100, outputTokens: 60, cacheReadTokens: 200, cacheWriteTokens: 0 });
    expect(r.summary.costUsd).toBeGreaterThan(0);
    expect(r.summary.numTurns).toBe(2);
    expect(r.summary.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const main = server?.requests.filter((q) => q.kind === 'main') ?? [];
    expect(main).toHaveLength(2);
    expect(main[0]?.url).toBe('/v1/messages?beta=true');
    expect(JSON.stringify(main[0]?.body)).toContain('Create the file please');
    expect(server?.unknown).toEqual([]);
  });

  it('429 rate limit with reset → rate_limited with resetsAt', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 3600;
    const r = await run({ turns: [{ status: 429, retryAfterSeconds: 0, resetsAt }] }, { oauth: true });
    expect(r.exitCode).toBe(1);
    expect(r.outcome.kind).toBe('rate_limited');
    expect(r.outcome.resetsAt).toEqual(new Date(resetsAt * 1000));
  });

  it('429 with an API key retries (api_retry events) and ends rate_limited', async () => {
    const r = await run({ turns: [{ status: 429, retryAfterSeconds: 0 }] }, { retries: 1 });
    expect(r.outcome.kind).toBe('rate_limited');
    expect(r.summary.apiRetries).toBe(1);
    expect(server?.requests.filter((q) => q.kind === 'main')).toHaveLength(2);
  });

  it('529 → overloaded', async () => {
    const r = await run({ turns: [{ status: 529, message: 'Overloaded' }] });
    expect(r.outcome.kind).toBe('overloaded');
  });

  it('401 → auth_failed', async () => {
    const r = await run({ turns: [{ status: 401, message: 'invalid x-api-key' }] });
    expect(r.outcome.kind).toBe('auth_failed');
  });

  it('structured output with --json-schema', async () => {
    const r = await run(
      { turns: [{ toolUse: { name: 'StructuredOutput', input: { ok: true, files: ['a.ts'] } } }] },
      {
        claude: {
          prompt: 'Report',
          permissionMode: 'acceptEdits',
          jsonSchema: {
            type: 'object',
            properties: { ok: { type: 'boolean' }, files: { type: 'array', items: { type: 'string' } } },
            required: ['ok'],
          },
        },
      },
    );
    expect(r.outcome.kind).toBe('success');
    expect(r.structuredOutput).toEqual({ ok: true, files: ['a.ts'] });
  });

  it('hang → our timeout stops the CLI and reports timeout', async () => {
    const r = await run({ turns: [{ hang: true }] }, { timeoutMs: 4000, killGraceMs: 1000 });
    expect(r.outcome.kind).toBe('timeout');
    expect(await gone(r.pid ?? 0)).toBe(true);
  });

  // The timeout and a stop share one kill path (terminate() in run-claude.ts). A
  // stop lets the test wait for the Bash tool to have run (the hang turn is asked
  // for only after its result) instead of guessing how long a loaded machine needs
  // to start the CLI: CI once timed out before the sleepers existed.
  it('a stop mid-hang kills the whole process group, Bash grandchildren included', async () => {
    const pidFile = path.join(cwd, 'bg.pid');
    const stop = new AbortController();
    const running = run(
      {
        turns: [
          {
            toolUse: {
              name: 'Bash',
              input: {
                command: `sleep 300 & echo $! > ${pidFile}; sleep 300 & echo $! >> ${pidFile}`,
                description: 'start sleepers',
              },
            },
          },
          { hang: true },
        ],
      },
      { signal: stop.signal, killGraceMs: 1000 },
    );
    const hanging = () => server?.requests.some((q) => q.answer === 'hang') ?? false;
    const waiting = (async () => {
      while (!hanging() && !stop.signal.aborted) await new Promise((res) => setTimeout(res, 25));
      stop.abort();
    })();
    const r = await running;
    const reachedHang = hanging();
    stop.abort(); // ends the waiter if the run ended some other way
    await waiting;
    expect(reachedHang, `the run ended before the hang turn: ${r.outcome.kind} ${r.outcome.message}`).toBe(true);
    expect(r.outcome.kind).toBe('cancelled');
    const pids = fs.readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(await gone(pid)).toBe(true);
    expect(await gone(r.pid ?? 0)).toBe(true);
  });
});

/** Pids whose working directory is `dir`: the CLI of a run there, and anything it started. */
function processesIn(dir: string): number[] {
  const real = fs.realpathSync(dir);
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readlinkSync(`/proc/${d}/cwd`) === real;
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

/** Every readable command line on the machine, NUL-separated argv joined by spaces. */
function allCommandLines(): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.set(Number(d), fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

describe('the prompt travels on stdin', () => {
  it('reaches the model, and no process on the machine has it in its argv', async () => {
    const marker = `PRD-${Math.random().toString(36).slice(2)}`;
    // Starts with a dash (once the reason for `--`) and is larger than one argv string may be
    // (MAX_ARG_STRLEN, 128 KiB): neither matters on stdin.
    const prompt = `- ${marker}: build the thing\n${'Requirement text. '.repeat(9000)}`;
    const ac = new AbortController();
    const running = run({ turns: [{ hang: true }] }, { claude: { prompt, maxTurns: 2 }, signal: ac.signal });
    const until = Date.now() + 25_000;
    while (!server?.requests.some((q) => q.kind === 'main' && q.answer === 'hang')) {
      if (Date.now() > until) throw new Error('the CLI never called the API');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The run hangs on the model: its processes are alive now.
    const ours = processesIn(cwd);
    expect(ours.length).toBeGreaterThan(0);
    const lines = allCommandLines();
    for (const pid of ours) expect(lines.get(pid), `pid ${pid}`).toBeDefined();
    const leaking = [...lines].filter(([, line]) => line.includes(marker));
    expect(leaking).toEqual([]);
    const main = server?.requests.find((q) => q.kind === 'main');
    expect(JSON.stringify(main?.body)).toContain(marker);
    expect(JSON.stringify(main?.body)).toContain('Requirement text. Requirement text.');
    ac.abort();
    const r = await running;
    expect(r.outcome.kind).toBe('cancelled');
    expect(ours).toContain(r.pid);
  });
});

describe('checkClaude with the real CLI', () => {
  it('fresh HOME without credentials → CLAUDE_NOT_LOGGED_IN; with ANTHROPIC_API_KEY → logged in', async () => {
    const base = { HOME: home, ANTHROPIC_API_KEY: undefined, CLAUDE_CODE_OAUTH_TOKEN: undefined };
    await expect(checkClaude({ bin: claudeBin, env: base, timeoutMs: 20_000 })).rejects.toMatchObject({
      code: 'CLAUDE_NOT_LOGGED_IN',
    });
    const ok = await checkClaude({ bin: claudeBin, env: { ...base, ANTHROPIC_API_KEY: 'test' }, timeoutMs: 20_000 });
    expect(ok).toMatchObject({ loggedIn: true, method: 'api_key' });
    expect(ok.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
