import os from 'node:os';
import { makeWorkerUtils, run, type TaskList, type Runner as WorkerRunner, type WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import { quietWorkerLogger } from '../db/open.js';
import { errorMessage } from '../errors.js';
import { recordEvent } from '../events/record.js';
import { type Logger, logger } from '../log/logger.js';
import { RUN_TASK } from '../queue/enqueue.js';
import type { TaskPublisher } from './publisher.js';
import { runTask } from './run-task.js';

export interface RunnerOptions {
  pool: pg.Pool;
  samgitaHome: string;
  claudeBin: string;
  claudeEnv?: Record<string, string | undefined>;
  /** How many tasks this runner works on at once. */
  concurrency: number;
  name?: string;
  heartbeatMs?: number;
  /** A runner silent for this long is declared dead and its jobs released. */
  deadAfterMs?: number;
  /** How long a drain waits for running steps to reach a checkpoint. */
  drainTimeoutMs?: number;
  pollIntervalMs?: number;
  /** Extra graphile-worker tasks served by the same pool (e.g. webhook delivery). */
  extraTasks?: TaskList;
  onTaskSettled?: (taskId: string, status: string) => void;
  publisher?: TaskPublisher;
  log?: Logger;
}

export interface RunningRunner {
  id: string;
  /** Stop claiming, let running steps reach a checkpoint (bounded), release, mark stopped. */
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * A runner process's worker: registers itself, heartbeats, claims `run_task`
 * jobs through graphile-worker, and declares silent runners dead so their jobs
 * are released and resumed elsewhere.
 */
export async function startRunner(opts: RunnerOptions): Promise<RunningRunner> {
  const log = (opts.log ?? logger()).child({ component: 'runner' });
  const host = os.hostname();
  const heartbeatMs = opts.heartbeatMs ?? 5_000;
  const deadAfterMs = opts.deadAfterMs ?? 30_000;
  const { rows } = await opts.pool.query<{ id: string }>(
    `insert into runners (name, host, pid, capacity, version, status) values ($1, $2, $3, $4, $5, 'active') returning id`,
    [
      opts.name ?? `${host}:${process.pid}`,
      host,
      process.pid,
      opts.concurrency,
      process.env.npm_package_version ?? null,
    ],
  );
  const runnerId = rows[0]!.id;
  await recordEvent(opts.pool, {
    kind: 'runner.started',
    subjectType: 'runner',
    subjectId: runnerId,
    actor: { type: 'runner', id: runnerId },
    data: { host, pid: process.pid, capacity: opts.concurrency },
  });

  const shutdown = new AbortController();
  const workerIds = new Set<string>();
  const utils: WorkerUtils = await makeWorkerUtils({ pgPool: opts.pool, logger: quietWorkerLogger() });

  const taskList: TaskList = {
    ...opts.extraTasks,
    [RUN_TASK]: async (payload, helpers) => {
      const taskId = (payload as { taskId?: unknown }).taskId;
      if (typeof taskId !== 'string') {
        helpers.logger.error(`run_task job ${helpers.job.id} has no taskId; dropped`);
        return;
      }
      await runTask(
        {
          pool: opts.pool,
          runnerId,
          host,
          claudeBin: opts.claudeBin,
          samgitaHome: opts.samgitaHome,
          ...(opts.claudeEnv ? { claudeEnv: opts.claudeEnv } : {}),
          log,
          signal: AbortSignal.any([shutdown.signal, helpers.abortSignal]),
          ...(opts.onTaskSettled ? { onSettled: opts.onTaskSettled } : {}),
          ...(opts.publisher ? { publisher: opts.publisher } : {}),
        },
        taskId,
      );
    },
  };

  const worker: WorkerRunner = await run({
    pgPool: opts.pool,
    concurrency: opts.concurrency,
    noHandleSignals: true,
    pollInterval: opts.pollIntervalMs ?? 1_000,
    taskList,
    logger: quietWorkerLogger(),
    gracefulShutdownAbortTimeout: opts.drainTimeoutMs ?? 30_000,
  });
  worker.events.on('worker:create', ({ worker: w }) => {
    workerIds.add(w.workerId);
    void opts.pool
      .query('update runners set worker_ids = $2 where id = $1', [runnerId, [...workerIds]])
      .catch(() => {});
  });

  const beat = async () => {
    try {
      await opts.pool.query(
        `update runners set heartbeat_at = now(), worker_ids = $2 where id = $1 and status <> 'dead'`,
        [runnerId, [...workerIds]],
      );
      await reapDeadRunners(opts.pool, utils, runnerId, deadAfterMs, log);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'heartbeat failed; will retry');
    }
  };
  await beat();
  const heartbeat = setInterval(beat, heartbeatMs);
  heartbeat.unref();

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(heartbeat);
      await opts.pool.query(`update runners set status = 'draining' where id = $1`, [runnerId]).catch(() => {});
      // Running steps see the abort at their next checkpoint and hand their task back.
      shutdown.abort();
      await worker.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'worker stop failed'));
      await utils.forceUnlockWorkers([...workerIds]).catch(() => {});
      await Promise.resolve(utils.release()).catch(() => {});
      await opts.pool
        .query(`update runners set status = 'stopped', stopped_at = now() where id = $1`, [runnerId])
        .catch(() => {});
      await recordEvent(opts.pool, {
        kind: 'runner.stopped',
        subjectType: 'runner',
        subjectId: runnerId,
        actor: { type: 'runner', id: runnerId },
      }).catch(() => {});
    })();
    return stopping;
  };

  return { id: runnerId, stop, done: worker.promise.then(() => stopping ?? undefined) };
}

/**
 * Declares runners silent for longer than `deadAfterMs` dead and releases
 * their graphile-worker locks, so their tasks resume on a live runner from
 * their last checkpoint instead of waiting hours for the lock to expire.
 * `skip locked` lets many runners sweep at once without fighting.
 */
export async function reapDeadRunners(
  pool: pg.Pool,
  utils: WorkerUtils,
  selfId: string,
  deadAfterMs: number,
  log: Logger,
): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const dead = await client.query<{ id: string; worker_ids: string[]; host: string; pid: number }>(
      `select id, worker_ids, host, pid from runners
        where status in ('active', 'draining') and id <> $1
          and heartbeat_at < now() - make_interval(secs => $2::float8 / 1000)
        for update skip locked`,
      [selfId, deadAfterMs],
    );
    for (const r of dead.rows) {
      await client.query(`update runners set status = 'dead', stopped_at = now() where id = $1`, [r.id]);
      await client.query(
        `update agent_runs set status = 'failed', ended_at = now(), error = '{"message":"runner died"}'::jsonb
          where runner_id = $1 and ended_at is null`,
        [r.id],
      );
      await recordEvent(client, {
        kind: 'runner.dead',
        subjectType: 'runner',
        subjectId: r.id,
        actor: { type: 'runner', id: selfId },
        data: { host: r.host, pid: r.pid },
      });
    }
    await client.query('commit');
    for (const r of dead.rows) {
      if (r.worker_ids.length) await utils.forceUnlockWorkers(r.worker_ids);
      log.warn({ runner: r.id, host: r.host, pid: r.pid }, 'runner declared dead; its jobs were released');
    }
    return dead.rows.map((r) => r.id);
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
