import path from 'node:path';
import type pg from 'pg';
import type { ProbotOctokit } from 'probot';
import { effectiveConfig } from '../config/effective.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { advanceProject } from '../projects/transition.js';
import type { PublishInput, PublishResult, TaskPublisher } from '../runner/publisher.js';
import { knownSecrets, redact } from '../sandbox/secrets.js';
import { withTransaction } from '../store/connection.js';
import { recordEvent } from '../store/events.js';
import { markPublished, markPublishPending, pendingPublishes } from '../store/github.js';
import { completeDeferredPublish } from '../store/tasks.js';
import { githubErrorReason, isTransientGitHubError } from './octokit.js';
import { prBody, taskUrl } from './pr-body.js';
import { findProjectById, type GitHubProject } from './projects.js';
import type { InstallationTokens } from './tokens.js';
import { ensureClone, pullStateRef, pushBranch, pushStateRef, syncBranch } from './workspace.js';

export interface PublisherDeps {
  pool: pg.Pool;
  /** Tokens for git over HTTPS: the App's installation tokens, or the one token of a GitHub Action job. */
  tokens: Pick<InstallationTokens, 'get'>;
  octokit: (installationId: number) => Promise<ProbotOctokit>;
  publicUrl: string | null;
  log: Logger;
}

/**
 * Publishes a verified task branch to GitHub: pushes it with a fresh
 * installation token and opens ONE pull request per branch (an open PR for the
 * branch is updated, never duplicated). With `pull_requests.merge: auto` the PR
 * is merged at once; otherwise the task waits for review.
 *
 * When GitHub cannot be reached (5xx, rate limits, network) nothing is lost:
 * the task is parked with `payload.github.publishPending` and `retryPending()`
 * publishes it once GitHub answers again, without re-running the agent.
 */
export class GitHubPublisher implements TaskPublisher {
  constructor(private readonly deps: PublisherDeps) {}

  /** Clone (first time) and fetch the default branch of a GitHub project's working copy. */
  async prepare(projectId: string): Promise<void> {
    const project = await findProjectById(this.deps.pool, projectId);
    if (!project?.working_path) return;
    await ensureClone({
      dir: project.working_path,
      cloneUrl: project.git_url,
      defaultBranch: project.default_branch ?? 'main',
      token: await this.deps.tokens.get(project.github_installation_id),
    });
  }

  async syncIntegration(projectId: string, branch: string): Promise<boolean> {
    const project = await findProjectById(this.deps.pool, projectId);
    if (!project?.working_path || !effectiveConfig(project.config).pull_requests.enabled) return false;
    await syncBranch({
      dir: project.working_path,
      branch,
      token: await this.deps.tokens.get(project.github_installation_id),
    });
    return true;
  }

  async pullState(projectId: string): Promise<void> {
    const project = await findProjectById(this.deps.pool, projectId);
    if (!project?.working_path) return;
    await pullStateRef({
      dir: project.working_path,
      token: await this.deps.tokens.get(project.github_installation_id),
    });
  }

  async pushState(projectId: string): Promise<void> {
    const project = await findProjectById(this.deps.pool, projectId);
    if (!project?.working_path) return;
    await pushStateRef({
      dir: project.working_path,
      token: await this.deps.tokens.get(project.github_installation_id),
    });
  }

  async publish(input: PublishInput): Promise<PublishResult | null> {
    const project = await findProjectById(this.deps.pool, input.projectId);
    if (!project) return null; // not a GitHub project: branches stay local
    const config = effectiveConfig(project.config);
    if (!config.pull_requests.enabled) return null;
    try {
      const result = await this.publishTo(project, input);
      await markPublished(this.deps.pool, input.taskId);
      return result;
    } catch (err) {
      const reason = githubErrorReason(err);
      if (
        !isTransientGitHubError(err) &&
        !/GIT_FAILED|unable to access|Could not resolve|Connection refused|50\d/.test(errorMessage(err))
      ) {
        // A 4xx GitHub will keep refusing: report the reason on the task (it retries and then dead-letters).
        throw new Error(`GitHub refused publishing ${input.branch}: ${reason.status ?? ''} ${reason.message}`.trim());
      }
      this.deps.log.warn(
        { task: input.taskKey, status: reason.status, err: reason.message },
        'GitHub unavailable; publish deferred',
      );
      await markPublishPending(this.deps.pool, input.taskId, input, `${reason.status ?? 'network'}: ${reason.message}`);
      await recordEvent(this.deps.pool, {
        projectId: input.projectId,
        kind: 'github.publish_deferred',
        subjectType: 'task',
        subjectId: input.taskId,
        actor: { type: 'github_app' },
        data: { key: input.taskKey, error: reason.message.slice(0, 500), status: reason.status },
      });
      // Parked (not failed, no attempt used): retryPending() publishes it later.
      return { prNumber: 0, prUrl: '', awaitingMerge: true };
    }
  }

