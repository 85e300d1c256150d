import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClaudeEnv, git, makeRepo, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { writeFakeScript } from '../support/fake-claude/index.js';

const PRD = `# Greeter

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Greet the user by name from the command line | P0 |
| FR-2 | Keep a history of greetings in a file | P1 |
`;

const CONFIG = `phases: [development]
verify:
  test: test -f greeting.txt
`;

let db: TestDatabase;
let home: string;
beforeAll(async () => {
  db = await createTestDatabase();
  home = await mkdtemp(path.join(os.tmpdir(), 'samgita-home-'));
});
afterAll(async () => {
  await db.drop();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

describe('samgita run', () => {
  let repo: string;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': CONFIG });
    const script = writeFakeScript(home, [
      {
        steps: [
          { write: { path: 'greeting.txt', content: 'hello\n' } },
          {
            result: {
              text: 'Wrote greeting.txt',
              cost_usd: 0.0123,
              usage: {
                input_tokens: 100,
                output_tokens: 50,
                cache_read_input_tokens: 10,
                cache_creation_input_tokens: 5,
              },
            },
          },
        ],
      },
    ]);
    env = fakeClaudeEnv({ databaseUrl: db.url, home, script, log: path.join(home, 'claude.log') });
  });

  it('plans, runs every task in its own worktree and commits with trailers', async () => {
    const r = await samgita(['run', repo], env);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Plan: 2 to add/);
    expect(r.stdout).toMatch(/tasks: 2 done, 0 failed/);

    const tasks = await db.pool.query(
      `select key, status, branch, session_id, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd::float8 as cost
         from tasks order by key`,
    );
    expect(tasks.rows.map((t) => t.status)).toEqual(['completed', 'completed']);
    for (const t of tasks.rows) {
      expect(t.session_id).toMatch(/[0-9a-f-]{36}/);
      expect([t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens]).toEqual([100, 50, 10, 5]);
      expect(t.cost).toBeCloseTo(0.0123, 6);
      const body = await git(repo, 'log', '-1', '--format=%B', t.branch);
      expect(body).toMatch(/^Samgita-Task: [0-9a-f-]{36}$/m);
      expect(body).toMatch(/^Samgita-Project: [0-9a-f-]{36}$/m);
      expect(await git(repo, 'show', `${t.branch}:greeting.txt`)).toBe('hello');
    }
    // Both tasks started from one base: the first checkout was git's, the second a copy of a
    // template (src/git/checkout-copies.ts), whose branch reflog names samgita.yaml's identity.
    const created = await Promise.all(
      tasks.rows.map(async (t) => (await git(repo, 'reflog', 'show', '--format=%gn|%gs', t.branch)).split('\n').at(-1)),
    );
    expect(new Set(created.map((c) => c?.replace(/^.*\|/, ''))).size).toBe(1);
    expect(created.filter((c) => c?.startsWith('Samgita|reset: moving to '))).toHaveLength(1);
    // The work is on branches; the user's checkout is untouched.
    expect(await git(repo, 'status', '--porcelain')).toBe('');
    expect(await git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    const runs = await db.pool.query(`select status, total_tokens, session_id from agent_runs`);
    expect(runs.rows).toHaveLength(2);
    expect(runs.rows.every((a) => a.status === 'completed' && a.total_tokens === 165)).toBe(true);
    const project = await db.pool.query(`select status, cost_usd::float8 as cost from projects`);
    expect(project.rows[0]).toMatchObject({ status: 'completed' });
    expect(project.rows[0].cost).toBeCloseTo(0.0246, 6);
    // The CLI got the flags the agent type asks for.
    const calls = (await readFile(path.join(home, 'claude.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const argv: string[] = calls.find((c) => c.argv?.includes('-p'))!.argv;
    expect(argv).toEqual(
      expect.arrayContaining(['--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits']),
    );
    expect(argv).toContain('--model');
    expect(argv).toContain('--allowedTools');
  });

  it('is idempotent: a second run finds the project and changes nothing', async () => {
    const before = {
      events: await count('select count(*)::int as n from events'),
      runs: await count('select count(*)::int as n from agent_runs'),
      heads: await git(repo, 'for-each-ref', '--format=%(objectname)', 'refs/heads/samgita'),
    };
    const r = await samgita(['run', repo], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/found project/);
    expect(r.stdout).toMatch(/No changes/);
    expect(await count('select count(*)::int as n from projects')).toBe(1);
    expect(await count('select count(*)::int as n from prd_revisions')).toBe(1);
    expect(await count('select count(*)::int as n from tasks')).toBe(2);
    expect(await count('select count(*)::int as n from agent_runs')).toBe(before.runs);
    expect(await count('select count(*)::int as n from events')).toBe(before.events);
    expect(await git(repo, 'for-each-ref', '--format=%(objectname)', 'refs/heads/samgita')).toBe(before.heads);
  });
});

describe('samgita run --json', () => {
  it('prints a machine-readable summary on stdout and progress on stderr', async () => {
    const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': CONFIG });
    const script = writeFakeScript(await mkdtemp(path.join(os.tmpdir(), 'samgita-s-')), [
      { steps: [{ write: { path: 'greeting.txt', content: 'hi\n' } }, { result: { text: 'ok', cost_usd: 0.5 } }] },
    ]);
    const r = await samgita(['run', '--json', repo], fakeClaudeEnv({ databaseUrl: db.url, home, script }));
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.project.status).toBe('completed');
    expect(summary.plan.create).toBe(2);
    expect(summary.tasks).toEqual({
      total: 2,
      completed: 2,
      failed: 0,
      cancelled: 0,
      unfinished: 0,
      awaiting_review: 0,
    });
    expect(summary.cost_usd).toBeCloseTo(1.0, 6);
    expect(summary.branches).toHaveLength(2);
    expect(r.stderr).toMatch(/Summary/);
  });
});

describe('samgita run refuses bad input before writing anything', () => {
  it('reports a bad samgita.yaml with file:line:column and a hint', async () => {
    const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': 'version: 1\nlimits:\n  max_atempts: 3\n' });
    const projectsBefore = await count('select count(*)::int as n from projects');
    const r = await samgita(['run', repo], fakeClaudeEnv({ databaseUrl: db.url, home }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(repo, 'samgita.yaml')}:3:3`);
    expect(r.stderr).toMatch(/max_atempts/);
    expect(r.stderr).toMatch(/did you mean 'max_attempts'/i);
    expect(await count('select count(*)::int as n from projects')).toBe(projectsBefore);
  });

  it('reports a missing Claude CLI with how to install it', async () => {
    const repo = await makeRepo({ 'PRD.md': PRD });
    const projectsBefore = await count('select count(*)::int as n from projects');
    const r = await samgita(['run', repo], {
      ...fakeClaudeEnv({ databaseUrl: db.url, home }),
      SAMGITA_CLAUDE_BIN: '/nonexistent/claude',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CLAUDE_NOT_FOUND/);
    expect(r.stderr).toMatch(/npm install -g @anthropic-ai\/claude-code|SAMGITA_CLAUDE_BIN/);
    expect(await count('select count(*)::int as n from projects')).toBe(projectsBefore);
    expect(await git(repo, 'branch', '--list', 'samgita/*')).toBe('');
  });

  it('reports a CLI that is not logged in', async () => {
    const repo = await makeRepo({ 'PRD.md': PRD });
    const projectsBefore = await count('select count(*)::int as n from projects');
    const r = await samgita(['run', repo], fakeClaudeEnv({ databaseUrl: db.url, home, loggedIn: false }));
    // Authentication is for the user to fix: exit 3 (action required), not a usage error.
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/CLAUDE_NOT_LOGGED_IN/);
    expect(r.stderr).toMatch(/claude \/login|ANTHROPIC_API_KEY/);
    expect(await count('select count(*)::int as n from projects')).toBe(projectsBefore);
  });

  it('explains a PRD.md that is not committed', async () => {
    const repo = await makeRepo({ 'README.md': '# x\n' });
    const r = await samgita(['run', repo], fakeClaudeEnv({ databaseUrl: db.url, home }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PRD_MISSING/);
  });
});
