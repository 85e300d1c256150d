/**
 * Project controls for people (CLI) and machines (API, GitHub app): pause,
 * resume, cancel, archive. The status transition itself goes through the one
 * table in lifecycle.ts; this module adds what each action means for tasks,
 * queue jobs and worktrees.
 */
import { existsSync } from 'node:fs';
import { readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { SamgitaError } from '../errors.js';
import { type Actor, recordEvent } from '../events/record.js';
import { removeWorktree } from '../git/worktree.js';
import { advanceProject } from '../queue/enqueue.js';
import { type ProjectStatus, type TransitionResult, transitionProjectIn } from './lifecycle.js';

export interface ProjectRef {
  id: string;
  name: string;
  status: ProjectStatus;
  working_path: string | null;
  git_url: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

/**
 * Finds a project by id, name, or repository path (its working path or file://
 * URL). A name shared by several projects is ambiguous: the error lists their ids.
 */
export async function resolveProject(db: pg.Pool | pg.PoolClient, ref: string): Promise<ProjectRef> {
  const cols = 'id, name, status, working_path, git_url';
  if (UUID.test(ref)) {
    const { rows } = await db.query<ProjectRef>(`select ${cols} from projects where id = $1`, [ref]);
    if (rows[0]) return rows[0];
  }
  const byName = await db.query<ProjectRef>(`select ${cols} from projects where name = $1 order by inserted_at`, [ref]);
  if (byName.rows.length === 1) return byName.rows[0]!;
  if (byName.rows.length > 1) {
    throw new SamgitaError('CONFLICT', `${byName.rows.length} projects are named "${ref}"`, {
      hint: `use an id: ${byName.rows.map((r) => r.id).join(', ')}`,
    });
  }
  if (existsSync(ref)) {
    const abs = await realpath(ref).catch(() => path.resolve(ref));
    const candidates = [abs, path.resolve(ref)];
    const { rows } = await db.query<ProjectRef>(
      `select ${cols} from projects where working_path = any($1::text[]) or git_url = any($2::text[])
        order by inserted_at limit 1`,
      [candidates, candidates.map((c) => pathToFileURL(c).toString())],
    );
    if (rows[0]) return rows[0];
  }
  throw new SamgitaError('NOT_FOUND', `no project matches "${ref}"`, {
    hint: 'give a project id, its name, or its repository path; `samgita status` lists projects',
  });
}

export type ControlAction = 'pause' | 'resume' | 'cancel' | 'archive';

export interface ControlResult extends TransitionResult {
  /** pause: queued tasks handed back (their jobs removed); resume: tasks queued by advanceProject. */
  requeued: number;
  enqueued: number;
  /** cancel: running tasks marked cancelled (their agents stop at the next checkpoint). */
  stoppedRunning: number;
}

/**
 * Applies a control action in one transaction:
 * - pause: status paused; queued tasks go back to pending and their jobs are
 *   removed, so nothing new is claimed; running tasks finish their current
 *   step, checkpoint, and hand back (the runner sees the project is not running).
 * - resume: status running, then advanceProject queues what is ready.
 * - cancel: status cancelled; pending/blocked/queued tasks cancelled and their
 *   jobs removed (lifecycle), running tasks marked cancelled so the runner stops
 *   them at their next checkpoint. Worktrees: see removeProjectWorktrees.
 * - archive: hides a finished (completed, failed, cancelled) project.
 * Invalid transitions are CONFLICT errors with a hint.
 */
export async function controlProject(
  pool: pg.Pool,
  projectId: string,
  action: ControlAction,
  actor: Actor,
  reason?: string,
): Promise<ControlResult> {
  const result = await withTransaction(pool, async (db) => {
    const t = await transitionProjectIn(db, projectId, action, actor, reason);
    let requeued = 0;
    let stoppedRunning = 0;
    if (action === 'pause') {
      const { rows } = await db.query<{ id: string }>(
        `update tasks set status = 'pending', queued_at = null, updated_at = now()
          where project_id = $1 and status = 'queued' returning id`,
        [projectId],
      );
      requeued = rows.length;
      if (rows.length > 0) {
        await db.query(`select graphile_worker.remove_job('task:' || id::text) from unnest($1::uuid[]) as id`, [
          rows.map((r) => r.id),
        ]);
      }
    }
    if (action === 'cancel') {
      const { rows } = await db.query<{ id: string; key: string }>(
        `update tasks set status = 'cancelled', completed_at = now(), updated_at = now()
          where project_id = $1 and status = 'running' returning id, key`,
        [projectId],
      );
      stoppedRunning = rows.length;
      for (const r of rows) {
        await db.query('select graphile_worker.remove_job($1)', [`task:${r.id}`]);
        await recordEvent(db, {
          projectId,
          kind: 'task.cancelled',
          subjectType: 'task',
          subjectId: r.id,
          actor,
          data: { key: r.key, reason: 'project cancelled while running' },
        });
      }
    }
    return { ...t, requeued, stoppedRunning, enqueued: 0 };
  });
  if (action === 'resume') {
    const advanced = await advanceProject(pool, projectId, actor);
    result.enqueued = advanced.enqueued;
  }
  return result;
}

export function worktreesDir(samgitaHome: string, projectId: string): string {
  return path.join(samgitaHome, 'worktrees', projectId);
}

/** Agent runs of the project still in progress. */
export async function activeRuns(db: pg.Pool | pg.PoolClient, projectId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'select count(*)::int as n from agent_runs where project_id = $1 and ended_at is null',
    [projectId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Removes the project's task worktrees under $SAMGITA_HOME/worktrees/<id>/
 * (`git worktree remove`, then the directory). First waits up to `waitMs` for
 * in-flight agent runs to reach their checkpoint and end, so no agent's
 * checkout vanishes under it; what is still running after that is removed
 * anyway (the task is cancelled). The branches, and so the work, are kept.
 */
export async function removeProjectWorktrees(
  pool: pg.Pool,
  project: { id: string; working_path: string | null },
  samgitaHome: string,
  opts: { waitMs?: number; pollMs?: number; actor?: Actor } = {},
): Promise<{ removed: string[]; stillRunning: number }> {
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let running = await activeRuns(pool, project.id);
  while (running > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
    running = await activeRuns(pool, project.id);
  }
  const dir = worktreesDir(samgitaHome, project.id);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const wt = path.join(dir, e.name);
    if (project.working_path) await removeWorktree(project.working_path, wt).catch(() => {});
    await rm(wt, { recursive: true, force: true });
    removed.push(wt);
  }
  await rm(dir, { recursive: true, force: true });
  if (removed.length > 0) {
    await recordEvent(pool, {
      projectId: project.id,
      kind: 'project.worktrees_removed',
      subjectType: 'project',
      subjectId: project.id,
      ...(opts.actor ? { actor: opts.actor } : {}),
      data: { count: removed.length, still_running: running },
    });
  }
  return { removed, stillRunning: running };
}
