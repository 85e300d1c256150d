/**
 * The merge lock (src/runner/merge-lock.ts) on a real PostgreSQL: one holder
 * at a time, waiters of a process served in arrival order with only the first
 * of them asking PostgreSQL, another runner's hold respected, a runner
 * already queued served after another runner's few in a row (not after its
 * whole line), a wait in PostgreSQL's queue that times out as the lock comes
 * free never leaves it held unseen, a waiter told to stop leaving the line
 * without blocking the others, and one told to stop just after the lock was
 * handed to it passing it on.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gate } from '../../src/runner/gate.js';
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

  it('a runner queued in PostgreSQL goes next after another runner has held the lock four times in a row', async () => {
    const projectId = '00000000-0000-4000-8000-000000000003';
    const other = await holdElsewhere(projectId);
    const [a, b] = [countingPool(), countingPool()];
    const never = new AbortController().signal;
    const order: string[] = [];
    // Waits in PostgreSQL's queue that never run out here: the order is PostgreSQL's and the lines'.
    const take = (pool: pg.Pool, name: string) =>
      acquireMergeLock({ pool }, projectId, never, 60_000).then(async (lock) => {
        order.push(name);
        await lock!.release();
      });
    const queued = async () =>
      (
        await db.pool.query<{ n: number }>(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted
              and database = (select oid from pg_database where datname = current_database())`,
        )
      ).rows[0]!.n;
    // Runner A's first asks PostgreSQL first, its other four wait in A's line; then runner B's one.
    const fromA = Array.from({ length: 5 }, () => take(a!.pool, 'A'));
    await waitFor("runner A's first in line waiting in PostgreSQL's queue", async () => (await queued()) === 1);
    const fromB = take(b!.pool, 'B');
    await waitFor("runner B's waiting behind it", async () => (await queued()) === 2);
    await other.end();
    await Promise.all([...fromA, fromB]);
    // A's first, three handovers within A, then B (queued all along), then A's last, which asked
    // PostgreSQL again only when A let go. Polling, or handing over without limit: AAAAAB.
    expect(order.join('')).toBe('AAAABA');
    await Promise.all([a!.pool.end(), b!.pool.end()]);
  });

  it('a wait that times out as the lock is released says whether it holds the lock, every time', async () => {
    // PostgreSQL grants a lock that comes free just as lock_timeout fires, and keeps it for the
    // session although the statement failed. Told "not yours", the caller would return the
    // connection to its pool still holding the project's merge lock (a bench's queue stopped so).
    const holder = new pg.Client({ connectionString: db.url });
    const waiter = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await waiter.connect();
    const key = 'samgita:merge:race';
    const heldByWaiter = async () =>
      (
        await waiter.query<{ n: number }>(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and granted`,
        )
      ).rows[0]!.n > 0;
    let said = { yes: 0, no: 0 };
    for (let i = 0; i < 600; i++) {
      await holder.query('select pg_advisory_lock(hashtext($1))', [key]);
      const waitMs = 1 + (i % 4);
      const wait = waiter.query<{ ok: boolean }>('select samgita_wait_advisory_lock($1, $2) as ok', [key, waitMs]);
      await new Promise((r) => setTimeout(r, waitMs));
      await holder.query('select pg_advisory_unlock(hashtext($1))', [key]);
      const ok = (await wait).rows[0]!.ok;
      expect(await heldByWaiter(), `call ${i}: said ${ok}`).toBe(ok);
      if (ok) await waiter.query('select pg_advisory_unlock(hashtext($1))', [key]);
      said = ok ? { ...said, yes: said.yes + 1 } : { ...said, no: said.no + 1 };
    }
    // The timeout path ran (how often it raced a release depends on the machine).
    expect(said.no).toBeGreaterThan(0);
    await holder.end();
    await waiter.end();
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

  it('a waiter stopped after the lock was handed to it, while it takes its gate permit back, passes the lock on', async () => {
    const projectId = '00000000-0000-4000-8000-000000000004';
    const { pool } = countingPool();
    const never = new AbortController().signal;
    const first = (await acquireMergeLock({ pool }, projectId, never)) as MergeLock;
    const gate = new Gate(1);
    await gate.acquire(); // the waiting task's permit, given back while it waits in line
    const stop = new AbortController();
    const stopped = acquireMergeLock({ pool, gate }, projectId, stop.signal);
    await gate.acquire(); // another task takes the permit, so the waiter cannot have it back yet
    await first.release(); // handed over to the waiter, still held
    stop.abort();
    gate.release();
    expect(await stopped).toBeNull();
    const probe = new pg.Client({ connectionString: db.url });
    await probe.connect();
    const { rows } = await probe.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [
      mergeLockKey(projectId),
    ]);
    expect(rows[0]!.ok).toBe(true);
    await probe.end();
    await pool.end();
  });
});
