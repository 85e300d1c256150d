import type pg from 'pg';
import { Probot, type ProbotOctokit } from 'probot';
import { effectiveConfig } from '../config/effective.js';
import { SamgitaError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { formatPlanDiff } from '../planner/format.js';
import { CONFIG_FILE, PRD_FILE } from '../reconcile/desired-state.js';
import type { Actor } from '../store/events.js';
import { recordEvent } from '../store/events.js';
import { currentRevisionCommit } from '../store/github.js';
import { canWrite, HELP, parseCommand, runCommand } from './commands.js';
import { type CommittedPrd, commitPrdToGitHub } from './commit-prd.js';
import type { GitHubConfig } from './config.js';
import { applyDesiredState, type FileReader, readRemoteDesiredState } from './desired.js';
import { cancelClosedTask, completeMergedTask, findTaskForPull, reopenWithFeedback } from './feedback.js';
import { keepPullsMergeable } from './keep-pulls-mergeable.js';
import { githubErrorReason, githubOctokit, type OctokitTuning } from './octokit.js';
import { ProgressReporter } from './progress.js';
import { archiveGitHubRepo, findProjectByRepo, type GitHubProject, registerGitHubRepo } from './projects.js';
import { GitHubPublisher } from './publisher.js';
import { InstallationTokens } from './tokens.js';
import { clonePath, ensureClone } from './workspace.js';

export interface GitHubAppDeps {
  pool: pg.Pool;
  config: GitHubConfig;
  samgitaHome: string;
  log: Logger;
  octokit?: OctokitTuning;
}

export interface GitHubApp {
  probot: Probot;
  tokens: InstallationTokens;
  publisher: GitHubPublisher;
  progress: ProgressReporter;
  octokit(installationId: number): Promise<ProbotOctokit>;
  /** Commits PRD.md to the project's default branch (a PRD saved on the status page). */
  commitPrd(projectId: string, content: string, author: string): Promise<CommittedPrd>;
  /** Resolves when every webhook-triggered background sync has finished (tests). */
  idle(): Promise<void>;
}

interface Repo {
  full_name: string;
  name: string;
  owner: { login: string };
  default_branch?: string;
  clone_url?: string;
}

const APP_ACTOR: Actor = { type: 'github_app' };
const userActor = (sender: { login: string } | undefined): Actor =>
  sender ? { type: 'github_user', id: sender.login } : APP_ACTOR;
const isBot = (sender: { type?: string } | undefined) => sender?.type === 'Bot';

/**
 * The Samgita GitHub App: webhooks in (probot verifies signatures), projects,
 * reconciles, PR lifecycle and comment commands; pull requests, check runs and
 * the dashboard issue out.
 */
export function createGitHubApp(deps: GitHubAppDeps): GitHubApp {
  const log = deps.log.child({ component: 'github' });
  const probot = new Probot({
    appId: deps.config.appId,
    privateKey: deps.config.privateKey,
    secret: deps.config.webhookSecret,
    baseUrl: deps.config.baseUrl,
    Octokit: githubOctokit(log, deps.octokit),
    log: log as never,
  });
  const octokit = (installationId: number) => probot.auth(installationId);
  const tokens = new InstallationTokens(() => probot.auth());
  const publisher = new GitHubPublisher({ pool: deps.pool, tokens, octokit, publicUrl: deps.config.publicUrl, log });
  const progress = new ProgressReporter({ pool: deps.pool, octokit, publicUrl: deps.config.publicUrl, log });
  const background = new Set<Promise<unknown>>();
  const later = (p: Promise<unknown>) => {
    const q = p.catch((err: unknown) =>
      log.warn({ err: githubErrorReason(err).message }, 'background GitHub work failed'),
    );
    background.add(q);
    void q.finally(() => background.delete(q));
  };

  /** Registers a repository (API lookup for its clone URL and default branch) and clones it for runners. */
  const register = async (kit: ProbotOctokit, installationId: number, fullName: string, actor: Actor) => {
    const [owner, name] = fullName.split('/') as [string, string];
    const { data } = await kit.rest.repos.get({ owner, repo: name });
    const { project } = await registerGitHubRepo(
      deps.pool,
      {
        fullName: data.full_name,
        cloneUrl: data.clone_url,
        defaultBranch: data.default_branch,
        installationId,
        workingPath: clonePath(deps.samgitaHome, data.full_name),
      },
      actor,
    );
    await ensureClone({
      dir: project.working_path!,
      cloneUrl: project.git_url,
      defaultBranch: data.default_branch,
      token: await tokens.get(installationId),
    }).catch((err: unknown) =>
      log.warn({ repo: fullName, err: String(err) }, 'clone failed; retried before the first task'),
    );
    return project;
  };

  /** The project of a webhook's repository, registering it if the installation event was missed. */
  const projectFor = async (kit: ProbotOctokit, installationId: number | undefined, repo: Repo, actor: Actor) => {
    const found = await findProjectByRepo(deps.pool, repo.full_name);
    if (found) return found;
    if (!installationId) return null;
    return register(kit, installationId, repo.full_name, actor);
  };

  const reader =
    (kit: ProbotOctokit, repo: Repo): FileReader =>
    async (path, ref) => {
      try {
        const { data } = await kit.rest.repos.getContent({ owner: repo.owner.login, repo: repo.name, path, ref });
        if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) return null;
        return Buffer.from(data.content, 'base64').toString('utf8');
      } catch (err) {
        if ((err as { status?: number }).status === 404) return null;
        throw err;
      }
    };

  const app = (p: Probot) => {
    p.on('installation', async (context) => {
      const payload = context.payload;
      const actor = userActor(payload.sender);
      const repos = (payload as { repositories?: { full_name: string }[] }).repositories ?? [];
      if (
        payload.action === 'created' ||
        payload.action === 'new_permissions_accepted' ||
        payload.action === 'unsuspend'
      ) {
        for (const r of repos) {
          const project = await register(context.octokit, payload.installation.id, r.full_name, actor);
          later(progress.schedule(project.id));
        }
      } else if (payload.action === 'deleted' || payload.action === 'suspend') {
        for (const r of repos)
          await archiveGitHubRepo(
            deps.pool,
            r.full_name,
            actor,
            `GitHub App ${payload.action === 'deleted' ? 'uninstalled' : 'suspended'}`,
          );
      }
    });

    p.on('installation_repositories', async (context) => {
      const payload = context.payload;
      const actor = userActor(payload.sender);
      for (const r of payload.repositories_added) {
        const project = await register(context.octokit, payload.installation.id, r.full_name, actor);
        later(progress.schedule(project.id));
      }
      for (const r of payload.repositories_removed) {
        if (r.full_name)
          await archiveGitHubRepo(deps.pool, r.full_name, actor, 'repository removed from the GitHub App installation');
      }
    });

    p.on('push', async (context) => {
      const payload = context.payload;
      const repo = payload.repository as unknown as Repo;
      const defaultBranch = repo.default_branch ?? 'main';
      if (payload.deleted) return;
      const known = await findProjectByRepo(deps.pool, repo.full_name);
      const integration = known
        ? (effectiveConfig(known.config).git.integration_branch ?? defaultBranch)
        : defaultBranch;
      if (known && known.status !== 'archived' && payload.ref === `refs/heads/${integration}`) {
        // The base moved under the pull requests waiting for review: each must still merge.
        const kit = context.octokit;
        later(
          keepPullsMergeable(
            { pool: deps.pool, log },
            kit,
            { owner: repo.owner.login, name: repo.name },
            known.id,
            { branch: integration, sha: payload.after },
            { type: 'github_app' },
          ),
        );
      }
      if (payload.ref !== `refs/heads/${defaultBranch}`) return;
      const files = new Set<string>();
      for (const c of payload.commits ?? [])
        for (const f of [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]) files.add(f);
      // GitHub lists at most 20 commits in a push payload: beyond that, assume the files may have changed.
      const truncated = (payload.commits?.length ?? 0) >= 20;
      if (!truncated && !files.has(PRD_FILE) && !files.has(CONFIG_FILE)) return;
      const actor = userActor(payload.sender as { login: string } | undefined);
      const project = await projectFor(context.octokit, payload.installation?.id, repo, actor);
      if (!project || project.status === 'archived') return;
      await pushReconcile(context.octokit, repo, project, payload.after, actor);
    });

    const pushReconcile = async (kit: ProbotOctokit, repo: Repo, project: GitHubProject, sha: string, actor: Actor) => {
      let desired: Awaited<ReturnType<typeof readRemoteDesiredState>>;
      try {
        desired = await readRemoteDesiredState(reader(kit, repo), sha);
      } catch (err) {
        if (!(err instanceof SamgitaError)) throw err;
        await recordEvent(deps.pool, {
          projectId: project.id,
          kind: 'project.config_invalid',
          subjectType: 'project',
          subjectId: project.id,
          actor,
          data: { commit_sha: sha, message: err.message, hint: err.hint ?? null, location: err.location ?? null },
        });
        await reportConfigError(kit, repo, sha, `${err.message}${err.hint ? `\n\n${err.hint}` : ''}`);
        return;
      }
      if (!desired) {
        await reportConfigError(kit, repo, sha, `${PRD_FILE} is missing or empty at ${sha.slice(0, 12)}.`);
        return;
      }
      // The runners' clone must have the new commit before tasks branch from it.
      await ensureClone({
        dir: project.working_path ?? clonePath(deps.samgitaHome, project.github_repo),
        cloneUrl: project.git_url,
        defaultBranch: repo.default_branch ?? 'main',
        token: await tokens.get(project.github_installation_id),
      }).catch((err: unknown) => log.warn({ err: String(err) }, 'fetch failed; runners fetch before working'));
      const result = await applyDesiredState(deps.pool, project.id, desired, actor);
      log.info({ project: project.id, sha, summary: result.summary.text }, 'reconciled from push');
      later(progress.schedule(project.id));
    };

    const reportConfigError = async (kit: ProbotOctokit, repo: Repo, sha: string, message: string) => {
      await kit.rest.checks.create({
        owner: repo.owner.login,
        repo: repo.name,
        name: 'Samgita: desired state',
        head_sha: sha,
        status: 'completed',
        conclusion: 'failure',
        completed_at: new Date().toISOString(),
        output: { title: 'PRD.md / samgita.yaml could not be used', summary: message.slice(0, 60000) },
      });
    };

    p.on('pull_request', async (context) => {
      const payload = context.payload;
      if (payload.action !== 'closed') return;
      const repo = payload.repository as unknown as Repo;
      const project = await findProjectByRepo(deps.pool, repo.full_name);
      if (!project) return;
      const task = await findTaskForPull(deps.pool, project.id, {
        number: payload.pull_request.number,
        headRef: payload.pull_request.head.ref,
      });
      if (!task) return;
      const actor = userActor(payload.sender);
      if (payload.pull_request.merged) {
        await completeMergedTask(deps.pool, task, payload.pull_request.merge_commit_sha ?? null, actor);
      } else if (await cancelClosedTask(deps.pool, task, actor)) {
        // Re-plan from the current desired state: the reconciler decides what replaces the work.
        const sha = await currentRevisionCommit(deps.pool, project.current_revision_id);
        if (sha) await pushReconcile(context.octokit, repo, project, sha, actor);
      }
      later(progress.schedule(project.id));
    });

    /** A review's text for the task behind the pull request, from a review or a review comment event. */
    const feedback = async (
      octokit: ProbotOctokit,
      event: {
        repository: unknown;
        pull_request: { number: number; head: { ref: string } };
        sender: { login: string };
      },
      text: string,
    ) => {
      const repo = event.repository as Repo;
      const pr = event.pull_request;
      const sender = event.sender;
      const project = await findProjectByRepo(deps.pool, repo.full_name);
      if (!project) return;
      const task = await findTaskForPull(deps.pool, project.id, { number: pr.number, headRef: pr.head.ref });
      if (!task) return;
      // Review text becomes part of an agent's prompt: only people who could push the change themselves
      // may steer it (anyone can comment on a public repository's pull requests).
      const { data: perm } = await octokit.rest.repos.getCollaboratorPermissionLevel({
        owner: repo.owner.login,
        repo: repo.name,
        username: sender.login,
      });
      if (!canWrite(perm)) {
        log.info({ pr: pr.number, login: sender.login }, 'review feedback ignored: the reviewer has no write access');
        return;
      }
      await reopenWithFeedback(deps.pool, task, text, userActor(sender));
      later(progress.schedule(project.id));
    };

    p.on('pull_request_review', async (context) => {
      const payload = context.payload;
      if (payload.action !== 'submitted' || isBot(payload.sender)) return;
      const review = payload.review;
      const state = review.state.toLowerCase();
      if (state === 'approved') return;
      // Line comments of the review arrive as pull_request_review_comment events of their own.
      if (state !== 'changes_requested' && !review.body?.trim()) return;
      const text = `Review by @${review.user?.login ?? payload.sender.login} (${state.replace('_', ' ')}): ${review.body?.trim() || '(no summary; see the line comments)'}`;
      await feedback(context.octokit, payload, text);
    });

    p.on('pull_request_review_comment', async (context) => {
      const payload = context.payload;
      if (payload.action !== 'created' || isBot(payload.sender)) return;
      const c = payload.comment;
      const where = c.line ? `${c.path}:${c.line}` : c.path;
      const text = `Review comment by @${c.user?.login ?? payload.sender.login} on ${where}: ${c.body.trim()}`;
      await feedback(context.octokit, payload, text);
    });

    p.on('issue_comment', async (context) => {
      const payload = context.payload;
      if (payload.action !== 'created' || isBot(payload.sender)) return;
      const cmd = parseCommand(payload.comment.body);
      if (!cmd) return;
      const repo = payload.repository as unknown as Repo;
      const reply = (body: string) =>
        context.octokit.rest.issues.createComment({
          owner: repo.owner.login,
          repo: repo.name,
          issue_number: payload.issue.number,
          body,
        });
      const login = payload.comment.user?.login ?? payload.sender.login;
      const { data: perm } = await context.octokit.rest.repos.getCollaboratorPermissionLevel({
        owner: repo.owner.login,
        repo: repo.name,
        username: login,
      });
      if (!canWrite(perm)) {
        await reply(
          `@${login} Samgita commands need write access to this repository (you have \`${perm.role_name ?? perm.permission}\`). ${HELP}`,
        );
        return;
      }
      const project = await findProjectByRepo(deps.pool, repo.full_name);
      if (!project || project.status === 'archived') {
        await reply(
          'This repository is not an active Samgita project: install the Samgita GitHub App on it and push a PRD.md.',
        );
        return;
      }
      const actor = userActor({ login });
      const text = await runCommand(deps.pool, project, cmd, actor, async () => {
        const sha = (await context.octokit.rest.repos.get({ owner: repo.owner.login, repo: repo.name })).data
          .default_branch;
        const desired = await readRemoteDesiredState(reader(context.octokit, repo), sha);
        if (!desired) return `${PRD_FILE} is missing on the default branch.`;
        const r = await applyDesiredState(deps.pool, project.id, desired, actor, { dryRun: true });
        return formatPlanDiff(r.actions);
      });
      await reply(text);
      later(progress.schedule(project.id));
    });

    p.onError((err) => {
      log.error({ err: err.message }, 'webhook handler failed');
    });
  };
  void probot.load(app);

  return {
    probot,
    tokens,
    publisher,
    progress,
    octokit,
    commitPrd: (projectId, content, author) =>
      commitPrdToGitHub({ pool: deps.pool, octokit }, projectId, content, author),
    idle: async () => {
      while (background.size) await Promise.all([...background]);
      await progress.idle();
    },
  };
}
