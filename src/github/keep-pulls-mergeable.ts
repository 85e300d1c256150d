/**
 * With `merge: manual`, people merge a project's pull requests one at a time,
 * and each merge moves the base under the others. After a push to the
 * integration branch, every pull request still waiting for review is asked
 * whether it merges; one that conflicts goes back to the merge queue, which
 * merges the new base into its branch and, on a conflict, hands the hunks to
 * the task's agent (steps/integrate.ts). So every open pull request stays
 * mergeable without anyone asking.
 */
import type pg from 'pg';
import type { ProbotOctokit } from 'probot';
import type { Logger } from '../log/logger.js';
import { advanceProjectIn } from '../projects/transition.js';
import { withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { returnToMergeQueue, tasksWaitingOnPulls } from '../store/tasks.js';

/** GitHub computes `mergeable` in the background after a push: null until it has. */
const MERGEABLE_POLLS = 6;

export async function keepPullsMergeable(
  deps: { pool: pg.Pool; log: Logger },
  kit: ProbotOctokit,
  repo: { owner: string; name: string },
  projectId: string,
  base: { branch: string; sha: string },
  actor: Actor,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<string[]> {
  const waiting = await tasksWaitingOnPulls(deps.pool, projectId);
  const sent: string[] = [];
  for (const task of waiting) {
    let mergeable: boolean | null = null;
    for (let i = 0; i < MERGEABLE_POLLS && mergeable === null; i++) {
      if (i > 0) await sleep(500 * 2 ** i);
      const { data } = await kit.rest.pulls.get({ owner: repo.owner, repo: repo.name, pull_number: task.pr_number! });
      if (data.state !== 'open' || data.base.ref !== base.branch) break;
      mergeable = data.mergeable;
    }
    if (mergeable !== false) continue;
    const note = `pull request #${task.pr_number} conflicts with ${base.branch} at ${base.sha.slice(0, 12)}`;
    const back = await withTransaction(deps.pool, async (db) => {
      if (!(await returnToMergeQueue(db, task, note, actor))) return false;
      await advanceProjectIn(db, projectId, actor);
      return true;
    });
    if (back) {
      deps.log.info(
        { task: task.key, pr: task.pr_number },
        'pull request conflicts with its base; back to the merge queue',
      );
      sent.push(task.key);
    }
  }
  return sent;
}
