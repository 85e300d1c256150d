/**
 * The GitHub Action, `mode: run`, run exactly as a GitHub runner runs it:
 * `node action/dist/index.cjs` (the committed bundle) with its inputs as
 * INPUT_* variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, a real push
 * event payload from @octokit/webhooks-examples, GITHUB_API_URL at the local
 * GitHub (OpenAPI-validated) and the checkout's origin at the local git
 * http-backend; the real Claude Code CLI against the scripted Messages API.
 * Afterwards: the outputs, the branches on the remote, the pull requests on
 * the local GitHub, and a re-run with a fresh database opening nothing new.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type GitHubHarness, INSTALLATION_ID, sh, startGitHubHarness } from '../support/github/harness.js';
import { type MessagesScript, type MessagesServer, startMessagesServer } from '../support/messages-server/index.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLAUDE = path.join(ROOT, 'node_modules/.bin/claude');
const BUNDLE = path.join(ROOT, 'action/dist/index.cjs');

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Write ok.txt to say the work is done | P0 |
`;
const YAML = 'phases: [development]\nverify:\n  test: "test -f ok.txt"\n';
const writeOk = { toolUse: { name: 'Write', input: { file_path: 'ok.txt', content: 'ok\n' } } } as const;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

let meta: TestDatabase;
let gh: GitHubHarness;
let token: string;
let checkout: string;

/** Outputs written with @actions/core's heredoc format to GITHUB_OUTPUT. */
function readOutputs(file: string): Record<string, string> {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const out: Record<string, string> = {};
  const re = /^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]!] = m[3]!;
  return out;
}

