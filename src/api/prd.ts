import { checkPrd } from '../planner/thread.js';
import { addReplanJob } from '../queue/jobs.js';
import { withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { type SavedRevision, savePrd } from '../store/revisions.js';
import type { ApiContext } from './context.js';
import { ApiError } from './errors.js';

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

/** 413 past the documented PRD size, whichever way the text came (JSON, upload, the page). */
export function assertPrdSize(ctx: ApiContext, content: string, field: string): void {
  const bytes = Buffer.byteLength(content);
  if (bytes > ctx.prdMaxBytes) {
    throw new ApiError(
      413,
      'PAYLOAD_TOO_LARGE',
      `the PRD is ${bytes} bytes; at most ${ctx.prdMaxBytes} are accepted`,
      field,
      'split the product into several projects, or move reference material out of PRD.md',
    );
  }
}

/**
 * The body limit of routes that take a PRD as JSON: escaping (every newline is
 * `\n`) makes the JSON up to twice the text, and the text itself is held to
 * prdMaxBytes by assertPrdSize once decoded.
 */
export const prdBodyLimit = (ctx: Pick<ApiContext, 'prdMaxBytes'>) => ctx.prdMaxBytes * 2 + 1024;
