/**
 * From task branches to one working product, as a user meets it: the real
 * `bin/samgita.js`, the real Claude Code CLI against a scripted Messages API
 * (several agents at once, answering by what their prompt says), real git,
 * real verify commands. Every run must end with the integration branch
 * holding all the work, verified, and never a conflict marker.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { git, makeRepo, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type AgentRule, scriptedAgent } from '../support/messages-server/agent.js';
import { type MessagesServer, startMessagesServer } from '../support/messages-server/index.js';

const exec = promisify(execFile);
const CLAUDE = path.resolve(import.meta.dirname, '../../node_modules/.bin/claude');
const INTEGRATION = 'samgita/integration';

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

async function run(files: Record<string, string>, rules: AgentRule[], args: string[] = []) {
  const repo = await makeRepo(files);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-integration-'));
  dirs.push(repo, home);
  const server = await startMessagesServer({ script: scriptedAgent(rules) });
  servers.push(server);
  const r = await samgita(
    ['run', repo, '--json', ...args],
    {
      DATABASE_URL: db.url,
      HOME: home,
      SAMGITA_HOME: path.join(home, 'samgita'),
      SAMGITA_CLAUDE_BIN: CLAUDE,
      ANTHROPIC_BASE_URL: server.url,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_MAX_RETRIES: '0',
      API_TIMEOUT_MS: '20000',
    },
    300_000,
  );
  const project = (await db.pool.query<{ id: string }>('select id from projects where working_path = $1', [repo]))
    .rows[0]!;
  return { repo, r, projectId: project.id, summary: JSON.parse(r.stdout || '{}') };
}

const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await db.pool.query<T>(sql, params)).rows;

/** No commit of the integration branch ever added a conflict marker. */
async function noMarkersEver(repo: string): Promise<void> {
  const log = await git(repo, 'log', '-p', '--no-color', INTEGRATION);
  expect(log.split('\n').filter((l) => /^\+(<{7} |={7}$|>{7} )/.test(l))).toEqual([]);
}

