/**
 * The queue adapter: the one module that knows graphile-worker's SQL API and
 * the shape of Samgita's jobs. Everything else asks it to add, move or remove
 * the job of a task (or of a webhook delivery) and never spells a job key or
 * names the `graphile_worker` schema. The `tasks` table is the domain record;
 * a task is `queued` if and only if it has a job, and the two change in one
 * transaction (callers pass their transaction's client).
 */
import { z } from 'zod';
import { ACTIVE_TASK_STATUSES } from '../domain/states.js';
import type { Queryable } from '../store/connection.js';

/** The job that runs one task through RARV on a runner. */
export const RUN_TASK = 'run_task';
/** The job that delivers one outgoing webhook. */
export const DELIVER_WEBHOOK = 'deliver_webhook';
/** The job that runs the verify commands on a project's integration head (the whole product). */
export const VERIFY_INTEGRATION = 'verify_integration';

/** Asks a runner to verify the project's integration head; one such job per project at a time. */
export async function addIntegrationVerifyJob(db: Queryable, projectId: string): Promise<void> {
  await db.query(
    `select graphile_worker.add_job($1, json_build_object('projectId', $2::text), job_key => 'integration:' || $2,
              max_attempts => 5)`,
    [VERIFY_INTEGRATION, projectId],
  );
}

/** The job that re-plans a project from a PRD revision saved through the API or the page. */
export const REPLAN_REVISION = 'replan_revision';
/** The job that handles one GitHub webhook delivery the server has accepted. */
export const GITHUB_DELIVERY = 'github_delivery';
/** The job that clones the repository of a project created through the API. */
export const CLONE_PROJECT = 'clone_project';
/** Jobs only `samgita serve` processes run (they hold a liveness lock; see store/liveness.ts). */
export const SERVER_JOBS: readonly string[] = [REPLAN_REVISION, GITHUB_DELIVERY, CLONE_PROJECT];
/** Attempts of a clone before the project is marked clone failed. */
export const CLONE_MAX_ATTEMPTS = 3;

/**
 * Queues the clone of a project's repository into `dest`, in the caller's
 * transaction; with `importState`, the clone is then imported from its state ref
 * (POST /api/projects/import with a git URL).
 */
export async function addCloneJob(
  db: Queryable,
  projectId: string,
  dest: string,
  importState?: { takeOver: boolean; actor: { type: string; id?: string | null | undefined } },
): Promise<void> {
  await db.query(
    `select graphile_worker.add_job($1, json_build_object('projectId', $2::text, 'dest', $3::text, 'import', $5::json),
              job_key => 'clone:' || $2, max_attempts => $4)`,
    [CLONE_PROJECT, projectId, dest, CLONE_MAX_ATTEMPTS, importState ? JSON.stringify(importState) : null],
  );
}

/**
 * Queues the re-plan of a project from a revision, in the caller's transaction
 * (the revision and its re-plan commit together or not at all). One job per
 * project: a newer revision saved before the job ran replaces its payload.
 */
export async function addReplanJob(
  db: Queryable,
  projectId: string,
  revisionId: string,
  actor: { type: string; id?: string | null | undefined },
): Promise<void> {
  await db.query(
    `select graphile_worker.add_job($1, json_build_object('projectId', $2::text, 'revisionId', $3::text, 'actor', $4::json),
              job_key => 'replan:' || $2, max_attempts => 10)`,
    [REPLAN_REVISION, projectId, revisionId, JSON.stringify(actor)],
  );
}

/** Queues the handling of an accepted GitHub delivery; a second call for the same id keeps the one job. */
export async function addDeliveryJob(db: Queryable, deliveryId: string): Promise<void> {
  await db.query(
    `select graphile_worker.add_job($1, json_build_object('deliveryId', $2::text), job_key => 'github:' || $2,
              job_key_mode => 'preserve_run_at', max_attempts => 12)`,
    [GITHUB_DELIVERY, deliveryId],
  );
}

