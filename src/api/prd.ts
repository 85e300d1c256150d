import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type Actor, recordEvent } from '../store/events.js';

export interface SavedRevision {
  id: string;
  project_id: string;
  commit_sha: string | null;
  content_hash: string;
  source: string;
  inserted_at: Date;
  created: boolean;
}

/**
 * Stores PRD text as a revision and makes it the project's current one, in the
 * caller's transaction. The same text as the current revision changes nothing
 * (`created: false`, no event).
 */
export async function savePrd(
  db: pg.PoolClient,
  projectId: string,
  content: string,
  source: 'api' | 'upload',
  actor: Actor,
): Promise<SavedRevision> {
  const hash = createHash('sha256').update(content).digest('hex');
  const cols = 'id, project_id, commit_sha, content_hash, source, inserted_at';
  let { rows } = await db.query<Omit<SavedRevision, 'created'>>(
    `insert into prd_revisions (project_id, content, content_hash, source) values ($1, $2, $3, $4)
     on conflict do nothing returning ${cols}`,
    [projectId, content, hash, source],
  );
  if (!rows[0]) {
    ({ rows } = await db.query<Omit<SavedRevision, 'created'>>(
      `select ${cols} from prd_revisions
       where project_id = $1 and commit_sha is null and content_hash = $2 and config_hash = ''`,
      [projectId, hash],
    ));
  }
  const rev = rows[0]!;
  const upd = await db.query<{ previous: string | null }>(
    `update projects p set prd_content = $2, current_revision_id = $3, updated_at = now()
     from (select current_revision_id as previous from projects where id = $1 for update) old
     where p.id = $1 returning old.previous`,
    [projectId, content, rev.id],
  );
  const changed = upd.rows[0]?.previous !== rev.id;
  if (changed) {
    await recordEvent(db, {
      projectId,
      kind: 'project.prd_updated',
      subjectType: 'prd_revision',
      subjectId: rev.id,
      actor,
      data: { revision_id: rev.id, content_hash: hash, source, bytes: Buffer.byteLength(content) },
    });
  }
  return { ...rev, created: changed };
}
