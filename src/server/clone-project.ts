import type pg from 'pg';
import { ApiError } from '../api/errors.js';
import { cloneRepo } from '../api/repo-locate.js';
import { errorMessage } from '../errors.js';
import { redactUrl } from '../git/url.js';
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
): Promise<void> {
  const target = await cloneTarget(pool, projectId);
  if (!target || target.clone_state !== 'cloning') return;
  try {
    await finishClone(pool, projectId, await cloneRepo(target.git_url, dest, timeoutMs));
  } catch (err) {
    const permanent = err instanceof ApiError && err.statusCode === 409;
    if (!attempt.last && !permanent) throw err;
    await failClone(pool, projectId, redactUrl(errorMessage(err)));
  }
}
