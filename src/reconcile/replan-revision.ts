import type pg from 'pg';
import { advanceProject } from '../projects/transition.js';
import { effectiveConfig } from '../runner/task-config.js';
import type { Actor } from '../store/events.js';
import { reconcileProject } from './reconcile.js';

/**
 * Re-plans a project from a PRD revision already recorded (a PRD set through
 * the API or the status page, FR-1.5/FR-6.7). A revision stored without a
 * configuration (an API upload) uses the project's current samgita.yaml.
 */
export async function replanRevision(pool: pg.Pool, projectId: string, revisionId: string, actor: Actor) {
  const { rows } = await pool.query<{
    content: string;
    config: Record<string, unknown>;
    project_config: unknown;
    status: string;
  }>(
    `select r.content, r.config, p.config as project_config, p.status
       from prd_revisions r join projects p on p.id = r.project_id
      where r.id = $1 and r.project_id = $2`,
    [revisionId, projectId],
  );
  const rev = rows[0];
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
  if (result.actions.length && rev.status === 'running') await advanceProject(pool, projectId, actor);
  return result;
}
