/**
 * A job locked by a live worker pool that never got it (its fetch was
 * answered as PostgreSQL restarted: the lock committed, the answer lost) is
 * unlocked by that pool's sweep and runs; a job the pool is running, however
 * old its lock, is left alone. Real graphile-worker on a real database.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { unlockStrayJobs } from '../../src/queue/jobs.js';
import { startWorkerPool, type WorkerEvents, type WorkerRunner } from '../../src/queue/worker.js';
import { createPool } from '../../src/store/connection.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/runner-harness.js';

let db: TestDatabase;
let worker: WorkerRunner | undefined;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await worker?.stop();
  await db?.drop();
});

test('a stray lock of our own pool is released and its job runs; a job in hand keeps its lock', async () => {
  const ran: string[] = [];
  let releaseLong: () => void = () => {};
  const long = new Promise<void>((r) => {
    releaseLong = r;
  });
  let sweeps = 0;
  let poolId = '';
  const events: WorkerEvents = new EventEmitter();
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
  });
  worker = await startWorkerPool(db.pool, {
    events,
    concurrency: 2,
    pollInterval: 100,
    taskList: {
      probe: async (payload) => {
        const name = (payload as { name: string }).name;
        ran.push(name);
        if (name === 'long') await long;
      },
    },
    stray: { everyMs: 100, onSweep: () => sweeps++ },
  });
  const add = async (name: string, runAt = 'now()') =>
    (
      await db.pool.query<{ id: string }>(
        `select (graphile_worker.add_job('probe', json_build_object('name', $1::text), run_at => ${runAt})).id::text as id`,
        [name],
      )
    ).rows[0]!.id;
  const lockOf = async (id: string) =>
    (
      await db.pool.query<{ locked_by: string | null }>(
        'select locked_by from graphile_worker._private_jobs where id = $1',
        [id],
      )
    ).rows[0]?.locked_by;

  try {
    // In hand: running, its lock pushed an hour back.
    const longId = await add('long');
    await waitFor('the long job running', async () => ran.includes('long'));
    await db.pool.query(
      `update graphile_worker._private_jobs set locked_at = now() - interval '1 hour' where id = $1`,
      [longId],
    );

    // Stray: due, but locked a minute ago by our pool as if its fetch had been lost.
    const strayId = await add('stray', `now() + interval '1 hour'`);
    await db.pool.query(
      `update graphile_worker._private_jobs
          set locked_by = $2, locked_at = now() - interval '1 minute', run_at = now() where id = $1`,
      [strayId, poolId],
    );
    await waitFor('the stray job run', async () => ran.includes('stray'));

    const after = sweeps;
    await waitFor('two more sweeps', async () => sweeps >= after + 2);
    expect(await lockOf(longId)).toBe(poolId);
    expect(ran.filter((n) => n === 'long')).toHaveLength(1);
    releaseLong();
    await waitFor('the long job done', async () => (await lockOf(longId)) === undefined);
  } finally {
    releaseLong();
  }
});

test('a job waiting in the local queue is in hand, however long it waits there', async () => {
  const ran: string[] = [];
  let releaseFirst: () => void = () => {};
  const first = new Promise<void>((r) => {
    releaseFirst = r;
  });
  const unlocked: string[] = [];
  let sweeps = 0;
  // Queued before the pool starts, so one batch fetches both into the local queue.
  const ids = (
    await db.pool.query<{ id: string }>(
      `select (graphile_worker.add_job('queued', json_build_object('name', n), priority => i)).id::text as id
         from (values (1, 'first'), (2, 'second')) v(i, n) order by i`,
    )
  ).rows.map((r) => r.id);
  const secondId = ids[1]!;
  const queued = await startWorkerPool(db.pool, {
    concurrency: 1,
    pollInterval: 100,
    preset: { worker: { localQueue: { size: 5, ttl: 600_000 } } },
    taskList: {
      queued: async (payload) => {
        const name = (payload as { name: string }).name;
        ran.push(name);
        if (name === 'first') await first;
      },
    },
    stray: {
      everyMs: 100,
      afterMs: 300,
      onSweep: (jobs) => {
        sweeps++;
        unlocked.push(...jobs);
      },
    },
  });
  try {
    await waitFor('the first job running', async () => ran.includes('first'));
    // The second waits in the local queue behind the only worker; its lock ages past the sweep's 300 ms.
    const lockedFor = async () =>
      (
        await db.pool.query<{ ms: number | null }>(
          `select (extract(epoch from now() - locked_at) * 1000)::float8 as ms
             from graphile_worker._private_jobs where id = $1`,
          [secondId],
        )
      ).rows[0]?.ms ?? null;
    await waitFor('the queued job locked past the sweep age', async () => ((await lockedFor()) ?? 0) > 600);
    const after = sweeps;
    await waitFor('two more sweeps', async () => sweeps >= after + 2);
    expect(unlocked).not.toContain(secondId);
    expect(await lockedFor()).not.toBeNull();
    releaseFirst();
    await waitFor('the queued job done', async () => ran.includes('second'));
    expect(ran).toEqual(['first', 'second']);
  } finally {
    releaseFirst();
    await queued.stop();
  }
});

test('a job whose handler starts while the sweep waits for a connection is in hand', async () => {
  // The sweep's one connection is busy, so its read of old locks waits; meanwhile the job's
  // handler starts. The sweep must ask what is in hand after that read, not before it.
  const sweepPool = createPool(db.url, { max: 1 });
  const busy = await sweepPool.connect();
  let released = false;
  try {
    const { rows } = await db.pool.query<{ id: string }>(
      `select (graphile_worker.add_job('probe', '{}'::json, run_at => now() + interval '1 hour')).id::text as id`,
    );
    const id = rows[0]!.id;
    await db.pool.query(
      `update graphile_worker._private_jobs
          set locked_by = 'pool-x', locked_at = now() - interval '1 minute', run_at = now() where id = $1`,
      [id],
    );
    const inHand: string[] = [];
    const sweeping = unlockStrayJobs(sweepPool, ['pool-x'], () => inHand, 30_000);
    await waitFor('the sweep waiting for a connection', async () => sweepPool.waitingCount === 1);
    inHand.push(id);
    busy.release();
    released = true;
    expect(await sweeping).toEqual([]);
    const { rows: after } = await db.pool.query<{ locked_by: string | null }>(
      'select locked_by from graphile_worker._private_jobs where id = $1',
      [id],
    );
    expect(after[0]?.locked_by).toBe('pool-x');
    // Once it is no longer in hand, the same sweep frees it.
    inHand.length = 0;
    expect(await unlockStrayJobs(sweepPool, ['pool-x'], () => inHand, 30_000)).toEqual([id]);
    await db.pool.query('delete from graphile_worker._private_jobs where id = $1', [id]);
  } finally {
    if (!released) busy.release(true);
    await sweepPool.end();
  }
});
