import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runMigrations as runWorkerMigrations } from 'graphile-worker';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { quietWorkerLogger } from '../../src/queue/worker.js';
import { migrate, readMigrations, startEmbeddedPostgres } from '../../src/store/connection.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Builds one template database with every migration applied; each test file
 * then clones it (CREATE DATABASE … TEMPLATE), which takes milliseconds.
 * Uses DATABASE_URL when set, else an embedded PostgreSQL in a temp dir.
 */
export default async function setup(project: TestProject) {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let tmpHome: string | undefined;
  if (!adminUrl) {
    tmpHome = await mkdtemp(path.join(os.tmpdir(), 'samgita-test-pg-'));
    const db = await startEmbeddedPostgres(tmpHome);
    adminUrl = db.url;
    stopEmbedded = db.stop;
  }
  const migrations = await readMigrations();
  const digest = createHash('sha256')
    .update(migrations.map((m) => m.checksum).join(','))
    .digest('hex')
    .slice(0, 12);
  const template = `samgita_tpl_${digest}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [template]);
    if (!exists.rowCount) {
      const building = `${template}_${process.pid}`;
      await admin.query(`create database ${building}`);
      const pool = new pg.Pool({ connectionString: withDatabase(adminUrl, building), max: 2 });
      pool.on('error', () => {});
      try {
        await migrate(pool);
        await runWorkerMigrations({ pgPool: pool, logger: quietWorkerLogger() });
      } finally {
        await pool.end();
      }
      // Renamed only when complete, so a crashed build never leaves a half template.
      await admin.query(`alter database ${building} rename to ${template}`).catch(async () => {
        await admin.query(`drop database if exists ${building}`);
      });
    }
  } finally {
    await admin.end();
  }
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);
  return async () => {
    await stopEmbedded?.();
    if (tmpHome) await rm(tmpHome, { recursive: true, force: true });
  };
}
