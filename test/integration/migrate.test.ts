import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isSamgitaError } from '../../src/errors.js';
import { MIGRATIONS_DIR, migrate, readMigrations } from '../../src/store/connection.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('migrate', () => {
  it('is a no-op on an up-to-date database', async () => {
    const result = await migrate(db.pool);
    expect(result.applied).toEqual([]);
    expect(result.alreadyApplied).toContain('0001_init.sql');
  });

  it('refuses an applied migration whose file was edited', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'samgita-mig-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await writeFile(path.join(dir, '0001_init.sql'), '-- edited\nselect 1;');
    const err = await migrate(db.pool, dir).catch((e: unknown) => e);
    expect(isSamgitaError(err, 'DB_MIGRATION_CHECKSUM_MISMATCH')).toBe(true);
    expect(String((err as Error).message)).toMatch(/0001_init\.sql was edited/);
  });

  it('applies a new migration in a transaction and rolls back a failing one whole', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'samgita-mig-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await writeFile(path.join(dir, '9001_ok.sql'), 'create table mig_ok (id int);');
    await writeFile(path.join(dir, '9002_bad.sql'), 'create table mig_bad (id int);\nselect nonsense from nowhere;');
    const err = await migrate(db.pool, dir).catch((e: unknown) => e);
    expect(isSamgitaError(err, 'DB_MIGRATION_FAILED')).toBe(true);
    const tables = await db.pool.query(
      "select table_name from information_schema.tables where table_name in ('mig_ok', 'mig_bad')",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(['mig_ok']);
    const recorded = await db.pool.query("select name from samgita_migrations where name like '9%'");
    expect(recorded.rows.map((r) => r.name)).toEqual(['9001_ok.sql']);
  });
});

describe('schema constraints', () => {
  it('rejects values outside an enum', async () => {
    await expect(
      db.pool.query("insert into projects (name, git_url, status) values ('x', 'file:///x', 'sleeping')"),
    ).rejects.toThrow(/projects_status_check/);
  });

  it('keeps the events table append-only', async () => {
    const { rows } = await db.pool.query(
      "insert into events (kind, subject_type) values ('system.test', 'system') returning id",
    );
    await expect(db.pool.query('update events set kind = $1 where id = $2', ['x', rows[0].id])).rejects.toThrow(
      /append-only/,
    );
    await expect(db.pool.query('delete from events where id = $1', [rows[0].id])).rejects.toThrow(/append-only/);
  });

  it('notifies listeners of each new event', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('listen samgita_events');
      const got = new Promise<string>((resolve) => client.once('notification', (n) => resolve(n.payload ?? '')));
      await db.pool.query("insert into events (kind, subject_type, data) values ('task.completed', 'task', '{}')");
      const payload = JSON.parse(await got);
      expect(payload.kind).toBe('task.completed');
    } finally {
      client.release();
    }
  });
});

describe('0900_memory_relevance', () => {
  it('collapses memories stored twice into the most important one', async () => {
    const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await admin.connect();
    const name = `samgita_mig0900_${process.pid}`;
    await admin.query(`drop database if exists ${name}`);
    await admin.query(`create database ${name}`);
    const url = new URL(inject('adminDatabaseUrl'));
    url.pathname = `/${name}`;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    const before = await mkdtemp(path.join(os.tmpdir(), 'samgita-mig-'));
    try {
      for (const m of await readMigrations())
        if (m.name < '0900') await cp(path.join(MIGRATIONS_DIR, m.name), path.join(before, m.name));
      await migrate(pool, before);
      const p = await pool.query(
        `insert into projects (name, git_url, status) values ('m', 'file:///m', 'running') returning id`,
      );
      for (const [content, importance] of [
        ['Use npm test.', 0.5],
        ['use NPM  test', 0.9],
        ['use npm test!', 0.7],
        ['other', 0.5],
      ] as const)
        await pool.query(
          `insert into memories (project_id, type, content, importance) values ($1, 'semantic', $2, $3)`,
          [p.rows[0].id, content, importance],
        );
      await migrate(pool);
      const { rows } = await pool.query('select content, importance from memories order by content');
      expect(rows).toEqual([
        { content: 'other', importance: 0.5 },
        { content: 'use NPM  test', importance: 0.9 },
      ]);
      const search = await pool.query(`select count(*)::int as n from memories where search @@ 'npm'::tsquery`);
      expect(search.rows[0].n).toBe(1);
    } finally {
      await pool.end();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
      await rm(before, { recursive: true, force: true });
    }
  });
});
