import type pg from 'pg';
import { ApiError } from '../api/errors.js';
import { cloneRepo, existingCloneOf } from '../api/repo-locate.js';
import { fetchRecordedState, importProject } from '../checkpoint/import.js';
import { errorMessage, SamgitaError } from '../errors.js';
import { redactUrl } from '../git/url.js';
import type { Actor } from '../store/events.js';
import { cloneTarget, failClone, finishClone } from '../store/projects.js';

/**
 * The clone_project job: clones a project's repository into `dest` (a
 * temporary sibling renamed when complete, git bound to this process's life)
 * and gives the project its working path. A failure is retried by the queue;
 * on the last attempt, or when `dest` holds something else, the project
 * records why, with no credential in it.
 */
export async function cloneProject(
  pool: pg.Pool,
  projectId: string,
  dest: string,
  timeoutMs: number,
  attempt: { last: boolean },
  importState?: { takeOver: boolean; actor: Actor },
): Promise<void> {
  const target = await cloneTarget(pool, projectId);
  if (target?.clone_state !== 'cloning') return;
  let cloned: string;
  try {
    // A retried import finds its clone made by the attempt before.
    cloned =
      importState && (await existingCloneOf(dest, target.git_url))
        ? dest
        : await cloneRepo(target.git_url, dest, timeoutMs);
  } catch (err) {
    const permanent = err instanceof ApiError && err.statusCode === 409;
    if (!attempt.last && !permanent) throw err;
    await failClone(pool, projectId, redactUrl(errorMessage(err)));
    return;
  }
  if (!importState) {
    await finishClone(pool, projectId, cloned);
    return;
  }
  // The clone has the remote's task branches as remote-tracking refs and no state ref yet.
  await fetchRecordedState(cloned);
  try {
    await importProject(pool, {
      repo: cloned,
      gitUrl: target.git_url,
      name: target.name,
      takeOver: importState.takeOver,
      actor: importState.actor,
      placeholder: projectId,
    });
  } catch (err) {
    // What the state said (none, held by another deployment, malformed) is final: retrying changes nothing.
    if (!(err instanceof SamgitaError) && !attempt.last) throw err;
    await failClone(pool, projectId, `cloned, but not imported: ${redactUrl(errorMessage(err))}`);
  }
}
