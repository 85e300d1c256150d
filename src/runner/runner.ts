import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type pg from 'pg';
import { checkpointHere } from '../checkpoint/checkpoint-here.js';
import { Checkpointer } from '../checkpoint/checkpointer.js';
import { errorMessage } from '../errors.js';
import { CheckoutCopies } from '../git/checkout-copies.js';
import { WorktreeSpares } from '../git/worktree-spares.js';
import { type Logger, logger } from '../log/logger.js';
import { RUN_TASK, VERIFY_INTEGRATION } from '../queue/jobs.js';
import { makeSnapshotTask, repairQueue, SNAPSHOT_CRONTAB, TAKE_SNAPSHOTS } from '../queue/maintenance.js';
import {
  type JobHandlers,
  queueUtils,
  startWorkerPool,
  type WorkerEvents,
  type WorkerRunner,
  type WorkerUtils,
} from '../queue/worker.js';
import { probeSandbox } from '../sandbox/bwrap.js';
import { useSpawner } from '../spawner/helper.js';
import { EVENTS_CHANNEL, pauseAborts, recordEvent } from '../store/events.js';
import { holdLiveness } from '../store/liveness.js';
import {
  declareDeadRunners,
  heartbeatRunner,
  markRunnerDraining,
  markRunnerStopped,
  type RunnerSandbox,
  registerRunner,
  setRunnerWorkers,
} from '../store/runners.js';
import { VERSION } from '../version.js';
import { isInfrastructureError } from './decide/failure.js';
import { Gate } from './gate.js';
import { verifyIntegration } from './integration-check.js';
import type { ProviderBackoff } from './provider.js';
import type { TaskPublisher } from './publisher.js';
import { runTask } from './run-task.js';
import { untilDatabaseAnswers } from './until-database.js';

export interface RunnerOptions {
  pool: pg.Pool;
  samgitaHome: string;
  claudeBin: string;
  claudeEnv?: Record<string, string | undefined>;
  /** How many tasks this runner works on at once. */
  concurrency: number;
  name?: string;
  /** Heartbeat interval (default 2 s). */
  heartbeatMs?: number;
  /**
   * A runner silent for this long is declared dead whatever PostgreSQL says of its session
   * (default 120 s: wedged but connected). One whose session is gone is dead after 2.5 heartbeats.
   */
  deadAfterMs?: number;
  /** How long a drain waits for running steps to reach a checkpoint. */
  drainTimeoutMs?: number;
  pollIntervalMs?: number;
  /** First retry delay of a failed attempt (doubles per attempt, jittered). Default 5 s. */
  retryBaseMs?: number;
  /** Wait between provider probes during an outage (default 10 s doubling to 5 min). */
  providerBackoff?: ProviderBackoff;
  /**
   * Where the runner's own session lives (liveness lock and LISTEN for task stops), when `pool`
   * does not reach PostgreSQL directly. Default: the pool's connection settings.
   */
  sessionDatabaseUrl?: string;
  /** Extra graphile-worker tasks served by the same pool (e.g. webhook delivery). */
  extraTasks?: JobHandlers;
  onTaskSettled?: (taskId: string, status: string) => void;
  /** Called when a run_task job's handler is entered (benchmarks, metrics). */
  onTaskStart?: (taskId: string) => void;
  publisher?: TaskPublisher;
  /** `--no-sandbox`: agents and verify commands run on the host whatever samgita.yaml says. */
  sandboxOff?: boolean;
  /**
   * Spare checkouts kept ready per repository (default: concurrency, at most 4; 0 disables), so a task
   * starts without waiting for git to write its tree.
   */
  worktreeSpares?: number;
  log?: Logger;
}

export interface RunningRunner {
  id: string;
  /** How this runner confines agents. */
  sandbox: RunnerSandbox;
  /** Stop claiming, let running steps reach a checkpoint (bounded), release, mark stopped. */
  stop(): Promise<void>;
  /** Stop running agents now (their CLI processes are killed); the tasks go back to the queue. */
  abort(): void;
  readonly done: Promise<void>;
  /** Tasks running on this runner now. */
  inFlight(): number;
}

