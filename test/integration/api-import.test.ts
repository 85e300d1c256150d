/**
 * POST /api/projects/import: a project rebuilt from the state ref of a clone
 * on the server (the API's `samgita import`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { checkpointProject } from '../../src/checkpoint/write-state.js';
import { git } from '../support/cli.js';
import { until } from '../support/serve.js';
import { type Harness, startHarness } from './api-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, true, { work: true });
});
afterAll(async () => {
  await h.close();
});

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Store a note in a file | P0 |
| FR-2 | List the stored notes | P0 |
`;

/**
 * A project planned from PRD through the API in a repository under the roots,
 * its state written to refs/samgita/state, then deleted from the database.
 */
async function stateOfDeletedProject(name: string) {
  const repo = path.join(h.home, 'repos', name);
  mkdirSync(repo, { recursive: true });
  await git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(repo, 'PRD.md'), PRD);
  await git(repo, 'add', '.');
  await git(repo, 'commit', '-q', '-m', 'PRD');
  await git(repo, 'remote', 'add', 'origin', `https://git.example.com/${name}.git`);
  const created = await h.req('POST', '/api/projects', {
    name,
    git_url: `https://git.example.com/${name}.git`,
    working_path: repo,
    prd: PRD,
  });
  expect(created.status, created.text).toBe(201);
  const id = created.body.id as string;
  const planned = await until('the PRD to be planned', async () => {
    const p = await h.req('GET', `/api/projects/${id}`);
    const n = Object.values(p.body.task_counts as Record<string, number>).reduce((a, b) => a + b, 0);
    return n >= 2 ? p.body : null;
  });
  expect((await checkpointProject(h.db.pool, id, repo, { reason: 'test' })).kind).toBe('written');
  const taskIds = (await h.db.pool.query('select id from tasks where project_id = $1 order by id', [id])).rows;
  expect((await h.req('DELETE', `/api/projects/${id}`)).status).toBe(204);
  expect((await h.db.pool.query('select id from tasks where id = any($1)', [taskIds.map((t) => t.id)])).rows).toEqual(
    [],
  );
  return { repo, taskCounts: planned.task_counts as Record<string, number>, taskIds };
}

test('rebuilds a deleted project from the state ref of its clone, once', async () => {
  const { repo, taskCounts, taskIds } = await stateOfDeletedProject('notes');

  const imported = await h.req('POST', '/api/projects/import', { working_path: repo });
  expect(imported.status, imported.text).toBe(201);
  expect(imported.body.name).toBe('notes');
  expect(imported.body.task_counts).toEqual(taskCounts);
  // The tasks keep their ids: the Samgita-Task trailers of their commits still name them.
  expect((await h.db.pool.query('select id from tasks order by id')).rows).toEqual(taskIds);
  const events = await h.db.pool.query("select kind from events where kind = 'project.imported'");
  expect(events.rows).toHaveLength(1);

  const again = await h.req('POST', '/api/projects/import', { working_path: repo });
  expect(again.status).toBe(409);
  expect(again.body.error.message).toMatch(/already project notes/);
});

test('says what is wrong with the directory', async () => {
  const bare = path.join(h.home, 'repos', 'never-run');
  mkdirSync(bare, { recursive: true });
  await git(bare, 'init', '-q', '-b', 'main');
  await git(bare, 'commit', '-q', '--allow-empty', '-m', 'init');
  const none = await h.req('POST', '/api/projects/import', { working_path: bare });
  expect(none.status).toBe(404);
  expect(none.body.error.message).toMatch(/has no Samgita state \(refs\/samgita\/state\)/);

  const outside = await h.req('POST', '/api/projects/import', { working_path: '/etc' });
  expect(outside.status).toBe(400);
  expect(outside.body.error.field).toBe('working_path');

  const notRepo = path.join(h.home, 'repos', 'plain');
  mkdirSync(notRepo, { recursive: true });
  const plain = await h.req('POST', '/api/projects/import', { working_path: notRepo });
  expect(plain.status).toBe(400);
  expect(plain.body.error.message).toMatch(/not a git repository/);
});

test('imports from a git URL: 202 while the server clones it, then the project from its state under the same id', async () => {
  const { repo, taskCounts } = await stateOfDeletedProject('remote-src');
  // The "remote": every ref of the repository, the state ref included.
  const remote = path.join(h.home, 'remotes', 'remote-src.git');
  mkdirSync(path.dirname(remote), { recursive: true });
  await git(path.dirname(remote), 'clone', '-q', '--mirror', repo, remote);

  const accepted = await h.req('POST', '/api/projects/import', { git_url: `file://${remote}`, name: 'imported' });
  expect(accepted.status, accepted.text).toBe(202);
  expect(accepted.body.clone).toMatchObject({ state: 'cloning' });
  const done = await until('the import to finish', async () => {
    const p = await h.req('GET', `/api/projects/${accepted.body.id}`);
    return p.status === 200 && p.body.clone === null && p.body.tasks_total > 0 ? p.body : null;
  });
  expect(done.task_counts).toEqual(taskCounts);
  expect(done.working_path).toBe(path.join(h.home, 'repos', 'imported'));

  // Without a state the clone is kept and the project says why.
  const plain = path.join(h.home, 'remotes', 'plain.git');
  await git(path.dirname(plain), 'init', '-q', '--bare', plain);
  await git(repo, 'push', '-q', plain, 'main');
  const none = await h.req('POST', '/api/projects/import', { git_url: `file://${plain}`, name: 'plain-import' });
  expect(none.status).toBe(202);
  const failed = await until('the import to fail', async () => {
    const p = await h.req('GET', `/api/projects/${none.body.id}`);
    return p.body.clone?.state === 'failed' ? p.body : null;
  });
  expect(failed.clone.error).toMatch(/cloned, but not imported: .*has no Samgita state/);

  const both = await h.req('POST', '/api/projects/import', { git_url: `file://${plain}`, working_path: repo });
  expect(both.status).toBe(400);
});
