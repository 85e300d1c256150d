import { mkdtemp, writeFile } from 'node:fs/promises';
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
| FR-3 | Print the greeting count | P2 |
`;
const CONFIG = 'phases: [development]\n';

let db: TestDatabase;
let home: string;
let repo: string;
let env: Record<string, string | undefined>;
beforeAll(async () => {
  db = await createTestDatabase();
  home = await mkdtemp(path.join(os.tmpdir(), 'samgita-plan-home-'));
  repo = await makeRepo({ 'PRD.md': PRD, 'samgita.yaml': CONFIG });
  const script = writeFakeScript(home, [
    { steps: [{ write: { path: 'out.txt', content: 'hi\n' } }, { result: { text: 'ok', cost_usd: 0.01 } }] },
  ]);
  env = fakeClaudeEnv({ databaseUrl: db.url, home, script });
});
afterAll(async () => {
  await db.drop();
});

async function snapshot() {
  const tables = ['projects', 'prd_revisions', 'requirements', 'tasks', 'task_dependencies', 'events', 'prd_analyses'];
  const out: Record<string, number> = {};
  for (const t of tables)
    out[t] = (await db.pool.query<{ n: number }>(`select count(*)::int as n from ${t}`)).rows[0]!.n;
  out.jobs = (await db.pool.query<{ n: number }>('select count(*)::int as n from graphile_worker.jobs')).rows[0]!.n;
  return out;
}

describe('samgita plan', () => {
  it('prints the whole plan of a new project and writes nothing', async () => {
    const before = await snapshot();
    const r = await samgita(['plan', repo], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/New project/u);
    expect(r.stdout).toMatch(/^ {2}\+ development\/fr-1-implement +eng-/mu);
    expect(r.stdout).toMatch(/Plan: 3 to add, 0 to change, 0 to cancel\./u);
    expect(await snapshot()).toEqual(before);
    const j = await samgita(['plan', repo, '--json'], env);
    const json = JSON.parse(j.stdout);
    expect(json.project).toBeNull();
    expect(json.tasks.map((t: { key: string }) => t.key).sort()).toEqual([
      'development/fr-1-implement',
      'development/fr-2-implement',
      'development/fr-3-implement',
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('after a run: no changes; after an edit: the diff, per phase, and still nothing written', async () => {
    const run = await samgita(['run', repo], env);
    expect(run.code).toBe(0);
    const same = await samgita(['plan', repo], env);
    expect(same.stdout).toMatch(/No changes\. The plan matches the recorded tasks\./u);

    await writeFile(
      path.join(repo, 'PRD.md'),
      PRD.replace(
        '| FR-1 | Greet the user by name from the command line | P0 |',
        '| FR-1 | Greet the user by full name | P0 |',
      ).replace('| FR-3 | Print the greeting count | P2 |\n', '| FR-4 | Say goodbye | P1 |\n'),
    );
    await git(repo, 'commit', '-qam', 'Edit PRD');
    const before = await snapshot();
    const r = await samgita(['plan', repo], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Requirements: 1 added, 1 changed \(FR-1\), 1 removed \(FR-3\)/u);
    expect(r.stdout).toMatch(/development:/u);
    expect(r.stdout).toMatch(/↺ development\/fr-1-implement +reopen completed \(requirement\)/u);
    expect(r.stdout).toMatch(/\+ development\/fr-4-implement/u);
    expect(r.stdout).toMatch(/Plan: 1 to add, 1 to change, 0 to cancel\./u); // FR-3's task is completed: kept
    const j = JSON.parse((await samgita(['plan', repo, '--json'], env)).stdout);
    expect(j.summary).toEqual({ create: 1, update: 0, restart: 0, reopen: 1, cancel: 0 });
    expect(j.requirements).toEqual({ added: ['FR-4'], changed: ['FR-1'], removed: ['FR-3'] });
    // --commit plans an older commit: no changes there.
    const old = await samgita(['plan', repo, '--commit', 'HEAD~1'], env);
    expect(old.stdout).toMatch(/No changes/u);
    expect(await snapshot()).toEqual(before);
    // Six samgita processes and a run: about 50 s on CI's loaded machine, past the default 60 s once.
  }, 180_000);

  it('status shows sync and health; controls report invalid transitions with a hint', async () => {
    const table = await samgita(['status'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME +STATUS +PHASE +SYNC +HEALTH/mu);
    expect(table.stdout).toMatch(/completed +development +out_of_sync +progressing/u);
    const one = await samgita(['status', repo], env);
    expect(one.stdout).toMatch(/sync: +out_of_sync/u);
    expect(one.stdout).toMatch(/PRD\.md changed at HEAD/u);
    const resume = await samgita(['resume', repo], env);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(/cannot resume a project that is completed/u);
    expect(resume.stderr).toMatch(/hint: from completed you can: archive/u);
    const archive = await samgita(['archive', path.basename(repo)], env);
    expect(archive.code).toBe(0);
    expect(archive.stdout).toMatch(/completed → archived/u);
    expect((await samgita(['status'], env)).stdout).toMatch(/No projects/u);
    expect((await samgita(['status', '--all'], env)).stdout).toMatch(/archived/u);
  }, 180_000);
});
