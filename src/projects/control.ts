/**
 * Project controls for people: finding a project by what they typed, the
 * control actions (through projects/transition.ts), and removing a cancelled
 * project's worktrees.
 */
import { existsSync } from 'node:fs';
import { readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import type { UserAction } from '../domain/project-lifecycle.js';
import type { ProjectStatus } from '../domain/states.js';
import { SamgitaError } from '../errors.js';
import { removeWorktree } from '../git/worktree.js';
import { type Actor, recordEvent } from '../store/events.js';
import { type TransitionResult, transitionProject } from './transition.js';

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

export type ControlAction = UserAction;
export type ControlResult = TransitionResult;

/**
 * A person's control action on a project (CLI, REST API, status page, GitHub
 * comment): the lifecycle transition, with its effects on tasks and jobs
 * (projects/transition.ts). Invalid transitions are CONFLICT errors with a hint.
 */
export async function controlProject(
  pool: pg.Pool,
  projectId: string,
  action: ControlAction,
  actor: Actor,
  reason?: string,
): Promise<ControlResult> {
  return transitionProject(pool, projectId, action, actor, { reason });
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
