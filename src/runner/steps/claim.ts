/**
 * Claims a task for this runner: one agent run row, attempt counted, events.
 * Concurrency caps (`limits.max_concurrent_agents` per project and
 * `agents.<type>.max_concurrency`) are checked in the same transaction under a
 * per-project advisory lock, counting live agent runs across every runner, and
 * so are areas: a task whose areas overlap a running task's waits for it (two
 * agents editing the same files at once would make work to merge, or to
 * redo). At a cap or beside an overlapping task the job is put back with a
 * growing delay (see capDelayMs) and null is returned. A settling task wakes
 * the tasks waiting on its areas and the next waiting one (wakeCappedTasks),
 * so waiting tasks neither spin nor sleep long past a free slot.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { SamgitaConfig } from '../../config/samgita-yaml/schema.js';
import { addTaskJob, addTaskJobs, notifyNewJobs } from '../../queue/jobs.js';
import { claimable, lockProjectClaims, type ProjectLoad, readProjectLoad } from '../../store/claim-reads.js';
import { withTransaction } from '../../store/connection.js';
import type { TaskRecord } from '../../store/task-attempts.js';
import { claimTask, deferAtCap } from '../../store/task-attempts.js';
import { waitingTasks, wakeWaitingTasks } from '../../store/tasks.js';
import { agentSettings } from '../agent-settings.js';
import { areaConflict, capDelayMs, capReached, tasksToWake, withClaim } from '../decide/claim.js';
import { runnerActor, type TaskRunContext } from '../task-run.js';

/**
 * Returns the new agent run's id, or null when the task is not claimed (a
 * duplicate job, at a cap, or beside a running task its areas overlap).
 *
 * Claims of one project queue on its advisory lock until commit. Within this process they
 * queue in memory instead (no pool connection sits idle waiting for the lock), and the
 * claims waiting when the lock comes free are made together, one after the other, in one
 * transaction: one lock, one commit, and each claim's check sees the agent runs the ones
 * before it inserted, exactly as if they had committed one by one. A batch that fails is
 * retried claim by claim, so one task's error stays its own.
 */
export function claim(ctx: TaskRunContext, task: TaskRecord, config: SamgitaConfig): Promise<string | null> {
  let queues = claimQueues.get(ctx.pool);
  if (!queues) {
    queues = new Map();
    claimQueues.set(ctx.pool, queues);
  }
  let queue = queues.get(task.project_id);
  const pending = new Promise<string | null>((resolve, reject) => {
    const entry: PendingClaim = { ctx, task, config, resolve, reject };
    if (queue) {
      queue.push(entry);
      return;
    }
    queue = [entry];
    queues.set(task.project_id, queue);
    void drainClaims(ctx.pool, queues, task.project_id, queue);
  });
  return pending;
}

interface PendingClaim {
  ctx: TaskRunContext;
  task: TaskRecord;
  config: SamgitaConfig;
  resolve(agentRunId: string | null): void;
  reject(err: unknown): void;
}

/** Claims waiting per project in this process, per pool. */
const claimQueues = new WeakMap<pg.Pool, Map<string, PendingClaim[]>>();
/** Claims made in one transaction at most (the project's lock is held for all of them). */
const CLAIM_BATCH = 16;

async function drainClaims(
  pool: pg.Pool,
  queues: Map<string, PendingClaim[]>,
  projectId: string,
  queue: PendingClaim[],
): Promise<void> {
  try {
    while (queue.length > 0) {
      const batch = queue.splice(0, CLAIM_BATCH);
      try {
        await claimBatch(pool, batch);
      } catch {
        // Claim by claim: the one that fails gets its own error, the others are made.
        for (const c of batch) await claimBatch(pool, [c]).catch((err: unknown) => c.reject(err));
      }
    }
  } finally {
    if (queues.get(projectId) === queue) queues.delete(projectId);
  }
}

async function claimBatch(pool: pg.Pool, batch: PendingClaim[]): Promise<void> {
  const projectId = batch[0]!.task.project_id;
  const ids = await withTransaction(pool, async (db) => {
    await lockProjectClaims(db, projectId);
    const withAreas = batch.some((c) => (c.task.payload.areas ?? []).length > 0);
    const load = { now: await readProjectLoad(db, projectId, withAreas) };
    const out: Array<string | null> = [];
    for (const c of batch) out.push(await claimLocked(db, c.ctx, c.task, c.config, load));
    return out;
  });
  batch.forEach((c, i) => {
    const id = ids[i] ?? null;
    if (id) c.task.attempts += 1;
    c.resolve(id);
  });
}

/** One claim, in a transaction holding the project's claim lock. */
async function claimLocked(
  db: pg.PoolClient,
  ctx: TaskRunContext,
  task: TaskRecord,
  config: SamgitaConfig,
  /** The project's live runs, read once for the batch; a claim made here adds itself. */
  load: { now: ProjectLoad },
): Promise<string | null> {
  const settings = agentSettings(config, task.agent_type, task.checkpoint.escalations ?? 0);
  const agentRunId = randomUUID();
  if (!(await claimable(db, task.id))) {
    ctx.log.debug({ task: task.key }, 'task already running elsewhere or no longer queued; duplicate job dropped');
    return null;
  }
  const cap = capReached(load.now, {
    project: config.limits.max_concurrent_agents,
    type: config.agents[task.agent_type]?.max_concurrency ?? null,
    agentType: task.agent_type,
  });
  const overlap = cap ? null : areaConflict(task.payload.areas ?? [], load.now.running);
  if (cap || overlap) {
    const runAt = new Date(Date.now() + capDelayMs(task.cap_waits));
    await deferAtCap(db, task.id, runAt);
    await addTaskJob(db, task, runAt);
    const delay = runAt.getTime() - Date.now();
    if (cap) ctx.log.debug({ task: task.key, cap, delay }, 'at a concurrency cap; task waits');
    else ctx.log.debug({ task: task.key, overlap, delay }, 'areas overlap a running task; task waits');
    return null;
  }
  await claimTask(db, {
    agentRunId,
    task,
    runnerId: ctx.runnerId,
    host: ctx.host,
    pid: process.pid,
    model: settings.model,
    maxAttempts: config.limits.max_attempts,
    actor: runnerActor(ctx),
  });
  load.now = withClaim(load.now, { key: task.key, agentType: task.agent_type, areas: task.payload.areas ?? [] });
  return agentRunId;
}

/**
 * A slot freed in `projectId` and a task's areas with it: bring the tasks
 * waiting on those areas and the next capped task forward to run now (see
 * tasksToWake). graphile-worker's job_key replace mode moves the waiting job's run_at.
 */
export async function wakeCappedTasks(
  pool: pg.Pool,
  projectId: string,
  settled: { agentType: string; areas: readonly string[] },
  n = 1,
): Promise<number> {
  const waiting = await waitingTasks(pool, projectId);
  const due = await wakeWaitingTasks(pool, tasksToWake(waiting, settled, n));
  await addTaskJobs(pool, due, null);
  await notifyNewJobs(pool, due.length);
  return due.length;
}