/** The cron job that snapshots active projects and repairs the queue. */
export const TAKE_SNAPSHOTS = 'take_snapshots';
/** graphile-worker crontab line: every 5 minutes, one runner (across all of them) takes the snapshots (FR-8.2). */
export const SNAPSHOT_CRONTAB = `*/5 * * * * ${TAKE_SNAPSHOTS} ?max=1`;
/** Attempts of a webhook delivery before it is given up (graphile-worker's own retry, exp backoff). */
export const WEBHOOK_MAX_ATTEMPTS = 8;

/** What a task's job needs from the task row. */
export interface JobTask {
  id: string;
  priority: number;
  max_attempts: number;
}

/** graphile-worker priorities are smallint. */
const MAX_PRIORITY = 32767;

/**
 * Adds (or, for a task that already has an unlocked job, moves) the job of
 * each task to `runAt` (null: now), in one statement. graphile-worker's
 * job_key replace mode makes it idempotent per task. The job's own
 * max_attempts is one above the task's, so that the domain table, not
 * graphile-worker, decides when a task is dead.
 */
export async function addTaskJobs(db: Queryable, tasks: readonly JobTask[], runAt: Date | null = null): Promise<void> {
  if (tasks.length === 0) return;
  await db.query(
    `select graphile_worker.add_job($1, json_build_object('taskId', t.id::text), run_at => $2::timestamptz,
              max_attempts => t.max_attempts + 1, job_key => 'task:' || t.id::text,
              priority => least(t.priority, ${MAX_PRIORITY}))
       from unnest($3::uuid[], $4::int[], $5::int[]) as t(id, priority, max_attempts)`,
    [RUN_TASK, runAt, tasks.map((t) => t.id), tasks.map((t) => t.priority), tasks.map((t) => t.max_attempts)],
  );
}

/**
 * advanceProject's enqueue (samgita_queue_ready, migrations/0920_advance_in_one.sql):
 * the tasks of `phase` whose dependencies are all completed or cancelled become
 * queued and get their job, and pending tasks with an unfinished dependency are
 * shown as blocked, in one statement. Returns the queued tasks.
 */
export async function queueReadyTasks(db: Queryable, projectId: string, phase: string): Promise<JobTask[]> {
  const { rows } = await db.query<JobTask>('select * from samgita_queue_ready($1, $2, $3, $4)', [
    projectId,
    phase,
    RUN_TASK,
    MAX_PRIORITY,
  ]);
  return rows;
}

const AdvanceWork = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('work'), phase: z.string(), queued: z.number() }),
  z.object({ outcome: z.literal('other') }),
  z.object({ outcome: z.literal('busy') }),
]);
/**
 * `work`: the project has work left in its phase and its ready tasks are queued
 * (all an advance does then); `other`: nothing changed, the full advance
 * (advanceProjectIn) decides; `busy` (only `requested`): another advance holds the project.
 */
export type AdvanceWork = z.output<typeof AdvanceWork>;

/**
 * The common advance in one round trip, committed on its own
 * (samgita_advance_work, migrations/0920_advance_in_one.sql). With `requested`
 * it is the batched advance's attempt (projects/advance.ts): under the project's
 * try-lock, taking its advance requests.
 */
export async function advanceWork(
  db: Queryable,
  projectId: string,
  opts: { requested: boolean },
): Promise<AdvanceWork> {
  const { rows } = await db.query<{ r: unknown }>('select samgita_advance_work($1, $2, $3, $4, $5) as r', [
    projectId,
    opts.requested,
    [...ACTIVE_TASK_STATUSES],
    RUN_TASK,
    MAX_PRIORITY,
  ]);
  return AdvanceWork.parse(rows[0]?.r);
}

export async function addTaskJob(db: Queryable, task: JobTask, runAt: Date | null = null): Promise<void> {
  await addTaskJobs(db, [task], runAt);
}

/**
 * Removes the jobs of these tasks: an unlocked job is deleted, a locked one
 * (a runner working on it) is defused and the runner sees the task's new
 * status when it settles.
 */
