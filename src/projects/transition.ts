/**
 * The one place a project's status changes. Every door — `samgita run` and
 * the CLI's controls, the REST API, the status page, the GitHub App, a runner
 * that must stop for a person — calls transitionProject, which in one
 * transaction: locks the project, checks the lifecycle table
 * (domain/project-lifecycle.ts), writes the status, records the event, and
 * does what the new status means for tasks and their jobs. A project that
 * becomes running has its runnable tasks queued in the same transaction.
 *
 * advanceProject is the other half: a running project whose current phase is
 * done moves to the next phase, completes or fails (through the same
 * transition), and whatever became ready is queued.
 */
import type pg from 'pg';
import { decideTransition, type ProjectAction, runAction, TRANSITIONS } from '../domain/project-lifecycle.js';
import type { ProjectStatus } from '../domain/states.js';
import { SamgitaError } from '../errors.js';
import { addIntegrationVerifyJob, advanceWork, queueReadyTasks, removeTaskJobs } from '../queue/jobs.js';
import { decidePhase, integrationGate, PHASES } from '../queue/phase.js';
import { type PoolClient, withTransaction } from '../store/connection.js';
import { type Actor, recordEvent, SYSTEM_ACTOR } from '../store/events.js';
import { lockProject, writeProjectPhase, writeProjectStatus } from '../store/projects.js';
import { cancelProjectTasks, handBackQueuedTasks, phaseCounts } from '../store/tasks.js';

/** Why Samgita held a project for a person (action `hold`); a spent budget is recorded as `budget.exceeded`. */
export type HoldCause = 'budget' | 'auth' | 'billing' | 'provider' | 'sandbox' | 'taken_over';

export interface TransitionOptions {
  /** Kept in `status_reason` and the event. */
  reason?: string | undefined;
  /** For `hold`: why. */
  cause?: HoldCause | undefined;
  /** Extra fields for the event. */
  data?: Record<string, unknown> | undefined;
}

export interface TransitionResult {
  id: string;
  from: ProjectStatus;
  to: ProjectStatus;
  eventId: number;
  /** cancel/remove: open tasks (pending, blocked, queued) cancelled. */
  cancelledTasks: number;
  /** cancel/remove: running tasks marked cancelled (their agents stop at once). */
  stoppedRunning: number;
  /** pause/hold: queued tasks handed back to pending (their jobs removed). */
  requeued: number;
  /** start/resume/reopen: tasks queued because the project runs again. */
  enqueued: number;
}

/** Applies `action` inside the caller's transaction. Throws CONFLICT when the table forbids it. */
export async function transitionProjectIn(
  db: PoolClient,
  projectId: string,
  action: ProjectAction,
  actor: Actor,
  opts: TransitionOptions = {},
): Promise<TransitionResult> {
  const project = await lockProject(db, projectId);
  if (!project) throw new SamgitaError('NOT_FOUND', `project ${projectId} not found`);
  const decision = decideTransition(project.status, action);
  if (!decision.ok) throw new SamgitaError('CONFLICT', decision.message, { hint: decision.hint });
  await writeProjectStatus(db, projectId, decision.to, opts.reason ?? null);
  const result: TransitionResult = {
    id: projectId,
    from: project.status,
    to: decision.to,
    eventId: 0,
    cancelledTasks: 0,
    stoppedRunning: 0,
    requeued: 0,
    enqueued: 0,
  };
  if (action === 'pause' || action === 'hold') {
    const ids = await handBackQueuedTasks(db, projectId);
    await removeTaskJobs(db, ids);
    result.requeued = ids.length;
  }
  if (action === 'cancel' || action === 'remove') {
    const open = await cancelProjectTasks(db, projectId, ['pending', 'blocked', 'queued']);
    const running = await cancelProjectTasks(db, projectId, ['running']);
    await removeTaskJobs(
      db,
      [...open, ...running].map((t) => t.id),
    );
    for (const t of running) {
      await recordEvent(db, {
        projectId,
        kind: 'task.cancelled',
        subjectType: 'task',
        subjectId: t.id,
        actor,
        data: { key: t.key, reason: `project ${action === 'cancel' ? 'cancelled' : 'removed'} while running` },
      });
    }
    result.cancelledTasks = open.length;
    result.stoppedRunning = running.length;
  }
  result.eventId = await recordEvent(db, {
    projectId,
    kind: action === 'hold' && opts.cause === 'budget' ? 'budget.exceeded' : TRANSITIONS[action].event,
    subjectType: 'project',
    subjectId: projectId,
    actor,
    data: {
      from: project.status,
      to: decision.to,
      ...(opts.reason ? { reason: opts.reason } : {}),
      ...(opts.cause ? { cause: opts.cause } : {}),
      ...(action === 'cancel' || action === 'remove' ? { cancelled_tasks: result.cancelledTasks } : {}),
      ...opts.data,
    },
  });
  if (decision.to === 'running') result.enqueued = (await advanceProjectIn(db, projectId, actor)).enqueued;
  return result;
}

/**
 * Samgita stops a running project for a person to act (inside the caller's
 * transaction); a project that is no longer running is left as it is (another
 * task got there first, or a person paused it).
 */