const PRD = (sections: Array<[string, string, string]>) =>
  `# Tool\n\n${sections
    .map(
      ([heading, id, text]) =>
        `## ${heading}\n\n| ID | Requirement | Priority |\n|----|----|----|\n| ${id} | ${text} | P0 |\n`,
    )
    .join('\n')}`;

describe('the integration branch and the merge queue', { timeout: 360_000 }, () => {
  it('tasks writing real code and tests end as one integration branch whose test suite passes, with every task in it', async () => {
    const pkg = JSON.stringify({ name: 'calc', version: '1.0.0', scripts: { test: 'node --test' } }, null, 2);
    const { repo, r, summary, projectId } = await run(
      {
        'PRD.md': PRD([
          ['Adding', 'FR-1', 'Add two numbers (lib/add.js)'],
          ['Multiplying', 'FR-2', 'Multiply two numbers (lib/mul.js)'],
          ['Squaring', 'FR-3', 'Square a number with multiply from FR-2 (lib/square.js)'],
        ]),
        'package.json': `${pkg}\n`,
        'samgita.yaml': 'phases: [development]\nlimits:\n  max_concurrent_agents: 3\n',
      },
      [
        {
          when: /Task development\/fr-1-implement:/,
          write: {
            'lib/add.js': 'exports.add = (a, b) => a + b;\n',
            'test/add.test.js':
              "const test = require('node:test');\nconst assert = require('node:assert');\nconst { add } = require('../lib/add.js');\ntest('add', () => assert.strictEqual(add(2, 3), 5));\n",
          },
        },
        {
          when: /Task development\/fr-2-implement:/,
          write: {
            'lib/mul.js': 'exports.mul = (a, b) => a * b;\n',
            'test/mul.test.js':
              "const test = require('node:test');\nconst assert = require('node:assert');\nconst { mul } = require('../lib/mul.js');\ntest('mul', () => assert.strictEqual(mul(2, 3), 6));\n",
          },
        },
        {
          when: /Task development\/fr-3-implement:/,
          write: {
            'lib/square.js': "const { mul } = require('./mul.js');\nexports.square = (a) => mul(a, a);\n",
            'test/square.test.js':
              "const test = require('node:test');\nconst assert = require('node:assert');\nconst { square } = require('../lib/square.js');\ntest('square', () => assert.strictEqual(square(4), 16));\n",
          },
        },
      ],
    );
    expect(r.code).toBe(0);
    expect(summary.outcome).toBe('completed');
    const head = await git(repo, 'rev-parse', INTEGRATION);
    expect(summary.integration).toMatchObject({ branch: INTEGRATION, head, verify: { passed: true } });
    expect(summary.integration.verify.commands).toContain('npm test');
    expect(r.stderr).toMatch(
      new RegExp(`product: ${INTEGRATION} at ${head.slice(0, 12)} · verify passed \\(npm test\\)`),
    );
    // Every task's work is on the integration branch, and its test suite passes in a fresh checkout.
    const files = (await git(repo, 'ls-tree', '-r', '--name-only', INTEGRATION)).split('\n');
    for (const f of ['lib/add.js', 'lib/mul.js', 'lib/square.js', 'test/add.test.js', 'test/square.test.js'])
      expect(files).toContain(f);
    const check = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-check-'));
    dirs.push(check);
    await git(repo, 'worktree', 'add', '--detach', check, INTEGRATION);
    const tests = await exec('node', ['--test'], { cwd: check });
    expect(tests.stdout).toMatch(/# pass 3/);
    // One integration commit per task, carrying its trailers and the verify result.
    const merges = await git(repo, 'log', '--merges', '--format=%B%x00', INTEGRATION);
    const commits = merges
      .split('\0')
      .map((m) => m.trim())
      .filter(Boolean);
    expect(commits).toHaveLength(3);
    for (const m of commits) {
      expect(m).toMatch(/^Integrate development\//);
      expect(m).toMatch(/Samgita-Task: [0-9a-f-]{36}/);
      expect(m).toMatch(/Samgita-Verify: passed/);
    }
    // The dependent task (FR-3 uses FR-2) started only after its parent was integrated, from a head holding it.
    const [parent, child] = await q<{ key: string; integrated_sha: string; base: string; started_at: Date }>(
      `select key, integrated_sha, checkpoint->>'baseSha' as base, started_at from tasks
        where project_id = $1 and key in ('development/fr-2-implement', 'development/fr-3-implement') order by key`,
      [projectId],
    );
    expect(parent!.integrated_sha).toMatch(/^[0-9a-f]{40}$/);
    await git(repo, 'merge-base', '--is-ancestor', parent!.integrated_sha, child!.base);
    await noMarkersEver(repo);
  });

  it('two tasks editing the same file at once: the conflict goes back to the second agent, which resolves it', async () => {
    const { repo, r, projectId } = await run(
      {
        'PRD.md': PRD([
          ['Alpha', 'FR-1', 'Write alpha into NOTES.md'],
          ['Beta', 'FR-2', 'Write beta into NOTES.md'],
        ]),
        'samgita.yaml':
          'phases: [development]\nlimits:\n  max_concurrent_agents: 2\nverify:\n  test: "test -f NOTES.md"\n',
      },
      [
        // The agent sent back with the conflict resolves it keeping both sides.
        { when: /conflicts with samgita\/integration/, write: { 'NOTES.md': 'alpha\nbeta\n' } },
        { when: /Task development\/fr-1-implement:/, write: { 'NOTES.md': 'alpha\n' }, together: 'both' },
        { when: /Task development\/fr-2-implement:/, write: { 'NOTES.md': 'beta\n' }, together: 'both' },
      ],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(await git(repo, 'show', `${INTEGRATION}:NOTES.md`)).toBe('alpha\nbeta');
    const sentBack = await q<{ data: { reason: string; files: string[] } }>(
      `select data from events where project_id = $1 and kind = 'task.sent_back'`,
      [projectId],
    );
    expect(sentBack.length).toBeGreaterThanOrEqual(1);
    expect(sentBack[0]!.data).toMatchObject({ reason: 'conflict', files: ['NOTES.md'] });
    await noMarkersEver(repo);
  });

  it('a change that passes on its own but breaks the combined tree is sent back with the failing output', async () => {
    const { repo, r, projectId } = await run(
      {
        'PRD.md': PRD([
          ['First', 'FR-1', 'Write 1 into a.txt'],
          ['Second', 'FR-2', 'Write 2 into b.txt'],
        ]),
        // a.txt and b.txt must agree when both exist: each task passes alone, the two together do not.
        'check.sh':
          'if [ -f a.txt ] && [ -f b.txt ] && [ "$(cat a.txt)" != "$(cat b.txt)" ]; then echo "MISMATCH: a.txt and b.txt differ"; exit 1; fi\n',
        'samgita.yaml': 'phases: [development]\nlimits:\n  max_concurrent_agents: 2\nverify:\n  test: sh check.sh\n',
      },
      [
        { when: /MISMATCH: a\.txt and b\.txt differ/, write: { 'a.txt': 'same\n', 'b.txt': 'same\n' } },
        { when: /Task development\/fr-1-implement:/, write: { 'a.txt': '1\n' }, together: 'both' },
        { when: /Task development\/fr-2-implement:/, write: { 'b.txt': '2\n' }, together: 'both' },
      ],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(await git(repo, 'show', `${INTEGRATION}:a.txt`)).toBe(await git(repo, 'show', `${INTEGRATION}:b.txt`));
    const [back] = await q<{ data: { reason: string; note: string } }>(
      `select data from events where project_id = $1 and kind = 'task.sent_back'`,
      [projectId],
    );
    expect(back!.data.reason).toBe('broken');
    expect(back!.data.note).toMatch(/MISMATCH/);
    await noMarkersEver(repo);
  });
});
