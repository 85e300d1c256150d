/**
 * The GitHub Action's `mode: plan`, run as GitHub runs it: the built bundle
 * (action/dist/index.cjs) in a child process with a pull_request event
 * payload, a checkout cloned over smart HTTP from the local "GitHub", and the
 * OpenAPI-validating fake REST API receiving the plan comment.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClaudeEnv, git, makeRepo, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type GitHubHarness, INSTALLATION_ID, sh, startGitHubHarness } from '../support/github/harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ACTION = path.join(ROOT, 'action');
const BUNDLE = path.join(ACTION, 'dist', 'index.cjs');
const MARKER = '<!-- samgita-plan -->';
const TOKEN = 'ghs_actionplantesttoken0000000000000001';

const PRD = `# Widgets

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Create a widget with a name | P0 |
| FR-2 | List widgets by name | P1 |
| FR-3 | Delete a widget | P2 |
`;
// Added FR-4, changed FR-1, removed FR-3.
const PR_PRD = PRD.replace('Create a widget with a name', 'Create a widget with a name and a colour').replace(
  '| FR-3 | Delete a widget | P2 |\n',
  '| FR-4 | Rename a widget | P1 |\n',
);
const CONFIG = 'phases: [development, qa]\nbudget:\n  project:\n    usd: 40\n';

let db: TestDatabase;
let gh: GitHubHarness;
let tmp: string;
let checkout: string;
let baseSha: string;
let headSha: string;

function gitAuth(token: string): Record<string, string> {
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraheader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
  };
}

/** A pull request in the fake GitHub, as if opened from `head` into main. */
function openPull(number: number, head: string): void {
  gh.api.state.pulls.push({
    number,
    id: 90_000 + number,
    title: `Change ${head}`,
    body: null,
    head,
    base: 'main',
    draft: false,
    state: 'open',
    merged: false,
    mergeSha: null,
    repo: 'acme/widgets',
  });
}

function pullPayload(number: number, base: string, head: string, branch: string): string {
  const p = gh.payload('pull_request', 'opened');
  const pr = p.pull_request as Record<string, Record<string, unknown> | unknown>;
  Object.assign(pr, { number });
  Object.assign(pr.base as object, { sha: base, ref: 'main' });
  Object.assign(pr.head as object, { sha: head, ref: branch });
  Object.assign(p, { number });
  const file = path.join(mkdtempSync(path.join(tmp, 'event-')), 'event.json');
  writeFileSync(file, JSON.stringify(p));
  return file;
}

/** `name<<delimiter … delimiter` blocks @actions/core writes to GITHUB_OUTPUT. */
function readOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
    out[m[1]!] = value.join('\n');
  }
  return out;
}

interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Runs the bundle like the runner does (node24 there; the Node running the tests here). */
function runAction(opts: {
  event: string;
  eventName?: string;
  repoPath?: string;
  databaseUrl?: string;
  extra?: Record<string, string>;
}): Promise<ActionRun> {
  const dir = mkdtempSync(path.join(tmp, 'run-'));
  const output = path.join(dir, 'output');
  const summary = path.join(dir, 'summary.md');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    INPUT_MODE: 'plan',
    'INPUT_REPO-PATH': opts.repoPath ?? checkout,
    'INPUT_GITHUB-TOKEN': TOKEN,
    'INPUT_DATABASE-URL': opts.databaseUrl ?? '',
    GITHUB_ACTION_PATH: ACTION,
    GITHUB_EVENT_NAME: opts.eventName ?? 'pull_request',
    GITHUB_EVENT_PATH: opts.event,
    GITHUB_REPOSITORY: 'acme/widgets',
    GITHUB_API_URL: gh.api.url,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    RUNNER_TEMP: dir,
    SAMGITA_HOME: path.join(dir, 'home'),
    // Plan mode never calls Claude Code; the install step only needs to know where it would be.
    SAMGITA_CLAUDE_BIN: path.join(ROOT, 'node_modules', '.bin', 'claude'),
    ...opts.extra,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [BUNDLE], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, outputs: readOutputs(output), summary: readFileSync(summary, 'utf8') });
    });
  });
}

