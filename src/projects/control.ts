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
import { SamgitaError } from '../errors.js';
import { removeWorktree } from '../git/worktree.js';
import type { Queryable } from '../store/connection.js';
import { type Actor, recordEvent } from '../store/events.js';
import {
  findProjectRefById,
  findProjectRefByLocation,
  findProjectRefsByName,
  liveAgentRuns,
  type ProjectRef,
} from '../store/projects.js';
import { type TransitionResult, transitionProject } from './transition.js';

export type { ProjectRef };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

/**
 * Finds a project by id, name, or repository path (its working path or file://
 * URL). A name shared by several projects is ambiguous: the error lists their ids.
 */
export async function resolveProject(db: Queryable, ref: string): Promise<ProjectRef> {
  if (UUID.test(ref)) {
    const byId = await findProjectRefById(db, ref);
    if (byId) return byId;
  }
  const byName = await findProjectRefsByName(db, ref);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new SamgitaError('CONFLICT', `${byName.length} projects are named "${ref}"`, {
      hint: `use an id: ${byName.map((r) => r.id).join(', ')}`,
    });
  }
  if (existsSync(ref)) {
    const abs = await realpath(ref).catch(() => path.resolve(ref));
    const candidates = [abs, path.resolve(ref)];
    const found = await findProjectRefByLocation(
      db,
      candidates,
      candidates.map((c) => pathToFileURL(c).toString()),
    );
    if (found) return found;
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
export const activeRuns = liveAgentRuns;

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
