import type pg from 'pg';
import { effectiveConfig } from '../config/effective.js';
import { advanceProject } from '../projects/transition.js';
import type { Actor } from '../store/events.js';
import { readRevision } from '../store/revisions.js';
import { reconcileProject } from './reconcile.js';

/**
 * Re-plans a project from a PRD revision already recorded (a PRD set through
 * the API or the status page, FR-1.5/FR-6.7). A revision stored without a
 * configuration (an API upload) uses the project's current samgita.yaml.
 */
export async function replanRevision(pool: pg.Pool, projectId: string, revisionId: string, actor: Actor) {
  const rev = await readRevision(pool, projectId, revisionId);
  if (!rev) return null;
  const config = effectiveConfig(Object.keys(rev.config ?? {}).length ? rev.config : rev.project_config);
  const result = await reconcileProject(pool, {
    projectId,
    revisionId,
    prd: rev.content,
    config,
    dryRun: false,
    actor,
  });
  // A running project queues whatever became ready (advanceProject leaves any other status as it is).
  if (result.actions.length) await advanceProject(pool, projectId, actor);
  return result;
}