/** Heartbeat interval: a dead runner's tasks run again within about three of these. */
export const DEFAULT_HEARTBEAT_MS = 2_000;
/** Silence after which a runner is dead even while PostgreSQL still holds its session. */
export const DEFAULT_DEAD_AFTER_MS = 120_000;

/**
 * A runner process's worker: registers itself, heartbeats, claims `run_task`
 * jobs through graphile-worker, and declares dead the runners PostgreSQL no longer holds a session for so their jobs
 * are released and resumed elsewhere.
 */
export async function startRunner(opts: RunnerOptions): Promise<RunningRunner> {
  const log = (opts.log ?? logger()).child({ component: 'runner' });
  const host = os.hostname();
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const deadAfterMs = opts.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
  // Silence that, with a free liveness lock, means dead: long enough for a live runner to beat again.
  const graceMs = Math.max(Math.round(heartbeatMs * 2.5), 1_000);
  const sandbox = await runnerSandbox(opts.sandboxOff ?? false);
  if (sandbox.state === 'unavailable')
    log.warn(
      { reason: sandbox.detail },
      'agents cannot be sandboxed here: only projects with `sandbox: { enabled: false }` will run; install bubblewrap, or start with --no-sandbox',
    );
  // PostgreSQL holds this lock for exactly as long as this process's session lives: when it dies,
  // other runners see the lock free and take its tasks back within a couple of heartbeats. It is
  // taken before the runner's row exists, so no runner ever sees the row without the lock.
  // The same connection LISTENs for task stops: a runner's session costs one connection
  // (see runnerConnections), and graphile-worker's LISTEN takes one of the pool's.
  const runnerId = randomUUID();
  const inFlight = new InFlight();
  let checkpointer: Checkpointer | null = null;
  const liveness = await holdLiveness(opts.pool, runnerId, {
    ...(opts.sessionDatabaseUrl ? { connectionString: opts.sessionDatabaseUrl } : {}),
    listen: {
      channel: EVENTS_CHANNEL,
      onPayload: withCheckpoints(stopsHandler(opts.pool, inFlight, log), () => checkpointer),
    },
  });
  await registerRunner(opts.pool, {
    id: runnerId,
    name: opts.name ?? `${host}:${process.pid}`,
    host,
    pid: process.pid,
    capacity: opts.concurrency,
    version: VERSION,
    sandbox,
  });
  await recordEvent(opts.pool, {
    kind: 'runner.started',
    subjectType: 'runner',
    subjectId: runnerId,
    actor: { type: 'runner', id: runnerId },
    data: { host, pid: process.pid, capacity: opts.concurrency, sandbox: sandbox.state },
  });

  /** Hard stop: running CLI processes are killed (after the drain timeout). */
  const shutdown = new AbortController();
  /** Soft stop: running tasks finish their step and hand back at the checkpoint. */
  const drain = new AbortController();
  const workerIds = new Set<string>();
  // Tasks doing database/git work at once: about the pool's size, so none waits long for a connection.
  const gate = new Gate(Math.max(2, (opts.pool.options.max ?? 10) - 2));
  const spares = new WorktreeSpares(opts.worktreeSpares ?? Math.min(opts.concurrency, 4));
  const copies = new CheckoutCopies();
  const releaseSpawner = useSpawner();
  const utils: WorkerUtils = await queueUtils(opts.pool);

  // Before claiming anything: give back jobs to tasks that lost them (restored backup, manual cleanup).
  await repairQueue(opts.pool).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'queue repair failed'));
  const checkpointDeps = {
    pool: opts.pool,
    publisher: opts.publisher,
    actor: { type: 'runner', id: runnerId } as const,
    log,
  };
  // The repository's record of the projects this runner works on (refs/samgita/state), at most 5 s behind.
  checkpointer = new Checkpointer(checkpointDeps, () => inFlight.projects());
  const taskList: JobHandlers = {
    [TAKE_SNAPSHOTS]: makeSnapshotTask(opts.pool, (projectId) =>
      checkpointHere(checkpointDeps, projectId, 'Snapshot.'),
    ),
    ...opts.extraTasks,
    [VERIFY_INTEGRATION]: async (payload, helpers) => {
      const projectId = (payload as { projectId?: unknown }).projectId;
      if (typeof projectId !== 'string') return;
      await verifyIntegration(
        {
          pool: opts.pool,
          samgitaHome: opts.samgitaHome,
          ...(opts.sandboxOff ? { sandboxOff: true } : {}),
          gate,
          runnerId,
          log,
          signal: AbortSignal.any([shutdown.signal, helpers.abortSignal]),
          ...(opts.publisher ? { publisher: opts.publisher } : {}),
        },
        projectId,
      );
    },
    [RUN_TASK]: async (payload, helpers) => {
      const taskId = (payload as { taskId?: unknown }).taskId;
      if (typeof taskId !== 'string') {
        helpers.logger.error(`run_task job ${helpers.job.id} has no taskId; dropped`);
        return;
      }
      opts.onTaskStart?.(taskId);
      await runTask(
        {
          pool: opts.pool,
          runnerId,
          host,
          claudeBin: opts.claudeBin,
          samgitaHome: opts.samgitaHome,
          ...(opts.sandboxOff ? { sandboxOff: true } : {}),
          ...(opts.claudeEnv ? { claudeEnv: opts.claudeEnv } : {}),
          log,
          signal: AbortSignal.any([shutdown.signal, helpers.abortSignal]),
          drain: drain.signal,
          ...(opts.retryBaseMs !== undefined ? { retryBaseMs: opts.retryBaseMs } : {}),
          ...(opts.providerBackoff ? { providerBackoff: opts.providerBackoff } : {}),
          track: (id, projectId) => {
            checkpointer?.touch(projectId);
            return inFlight.add(id, projectId);
          },
          spares,
          copies,
          gate,
          ...(opts.onTaskSettled ? { onSettled: opts.onTaskSettled } : {}),
          ...(opts.publisher ? { publisher: opts.publisher } : {}),
        },
        taskId,
      );
    },
  };

  // Workers are created inside run(), so the listener must be attached before it:
  // without their ids a SIGKILLed runner's jobs could not be released.
  const events: WorkerEvents = new EventEmitter();
  // graphile-worker 0.17 locks jobs with the pool's id (locked_by = pool-…);
  // the per-worker ids are kept too, for versions that lock per worker.
  events.on('pool:create', ({ workerPool }) => {
    workerIds.add(workerPool.id);
  });
  events.on('worker:create', ({ worker: w }) => {
    workerIds.add(w.workerId);
  });
  const startPool = () =>
    startWorkerPool(opts.pool, {
      events,
      concurrency: opts.concurrency,
      pollInterval: opts.pollIntervalMs ?? 1_000,
      taskList,
      // graphile-worker runs each cron slot once across all runners.
      crontab: SNAPSHOT_CRONTAB,
      gracefulShutdownAbortTimeout: opts.drainTimeoutMs ?? 30_000,
      // With many workers, each polls for its own job (1,000 get_job queries a second
      // from an idle runner of concurrency 1,000); from LOCAL_QUEUE_FROM the pool fetches
      // for them. Batches stay small and short-lived: jobs in a local queue are locked to
      // this runner, and another runner with free slots must not wait long for them.
      // Completions and failures are written in batches too (one connection for all the
      // jobs that ended within a few milliseconds), so 1,000 workers fit a pool of a few connections.
      ...(opts.concurrency >= LOCAL_QUEUE_FROM
        ? {
            preset: {
              worker: {
                localQueue: { size: LOCAL_QUEUE_SIZE, ttl: 10_000 },
                completeJobBatchDelay: JOB_BATCH_DELAY_MS,
                failJobBatchDelay: JOB_BATCH_DELAY_MS,
              },
            },
          }
        : {}),
    });
  let worker: WorkerRunner = await startPool();
  await setRunnerWorkers(opts.pool, runnerId, [...workerIds]);

  const beat = async () => {
    try {
      await heartbeatRunner(opts.pool, runnerId, [...workerIds]);
      // Only with a lock held for a while: after PostgreSQL restarts, every runner's lock is gone until
      // it reconnects, and none must be taken for dead in that moment.
      const held = liveness.heldSince();
      if (held !== null && Date.now() - held >= graceMs) {
        await reapDeadRunners(opts.pool, utils, runnerId, { graceMs, deadAfterMs }, log);
      }
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
      await markRunnerDraining(opts.pool, runnerId).catch(() => {});
      // Running steps finish and hand their task back at the checkpoint; after
      // drainTimeoutMs graphile-worker aborts helpers.abortSignal, which kills the CLI.
      drain.abort();
      const hard = setTimeout(() => shutdown.abort(), (opts.drainTimeoutMs ?? 30_000) + 1_000);
      hard.unref();
      await worker.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'worker stop failed'));
      clearTimeout(hard);
      await checkpointer?.flush();
      await Promise.all([spares.close(), copies.close()]).catch(() => {});
      releaseSpawner();
      await utils.forceUnlockWorkers([...workerIds]).catch(() => {});
      await Promise.resolve(utils.release()).catch(() => {});
      await markRunnerStopped(opts.pool, runnerId).catch(() => {});
      await liveness.release();
      await recordEvent(opts.pool, {
        kind: 'runner.stopped',
        subjectType: 'runner',
        subjectId: runnerId,
        actor: { type: 'runner', id: runnerId },
      }).catch(() => {});
    })();
    return stopping;
  };

  // graphile-worker's pool ends when it loses PostgreSQL (a restart, a failover): the runner waits for
  // the database and starts a new pool, instead of exiting and leaving its machine idle.
  const supervised = (async () => {
    for (;;) {
      try {
        await worker.promise;
        return;
      } catch (err) {
        const message = errorMessage(err);
        if (stopping || !isInfrastructureError(message)) throw err;
        log.warn({ err: message }, 'the job queue lost PostgreSQL; starting it again once the database answers');
        await untilDatabaseAnswers(
          'restart the job queue',
          async () => {
            worker = await startPool();
          },
          { log, maxMs: 60 * 60_000 },
        );
        await setRunnerWorkers(opts.pool, runnerId, [...workerIds]).catch(() => {});
      }
    }
  })();

  return {
    id: runnerId,
    sandbox,
    stop,
    abort: () => shutdown.abort(),
    done: supervised.then(() => stopping ?? undefined),
    inFlight: () => inFlight.size,
  };
}

