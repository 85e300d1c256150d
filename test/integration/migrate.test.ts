import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSamgitaError } from '../../src/errors.js';
import { MIGRATIONS_DIR, migrate } from '../../src/store/connection.js';
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
