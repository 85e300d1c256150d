import { checkPrd } from '../planner/thread.js';
import { addReplanJob } from '../queue/jobs.js';
import { withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { type SavedRevision, savePrd } from '../store/revisions.js';
import type { ApiContext } from './context.js';

/**
 * Saves PRD text given through the API or the status page as the project's
 * current revision, with the job that re-plans the project, in one
 * transaction: a crash after the answer cannot leave a PRD that was never
 * planned. Saving the same text again queues the re-plan again (reconciling a
 * revision twice changes nothing), so a re-save is always a way to re-plan.
 */
export async function saveApiPrd(
  ctx: ApiContext,
  projectId: string,
  content: string,
  source: 'api' | 'upload',
  actor: Actor,
): Promise<SavedRevision> {
  // A PRD that cannot be planned (too many requirements, too slow) is refused before anything is stored.
  await checkPrd(content);
  return withTransaction(ctx.pool, async (db) => {
    const rev = await savePrd(db, projectId, content, source, actor);
    await addReplanJob(db, projectId, rev.id, actor);
    return rev;
  });
}