/** Concurrency from which jobs are fetched in batches (graphile-worker's localQueue). */
const LOCAL_QUEUE_FROM = 32;
/** Jobs fetched per batch: at most this many are locked to a runner that cannot start them yet. */
const LOCAL_QUEUE_SIZE = 16;
/** How long graphile-worker gathers job completions (and failures) into one statement. */
const JOB_BATCH_DELAY_MS = 5;

/** The fewest connections a runner works with: its session, graphile-worker's LISTEN, one for queries. */
export const MIN_RUNNER_CONNECTIONS = 3;
/**
 * A runner's connections unless told otherwise (`--pool-size`, SAMGITA_RUNNER_POOL_SIZE): 10 runners
 * take 80 of PostgreSQL's default max_connections of 100, leaving room for a server and psql.
 */
export const DEFAULT_RUNNER_CONNECTIONS = 8;

/**
 * How a runner's `total` PostgreSQL connections are spent: one session connection of its
 * own (liveness lock + LISTEN samgita_events), the rest in the pg pool it shares with
 * graphile-worker, whose LISTEN holds one of them for good; queries get the others.
 */
export function runnerConnections(total: number): { session: 1; pool: number; queries: number } {
  if (!Number.isInteger(total) || total < MIN_RUNNER_CONNECTIONS)
    throw new RangeError(`a runner needs at least ${MIN_RUNNER_CONNECTIONS} connections, got ${total}`);
  return { session: 1, pool: total - 1, queries: total - 2 };
}

