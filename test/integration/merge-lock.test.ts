/**
 * The merge lock (src/runner/merge-lock.ts) on a real PostgreSQL: one holder
 * at a time, waiters of a process served in arrival order with only the first
 * of them asking PostgreSQL, another runner's hold respected, and a waiter
 * told to stop leaving the line without blocking the others.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireMergeLock, type MergeLock, mergeLockKey } from '../../src/runner/merge-lock.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/runner-harness.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** A pool that counts how often a connection is asked for (each lock try asks once). */
function countingPool(): { pool: pg.Pool; tries: () => number } {
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
  let n = 0;
  const connect = pool.connect.bind(pool);
  pool.connect = ((...args: Parameters<pg.Pool['connect']>) => {
    n++;
    return connect(...args);
  }) as pg.Pool['connect'];
  return { pool, tries: () => n };
}

/** Another runner: its own connection holding the project's lock. */
async function holdElsewhere(projectId: string): Promise<pg.Client> {
  const other = new pg.Client({ connectionString: db.url });
  await other.connect();
  await other.query('select pg_advisory_lock(hashtext($1))', [mergeLockKey(projectId)]);
  return other;
}

describe('merge lock', () => {
  it('waiters of one process get it in arrival order; only the first asks PostgreSQL while another runner holds it', async () => {
    const projectId = '00000000-0000-4000-8000-000000000001';
    const other = await holdElsewhere(projectId);
    const { pool, tries } = countingPool();
    const never = new AbortController().signal;
    const order: number[] = [];
    let holding = 0;
    let most = 0;
    const waiters = Array.from({ length: 20 }, (_, i) =>
      acquireMergeLock({ pool }, projectId, never).then(async (lock) => {
        holding++;
        most = Math.max(most, holding);
        order.push(i);
        // Let the next in line try while this one holds it: it must not get it.
        await new Promise((r) => setImmediate(r));
        holding--;
        await lock!.release();
      }),
    );
    // Each waiter used to try the lock itself at once: 20 tries here, ~170 a second later on.
    expect(tries()).toBe(1);
    await waitFor('the first in line to try again while the other runner holds the lock', async () => tries() >= 3);
    expect(order).toEqual([]);
    await other.end(); // the other runner's session ends: PostgreSQL releases its lock
    await Promise.all(waiters);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(most).toBe(1);
    await pool.end();
  });

  it('a waiter told to stop leaves the line with null; the ones behind it still get the lock', async () => {
    const projectId = '00000000-0000-4000-8000-000000000002';
    const { pool } = countingPool();
    const never = new AbortController().signal;
    const first = (await acquireMergeLock({ pool }, projectId, never)) as MergeLock;
    const stop = new AbortController();
    const stopped = acquireMergeLock({ pool }, projectId, stop.signal);
    const behind = acquireMergeLock({ pool }, projectId, never);
    stop.abort();
    expect(await stopped).toBeNull();
    await first.release();
    const next = await behind;
    expect(next).not.toBeNull();
    // Held by this process now: another session cannot take it.
    const probe = new pg.Client({ connectionString: db.url });
    await probe.connect();
    const { rows } = await probe.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [
      mergeLockKey(projectId),
    ]);
    expect(rows[0]!.ok).toBe(false);
    await next!.release();
    const again = await probe.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [
      mergeLockKey(projectId),
    ]);
    expect(again.rows[0]!.ok).toBe(true);
    await probe.end();
    await pool.end();
  });
});