export async function holdProject(
  db: PoolClient,
  projectId: string,
  actor: Actor,
  cause: HoldCause,
  reason: string,
  data?: Record<string, unknown>,
): Promise<boolean> {
  const project = await lockProject(db, projectId);
  if (project?.status !== 'running') return false;
  await transitionProjectIn(db, projectId, 'hold', actor, { reason, cause, data });
  return true;
}

/**
 * Makes a project run from wherever it stands (`samgita run`, `samgita start`,
 * a push of a new desired state): pending starts, failed resumes, completed
 * reopens, paused resumes only when `resumePaused` (a push must not override a
 * person's pause); an already running project queues whatever is ready.
 * Returns the tasks queued, or null when the project cannot run (cancelled,
 * archived, or paused without `resumePaused`).
 */
export async function runProject(
  pool: pg.Pool,
  projectId: string,
  actor: Actor,
  opts: { resumePaused: boolean; reason?: string },
): Promise<{ status: ProjectStatus; enqueued: number } | null> {
  return withTransaction(pool, async (db) => {
    const project = await lockProject(db, projectId);
    if (!project) throw new SamgitaError('NOT_FOUND', `project ${projectId} not found`);
    if (project.status === 'running') {
      const r = await advanceProjectIn(db, projectId, actor);
      return { status: r.status === 'missing' ? 'running' : r.status, enqueued: r.enqueued };
    }
    const action = runAction(project.status);
    if (!action || (project.status === 'paused' && !opts.resumePaused)) return null;
    const r = await transitionProjectIn(db, projectId, action, actor, { data: { reason: opts.reason } });
    return { status: r.to, enqueued: r.enqueued };
  });
}

/** Applies `action` in a transaction of its own. */
export function transitionProject(
  pool: pg.Pool,
  projectId: string,
  action: ProjectAction,
  actor: Actor,
  opts: TransitionOptions = {},
): Promise<TransitionResult> {
  return withTransaction(pool, (db) => transitionProjectIn(db, projectId, action, actor, opts));
}

export interface AdvanceResult {
  status: ProjectStatus | 'missing';
  phase: string;
  enqueued: number;
}

/**
 * Moves a running project forward, inside the caller's transaction: advances
 * its phase when the current one is done (FR-4.3), completes or fails it when
 * nothing is left, and queues every task of the current phase whose
 * dependencies have completed (FR-3.2). Safe from any number of runners at
 * once: the project row is locked until the transaction ends.
 */
export async function advanceProjectIn(db: PoolClient, projectId: string, actor: Actor): Promise<AdvanceResult> {
  const project = await lockProject(db, projectId);
  if (!project) return { status: 'missing', phase: '', enqueued: 0 };
  if (project.status !== 'running') return { status: project.status, phase: project.phase, enqueued: 0 };
  const configured = (project.config as { phases?: string[] }).phases;
  const enabled = configured?.length ? configured : PHASES.slice(0, 9);

  let phase: string = project.phase;
  for (let guard = 0; guard < PHASES.length + 1; guard++) {
    const decision = decidePhase(enabled, phase, await phaseCounts(db, projectId));
    if (decision.kind === 'work') break;
    if (decision.kind !== 'stuck') {
      // A phase ends (and the project completes) only on an integration head that verify passed.
      const gate = integrationGate(project);
      if (gate.kind === 'verify') {
        await addIntegrationVerifyJob(db, projectId);
        return { status: 'running', phase, enqueued: 0 };
      }
      if (gate.kind === 'failed') {
        const done = await transitionProjectIn(db, projectId, 'fail', actor, {
          reason: gate.reason,
          data: { phase, integration_head: project.integration_head },
        });
        return { status: done.to, phase, enqueued: 0 };
      }
    }
    if (decision.kind === 'advance') {
      await writeProjectPhase(db, projectId, decision.to);
      await recordEvent(db, {
        projectId,
        kind: 'project.phase_changed',
        subjectType: 'project',
        subjectId: projectId,
        actor,
        data: { from: decision.from, to: decision.to },
      });
      phase = decision.to;
      continue;
    }
    const done = await transitionProjectIn(
      db,
      projectId,
      decision.kind === 'complete' ? 'complete' : 'fail',
      actor,
      decision.kind === 'stuck'
        ? {
            reason: `${decision.failed} task(s) failed in phase ${decision.phase}; retry them with \`samgita retry <task>\``,
            data: { phase },
          }
        : { data: { phase } },
    );
    return { status: done.to, phase, enqueued: 0 };
  }

  const ready = await queueReadyTasks(db, projectId, phase);
  return { status: 'running', phase, enqueued: ready.length };
}

/**
 * advanceProjectIn in a transaction of its own; when the project has work left
 * in its phase (the common case: a task became ready), in one round trip
 * (advanceWork) instead.
 */
export async function advanceProject(
  pool: pg.Pool,
  projectId: string,
  actor: Actor = SYSTEM_ACTOR,
): Promise<AdvanceResult> {
  const fast = await advanceWork(pool, projectId, { requested: false });
  if (fast.outcome === 'work') return { status: 'running', phase: fast.phase, enqueued: fast.queued };
  return withTransaction(pool, (db) => advanceProjectIn(db, projectId, actor));
}
