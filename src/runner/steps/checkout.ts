/**
 * The task's checkout: a git worktree on its own branch, created (or reused:
 * an existing branch means a resumed task, which continues from its last
 * checkpoint commit) before the loop, and given up once the task completed.
 */
import { git } from '../../git/git.js';
import { ensureWorktree, removeWorktree } from '../../git/worktree.js';
import type { Checkpoint, TaskRecord } from '../../store/task-attempts.js';
import type { Outcome } from '../decide/outcome.js';
import { type Attempt, type TaskRunContext, taskSlug, type Workspace, worktreeDirFor } from '../task-run.js';
import { verifyCommands } from '../verify-commands.js';

export type CheckOut = { kind: 'ready'; workspace: Workspace; resumed: boolean } | { kind: 'stop'; outcome: Outcome };

/** Also records the base commit on the checkpoint, so a resumed task diffs against the same one. */
export async function checkOut(a: Attempt, checkpoint: Checkpoint): Promise<CheckOut> {
  const { ctx, task, config } = a;
  const repo = task.working_path;
  if (!repo)
    return { kind: 'stop', outcome: { kind: 'park', reason: 'the project has no local working path to run in' } };
  const base = config.git.base_branch ?? task.default_branch ?? 'HEAD';
  const branch = `${config.git.branch_prefix}${taskSlug(task.key)}`;
  // On a machine other than the server's, the clone may be missing or behind.
  await ctx.publisher?.prepare?.(task.project_id);
  const wt = await ensureWorktree(
    repo,
    worktreeDirFor(ctx, task),
    branch,
    base,
    ctx.spares ? { spares: ctx.spares } : {},
  );
  const baseSha = checkpoint.baseSha ?? wt.baseSha ?? (await git(repo, ['rev-parse', base])).trim();
  checkpoint.baseSha = baseSha;
  a.logs.system(`worktree ${wt.path} on ${branch}${wt.resumed ? ' (resumed from its last checkpoint)' : ''}`);
  return {
    kind: 'ready',
    workspace: { path: wt.path, branch, base, baseSha, verifyCommands: verifyCommands(config.verify) },
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
