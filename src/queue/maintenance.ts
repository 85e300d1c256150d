import type pg from 'pg';
import { logger } from '../log/logger.js';
import { advanceLeftBehind } from '../projects/advance.js';
import { recordSnapshotCommit } from '../store/checkpoint.js';
import {
  activeProjectIds,
  pruneSnapshots,
  recordEvent,
  SYSTEM_ACTOR,
  takeSnapshot,
  tasksThatNeedJobs,
} from '../store/events.js';
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
export async function snapshotActiveProjects(pool: pg.Pool, keep = 288, checkpoint?: StateCheckpoint): Promise<number> {
  const ids = await activeProjectIds(pool);
  for (const id of ids) {
    const snapshot = await takeSnapshot(pool, id);
    // Each snapshot is also a state commit in the repository, when this runner has it (src/checkpoint).
    const sha = checkpoint ? await checkpoint(id).catch(() => null) : null;
    if (snapshot && sha) await recordSnapshotCommit(pool, snapshot, sha);
    await pruneSnapshots(pool, id, keep);
  }
  return ids.length;
}

/** Writes the project's state commit and returns it (null: no repository here, or held elsewhere). */
export type StateCheckpoint = (projectId: string) => Promise<string | null>;

/** The cron task: snapshot active projects, then repair the queue. */
export function makeSnapshotTask(pool: pg.Pool, checkpoint?: StateCheckpoint): JobHandler {
  return async (_payload, helpers) => {
    const projects = await snapshotActiveProjects(pool, 288, checkpoint);
    const repaired = await repairQueue(pool);
    helpers.logger.debug(`snapshots taken for ${projects} project(s); ${repaired} task job(s) recreated`);
  };
}

/**
 * Finds tasks the queue has lost track of — marked queued with no job (a job
 * deleted by hand, a database restored from backup) — and gives them a job
 * again, recording an event; before that, advances the projects whose settled
 * tasks still ask for it (projects/advance.ts). Runs at runner start and with the snapshots (FR-8.3).
 */
export async function repairQueue(pool: pg.Pool): Promise<number> {
  // First what a runner that died between a settle and its advance left undone: the tasks it made ready.
  await advanceLeftBehind(pool, SYSTEM_ACTOR, logger());
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
