/**
 * Where bubblewrap cannot run, nothing starts agents unconfined by accident;
 * and `samgita doctor` says what is ready and what to fix. The machine
 * "without bubblewrap" is a PATH holding node, git and sh but no bwrap: the
 * real bin, real processes, real exit codes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeSandbox } from '../../src/sandbox/bwrap.js';
import { fakeClaudeEnv, makeRepo, SAMGITA_BIN, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { fakeClaudePath, writeFakeScript } from '../support/fake-claude/index.js';
import { type MessagesServer, startMessagesServer } from '../support/messages-server/index.js';
import { seedProject, seedTasks, waitFor } from '../support/runner-harness.js';

const CLAUDE = path.resolve(import.meta.dirname, '../../node_modules/.bin/claude');
const PRD = '# Notes\n\n## Features\n\n- Write a note\n';

let db: TestDatabase;
let noBwrap: string;
let server: MessagesServer;
const children: ChildProcess[] = [];
const available = (await probeSandbox()).available;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startMessagesServer({ script: { turns: [] } });
  // A PATH with what Samgita needs but bubblewrap.
  noBwrap = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-no-bwrap-'));
  const which = (bin: string) =>
    (process.env.PATH ?? '')
      .split(':')
      .map((d) => path.join(d, bin))
      .find((f) => fs.existsSync(f));
  for (const bin of ['node', 'git', 'sh', 'env']) fs.symlinkSync(which(bin)!, path.join(noBwrap, bin));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await server.close();
  await db.drop();
});

const home = () => fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-refusal-'));

describe('without bubblewrap', () => {
  it('samgita run refuses to start agents, says why and how to fix it, and writes nothing', async () => {
    const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': 'phases: [development]\n' });
    const h = home();
    const r = await samgita(['run', repo], {
      ...fakeClaudeEnv({ databaseUrl: db.url, home: path.join(h, 'samgita'), script: writeFakeScript(h, []) }),
      PATH: noBwrap,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /SANDBOX_UNAVAILABLE: cannot sandbox the Claude Code CLI: bubblewrap \(bwrap\) is not installed/,
    );
    expect(r.stderr).toMatch(/apt-get install bubblewrap/);
    expect(r.stderr).toMatch(/sandbox: \{ enabled: false \}/);
    const { rows } = await db.pool.query('select 1 from projects where working_path = $1', [repo]);
    expect(rows).toHaveLength(0);
  });

  it('samgita run goes ahead when samgita.yaml turns the sandbox off', async () => {
    const repo = await makeRepo({
      'PRD.md': PRD,
      'samgita.yaml': 'phases: [development]\nsandbox:\n  enabled: false\nverify:\n  test: test -f note.txt\n',
    });
    const h = home();
    const script = writeFakeScript(h, [
      { steps: [{ write: { path: 'note.txt', content: 'ok\n' } }, { result: { text: 'ok', cost_usd: 0.001 } }] },
    ]);
    const r = await samgita(['run', repo], {
      ...fakeClaudeEnv({ databaseUrl: db.url, home: path.join(h, 'samgita'), script }),
      PATH: noBwrap,
    });
    expect(r.code, r.stderr).toBe(0);
  });

  it('a runner holds the project instead of starting its agent, and status shows it cannot sandbox', async () => {
    const h = home();
    const script = writeFakeScript(h, [{ steps: [{ result: { text: 'never', cost_usd: 0.001 } }] }]);
    const log = path.join(h, 'claude.log');
    const { projectId } = await seedProject(db.pool, { verify: { test: 'true' } });
    await seedTasks(db.pool, projectId, [{ key: 'boxed' }]);
    const env = {
      ...fakeClaudeEnv({ databaseUrl: db.url, home: path.join(h, 'samgita'), script, log }),
      PATH: noBwrap,
      LOG_LEVEL: 'warn' as const,
    };
    const child = spawn(process.execPath, [SAMGITA_BIN, 'runner', '--name', 'no-bwrap', '--poll-interval', '200'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const project = await waitFor(
      'the project held',
      async () => {
        const { rows } = await db.pool.query<{ status: string; status_reason: string | null }>(
          'select status, status_reason from projects where id = $1',
          [projectId],
        );
        return rows[0]?.status === 'paused' ? rows[0] : null;
      },
      30_000,
    );
    expect(project.status_reason).toMatch(/cannot sandbox the Claude Code CLI: bubblewrap \(bwrap\) is not installed/);
    expect(out).toMatch(/agents cannot be sandboxed \(bubblewrap \(bwrap\) is not installed\)/);
    // The CLI was never started.
    expect(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').not.toMatch(/"command":"print"/);
    const status = await samgita(['status'], { DATABASE_URL: db.url, SAMGITA_HOME: path.join(h, 'samgita') });
    expect(status.stdout).toMatch(/no-bwrap\s+active\s+cannot sandbox: bubblewrap \(bwrap\) is not installed/);
  });
});

describe('samgita doctor', () => {
  const env = (h: string) => ({
    DATABASE_URL: db.url,
    SAMGITA_HOME: path.join(h, 'samgita'),
    HOME: h,
    SAMGITA_CLAUDE_BIN: CLAUDE,
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-doctor',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  });

  it.skipIf(!available)('passes every check on a ready machine, the network policy as the agent meets it', async () => {
    const repo = await makeRepo({ 'PRD.md': PRD });
    const r = await samgita(['doctor', repo, '--json'], env(home()));
    const { checks } = JSON.parse(r.stdout) as { checks: Array<{ name: string; ok: boolean; detail: string }> };
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.code).toBe(0);
    expect(checks.map((c) => c.name)).toEqual([
      'claude code',
      'git',
      'database',
      'bubblewrap',
      'model API',
      'network policy',
    ]);
    expect(checks.find((c) => c.name === 'model API')!.detail).toMatch(
      /answers through the sandbox proxy \(HTTP 200\)/,
    );
    expect(checks.find((c) => c.name === 'network policy')!.detail).toMatch(
      /the model API only; the host's 127\.0\.0\.1 is out of reach/,
    );
  });

  it('names each failure with its fix and exits 3', async () => {
    const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': 'sandbox:\n  network:\n    agent: everywhere\n' });
    const r = await samgita(['doctor', repo], {
      ...env(home()),
      PATH: noBwrap,
      SAMGITA_CLAUDE_BIN: fakeClaudePath,
      FAKE_CLAUDE_LOGGED_IN: '0',
      SAMGITA_CLAUDE_PASS_ENV: 'FAKE_CLAUDE_LOGGED_IN',
      ANTHROPIC_API_KEY: '',
      DATABASE_URL: db.url.replace(/\/[^/]+$/, '/samgita_no_such_db'),
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /✗ samgita\.yaml\s+\S+\/samgita\.yaml:3:12: error CONFIG_YAML_INVALID: sandbox\.network\.agent must be one of 'model', 'host'/,
    );
    expect(r.stdout).toMatch(/✗ claude code\s+Claude Code is not logged in/);
    expect(r.stdout).toMatch(/✗ database\s+cannot connect to .*samgita_no_such_db/);
    expect(r.stdout).toMatch(/✗ bubblewrap\s+bubblewrap \(bwrap\) is not installed\n\s+fix: install bubblewrap/);
    expect(r.stdout).toMatch(/checks failed/);
  });
});
