import { effectiveConfig } from '../config/effective.js';
import { replanProject } from '../reconcile/replan.js';
import type { Actor } from '../store/events.js';
import { readCurrentRevisionConfig, readRevisionSummary } from '../store/read/projects.js';
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
  const prev = await readCurrentRevisionConfig(ctx.pool, projectId);
  const result = await replanProject(ctx.pool, projectId, {
    commitSha: commit.commitSha,
    prd: content,
    config: effectiveConfig(prev?.config),
    ...(prev ? { configHash: prev.config_hash } : {}),
    actor,
    source: 'github',
  });
  const saved = await readRevisionSummary(ctx.pool, result.revisionId);
  return { ...saved!, created: result.newRevision };
}
