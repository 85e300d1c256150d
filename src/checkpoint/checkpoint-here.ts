/**
 * A state commit written where the repository is (by the runner's
 * checkpointer, the snapshot cron, `samgita run` as it ends), pulled from and
 * pushed to GitHub for a GitHub project. A ref another deployment took over
 * stops the project here: two deployments never both run it.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { holdProject } from '../projects/transition.js';
import type { TaskPublisher } from '../runner/publisher.js';
import { type Pool, withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { findProjectRefById } from '../store/projects.js';
import { heldMessage } from './ownership.js';
import { type CheckpointMemo, checkpointProject } from './write-state.js';

export interface CheckpointDeps {
  pool: Pool;
  publisher?: TaskPublisher | undefined;
  actor: Actor;
  log: Logger;
}

/** Writes (and for a GitHub project pushes) the project's state commit; the commit, or null when none was written here. */
export async function checkpointHere(
  deps: CheckpointDeps,
  projectId: string,
  reason?: string,
  memo?: CheckpointMemo,
): Promise<string | null> {
  const project = await findProjectRefById(deps.pool, projectId);
  if (!project?.working_path || !existsSync(project.working_path)) return null;
  const publisher = deps.publisher;
  const out = await checkpointProject(deps.pool, projectId, project.working_path, {
    ...(publisher?.pullState ? { pull: () => publisher.pullState!(projectId) } : {}),
    ...(reason ? { reason } : {}),
    ...(memo ? { memo } : {}),
  });
  if (out.kind === 'held') {
    const m = heldMessage(out, project.name);
    const held = await withTransaction(deps.pool, (db) =>
      holdProject(db, projectId, deps.actor, 'taken_over', `${m.message}. ${m.hint}`, { by: out.by }),
    );
    if (held) deps.log.warn({ project: project.name, by: out.by }, 'project taken over by another deployment: paused');
    return null;
  }
  if (out.kind !== 'written' && out.kind !== 'unchanged') return null;
  // An unchanged state is pushed again when its push did not go through: a push that failed
  // (GitHub down, a timeout) would otherwise leave GitHub behind until the state next changed.
  if (deps.publisher?.pushState && (out.kind === 'written' || pushed.get(projectId) !== out.sha)) {
    await deps.publisher.pushState(projectId);
    pushed.set(projectId, out.sha);
  }
  return out.sha;
}

/** Project → the state commit this process last pushed to GitHub. */
const pushed = new Map<string, string>();
