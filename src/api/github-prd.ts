import { replanProject } from '../reconcile/replan.js';
import { effectiveConfig } from '../runner/task-config.js';
import type { Actor } from '../store/events.js';
import type { ApiContext } from './context.js';
import { conflict } from './errors.js';

/**
 * Saves the PRD of a GitHub-driven project: the repository is the desired
 * state, so PRD.md is committed to its default branch, then that commit is
 * recorded as the revision and the project re-planned at once. The hashes are
 * the ones the push webhook computes, so its later reconcile of the same
 * commit changes nothing.
 */
export async function commitGitHubPrd(ctx: ApiContext, projectId: string, content: string, actor: Actor) {
  if (!ctx.commitPrd) {
    throw conflict(
      `project ${projectId} is driven by the GitHub App, which is not configured on this server`,
      'edit PRD.md on the default branch of its repository, or configure APP_ID on this server',
    );
  }
  const commit = await ctx.commitPrd(projectId, content, `API key ${actor.id ?? 'unknown'}`);
  const prev = await ctx.pool.query<{ config: unknown; config_hash: string }>(
    'select r.config, r.config_hash from projects p join prd_revisions r on r.id = p.current_revision_id where p.id = $1',
    [projectId],
  );
  const result = await replanProject(ctx.pool, projectId, {
    commitSha: commit.commitSha,
    prd: content,
    config: effectiveConfig(prev.rows[0]?.config),
    ...(prev.rows[0] ? { configHash: prev.rows[0].config_hash } : {}),
    actor,
    source: 'github',
  });
  const saved = await ctx.pool.query<{
    id: string;
    project_id: string;
    commit_sha: string | null;
    content_hash: string;
    source: string;
    inserted_at: Date;
  }>('select id, project_id, commit_sha, content_hash, source, inserted_at from prd_revisions where id = $1', [
    result.revisionId,
  ]);
  return { ...saved.rows[0]!, created: result.newRevision };
}
