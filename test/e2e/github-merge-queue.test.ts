/**
 * The merge queue for a GitHub project, against a local GitHub (OpenAPI-
 * validated REST API, real repositories over smart HTTP, signed webhooks) and
 * the stand-in Claude CLI. Two tasks write the same file at the same time:
 * - `merge: auto`: pull requests target the integration branch (the default
 *   branch) and are merged by the queue one at a time; the second one's
 *   conflict goes back to its agent before its PR is merged;
 * - `merge: manual`: both PRs wait for people; merging the first makes the
 *   second conflict, and a push to the base sends it back to its agent, which
 *   resolves it and updates the same PR.
 * In neither case does a conflict marker reach the default branch.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { canMerge, mergeBranches } from '../support/github/api-server.js';
import { type GitHubHarness, sh, startGitHubHarness } from '../support/github/harness.js';
import { exposeToSandbox, type FakeCli, fakeCli, runner, waitFor } from '../support/runner-harness.js';

const PRD = `# Notes

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Write the first note | P0 |
| FR-2 | Write the second note | P0 |
`;
const config = (merge: 'auto' | 'manual') => `phases: [development]
limits:
  max_concurrent_agents: 2
verify:
  test: test -f NOTES.md && ! grep -q '^<<<<<<<' NOTES.md
pull_requests:
  merge: ${merge}
`;

/** Both agents write NOTES.md; each waits until the other has started, so both start from the same head. */
function agents(): FakeCli {
  const barrier = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-barrier-'));
  // The agents meet through files: the folder must be visible inside their sandboxes.
  exposeToSandbox(barrier);
  const meet = (me: string, other: string) =>
    `touch ${barrier}/${me}; while [ ! -f ${barrier}/${other} ]; do sleep 0.05; done`;
  return fakeCli([
    {
      // Sent back with the conflict: keep both sides.
      match: 'conflict markers left in',
      steps: [
        { write: { path: 'NOTES.md', content: 'first note\nsecond note\n' } },
        { result: { text: 'Resolved the conflict in NOTES.md keeping both notes', cost_usd: 0.001 } },
      ],
    },
    {
      match: 'Implement FR-1',
      steps: [
        { run: meet('one', 'two') },
        { write: { path: 'NOTES.md', content: 'first note\n' } },
        { result: { text: 'Wrote the first note', cost_usd: 0.001 } },
      ],
    },
    {
      match: 'Implement FR-2',
      steps: [
        { run: meet('two', 'one') },
        { write: { path: 'NOTES.md', content: 'second note\n' } },
        { result: { text: 'Wrote the second note', cost_usd: 0.001 } },
      ],
    },
  ]);
}

interface Row {
  id: string;
  key: string;
  status: string;
  branch: string | null;
  pr_number: number | null;
  merge_state: string | null;
}

async function setUp(merge: 'auto' | 'manual') {
  const db = await createTestDatabase();
  const gh = await startGitHubHarness(db.pool);
  const install = gh.payload('installation', 'created');
  install.repositories = [
    { id: gh.repo.id, node_id: 'R_1', name: 'widgets', full_name: 'acme/widgets', private: true },
  ];
  expect((await gh.send('installation', install)).status).toBe(202);
  const before = sh(gh.work, 'rev-parse', 'HEAD');
  const after = gh.commit({ 'PRD.md': PRD, 'samgita.yaml': config(merge) }, 'Add PRD');
  const push = gh.pushPayload({ ref: 'refs/heads/main', before, after, files: ['PRD.md', 'samgita.yaml'] });
  expect((await gh.send('push', push)).status).toBe(202);
  const cli = agents();
  const run = await runner(db.url, cli, { publisher: gh.github.publisher, samgitaHome: gh.home, concurrency: 2 });
  const tasks = async () =>
    (
      await db.pool.query<Row>(
        `select id, key, status, branch, pr_number, merge_state from tasks where phase = 'development' order by key`,
      )
    ).rows;
  const events = async (kind: string) =>
    (
      await db.pool.query<{ key: string; data: Record<string, unknown> }>(
        `select t.key, e.data from events e join tasks t on t.id::text = e.subject_id::text where e.kind = $1 order by e.id`,
        [kind],
      )
    ).rows;
  return { db, gh, run, cli, tasks, events };
}

type World = Awaited<ReturnType<typeof setUp>>;

async function tearDown(w: World | undefined) {
  await w?.run.stop();
  await w?.gh.close();
  await w?.db.drop();
}

function mainHolds(gh: GitHubHarness, file: string): string {
  return sh(gh.repo.bareDir, 'show', `main:${file}`);
}