/** Tasks running on this runner, each with a controller that stops it at once. */
class InFlight {
  private readonly tasks = new Map<string, { projectId: string; controller: AbortController }>();
  get size(): number {
    return this.tasks.size;
  }
  add(taskId: string, projectId: string): { signal: AbortSignal; release(): void } {
    const controller = new AbortController();
    this.tasks.set(taskId, { projectId, controller });
    return { signal: controller.signal, release: () => this.tasks.delete(taskId) };
  }
  /** The projects with a task here now. */
  projects(): Set<string> {
    return new Set([...this.tasks.values()].map((t) => t.projectId));
  }
  abortTask(taskId: string, reason: string): boolean {
    const t = this.tasks.get(taskId);
    t?.controller.abort(new Error(reason));
    return Boolean(t);
  }
  abortProject(projectId: string, reason: string): number {
    let n = 0;
    for (const t of this.tasks.values()) {
      if (t.projectId !== projectId) continue;
      t.controller.abort(new Error(reason));
      n++;
    }
    return n;
  }
}

interface EventNotice {
  id: number;
  kind: string;
  project_id: string | null;
  subject_id: string | null;
}

/**
 * For samgita_events notifications (LISTENed on the runner's session connection,
 * see holdLiveness): stops in-flight agents at once when their task
 * is cancelled or restarted by re-planning, or their project is cancelled (or
 * paused with `data.abort`). A plain pause is not handled here: running tasks
 * reach their next checkpoint and hand back (checkpointGate).
 */
