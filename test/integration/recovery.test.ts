import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairQueue, snapshotActiveProjects, takeSnapshot } from '../../src/queue/maintenance.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let projectId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  const p = await db.pool.query(
    `insert into projects (name, git_url, status, phase) values ('p', 'file:///p', 'running', 'development') returning id`,
  );
  projectId = p.rows[0].id;
  await db.pool.query(
    `insert into tasks (project_id, key, title, phase, agent_type, status, rarv_step, rarv_loop, branch, head_sha)
     values ($1, 'development/a', 'A', 'development', 'eng-backend', 'queued', 'verify', 1, 'samgita/a', 'abc123'),
            ($1, 'development/b', 'B', 'development', 'eng-backend', 'completed', 'done', 0, 'samgita/b', 'def456')`,
    [projectId],
  );
  await db.pool.query(`insert into memories (project_id, type, content) values ($1, 'semantic', 'uses pg')`, [
    projectId,
  ]);
});
afterAll(async () => {
  await db.drop();
});

describe('snapshots', () => {
  it('captures where each unfinished task stood, counts and branch heads', async () => {
    const id = await takeSnapshot(db.pool, projectId);
    const { rows } = await db.pool.query('select * from snapshots where id = $1', [id]);
    const s = rows[0];
    expect(s.phase).toBe('development');
    expect(s.task_queue_state.counts).toEqual({ queued: 1, completed: 1 });
    expect(s.task_queue_state.open).toEqual([
      expect.objectContaining({ key: 'development/a', status: 'queued', rarv_step: 'verify', rarv_loop: 1 }),
    ]);
    expect(s.memory_state.counts).toEqual({ semantic: 1 });
    expect(s.git_state.branches).toEqual({ 'samgita/a': 'abc123', 'samgita/b': 'def456' });
  });

  it('snapshots only active projects and prunes beyond the kept count', async () => {
    await db.pool.query(`insert into projects (name, git_url, status) values ('done', 'file:///done', 'completed')`);
    for (let i = 0; i < 3; i++) expect(await snapshotActiveProjects(db.pool, 2)).toBe(1);
    const { rows } = await db.pool.query('select count(*)::int as n from snapshots where project_id = $1', [projectId]);
    expect(rows[0].n).toBe(2);
  });
});

describe('repairQueue', () => {
  it('recreates the job of a queued task that lost it, once', async () => {
    expect(await repairQueue(db.pool)).toBe(1);
    const jobs = await db.pool.query(`select key, task_identifier from graphile_worker.jobs`);
    expect(jobs.rows).toHaveLength(1);
    expect(jobs.rows[0].task_identifier).toBe('run_task');
    expect(await repairQueue(db.pool)).toBe(0);
    const events = await db.pool.query(`select count(*)::int as n from events where kind = 'task.requeued'`);
    expect(events.rows[0].n).toBe(1);
  });
});
