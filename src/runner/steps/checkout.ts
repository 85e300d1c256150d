/**
 * The task's checkout: a git worktree on its own branch, created (or reused:
 * an existing branch means a resumed task, which continues from its last
 * checkpoint commit) before the loop, and given up once the task completed.
 */
import type { SamgitaConfig } from '../../config/samgita-yaml/schema.js';
import { git } from '../../git/git.js';
import { branchHead, ensureIntegrationBranch } from '../../git/integrate.js';
import { ensureWorktree, MissingBaseError, removeWorktree } from '../../git/worktree.js';
import { recordIntegration } from '../../store/projects.js';
import type { Checkpoint, TaskRecord } from '../../store/task-attempts.js';
import { resolveVerifyCommands } from '../../verify/detect.js';
import type { Outcome } from '../decide/outcome.js';
import { type Attempt, type TaskRunContext, taskSlug, type Workspace, worktreeDirFor } from '../task-run.js';

/**
 * The project's integration branch: samgita.yaml's `git.integration_branch`,
 * else the default branch of a GitHub project (pull requests target it), else
 * `samgita/integration` in a local repository (made from the project's base).
 */
export function integrationBranchOf(
  config: SamgitaConfig,
  task: Pick<TaskRecord, 'project_source' | 'default_branch'>,
): string {
  if (config.git.integration_branch) return config.git.integration_branch;
  if (task.project_source === 'github') return task.default_branch ?? 'main';
  return LOCAL_INTEGRATION_BRANCH;
}

export const LOCAL_INTEGRATION_BRANCH = 'samgita/integration';

export type CheckOut = { kind: 'ready'; workspace: Workspace; resumed: boolean } | { kind: 'stop'; outcome: Outcome };

/** Also records the base commit on the checkpoint, so a resumed task diffs against the same one. */
export async function checkOut(a: Attempt, checkpoint: Checkpoint): Promise<CheckOut> {
  const { ctx, task, config } = a;
  const repo = task.working_path;
  if (!repo)
    return { kind: 'stop', outcome: { kind: 'park', reason: 'the project has no local working path to run in' } };
  const projectBase = config.git.base_branch ?? task.default_branch ?? 'HEAD';
  const integration = integrationBranchOf(config, task);
  const branch = `${config.git.branch_prefix}${taskSlug(task.key)}`;
  // On a machine other than the server's, the clone may be missing or behind.
  await ctx.publisher?.prepare?.(task.project_id);
  // Every task starts from the integration head as it is now: it sees all the work integrated before it.
  // The branch is made once per project (then recorded on the project): a task of a project that has
  // it spends no git call on it, unless the branch is missing here after all (deleted, another clone).
  const known = task.integration_branch === integration;
  // A GitHub project's integration branch is GitHub's: start from its head there (prepare already
  // fetched the default branch; another integration branch is fetched here).
  const synced = async () =>
    integration !== task.default_branch && (await ctx.publisher?.syncIntegration?.(task.project_id, integration));
  if (!known) {
    let head = await ensureIntegrationBranch(repo, integration, projectBase);
    if (await synced()) head = (await branchHead(repo, integration)) ?? head;
    await recordIntegration(ctx.pool, task.project_id, { branch: integration, head });
  } else await synced();
  const identity = { name: config.git.author_name, email: config.git.author_email };
  const worktree = () =>
    ensureWorktree(repo, worktreeDirFor(ctx, task), branch, integration, {
      ...(ctx.spares ? { spares: ctx.spares } : {}),
      ...(ctx.copies ? { copies: { from: ctx.copies, identity } } : {}),
    });
  const wt = await worktree().catch(async (err: unknown) => {
    if (!known || !(err instanceof MissingBaseError)) throw err;
    await ensureIntegrationBranch(repo, integration, projectBase);
    return worktree();
  });
  const baseSha = checkpoint.baseSha ?? wt.baseSha ?? (await git(repo, ['rev-parse', integration])).trim();
  checkpoint.baseSha = baseSha;
  a.logs.system(
    `worktree ${wt.path} on ${branch}${wt.resumed ? ' (resumed from its last checkpoint)' : ` from ${integration} at ${baseSha.slice(0, 12)}`}`,
  );
  return {
    kind: 'ready',
    workspace: {
      path: wt.path,
      branch,
      base: integration,
      baseSha,
      integrationBranch: integration,
      // Detected in the task's own tree when samgita.yaml names none; Verify looks again before it runs.
      verifyCommands: (await resolveVerifyCommands(config, wt.path)).commands,
    },
    resumed: wt.resumed,
  };
}

/**
 * The branch keeps the work; the checkout is only needed while an agent works in it.
 * A spare checkout for the next task if one is wanted (cheaper than delete + checkout).
 */
export async function releaseCheckout(ctx: TaskRunContext, task: TaskRecord): Promise<void> {
  if (!task.working_path) return;
  const dir = worktreeDirFor(ctx, task);
  const recycled = await ctx.spares?.recycle(task.working_path, dir).catch(() => false);
  if (!recycled) await removeWorktree(task.working_path, dir).catch(() => {});
}