/** Whether the checkout has a commit (git's complaint about a missing one kept out of the test log). */
function hasCommit(dir: string, sha: string): boolean {
  try {
    execFileSync('git', ['cat-file', '-e', `${sha}^{commit}`], { cwd: dir, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function planComments(number: number): { id: number; body: string }[] {
  const issue = gh.api.state.issues.find((i) => i.repo === 'acme/widgets' && i.number === number);
  return (issue?.comments ?? []).filter((c) => c.body.startsWith(MARKER));
}

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(ACTION, 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
  db = await createTestDatabase();
  gh = await startGitHubHarness(db.pool, {
    listen: false,
    work: false,
    files: { 'PRD.md': PRD, 'samgita.yaml': CONFIG, 'README.md': '# widgets\n' },
  });
  gh.api.state.tokens.set(TOKEN, { installationId: INSTALLATION_ID, expiresAt: Date.now() + 3_600_000 });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'samgita-action-plan-'));
  baseSha = sh(gh.work, 'rev-parse', 'HEAD');
  sh(gh.work, 'checkout', '-q', '-b', 'prd-change');
  headSha = gh.commit({ 'PRD.md': PR_PRD }, 'Change the PRD', 'prd-change');
  openPull(7, 'prd-change');
  // The job's checkout: main only, so the action has to fetch the pull request's head itself.
  checkout = path.join(tmp, 'checkout');
  // Asynchronously: the git server answering it lives in this process.
  await promisify(execFile)(
    'git',
    ['clone', '-q', '--single-branch', '--branch', 'main', `${gh.git.url}/acme/widgets.git`, checkout],
    { env: { ...process.env, ...gitAuth(TOKEN) } },
  );
}, 120_000);

afterAll(async () => {
  await gh?.close();
  await db?.drop();
});

describe('samgita plan --against', () => {
  it('opens no database, and a base without PRD.md plans nothing: every task is added', async () => {
    const repo = await makeRepo({ 'README.md': '# widgets\n' });
    await writeFile(path.join(repo, 'PRD.md'), PRD);
    await writeFile(path.join(repo, 'samgita.yaml'), CONFIG);
    await git(repo, 'add', '.');
    await git(repo, 'commit', '-q', '-m', 'Add the PRD');
    // An address nothing listens on: a database opened would fail the command.
    const env = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', SAMGITA_HOME: path.join(repo, '.home') };
    const r = await samgita(['plan', repo, '--against', 'HEAD~1', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.against).toBe(await git(repo, 'rev-parse', 'HEAD~1'));
    expect(json.actions.length).toBeGreaterThan(0);
    expect(json.actions.every((a: { type: string }) => a.type === 'create')).toBe(true);
    expect(json.actions[0]).toMatchObject({
      title: expect.any(String),
      agentType: expect.any(String),
      model: expect.any(String),
    });
    expect(json.summaryText).toBe(`Plan: ${json.actions.length} to add, 0 to change, 0 to cancel.`);
    expect(json.estimate).toMatchObject({ tasks: json.actions.length, budget_usd: 40 });
    expect(existsSync(path.join(repo, '.home'))).toBe(false);
  });
});

describe('action mode plan', () => {
  it('comments the plan diff of a PRD change against the base commit’s plan, with a cost estimate', async () => {
    expect(hasCommit(checkout, headSha)).toBe(false);
    const r = await runAction({ event: pullPayload(7, baseSha, headSha, 'prd-change') });
    expect(r.stderr).not.toMatch(/::error::/u);
    expect(r.code).toBe(0);
    expect(r.outputs.outcome).toBe('completed');
    expect(r.outputs.plan).toBe('Plan: 1 to add, 3 to change, 1 to cancel.');
    expect(r.outputs['comment-url']).toMatch(/^https:\/\/github\.com\/acme\/widgets\/issues\/7#issuecomment-\d+$/u);

    const comments = planComments(7);
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body).toContain('**Plan: 1 to add, 3 to change, 1 to cancel.**');
    expect(body).toMatch(/^\+ {3}development\/fr-4-implement +eng-\S+ \(\w+\) +Implement FR-4: Rename a widget$/mu);
    expect(body).toMatch(/^~ {3}development\/fr-1-implement +update \(requirement\)/mu);
    expect(body).toMatch(/^- {3}development\/fr-3-implement +cancel pending \(requirement removed\) +Implement FR-3/mu);
    expect(body).toContain('Requirements: 1 added (FR-4), 1 changed (FR-1), 1 removed (FR-3).');
    expect(body).toMatch(/#### Estimated cost\n\n\*\*\$\d+\.\d\d–\$\d+\.\d\d\*\* for 1 task to run/u);
    expect(body).toContain('fits the project budget of **$40.00**');
    expect(body).toContain(headSha);
    expect(body).toContain(`the plan of the base ${baseSha.slice(0, 7)}`);
    expect(r.summary).toContain('Plan: 1 to add, 3 to change, 1 to cancel.');
    expect(r.summary).not.toContain(MARKER);
    // The head was fetched into the checkout with the job's token, and nothing else was asked of GitHub.
    expect(hasCommit(checkout, headSha)).toBe(true);
    expect(gh.api.requests.map((q) => `${q.method} ${q.operationId} ${q.status}`)).toEqual([
      'GET issues/list-comments 200',
      'POST issues/create-comment 201',
    ]);
    expect(gh.api.violations).toEqual([]);
  });

  it('updates the same comment after another push to the pull request, running nothing from it', async () => {
    const pwned = path.join(tmp, 'pwned');
    const next = gh.commit(
      {
        'PRD.md': PR_PRD.replace('| FR-4 |', '| FR-5 | Archive a widget | P2 |\n| FR-4 |'),
        // A pull request may say anything here: Samgita reads it as data and runs none of it.
        'samgita.yaml': `${CONFIG}verify:\n  install: touch ${pwned}\n  test: touch ${pwned}\n`,
      },
      'Add FR-5',
      'prd-change',
    );
    const before = gh.api.requests.length;
    const r = await runAction({ event: pullPayload(7, baseSha, next, 'prd-change') });
    expect(r.code).toBe(0);
    expect(r.outputs.outcome).toBe('completed');
    expect(r.outputs.plan).toBe('Plan: 2 to add, 3 to change, 1 to cancel.');
    const comments = planComments(7);
    expect(comments).toHaveLength(1);
    expect(r.outputs['comment-url']).toContain(`#issuecomment-${comments[0]!.id}`);
    expect(comments[0]!.body).toContain(next);
    expect(comments[0]!.body).not.toContain(headSha);
    expect(comments[0]!.body).toMatch(/^\+ {3}development\/fr-5-implement/mu);
    expect(comments[0]!.body).toContain('Changed in this pull request: `PRD.md`, `samgita.yaml`.');
    expect(gh.api.requests.slice(before).map((q) => `${q.method} ${q.operationId} ${q.status}`)).toEqual([
      'GET issues/list-comments 200',
      'PATCH issues/update-comment 200',
    ]);
    expect(existsSync(pwned)).toBe(false);
    expect(gh.api.violations).toEqual([]);
  });

  it('an invalid samgita.yaml: outcome usage_error, the step fails, the comment shows the error with its position', async () => {
    sh(gh.work, 'checkout', '-q', 'main');
    sh(gh.work, 'checkout', '-q', '-b', 'bad-config');
    const bad = gh.commit(
      { 'samgita.yaml': 'phases: [development, qa]\nlimits:\n  max_concurrent_agents: -3\n' },
      'Break the config',
      'bad-config',
    );
    openPull(8, 'bad-config');
    const r = await runAction({ event: pullPayload(8, baseSha, bad, 'bad-config') });
    expect(r.code).toBe(1);
    expect(r.outputs.outcome).toBe('usage_error');
    expect(r.outputs.plan).toMatch(/^error CONFIG_YAML_INVALID: /u);
    expect(r.stdout).toMatch(/::error::samgita plan: error CONFIG_YAML_INVALID/u);
    const comments = planComments(8);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('the desired state in this pull request is invalid');
    expect(comments[0]!.body).toMatch(/^samgita\.yaml:3:26: error CONFIG_YAML_INVALID: /mu);
    expect(r.outputs['comment-url']).toContain(`#issuecomment-${comments[0]!.id}`);
    expect(gh.api.violations).toEqual([]);
  });

  it('a pull request changing neither PRD.md nor samgita.yaml gets no comment', async () => {
    sh(gh.work, 'checkout', '-q', 'main');
    sh(gh.work, 'checkout', '-q', '-b', 'docs-only');
    const docs = gh.commit({ 'README.md': '# widgets\n\nMore words.\n' }, 'Docs', 'docs-only');
    openPull(9, 'docs-only');
    const before = gh.api.requests.length;
    const r = await runAction({ event: pullPayload(9, baseSha, docs, 'docs-only') });
    expect(r.code).toBe(0);
    expect(r.outputs.outcome).toBe('completed');
    expect(r.outputs['comment-url']).toBe('');
    expect(gh.api.requests.length).toBe(before);
  });

  it('not a pull request event: a notice, no comment, not a failure', async () => {
    const before = gh.api.requests.length;
    const event = path.join(mkdtempSync(path.join(tmp, 'push-')), 'event.json');
    writeFileSync(event, JSON.stringify(gh.payload('push')));
    const r = await runAction({ event, eventName: 'push' });
    expect(r.code).toBe(0);
    expect(r.outputs.outcome).toBe('completed');
    expect(r.stdout).toMatch(/::notice::mode plan comments on pull requests/u);
    expect(gh.api.requests.length).toBe(before);
  });

  it('with a database: diffs against the plan recorded for the registered project', async () => {
    // The project registered from the base branch by an earlier run (`samgita start` queues it, runs nothing).
    const home = mkdtempSync(path.join(tmp, 'start-home-'));
    sh(checkout, 'checkout', '-q', baseSha);
    const start = await samgita(['start', checkout, '--json'], {
      ...fakeClaudeEnv({ databaseUrl: db.url, home }),
      SAMGITA_PROJECT_ROOTS: tmp,
    });
    expect(start.code, start.stderr).toBe(0);
    const recorded = await db.pool.query<{ key: string }>('select key from tasks order by key');
    expect(recorded.rows.map((t) => t.key)).toContain('development/fr-3-implement');

    const r = await runAction({ event: pullPayload(7, baseSha, headSha, 'prd-change'), databaseUrl: db.url });
    expect(r.code).toBe(0);
    expect(r.outputs.outcome).toBe('completed');
    expect(r.outputs.plan).toBe('Plan: 1 to add, 3 to change, 1 to cancel.');
    const comments = planComments(7);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toMatch(/against the plan recorded for project /u);
    expect(comments[0]!.body).toContain(headSha);
    // Planning wrote nothing: the recorded tasks are those of the base.
    const after = await db.pool.query<{ key: string }>('select key from tasks order by key');
    expect(after.rows).toEqual(recorded.rows);
    expect(gh.api.violations).toEqual([]);
  });
});
