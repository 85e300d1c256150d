/**
 * Verify by default, through the real `samgita` command: with no `verify:` in
 * samgita.yaml, a repository's own test script judges the work (and fails it
 * when it is wrong), and a repository with nothing to run ends with its tasks
 * recorded as unverified — never as verified.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClaudeEnv, makeRepo, samgita } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { writeFakeScript } from '../support/fake-claude/index.js';

const PRD = `# Greeter

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Greet the user in greeting.txt | P0 |
`;
const CONFIG = 'phases: [development]\n';
const PACKAGE_JSON = `${JSON.stringify({ name: 'greeter', private: true, scripts: { test: 'node --test' } }, null, 2)}\n`;
// A real check: node --test finds it under test/ and fails unless greeting.txt says hello.
const GREETING_TEST = `const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
test('greets', () => assert.strictEqual(fs.readFileSync('greeting.txt', 'utf8'), 'hello\\n'));
`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function tasksOf(repo: string) {
  const { rows } = await db.pool.query<{
    id: string;
    key: string;
    status: string;
    result: { verify?: unknown } | null;
  }>(
    `select t.id, t.key, t.status, t.result from tasks t join projects p on p.id = t.project_id
      where p.working_path = $1 order by t.key`,
    [repo],
  );
  return rows;
}

async function verifySteps(taskId: string) {
  const { rows } = await db.pool.query<{
    loop: number;
    status: string;
    input: unknown;
    output: Record<string, unknown>;
  }>(`select loop, status, input, output from rarv_steps where task_id = $1 and step = 'verify' order by id`, [taskId]);
  return rows;
}

describe('verify by default', () => {
  it("runs the repository's own npm test when samgita.yaml names no verify command", async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'samgita-verify-home-'));
    const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': CONFIG, 'package.json': PACKAGE_JSON });
    const log = path.join(home, 'claude.log');
    const script = writeFakeScript(home, [
      {
        // The second loop, told that npm test failed: the fix.
        match: '/exited with 1/',
        steps: [{ write: { path: 'greeting.txt', content: 'hello\n' } }, { result: { text: 'Fixed', cost_usd: 0.01 } }],
      },
      {
        steps: [
          { write: { path: 'test/greeting.test.js', content: GREETING_TEST } },
          { write: { path: 'greeting.txt', content: 'helo\n' } },
          { result: { text: 'Wrote greeting.txt and its test', cost_usd: 0.01 } },
        ],
      },
    ]);
    const env = fakeClaudeEnv({ databaseUrl: db.url, home, script, log });

    const plan = await samgita(['plan', repo], env);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('verify: npm test (detected from package.json)');
    const planJson = JSON.parse((await samgita(['plan', '--json', repo], env)).stdout);
    expect(planJson.verify).toEqual({ commands: ['npm test'], source: 'detected', found: ['package.json'] });

    const r = await samgita(['run', repo], env);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('verify: npm test (detected from package.json)');
    expect(r.stdout).toMatch(/verify: 1 passed, 0 unverified, 0 failed/);

    const [task] = await tasksOf(repo);
    expect(task!.status).toBe('completed');
    expect(task!.result!.verify).toEqual({
      passed: true,
      status: 'passed',
      summary: 'all verify commands passed',
      commands: ['npm test'],
    });
    // The detected command ran, and judged: it failed the wrong greeting, then passed the fix.
    const steps = await verifySteps(task!.id);
    expect(steps.map((s) => `${s.loop}:${s.status}:${s.output.status}`)).toEqual([
      '0:failed:failed',
      '1:completed:passed',
    ]);
    expect(steps[0]!.input).toMatchObject({ commands: [{ name: 'test', command: 'npm test' }], source: 'detected' });
    const [failedRun] = steps[0]!.output.steps as { command: string; exitCode: number; output: string }[];
    expect(failedRun).toMatchObject({ command: 'npm test', exitCode: 1 });
    expect(failedRun!.output).toMatch(/greets/);
    // The agent was told which command judges its work.
    const prompts = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { prompt?: string })
      .filter((c) => c.prompt);
    expect(prompts[0]!.prompt).toContain('npm test');
  });

  it('records the tasks of a repository with nothing to run as unverified, in the summary and the JSON', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'samgita-verify-home-'));
    const repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': CONFIG });
    const script = writeFakeScript(home, [
      { steps: [{ write: { path: 'greeting.txt', content: 'hello\n' } }, { result: { text: 'ok', cost_usd: 0.01 } }] },
    ]);
    const env = fakeClaudeEnv({ databaseUrl: db.url, home, script });

    const plan = await samgita(['plan', repo], env);
    expect(plan.stdout).toContain(
      'verify: none found — tasks will be recorded as unverified; set verify: in samgita.yaml',
    );

    const r = await samgita(['run', '--json', repo], env);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.outcome).toBe('completed');
    expect(summary.tasks).toMatchObject({ total: 1, completed: 1 });
    expect(summary.verify).toEqual({ passed: 0, failed: 0, unverified: 1, not_run: 0 });
    // The human summary (on stderr with --json) says it too, and never calls it passed.
    expect(r.stderr).toContain('verify: none found');
    expect(r.stderr).toMatch(/verify: 0 passed, 1 unverified, 0 failed/);
    expect(r.stderr).toMatch(/1 task unverified: no verify command configured or found/);

    const [task] = await tasksOf(repo);
    expect(task!.status).toBe('completed');
    expect(task!.result!.verify).toEqual({
      passed: false,
      status: 'unverified',
      summary: 'no verify command configured or found',
      commands: [],
    });
    const steps = await verifySteps(task!.id);
    expect(steps.map((s) => `${s.status}:${s.output.status}`)).toEqual(['completed:unverified']);
  });
});
