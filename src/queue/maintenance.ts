import type pg from 'pg';
import { activeProjectIds, pruneSnapshots, recordEvent, takeSnapshot, tasksThatNeedJobs } from '../store/events.js';
import { addTaskJobs, tasksWithoutJobs } from './jobs.js';
import type { JobHandler } from './worker.js';

export { SNAPSHOT_CRONTAB, TAKE_SNAPSHOTS } from './jobs.js';
export { takeSnapshot };

/**
 * A point-in-time picture of a project: what every agent was doing, where every
 * unfinished task stood in its RARV loop, what the project remembers, and which
 * commit each task branch had reached. With git history it is enough to see and
 * resume where a project was.
 */
/** Snapshots every project that is running or paused; old snapshots beyond `keep` per project are pruned. */
export async function snapshotActiveProjects(pool: pg.Pool, keep = 288): Promise<number> {
  const ids = await activeProjectIds(pool);
  for (const id of ids) {
    await takeSnapshot(pool, id);
    await pruneSnapshots(pool, id, keep);
  }
  return ids.length;
}

/** The cron task: snapshot active projects, then repair the queue. */
export function makeSnapshotTask(pool: pg.Pool): JobHandler {
  return async (_payload, helpers) => {
    const projects = await snapshotActiveProjects(pool);
    const repaired = await repairQueue(pool);
    helpers.logger.debug(`snapshots taken for ${projects} project(s); ${repaired} task job(s) recreated`);
  };
}

/**
 * Finds tasks the queue has lost track of — marked queued with no job (a job
 * deleted by hand, a database restored from backup) — and gives them a job
 * again, recording an event. Runs at runner start and with the snapshots (FR-8.3).
 */
export async function repairQueue(pool: pg.Pool): Promise<number> {
  const rows = await tasksThatNeedJobs(pool);
  const missing = new Set(
    await tasksWithoutJobs(
      pool,
      rows.map((t) => t.id),
    ),
  );
  const lost = rows.filter((t) => missing.has(t.id));
  await addTaskJobs(pool, lost);
  for (const t of lost) {
    await recordEvent(pool, {
      projectId: t.project_id,
      kind: 'task.requeued',
      subjectType: 'task',
      subjectId: t.id,
      data: { key: t.key, reason: 'queued without a job; job recreated' },
    });
  }
  return lost.length;
}
