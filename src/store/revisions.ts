/**
 * The prd_revisions record: PRD.md (+ samgita.yaml) at a commit, or as saved
 * through the API or the page, and which one is the project's current desired state.
 */
import { z } from 'zod';
import { sha256 } from '../projects/identity.js';
import { maybeOne, type Pool, type Queryable, sql, withTransaction } from './connection.js';
import { type Actor, recordEvent } from './events.js';

const ContentConfigProjectConfigRow = z.object({
  content: z.string(),
  config: z.record(z.string(), z.unknown()),
  project_config: z.unknown(),
});
const PreviousRow = z.object({ previous: z.string().nullable() });

export interface RevisionRow {
  id: string;
  project_id: string;
  commit_sha: string | null;
  content_hash: string;
  config_hash: string;
}

/**
 * Records PRD.md (+ samgita.yaml) at a commit as the project's desired state.
 * The same commit and content recorded twice is one revision.
 */
export async function recordRevision(
  pool: Pool,
  projectId: string,
  input: {
    commitSha: string | null;
    content: string;
    config: unknown;
    configText: string | null;
    /** Overrides the hash of configText (a caller that knows samgita.yaml did not change). */
    configHash?: string;
    source: 'git' | 'api' | 'upload' | 'github';
  },
  actor: Actor,
): Promise<{ revision: RevisionRow; created: boolean }> {
  const contentHash = sha256(input.content);
  const configHash = input.configHash ?? sha256(input.configText ?? '');
  return withTransaction(pool, async (db) => {
    const inserted = await db.query<RevisionRow>(
      `insert into prd_revisions (project_id, commit_sha, content, content_hash, config, config_hash, source)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict do nothing
       returning id, project_id, commit_sha, content_hash, config_hash`,
      [
        projectId,
        input.commitSha,
        input.content,
        contentHash,
        JSON.stringify(input.config ?? {}),
        configHash,
        input.source,
      ],
    );
    let revision = inserted.rows[0];
    const created = revision !== undefined;
    if (!revision) {
      const existing = await db.query<RevisionRow>(
        `select id, project_id, commit_sha, content_hash, config_hash from prd_revisions
         where project_id = $1 and commit_sha is not distinct from $2 and content_hash = $3 and config_hash = $4
         order by inserted_at desc limit 1`, // the newest: a breakdown's refinement of it (0700), if any
        [projectId, input.commitSha, contentHash, configHash],
      );
      revision = existing.rows[0]!;
    }
    const moved = await db.query(
      `update projects set current_revision_id = $2, prd_content = $3, config = $4, updated_at = now()
       where id = $1 and current_revision_id is distinct from $2`,
      [projectId, revision.id, input.content, JSON.stringify(input.config ?? {})],
    );
    if (created || moved.rowCount) {
      await recordEvent(db, {
        projectId,
        kind: 'project.prd_updated',
        subjectType: 'prd_revision',
        subjectId: revision.id,
        actor,
        data: { commit_sha: input.commitSha, content_hash: contentHash, config_hash: configHash, source: input.source },
      });
    }
    return { revision, created };
  });
}

/** A recorded revision with what re-planning it needs from its project. */
export async function readRevision(
  db: Queryable,
  projectId: string,
  revisionId: string,
): Promise<{ content: string; config: Record<string, unknown>; project_config: unknown } | null> {
  return maybeOne(
    db,
    ContentConfigProjectConfigRow,
    sql`select r.content, r.config, p.config as project_config
          from prd_revisions r join projects p on p.id = r.project_id
         where r.id = ${revisionId} and r.project_id = ${projectId}`,
  );
}

/** A revision as the API shows it. */
export const RevisionRow = z.object({
  id: z.string(),
  project_id: z.string(),
  commit_sha: z.string().nullable(),
  content_hash: z.string(),
  source: z.string(),
  inserted_at: z.date(),
});
export type SavedRevision = z.output<typeof RevisionRow> & { created: boolean };

/**
 * Stores PRD text saved through the API or the status page (no commit, no
 * samgita.yaml) as a revision and makes it the project's current one, in the
 * caller's transaction. The same text as the current revision changes
 * nothing (`created: false`, no event).
 */
export async function savePrd(
  db: Queryable,
  projectId: string,
  content: string,
  source: 'api' | 'upload',
  actor: Actor,
): Promise<SavedRevision> {
  const hash = sha256(content);
  const rev =
    (await maybeOne(
      db,
      RevisionRow,
      sql`insert into prd_revisions (project_id, content, content_hash, source)
          values (${projectId}, ${content}, ${hash}, ${source})
          on conflict do nothing returning id, project_id, commit_sha, content_hash, source, inserted_at`,
    )) ??
    (await maybeOne(
      db,
      RevisionRow,
      sql`select id, project_id, commit_sha, content_hash, source, inserted_at from prd_revisions
           where project_id = ${projectId} and commit_sha is null and content_hash = ${hash} and config_hash = ''
           order by inserted_at desc limit 1`,
    ));
  if (!rev) throw new Error(`PRD revision ${hash} of project ${projectId} neither inserted nor found`);
  const old = await maybeOne(
    db,
    PreviousRow,
    sql`update projects p set prd_content = ${content}, current_revision_id = ${rev.id}, updated_at = now()
          from (select current_revision_id as previous from projects where id = ${projectId} for update) old
         where p.id = ${projectId} returning old.previous`,
  );
  const changed = old?.previous !== rev.id;
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
