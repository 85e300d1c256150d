import { withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { type SavedRevision, savePrd } from '../store/revisions.js';
import type { ApiContext } from './context.js';

/**
 * Saves PRD text given through the API or the status page as the project's
 * current revision, then tells the server's re-planning hook about a new one.
 */
export async function saveApiPrd(
  ctx: ApiContext,
  projectId: string,
  content: string,
  source: 'api' | 'upload',
  actor: Actor,
): Promise<SavedRevision> {
  const rev = await withTransaction(ctx.pool, (db) => savePrd(db, projectId, content, source, actor));
  if (rev.created) notifyPrdUpdated(ctx, projectId, rev.id, source, actor);
  return rev;
}

/** Runs the re-planning hook after the response; its failure is logged, never the request's. */
export function notifyPrdUpdated(
  ctx: ApiContext,
  projectId: string,
  revisionId: string,
  source: 'api' | 'upload',
  actor: Actor,
): void {
  if (!ctx.onPrdUpdated) return;
  Promise.resolve()
    .then(() => ctx.onPrdUpdated?.({ projectId, revisionId, source, actor }))
    .catch((err) => ctx.log.error({ err, projectId, revisionId }, 'onPrdUpdated hook failed'));
}