/** Events of a project this runner works on make its state commit due (a phase change, a pause). */
function withCheckpoints(
  handle: (payload: string) => void,
  checkpointer: () => Checkpointer | null,
): (payload: string) => void {
  return (payload) => {
    handle(payload);
    const c = checkpointer();
    if (!c) return;
    try {
      const e = JSON.parse(payload) as EventNotice;
      if (e.project_id && /^(project|task)\./.test(e.kind)) c.noticed(e.project_id);
    } catch {
      // not an event notice
    }
  };
}

function stopsHandler(pool: pg.Pool, inFlight: InFlight, log: Logger): (payload: string) => void {
  return (payload: string) => {
    if (inFlight.size === 0) return;
    let e: EventNotice;
    try {
      e = JSON.parse(payload) as EventNotice;
    } catch {
      return;
    }
    if ((e.kind === 'task.cancelled' || e.kind === 'task.restarted') && e.subject_id) {
      if (inFlight.abortTask(e.subject_id, e.kind)) log.info({ task: e.subject_id, kind: e.kind }, 'agent stopped');
    } else if (e.kind === 'project.cancelled' && e.project_id) {
      inFlight.abortProject(e.project_id, e.kind);
    } else if (e.kind === 'project.paused' && e.project_id) {
      const projectId = e.project_id;
      void pauseAborts(pool, e.id)
        .then((abort) => {
          if (abort) inFlight.abortProject(projectId, 'project.paused (abort)');
        })
        .catch(() => {});
    }
  };
}

/**
 * Declares dead the runners whose session PostgreSQL has closed (their liveness
 * lock is free and they are silent past `graceMs`), or that are silent past
 * `deadAfterMs` whatever their session, and releases
 * their graphile-worker locks, so their tasks resume on a live runner from
 * their last checkpoint instead of waiting hours for the lock to expire.
 */
export async function reapDeadRunners(
  pool: pg.Pool,
  utils: WorkerUtils,
  selfId: string,
  timing: { graceMs: number; deadAfterMs: number },
  log: Logger,
): Promise<string[]> {
  const dead = await declareDeadRunners(pool, selfId, timing);
  for (const r of dead) {
    if (r.worker_ids.length) await utils.forceUnlockWorkers(r.worker_ids);
    log.warn({ runner: r.id, host: r.host, pid: r.pid }, 'runner declared dead; its jobs were released');
  }
  return dead.map((r) => r.id);
}

/** How this runner confines agents: bubblewrap when it works here, unless turned off. */
export async function runnerSandbox(off: boolean): Promise<RunnerSandbox> {
  if (off) return { state: 'off', detail: 'started with --no-sandbox' };
  const probe = await probeSandbox();
  return probe.available
    ? { state: 'bubblewrap', detail: probe.version }
    : { state: 'unavailable', detail: probe.reason };
}
