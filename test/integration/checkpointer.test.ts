/**
 * The runner's checkpointer (src/checkpoint/checkpointer.ts) on a real
 * database and repository: a GitHub project's state ref waits on the push to
 * GitHub, which costs no CPU, so a slow push must not hold the next state
 * commit back. A push here "takes" ten minutes of the checkpointer's clock.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Checkpointer } from '../../src/checkpoint/checkpointer.js';
import { stateHead } from '../../src/git/state-ref.js';
import type { TaskPublisher } from '../../src/runner/publisher.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { quietLog, seedProject, seedTasks, waitFor } from '../support/runner-harness.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** A checkpointer ticking every 20 ms whose state pushes go to `pushState` (the GitHub side). */
function startCheckpointer(pushState: () => Promise<void>, inFlight: () => string[], now?: () => number): Checkpointer {
  const publisher: TaskPublisher = { publish: async () => null, pushState };
  return new Checkpointer(
    { pool: db.pool, publisher, actor: { type: 'runner', id: 'test' }, log: quietLog },
    inFlight,
    20,
    now,
  );
}

test('a slow push to GitHub does not hold back the next state commit', async () => {
  const { projectId, repo } = await seedProject(db.pool);
  await seedTasks(db.pool, projectId, [{ key: 'a' }]);
  // The checkpointer's clock: real time plus the time its pushes "took".
  let pushTime = 0;
  const pushed: string[] = [];
  const checkpointer = startCheckpointer(
    async () => {
      pushTime += 600_000;
      pushed.push((await stateHead(repo)) ?? '');
    },
    () => [projectId],
    () => Date.now() + pushTime,
  );
  try {
    await waitFor('the first state commit pushed', async () => pushed.length === 1, 30_000);
    await db.pool.query(`update tasks set status = 'completed', updated_at = now() where project_id = $1`, [projectId]);
    // Counting the push as the write's cost (a tenth of the time at most), the next write would wait 100 minutes.
    await waitFor('the changed state committed and pushed', async () => pushed.length >= 2, 30_000);
    expect(pushed[1]).not.toBe(pushed[0]);
  } finally {
    await checkpointer.flush();
    fs.rmSync(repo, { recursive: true, force: true });
  }
});

test('a push that failed is tried again, though the state has not changed since', async () => {
  const { projectId, repo } = await seedProject(db.pool);
  await seedTasks(db.pool, projectId, [{ key: 'a' }]);
  let clock = 0;
  let calls = 0;
  const pushed: string[] = [];
  const checkpointer = startCheckpointer(
    async () => {
      calls++;
      if (calls === 1) throw new Error('GitHub answered 502');
      pushed.push((await stateHead(repo)) ?? '');
    },
    () => {
      // The retry waits a few seconds of the checkpointer's clock: a second passes every tick.
      if (calls > 0) clock += 1_000;
      return [projectId];
    },
    () => Date.now() + clock,
  );
  try {
    await waitFor('the state pushed after the failed push', async () => pushed.length >= 1, 30_000);
    // Nothing changed in between: the same commit went to GitHub.
    expect(pushed[0]).toBe(await stateHead(repo));
    expect(calls).toBe(2);
  } finally {
    await checkpointer.flush();
    fs.rmSync(repo, { recursive: true, force: true });
  }
});

test('a task that ends while a write is under way is written once more, with no event to say so', async () => {
  const { projectId, repo } = await seedProject(db.pool);
  await seedTasks(db.pool, projectId, [{ key: 'a' }]);
  let ticks = 0;
  let releasePush: () => void = () => {};
  const pushed: string[] = [];
  const checkpointer = startCheckpointer(
    async () => {
      pushed.push((await stateHead(repo)) ?? '');
      if (pushed.length > 1) return;
      // The first state commit was read while the task ran; the task has ended since (as a task
      // parks on its pull request just after a write began) and records no event of its own.
      await db.pool.query(`update tasks set status = 'completed', updated_at = now() where project_id = $1`, [
        projectId,
      ]);
      await new Promise<void>((r) => {
        releasePush = r;
      });
    },
    // In flight at the first tick only: the write that tick begins is the last one it causes.
    () => (ticks++ === 0 ? [projectId] : []),
  );
  try {
    await waitFor('the first push under way', async () => pushed.length === 1, 30_000);
    const state = await stateHead(repo);
    await waitFor('ticks after the task ended', async () => ticks > 3);
    releasePush();
    await waitFor('the ended task written and pushed', async () => pushed.length >= 2, 30_000);
    expect(pushed[1]).not.toBe(state);
  } finally {
    releasePush();
    await checkpointer.flush();
    fs.rmSync(repo, { recursive: true, force: true });
  }
});
