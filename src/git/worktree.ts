import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { git, tryGit } from './git.js';
import { branchExists } from './repo.js';

export interface Worktree {
  path: string;
  branch: string;
  /** True when the branch already existed: the task resumes from its last checkpoint commit. */
  resumed: boolean;
}

/**
 * Creates (or reuses) the worktree of a task on its own branch. A branch that
 * already exists is checked out as it is, so a retried or resumed task starts
 * from its last checkpoint commit instead of from the base.
 */
export async function ensureWorktree(repo: string, dir: string, branch: string, base: string): Promise<Worktree> {
  if (existsSync(path.join(dir, '.git'))) {
    const current = (await tryGit(dir, ['symbolic-ref', '--short', '-q', 'HEAD']))?.trim();
    if (current === branch) return { path: dir, branch, resumed: true };
    await removeWorktree(repo, dir);
  }
  await mkdir(path.dirname(dir), { recursive: true });
  // A stale registration (directory deleted by hand, machine crashed) blocks `worktree add`.
  await git(repo, ['worktree', 'prune']);
  const resumed = await branchExists(repo, branch);
  if (resumed) await git(repo, ['worktree', 'add', '--force', dir, branch]);
  else await git(repo, ['worktree', 'add', '--force', '-b', branch, dir, base]);
  return { path: dir, branch, resumed };
}

export async function removeWorktree(repo: string, dir: string): Promise<void> {
  await tryGit(repo, ['worktree', 'remove', '--force', dir]);
  await rm(dir, { recursive: true, force: true });
  await tryGit(repo, ['worktree', 'prune']);
}