interface ActionRun {
  code: number;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Runs the bundled action the way the runner does: `node <main>` with INPUT_* and the GITHUB_* files. */
async function runAction(inputs: Record<string, string>, env: Record<string, string>): Promise<ActionRun> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-action-'));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const outputFile = path.join(tmp, 'output');
  const summaryFile = path.join(tmp, 'summary');
  const eventFile = path.join(tmp, 'event.json');
  fs.writeFileSync(outputFile, '');
  fs.writeFileSync(summaryFile, '');
  fs.writeFileSync(eventFile, JSON.stringify(gh.payload('push')));
  const inputEnv = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));
  const child = spawn(process.execPath, [BUNDLE], {
    cwd: checkout,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: path.join(tmp, 'home'),
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTION_PATH: path.join(ROOT, 'action'),
      GITHUB_WORKSPACE: checkout,
      GITHUB_REPOSITORY: 'acme/widgets',
      GITHUB_API_URL: gh.api.url,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: eventFile,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      RUNNER_TEMP: tmp,
      RUNNER_TOOL_CACHE: tmp,
      SAMGITA_FROM_SOURCE: '1',
      ...inputEnv,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.on('data', (d) => {
    stderr += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { code, stderr, outputs: readOutputs(outputFile), summary: fs.readFileSync(summaryFile, 'utf8') };
}

async function messages(script: MessagesScript): Promise<MessagesServer> {
  const server = await startMessagesServer({ script });
  cleanups.push(() => server.close());
  return server;
}

const claudeEnv = (server: MessagesServer) => ({
  SAMGITA_CLAUDE_BIN: CLAUDE,
  ANTHROPIC_BASE_URL: server.url,
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  CLAUDE_CODE_MAX_RETRIES: '0',
  API_TIMEOUT_MS: '20000',
});

beforeAll(async () => {
  expect(fs.existsSync(BUNDLE)).toBe(true);
  meta = await createTestDatabase();
  cleanups.push(() => meta.drop());
  gh = await startGitHubHarness(meta.pool, {
    listen: false,
    work: false,
    files: { 'PRD.md': PRD, 'samgita.yaml': YAML },
  });
  cleanups.push(() => gh.close());
  token = await gh.github.tokens.get(INSTALLATION_ID);
  // The job's checkout (actions/checkout): a clone of the repository over HTTP, origin pointing at it.
  checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-checkout-'));
  cleanups.push(() => fs.rmSync(checkout, { recursive: true, force: true }));
  const auth = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  // Not execFileSync: the git server runs in this process and must keep answering.
  await promisify(execFile)('git', [
    '-c',
    `http.extraheader=${auth}`,
    'clone',
    '-q',
    `${gh.git.url}/acme/widgets.git`,
    checkout,
  ]);
  // As actions/checkout leaves it: the job token persisted as an extra header for the remote.
  sh(checkout, 'config', '--local', `http.${gh.git.url}/.extraheader`, auth);
  sh(checkout, 'config', 'user.email', 'ci@example.com');
  sh(checkout, 'config', 'user.name', 'CI');
}, 120_000);

describe('the action, mode run', () => {
  it('pushes the task branch, opens one pull request, sets outputs; a re-run with a fresh database opens nothing new', async () => {
    const server = await messages({ turns: [writeOk, { text: 'Wrote ok.txt.' }] });
    const db1 = await createTestDatabase();
    cleanups.push(() => db1.drop());
    const first = await runAction(
      { mode: 'run', 'anthropic-api-key': 'sk-ant-test-key', 'github-token': token, 'database-url': db1.url },
      claudeEnv(server),
    );
    expect(first.code, first.stderr).toBe(0);
    // Samgita authenticates its own pushes; the persisted header is gone (GitHub refuses two).
    expect(() => sh(checkout, 'config', '--local', '--get-regexp', 'extraheader')).toThrow();
    expect(first.outputs.outcome).toBe('completed');
    const prs = JSON.parse(first.outputs['pull-requests'] ?? '[]') as { task: string; number: number; url: string }[];
    expect(prs).toHaveLength(1);
    const pulls = gh.api.state.pulls;
    expect(pulls).toHaveLength(1);
    expect(prs[0]!.number).toBe(pulls[0]!.number);
    const branch = pulls[0]!.head;
    expect(branch).toMatch(/^samgita\//);
    // The App's publisher wrote the body: the work, the verify result, tokens and cost.
    expect(pulls[0]!.body).toMatch(
      /### What was done[\s\S]*### Verify[\s\S]*test -f ok.txt[\s\S]*\| Tokens \| Cost \|/,
    );
    // The branch is on the remote, with the agent's work and the task trailer.
    const remoteLog = sh(gh.repo.bareDir, 'log', '-1', '--format=%B', branch);
    expect(remoteLog).toMatch(/Samgita-Task: /);
    expect(sh(gh.repo.bareDir, 'show', `${branch}:ok.txt`).trim()).toBe('ok');
    expect(Number(first.outputs['cost-usd'])).toBeGreaterThan(0);
    expect(first.summary).toMatch(/Samgita: completed/);
    expect(first.summary).toContain(`#${pulls[0]!.number}`);
    // The secret reached the job log only as the runner's mask command, which hides it everywhere after.
    expect(first.stderr.split('sk-ant-test-key').length - 1).toBe(1);
    expect(first.stderr).toContain('::add-mask::sk-ant-test-key');

    // A re-run of the workflow: nothing persisted in the database, the pull request is recognised.
    // Main-loop requests (with tools) are an agent at work; side requests (a quota probe at start) are not.
    const agentTurns = () =>
      server.requests.filter((r) => Array.isArray((r.body as { tools?: unknown[] } | null)?.tools)).length;
    const asked = agentTurns();
    expect(asked).toBeGreaterThan(0);
    const db2 = await createTestDatabase();
    cleanups.push(() => db2.drop());
    const second = await runAction(
      { mode: 'run', 'anthropic-api-key': 'sk-ant-test-key', 'github-token': token, 'database-url': db2.url },
      claudeEnv(server),
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.outputs.outcome).toBe('completed');
    expect(gh.api.state.pulls).toHaveLength(1);
    expect(JSON.parse(second.outputs['pull-requests'] ?? '[]')).toEqual(prs);
    expect(agentTurns()).toBe(asked); // no agent ran again
  }, 300_000);

  it('fails the step with outcome action_required when the API key is rejected', async () => {
    const server = await messages({ turns: [{ status: 401, message: 'invalid x-api-key' }] });
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    // A PRD change, so there is new work to run.
    fs.writeFileSync(path.join(checkout, 'PRD.md'), PRD.replace('| P0 |', '| P0 |\n| FR-2 | Write two.txt | P1 |'));
    sh(checkout, 'commit', '-qam', 'FR-2');
    const r = await runAction(
      { mode: 'run', 'anthropic-api-key': 'sk-ant-bad', 'github-token': token, 'database-url': db.url },
      claudeEnv(server),
    );
    expect(r.code).not.toBe(0);
    expect(r.outputs.outcome).toBe('action_required');
    expect(r.stderr).toMatch(/::error::samgita run ended action_required/);
  }, 300_000);

  it('refuses to start without a key, naming the input', async () => {
    const r = await runAction({ mode: 'run', 'github-token': token }, {});
    expect(r.code).not.toBe(0);
    expect(r.outputs.outcome).toBe('usage_error');
    expect(r.stderr).toMatch(/anthropic-api-key or claude-code-oauth-token/);
  }, 60_000);
});
