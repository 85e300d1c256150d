import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import type { GitHubApp } from '../github/app.js';
import { workDelivery } from '../github/deliveries.js';
import type { Logger } from '../log/logger.js';
import { makeDeliverTask } from '../outgoing-webhooks/deliver.js';
import { CLONE_PROJECT, DELIVER_WEBHOOK, GITHUB_DELIVERY, REPLAN_REVISION, SERVER_JOBS } from '../queue/jobs.js';
import { releaseOrphanedJobs } from '../queue/orphans.js';
import { type JobHandlers, queueUtils, startWorkerPool, type WorkerEvents } from '../queue/worker.js';
import { replanRevision } from '../reconcile/replan-revision.js';
import type { Actor } from '../store/events.js';
import { holdLiveness } from '../store/liveness.js';
import { cloneProject } from './clone-project.js';

export interface ServerWorkOptions {
  pool: pg.Pool;
  log: Logger;
  /** Deliver outgoing webhooks in this process too. */
  webhooks: boolean;
  /** Jobs in flight at once (default 8). */
  concurrency?: number;
  /** The GitHub App, when configured: this worker then handles its accepted deliveries. */
  github?: GitHubApp | null;
  pollIntervalMs?: number;
  /** How often jobs orphaned by a dead server are looked for (default 10 s). */
  orphanCheckMs?: number;
  /** Longest one `git clone` of a project created through the API may take (default 120 s). */
  cloneTimeoutMs?: number;
}

export interface ServerWork {
  /** Looks for server jobs whose worker died (a redelivery arrived; tests) and releases them now. */
  recover(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The work `samgita serve` accepts and then carries out: re-plans of saved
 * PRDs, GitHub deliveries and outgoing webhooks, each a graphile-worker job
 * written in the same transaction as the record that asked for it. The pool
 * holds a liveness lock, so another server (or this one after a restart)
 * takes over a dead one's jobs within seconds.
 */
export async function startServerWork(opts: ServerWorkOptions): Promise<ServerWork> {
  const { pool, log } = opts;
  const taskList: JobHandlers = {
    [REPLAN_REVISION]: async (payload) => {
      const p = payload as { projectId?: unknown; revisionId?: unknown; actor?: unknown };
      if (typeof p.projectId !== 'string' || typeof p.revisionId !== 'string') return;
      await replanRevision(pool, p.projectId, p.revisionId, (p.actor ?? { type: 'system' }) as Actor);
    },
    [CLONE_PROJECT]: async (payload, helpers) => {
      const p = payload as {
        projectId?: unknown;
        dest?: unknown;
        import?: { takeOver?: unknown; actor?: Actor } | null;
      };
      if (typeof p.projectId !== 'string' || typeof p.dest !== 'string') return;
      await cloneProject(
        pool,
        p.projectId,
        p.dest,
        opts.cloneTimeoutMs ?? 120_000,
        { last: helpers.job.attempts >= helpers.job.max_attempts },
        p.import ? { takeOver: p.import.takeOver === true, actor: p.import.actor ?? { type: 'system' } } : undefined,
      );
    },
    ...(opts.webhooks ? { [DELIVER_WEBHOOK]: makeDeliverTask() } : {}),
  };
  const github = opts.github;
  if (github) {
    taskList[GITHUB_DELIVERY] = async (payload) => {
      const id = (payload as { deliveryId?: unknown }).deliveryId;
      if (typeof id === 'string') await workDelivery(pool, github.probot, id);
    };
  }
  const utils = await queueUtils(pool);
  const recover = async () => {
    const dead = await releaseOrphanedJobs(pool, utils, SERVER_JOBS);
    if (dead.length) log.warn({ workers: dead }, 'released the jobs of a server that died');
  };
  // Jobs a dead server left locked: free them before this pool starts looking for work.
  await recover().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'orphan check failed'));

  const events: WorkerEvents = new EventEmitter();
  const liveness: Promise<{ release(): Promise<void> }>[] = [];
  events.on('pool:create', ({ workerPool }) => {
    liveness.push(holdLiveness(pool, workerPool.id));
  });
  const runner = await startWorkerPool(pool, {
    taskList,
    events,
    concurrency: opts.concurrency ?? 8,
    pollInterval: opts.pollIntervalMs ?? 2000,
  });
  await Promise.all(liveness);
  const timer = setInterval(() => {
    void recover().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'orphan check failed'));
  }, opts.orphanCheckMs ?? 10_000);
  timer.unref();

  return {
    recover,
    stop: async () => {
      clearInterval(timer);
      await runner.stop();
      for (const held of await Promise.allSettled(liveness)) {
        if (held.status === 'fulfilled') await held.value.release().catch(() => {});
      }
      await Promise.resolve(utils.release()).catch(() => {});
    },
  };
}