  /** Publishes tasks whose publishing was deferred while GitHub was unavailable. */
  async retryPending(): Promise<number> {
    const rows = (await pendingPublishes(this.deps.pool, 20)) as { id: string; input: PublishInput }[];
    let published = 0;
    for (const row of rows) {
      const project = await findProjectById(this.deps.pool, row.input.projectId);
      if (!project) continue;
      try {
        // The worktree may be gone; the branch lives in the clone either way.
        const input = { ...row.input, worktree: project.working_path ?? row.input.worktree };
        const result = await this.publishTo(project, input);
        // A task that completes here completes like any other: its event, then the project moves on.
        const actor = { type: 'github_app' as const };
        await withTransaction(this.deps.pool, (db) => completeDeferredPublish(db, row.id, result, actor));
        await advanceProject(this.deps.pool, project.id, actor);
        published += 1;
      } catch (err) {
        this.deps.log.warn({ task: row.id, err: githubErrorReason(err).message }, 'deferred publish failed again');
        if (isTransientGitHubError(err)) break;
      }
    }
    return published;
  }

  private async publishTo(project: GitHubProject, input: PublishInput): Promise<PublishResult> {
    const [owner, repo] = project.github_repo.split('/') as [string, string];
    const config = effectiveConfig(project.config);
    const token = await this.deps.tokens.get(project.github_installation_id);
    await pushBranch({
      worktree: input.worktree || path.resolve(project.working_path ?? '.'),
      branch: input.branch,
      token,
    });
    const octokit = await this.deps.octokit(project.github_installation_id);
    // The agent's own words (its summary, a failing output) pass the one redaction step before leaving.
    const body = redact(
      prBody(input, { taskUrl: taskUrl(this.deps.publicUrl, input.projectId, input.taskId) }),
      knownSecrets(process.env, [{ name: 'installation token', value: token }]),
    );
    const title = `${input.taskKey}: ${input.title}`.slice(0, 250);
    const { data: existing } = await octokit.rest.pulls.list({
      owner,
      repo,
      head: `${owner}:${input.branch}`,
      state: 'open',
    });
    let pr: { number: number; html_url: string };
    if (existing[0]) {
      const { data } = await octokit.rest.pulls.update({ owner, repo, pull_number: existing[0].number, title, body });
      pr = data;
    } else {
      const { data } = await octokit.rest.pulls.create({
        owner,
        repo,
        head: input.branch,
        base: input.baseBranch === 'HEAD' ? (project.default_branch ?? 'main') : input.baseBranch,
        title,
        body,
        draft: config.pull_requests.draft_until_verified && !input.verify.passed,
        maintainer_can_modify: true,
      });
      pr = data;
      if (config.pull_requests.labels.length) {
        await octokit.rest.issues
          .addLabels({ owner, repo, issue_number: pr.number, labels: config.pull_requests.labels })
          .catch((err: unknown) => this.deps.log.warn({ err: githubErrorReason(err).message }, 'labels not added'));
      }
      await recordEvent(this.deps.pool, {
        projectId: input.projectId,
        kind: 'github.pr_opened',
        subjectType: 'task',
        subjectId: input.taskId,
        actor: { type: 'github_app' },
        data: { key: input.taskKey, pr_number: pr.number, pr_url: pr.html_url, branch: input.branch },
      });
    }
    if (config.pull_requests.merge === 'auto' && input.verify.passed) {
      try {
        // `sha`: GitHub merges only the head the merge queue verified (409 if it moved meanwhile).
        await octokit.rest.pulls.merge({
          owner,
          repo,
          pull_number: pr.number,
          merge_method: config.pull_requests.merge_method,
          ...(input.headSha ? { sha: input.headSha } : {}),
        });
        return { prNumber: pr.number, prUrl: pr.html_url, awaitingMerge: false };
      } catch (err) {
        if (isTransientGitHubError(err)) throw err;
        const why = githubErrorReason(err);
        this.deps.log.info({ pr: pr.number, err: why.message }, 'auto-merge refused; waiting for review');
        return {
          prNumber: pr.number,
          prUrl: pr.html_url,
          awaitingMerge: true,
          mergeRefused: `${why.status ?? ''} ${why.message}`.trim(),
        };
      }
    }
    return { prNumber: pr.number, prUrl: pr.html_url, awaitingMerge: true };
  }
}
