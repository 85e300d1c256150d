/**
 * PostgreSQL with pgvector where the machine's has none (Debian 12's archive
 * has no postgresql-15-pgvector): PGlite (PostgreSQL compiled to WASM) with
 * its vector extension, served on a local port so the ordinary pg pool and
 * the real store code talk to it. Samgita's migrations are applied.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type pg from 'pg';
import { createPool, migrate } from '../../src/store/connection.js';

export interface VectorDatabase {
  pool: pg.Pool;
  url: string;
  stop(): Promise<void>;
}

export async function startVectorDatabase(): Promise<VectorDatabase> {
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 4 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  // PGlite is one session: one connection, so transactions never interleave.
  const pool = createPool(url, { max: 1 });
  await migrate(pool);
  return {
    pool,
    url,
    async stop() {
      await pool.end().catch(() => {});
      await server.stop();
      await db.close();
    },
  };
}
