/**
 * Whether the worker pool holding a job is still alive, asked of PostgreSQL
 * rather than of timestamps: a server's pool holds a session advisory lock on
 * its own id for as long as its connection lives, and the database releases it
 * the moment that connection dies (SIGKILL, a lost machine). A job locked by a
 * pool whose lock can be taken is orphaned and is released for another worker
 * at once, instead of after graphile-worker's 4-hour lock expiry.
 */

import type pg from 'pg';

/** Advisory-lock namespace of Samgita's worker liveness locks (the first key of the two-int form). */
const LIVENESS_NS = 0x5a6e;

/** Holds the liveness lock of a worker pool until `release` (or until the connection dies). */
export async function holdLiveness(pool: pg.Pool, workerPoolId: string): Promise<{ release(): Promise<void> }> {
  const client = await pool.connect();
  // A connection error must not crash the process; the lock is gone with it, which is the point.
  client.on('error', () => {});
  await client.query('select pg_advisory_lock($1, hashtext($2))', [LIVENESS_NS, workerPoolId]);
  return {
    release: async () => {
      try {
        await client.query('select pg_advisory_unlock($1, hashtext($2))', [LIVENESS_NS, workerPoolId]);
      } finally {
        client.release();
      }
    },
  };
}

/** Of these worker pool ids, the ones whose liveness lock is free: their connection, and so their process, is gone. */
export async function deadHolders(pool: pg.Pool, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const dead: string[] = [];
  const client = await pool.connect();
  try {
    for (const id of ids) {
      const { rows } = await client.query<{ free: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as free', [
        LIVENESS_NS,
        id,
      ]);
      if (!rows[0]?.free) continue;
      await client.query('select pg_advisory_unlock($1, hashtext($2))', [LIVENESS_NS, id]);
      dead.push(id);
    }
  } finally {
    client.release();
  }
  return dead;
}
