/** What the API reads of PRD revisions. */
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { RevisionRow } from '../revisions.js';
import { maybeOne, sql } from '../sql.js';

/** The samgita.yaml of the project's current revision and its hash; null without a current revision. */
export async function readCurrentRevisionConfig(
  db: Queryable,
  projectId: string,
): Promise<{ config: unknown; config_hash: string } | null> {
  return maybeOne(
    db,
    z.object({ config: z.unknown(), config_hash: z.string() }),
    sql`select r.config, r.config_hash from projects p join prd_revisions r on r.id = p.current_revision_id
         where p.id = ${projectId}`,
  );
}

const RevisionSummary = RevisionRow;

export async function readRevisionSummary(
  db: Queryable,
  revisionId: string,
): Promise<z.output<typeof RevisionSummary> | null> {
  return maybeOne(
    db,
    RevisionSummary,
    sql`select id, project_id, commit_sha, content_hash, source, inserted_at from prd_revisions where id = ${revisionId}`,
  );
}
