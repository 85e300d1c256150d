/**
 * Whether the worker pool holding a job is still alive, asked of PostgreSQL
 * rather than of timestamps: a server's pool holds a session advisory lock on
 * its own id for as long as its connection lives, and the database releases it
 * the moment that connection dies (SIGKILL, a lost machine). A job locked by a
 * pool whose lock can be taken is orphaned and is released for another worker
 * at once, instead of after graphile-worker's 4-hour lock expiry.
 */

import pg from 'pg';
import { type Queryable, withTransaction } from './connection.js';

/** Advisory-lock namespace of Samgita's worker liveness locks (the first key of the two-int form). */
const LIVENESS_NS = 0x5a6e;

export interface LivenessOptions {
  /** Connect here instead of the pool's database (a direct connection when the pool goes through a pooler). */
  connectionString?: string;
  /**
   * Also LISTEN on this channel on the same connection (it is a session of its own anyway), so a
   * runner's lock and its event listener cost one connection, not two. Re-LISTENs after a reconnect.
   */
  listen?: { channel: string; onPayload(payload: string): void };
}

export interface Liveness {
  /** When the lock was (re)acquired on a live connection; null while reconnecting. */
  heldSince(): number | null;
  release(): Promise<void>;
}

/**
 * Holds the liveness lock of `id` (a runner, a worker pool) on a connection of
 * its own, outside the pool (a busy pool never starves it). The server is told
 * to drop that session after ~11 s of network silence (TCP keepalives), so a
 * machine that vanishes frees its lock as surely as a killed process. A lost
 * connection (PostgreSQL restarted) is re-established and the lock taken again.
 */
export async function holdLiveness(pool: pg.Pool, id: string, options: LivenessOptions = {}): Promise<Liveness> {
  let client: pg.Client | null = null;
  let since: number | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({
      ...(pool.options as pg.ClientConfig),
      ...(options.connectionString ? { connectionString: options.connectionString } : {}),
      keepAlive: true,
    });
    const listen = options.listen;
    if (listen)
      c.on('notification', (msg) => {
        if (client === c && msg.channel === listen.channel && msg.payload) listen.onPayload(msg.payload);
      });
    c.on('error', () => {
      // The lock went with the connection: take it again on a new one.
      if (client === c) lost();
    });
    await c.connect();
    await c.query('set tcp_keepalives_idle = 5; set tcp_keepalives_interval = 2; set tcp_keepalives_count = 3');
    await c.query('select pg_advisory_lock($1, hashtext($2))', [LIVENESS_NS, id]);
    if (listen) await c.query(`listen ${pg.escapeIdentifier(listen.channel)}`);
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    since = Date.now();
  };
  const lost = () => {
    const c = client;
    client = null;
    since = null;
    void c?.end().catch(() => {});
    schedule(500);
  };
  const schedule = (ms: number) => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      connect().catch(() => schedule(Math.min(ms * 2, 5_000)));
    }, ms);
    retry.unref();
  };
  await connect();
  return {
    heldSince: () => since,
    release: async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      since = null;
      if (!c) return;
      await c.query('select pg_advisory_unlock($1, hashtext($2))', [LIVENESS_NS, id]).catch(() => {});
      await c.end().catch(() => {});
    },
  };
}

/**
 * Of these ids, the ones whose liveness lock is free, asked inside the
 * caller's transaction (transaction-level try-locks, released at its end).
 */
export async function freeLiveness(db: Queryable, ids: readonly string[]): Promise<Set<string>> {
  const free = new Set<string>();
  for (const id of ids) {
    const { rows } = await db.query<{ free: boolean }>('select pg_try_advisory_xact_lock($1, hashtext($2)) as free', [
      LIVENESS_NS,
      id,
    ]);
    if (rows[0]?.free) free.add(id);
  }
  return free;
}

/** Of these worker pool ids, the ones whose liveness lock is free: their connection, and so their process, is gone. */
export async function deadHolders(pool: pg.Pool, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  return [...(await withTransaction(pool, (db) => freeLiveness(db, ids)))];
}
