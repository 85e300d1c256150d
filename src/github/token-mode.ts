/**
 * GitHub from one token, as a GitHub Action job has it (GITHUB_TOKEN): the
 * same publisher the App uses (push, one pull request per task, its body),
 * with the job's token in place of installation tokens, and the adoption of
 * pull requests an earlier run of the workflow opened.
 */
import type pg from 'pg';
import type { ProbotOctokit } from 'probot';
import { SamgitaError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { TaskPublisher } from '../runner/publisher.js';
import { taskSlug } from '../runner/task-run.js';
import { withTransaction } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { updateGitHubLink } from '../store/projects.js';
import { adoptPullRequest } from '../store/tasks.js';
import { githubOctokit } from './octokit.js';
import { GitHubPublisher } from './publisher.js';

export interface TokenGitHub {
  token: string;
  /** owner/name */
  repo: string;
  apiUrl: string;
}

/** The job's repository and token, from the variables GitHub Actions sets. */
export function tokenGitHubFromEnv(env: NodeJS.ProcessEnv): TokenGitHub {
  const token = env.GITHUB_TOKEN?.trim();
  const repo = env.GITHUB_REPOSITORY?.trim();
  if (!token || !repo || !/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    throw new SamgitaError('INVALID_INPUT', '--publish needs GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name)', {
      hint: 'GitHub Actions sets GITHUB_REPOSITORY; pass the token as GITHUB_TOKEN (the action does both)',
    });
  }
  return { token, repo, apiUrl: (env.GITHUB_API_URL?.trim() || 'https://api.github.com').replace(/\/+$/, '') };
}

/** Installation id recorded for a project published with a job token (no App installation behind it). */
export const TOKEN_INSTALLATION = 0;

export function tokenOctokit(gh: TokenGitHub, log: Logger): ProbotOctokit {
  const Octokit = githubOctokit(log, { throttle: false, retries: 3 });
  return new Octokit({ auth: { token: gh.token }, baseUrl: gh.apiUrl });
}

/** Links the project to its repository, so its verified task branches are published there. */
export async function linkTokenRepo(pool: pg.Pool, projectId: string, gh: TokenGitHub, defaultBranch: string | null) {
  await updateGitHubLink(pool, projectId, { repo: gh.repo, installationId: TOKEN_INSTALLATION, defaultBranch });
}

/**
 * The App's publisher with the job's token. No `prepare`: the working copy is
 * the job's own checkout (its branch checked out, already at the commit the
 * job runs for), not a clone Samgita keeps and fetches into.
 */
export function tokenPublisher(
  pool: pg.Pool,
  gh: TokenGitHub,
  log: Logger,
  publicUrl: string | null = null,
): TaskPublisher {
  const octokit = tokenOctokit(gh, log);
  const publisher = new GitHubPublisher({
    pool,
    tokens: { get: async () => gh.token },
    octokit: async () => octokit,
    publicUrl,
    log,
  });
  return {
    publish: (input) => publisher.publish(input),
    syncIntegration: (projectId, branch) => publisher.syncIntegration(projectId, branch),
  };
}

/**
 * Pull requests an earlier run opened for this project's tasks (found by
 * branch name, `<branch_prefix><task>`): an open one parks its task waiting
 * for review, a merged one completes it, so a re-run opens nothing twice and
 * runs no agent for work already proposed. Returns the adopted task keys.
 */
export async function adoptPublishedWork(
  pool: pg.Pool,
  gh: TokenGitHub,
  log: Logger,
  project: { id: string; branchPrefix: string },
  tasks: readonly { id: string; key: string }[],
  actor: Actor,
): Promise<string[]> {
  const byBranch = new Map(tasks.map((t) => [`${project.branchPrefix}${taskSlug(t.key)}`, t]));
  if (byBranch.size === 0) return [];
  const [owner, repo] = gh.repo.split('/') as [string, string];
  const octokit = tokenOctokit(gh, log);
  const pulls = await octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: 'all', per_page: 100 });
  const adopted: string[] = [];
  // Newest first, so a branch's latest pull request wins over older closed ones.
  for (const pr of [...pulls].sort((a, b) => b.number - a.number)) {
    const task = byBranch.get(pr.head.ref);
    if (!task || pr.head.repo?.full_name !== gh.repo) continue;
    const merged = Boolean(pr.merged_at);
    if (pr.state !== 'open' && !merged) continue;
    byBranch.delete(pr.head.ref);
    const changed = await withTransaction(pool, (db) =>
      adoptPullRequest(
        db,
        project.id,
        task.id,
        {
          number: pr.number,
          url: pr.html_url,
          branch: pr.head.ref,
          headSha: pr.head.sha,
          merged,
          mergeSha: pr.merge_commit_sha ?? null,
        },
        actor,
      ),
    );
    if (changed) adopted.push(task.key);
  }
  return adopted;
}
