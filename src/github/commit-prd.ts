import type pg from 'pg';
import type { ProbotOctokit } from 'probot';
import { SamgitaError } from '../errors.js';
import { githubErrorReason } from './octokit.js';
import { findProjectById } from './projects.js';

export interface CommittedPrd {
  commitSha: string;
  commitUrl: string | null;
}

/**
 * Commits PRD.md to the default branch of a GitHub-driven project through the
 * contents API, as the App. The desired state stays in the repository: the push
 * this makes is what re-plans the project, exactly as a human's commit would.
 */
export async function commitPrdToGitHub(
  deps: { pool: pg.Pool; octokit: (installationId: number) => Promise<ProbotOctokit> },
  projectId: string,
  content: string,
  author: string,
): Promise<CommittedPrd> {
  const project = await findProjectById(deps.pool, projectId);
  if (!project) {
    throw new SamgitaError('NOT_FOUND', `project ${projectId} is not driven by the GitHub App`);
  }
  const [owner, repo] = project.github_repo.split('/') as [string, string];
  const branch = project.default_branch ?? 'main';
  const octokit = await deps.octokit(project.github_installation_id);
  try {
    let sha: string | undefined;
    try {
      const existing = await octokit.rest.repos.getContent({ owner, repo, path: 'PRD.md', ref: branch });
      if (!Array.isArray(existing.data) && existing.data.type === 'file') sha = existing.data.sha;
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
    }
    const res = await octokit.rest.repos.createOrUpdateFileContents({
      owner,
      repo,
      path: 'PRD.md',
      branch,
      message: `Update PRD.md (edited on the Samgita status page by ${author})`,
      content: Buffer.from(content, 'utf8').toString('base64'),
      ...(sha ? { sha } : {}),
    });
    const commit = res.data.commit;
    return { commitSha: commit.sha ?? '', commitUrl: commit.html_url ?? null };
  } catch (err) {
    const reason = githubErrorReason(err);
    throw new SamgitaError(
      'CONFLICT',
      `GitHub refused the PRD.md commit to ${project.github_repo}@${branch}: ${reason.message}`,
      {
        hint: 'check that the App has contents: write on the repository and that the default branch is not protected against it',
        cause: err,
      },
    );
  }
}