export async function removeTaskJobs(db: Queryable, taskIds: readonly string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await db.query(
    `select graphile_worker.remove_job('task:' || u.task_id::text) from unnest($1::uuid[]) as u(task_id)`,
    [[...taskIds]],
  );
}

/**
 * Of these tasks, the ones that have no job at all. Reads graphile-worker's
 * public `jobs` view, which is too slow to read on every settle, so only the
 * queue repair (at runner start and every 5 minutes) calls this.
 */
export async function tasksWithoutJobs(db: Queryable, taskIds: readonly string[]): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `select u.task_id::text as id from unnest($1::uuid[]) as u(task_id)
      where not exists (select 1 from graphile_worker.jobs j where j.key = 'task:' || u.task_id::text)`,
    [[...taskIds]],
  );
  return rows.map((r) => r.id);
}

/** One delivery job per webhook delivery row. */
export async function addDeliveryJobs(db: Queryable, deliveryIds: readonly string[]): Promise<number> {
  if (deliveryIds.length === 0) return 0;
  const { rows } = await db.query<{ n: number }>(
    `select count(graphile_worker.add_job($1, json_build_object('deliveryId', u.delivery_id),
              job_key => 'webhook:' || u.delivery_id::text, max_attempts => $2::int))::int as n
       from unnest($3::uuid[]) as u(delivery_id)`,
    [DELIVER_WEBHOOK, WEBHOOK_MAX_ATTEMPTS, [...deliveryIds]],
  );
  return rows[0]?.n ?? 0;
}

/** Wakes idle workers at once (new jobs are otherwise found at the next poll). */
export async function notifyNewJobs(db: Queryable, count: number): Promise<void> {
  if (count > 0) await db.query(`select pg_notify('jobs:insert', json_build_object('count', $1::int)::text)`, [count]);
}

/** The worker pools holding jobs of these types right now (graphile-worker's locked_by). */
export async function jobLockHolders(db: Queryable, taskIdentifiers: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ locked_by: string }>(
    `select distinct locked_by from graphile_worker.jobs
      where locked_by is not null and task_identifier = any($1::text[])`,
    [[...taskIdentifiers]],
  );
  return rows.map((r) => r.locked_by);
}

/**
 * Unlocks the jobs these pools hold (graphile-worker's locked_by) that were
 * locked more than `lockedForMs` ago and are not in hand: a fetch whose answer
 * a PostgreSQL restart lost leaves a job locked by a live pool that never got
 * it, which graphile-worker would free only after 4 hours. `inHand` (the jobs
 * the pools are running, have queued or just ended) is asked only after the
 * old locks are read, so a job whose handler started while the read waited
 * for a connection counts as in hand; and a lock is removed only if it is the
 * one that was read. Returns the unlocked jobs' ids.
 */
export async function unlockStrayJobs(
  db: Queryable,
  lockers: readonly string[],
  inHand: () => readonly string[],
  lockedForMs: number,
): Promise<string[]> {
  if (lockers.length === 0) return [];
  const { rows: old } = await db.query<{ id: string; locked_at: string }>(
    `select id::text, locked_at::text from graphile_worker._private_jobs
      where locked_by = any($1::text[]) and locked_at < now() - make_interval(secs => $2::float8 / 1000)`,
    [[...lockers], lockedForMs],
  );
  if (old.length === 0) return [];
  const held = new Set(inHand());
  const stray = old.filter((r) => !held.has(r.id));
  if (stray.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `update graphile_worker._private_jobs j
        set locked_at = null, locked_by = null
       from unnest($1::bigint[], $2::timestamptz[]) as s(id, locked_at)
      where j.id = s.id and j.locked_at = s.locked_at and j.locked_by = any($3::text[])
      returning j.id::text`,
    [stray.map((r) => r.id), stray.map((r) => r.locked_at), [...lockers]],
  );
  return rows.map((r) => r.id);
}
