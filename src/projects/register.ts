import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { type Actor, recordEvent } from '../store/events.js';
import { withTransaction } from '../store/pool.js';

export interface ProjectRow {
  id: string;
  name: string;
  git_url: string;
  working_path: string | null;
  default_branch: string | null;
  phase: string;
  status: string;
  status_reason: string | null;
  current_revision_id: string | null;
  config: Record<string, unknown>;
}

export interface RevisionRow {
  id: string;
  project_id: string;
  commit_sha: string | null;
  content_hash: string;
  config_hash: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The canonical identity of a local repository: its origin URL, else its file:// URL. */
export function canonicalGitUrl(root: string, originUrl: string | null): string {
  return originUrl ?? pathToFileURL(path.resolve(root)).toString();
}

/**
 * Registers a project idempotently by git URL. A second call finds the same
 * row (and refreshes its working path); `created` tells which happened.
 */
export async function registerProject(
  pool: pg.Pool,
  input: {
    name: string;
    gitUrl: string;
    workingPath: string | null;
    defaultBranch: string | null;
    source?: 'local' | 'api' | 'github';
  },
  actor: Actor,
): Promise<{ project: ProjectRow; created: boolean }> {
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<ProjectRow & { created: boolean }>(
      `insert into projects (name, git_url, working_path, default_branch, source)
       values ($1, $2, $3, $4, $5)
       on conflict (git_url) do update
         set working_path = coalesce(excluded.working_path, projects.working_path),
             default_branch = coalesce(projects.default_branch, excluded.default_branch),
             updated_at = case when projects.working_path is distinct from excluded.working_path
                               then now() else projects.updated_at end
       returning *, (xmax = 0) as created`,
      [input.name, input.gitUrl, input.workingPath, input.defaultBranch, input.source ?? 'local'],
    );
    const { created, ...project } = rows[0]!;
    if (created) {
      await recordEvent(db, {
        projectId: project.id,
        kind: 'project.created',
        subjectType: 'project',
        subjectId: project.id,
        actor,
        data: { name: project.name, git_url: project.git_url },
      });
    }
    return { project, created };
  });
}

/**
 * Records PRD.md (+ samgita.yaml) at a commit as the project's desired state.
 * The same commit and content recorded twice is one revision.
 */
export async function recordRevision(
  pool: pg.Pool,
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
       on conflict (project_id, commit_sha, content_hash, config_hash) do nothing
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
         where project_id = $1 and commit_sha is not distinct from $2 and content_hash = $3 and config_hash = $4`,
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