describe('GitHub merge queue, merge: auto', () => {
  let w: World;
  beforeAll(async () => {
    w = await setUp('auto');
  });
  afterAll(async () => tearDown(w));

  it('merges the pull requests one at a time; the conflicting one goes back to its agent first', async () => {
    const done = await waitFor(
      'both tasks completed',
      async () => {
        const rows = await w.tasks();
        return rows.length === 2 && rows.every((t) => t.status === 'completed') ? rows : null;
      },
      90_000,
    );
    const pulls = w.gh.api.state.pulls;
    expect(pulls).toHaveLength(2);
    for (const p of pulls) {
      expect(p.base).toBe('main');
      expect(p.merged).toBe(true);
    }
    // The one integrated second was sent back with the conflict and resolved by its agent.
    const integrated = await w.events('task.integrated');
    expect(integrated).toHaveLength(2);
    const second = integrated[1]!.key;
    const sentBack = await w.events('task.sent_back');
    expect(sentBack.map((e) => [e.key, e.data.reason])).toEqual([[second, 'conflict']]);
    // Queue order is merge order: the first integrated PR was merged first.
    const byKey = new Map(done.map((t) => [t.key, t]));
    const order = pulls.filter((p) => p.merged).map((p) => p.head);
    expect(order).toEqual(integrated.map((e) => byKey.get(e.key)!.branch));
    expect(mainHolds(w.gh, 'NOTES.md')).toBe('first note\nsecond note');
    expect(sh(w.gh.repo.bareDir, 'log', '-p', 'main')).not.toMatch(/^\+(<<<<<<<|>>>>>>>)/m);
    // The project's integration head is GitHub's main, verified there.
    const { rows } = await w.db.pool.query(`select integration_branch, integration_head from projects`);
    expect(rows[0]).toEqual({
      integration_branch: 'main',
      integration_head: sh(w.gh.repo.bareDir, 'rev-parse', 'main'),
    });
    expect(w.gh.api.violations).toEqual([]);
  });
});

describe('GitHub merge queue, merge: manual', () => {
  let w: World;
  beforeAll(async () => {
    w = await setUp('manual');
  });
  afterAll(async () => tearDown(w));

  it('a pull request made conflicting by a human merge goes back to its agent and becomes mergeable again', async () => {
    const waiting = await waitFor(
      'two pull requests waiting for review',
      async () => {
        const rows = await w.tasks();
        return rows.length === 2 && rows.every((t) => t.pr_number && t.merge_state === 'waiting') ? rows : null;
      },
      90_000,
    );
    const [first, second] = waiting as [Row, Row];
    const pullOf = (t: Row) => w.gh.api.state.pulls.find((p) => p.number === t.pr_number)!;
    for (const t of waiting) {
      expect(pullOf(t).base).toBe('main');
      expect(canMerge(w.gh.repo, 'main', t.branch!)).toBe(true);
    }

    // A person merges the first; GitHub sends the push to main and the closed pull request.
    const before = sh(w.gh.repo.bareDir, 'rev-parse', 'main');
    const sha = mergeBranches(w.gh.repo, 'main', first.branch!, `Merge pull request #${first.pr_number}`);
    Object.assign(pullOf(first), { merged: true, state: 'closed', mergeSha: sha });
    expect(canMerge(w.gh.repo, 'main', second.branch!)).toBe(false);
    const closed = w.gh.payload('pull_request', 'closed');
    const p = closed.pull_request as Record<string, unknown>;
    Object.assign(p, {
      number: first.pr_number,
      merged: true,
      merge_commit_sha: sha,
      head: { ...(p.head as object), ref: first.branch },
    });
    expect((await w.gh.send('pull_request', closed)).status).toBe(202);
    const push = w.gh.pushPayload({ ref: 'refs/heads/main', before, after: sha, files: ['NOTES.md'] });
    expect((await w.gh.send('push', push)).status).toBe(202);

    // The second goes back, its agent resolves the conflict, and the same PR is updated and mergeable.
    const headBefore = sh(w.gh.repo.bareDir, 'rev-parse', second.branch!);
    await waitFor(
      'the second pull request mergeable again',
      async () => {
        const t = (await w.tasks()).find((x) => x.key === second.key)!;
        return (
          t.merge_state === 'waiting' &&
          sh(w.gh.repo.bareDir, 'rev-parse', second.branch!) !== headBefore &&
          canMerge(w.gh.repo, 'main', second.branch!)
        );
      },
      90_000,
    );
    const sentBack = await w.events('task.sent_back');
    expect(sentBack.map((e) => e.key)).toEqual([second.key, second.key]);
    expect(sentBack[0]!.data.note).toMatch(new RegExp(`pull request #${second.pr_number} conflicts with main`));
    expect(sentBack[1]!.data).toMatchObject({ reason: 'conflict', files: ['NOTES.md'] });
    expect(sh(w.gh.repo.bareDir, 'show', `${second.branch}:NOTES.md`)).toBe('first note\nsecond note');
    // Its branch contains the new base (sh throws on a non-zero exit).
    sh(w.gh.repo.bareDir, 'merge-base', '--is-ancestor', sha, second.branch!);
    expect(w.gh.api.state.pulls.filter((x) => x.head === second.branch)).toHaveLength(1);
    expect(w.gh.api.violations).toEqual([]);
  });
});
