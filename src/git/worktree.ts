import { existsSync } from 'node:fs';
import path from 'node:path';
import { SamgitaError } from '../errors.js';
import type { CheckoutCopies } from './checkout-copies.js';
import type { CommitIdentity } from './commit.js';
import { git, tryGit } from './git.js';
import { repoLayout } from './layout.js';
import { type CopySource, linkWorktree, moveWorktree, unlinkWorktree, type WorktreeHead } from './link-worktree.js';
import { readRef, resolveBranchName } from './read-ref.js';
import type { WorktreeSpares } from './worktree-spares.js';

export interface Worktree {
  path: string;
  branch: string;
  /** True when the branch already existed: the task resumes from its last checkpoint commit. */
  resumed: boolean;
  /** The commit `base` resolved to, when it had to be resolved here (a new branch). */
  baseSha?: string;
}

export interface EnsureWorktreeOptions {
  /** Ready checkouts at the base commit: a new branch takes one instead of checking out the tree. */
  spares?: WorktreeSpares;
  /** Copies of one checkout at the base commit, for small repositories; with who the new branch's reflog names. */
  copies?: { from: CheckoutCopies; identity: CommitIdentity };
}

/**
 * Creates (or reuses) the worktree of a task on its own branch. A branch that
 * already exists is checked out as it is, so a retried or resumed task starts
 * from its last checkpoint commit instead of from the base. A new branch takes
 * a spare checkout at the base commit when one is ready (a branch switch and a
 * rename: milliseconds, against ~100 ms+ to write a 1,000-file tree); in a
 * small repository it is a copy of one checkout at the base (src/git/checkout-copies.ts).
 */
export async function ensureWorktree(
  repo: string,
  dir: string,
  branch: string,
  base: string,
  options: EnsureWorktreeOptions = {},
): Promise<Worktree> {
  if (existsSync(path.join(dir, '.git'))) {
    const current = (await tryGit(dir, ['symbolic-ref', '--short', '-q', 'HEAD']))?.trim();
    if (current === branch) return { path: dir, branch, resumed: true };
    await unlinkWorktree(repo, dir);
  }
  const refs = await resolveRefs(repo, branch, base);
  if (refs.branchSha) {
    await addWorktree(repo, dir, { branch });
    return { path: dir, branch, resumed: true };
  }
  const baseSha = refs.baseSha;
  const spares = options.spares;
  const spare = spares?.take(repo, baseSha);
  if (spares && spare) {
    try {
      // The spare is a clean checkout of baseSha with a detached HEAD: attaching a new
      // branch there changes no file, and `worktree move` is a rename.
      await git(spare, ['switch', '-q', '-c', branch]);
      await moveWorktree(repo, spare, dir);
      spares.refill(repo, baseSha, path.dirname(dir));
      return { path: dir, branch, resumed: false, baseSha };
    } catch {
      await unlinkWorktree(repo, spare).catch(() => {});
      await tryGit(repo, ['branch', '-D', branch]);
    }
  }
  // The branch is (re)set to the base, as `-B` does: a first attempt that failed after making
  // it must not stop the retry; the branch is this task's alone.
  const head = { branch, at: baseSha };
  const copies = options.copies;
  if (copies)
    await copies.from.with(repo, baseSha, path.dirname(dir), copies.identity, (copy) =>
      addWorktree(repo, dir, head, copy),
    );
  else await addWorktree(repo, dir, head);
  spares?.refill(repo, baseSha, path.dirname(dir));
  return { path: dir, branch, resumed: false, baseSha };
}

/** The base a new task branch would start from is not in the repository (e.g. its branch was deleted). */
export class MissingBaseError extends SamgitaError {
  constructor(base: string, repo: string) {
    super('GIT_FAILED', `base ${base} does not resolve to a commit in ${repo}`);
  }
}

/**
 * Both refs, read from the repository's files when they can be
 * (src/git/read-ref.ts: no process), else in one git call: `--revs-only`
 * drops a name that does not resolve, so a branch not created yet yields one
 * line (the base) instead of an error.
 */
async function resolveRefs(
  repo: string,
  branch: string,
  base: string,
): Promise<{ baseSha: string; branchSha: string | null }> {
  const layout = await repoLayout(repo).catch(() => null);
  if (layout?.filesRefs) {
    const [baseSha, branchSha] = await Promise.all([
      resolveBranchName(layout.commonDir, base),
      readRef(layout.commonDir, `refs/heads/${branch}`),
    ]);
    if (baseSha && branchSha !== undefined) return { baseSha, branchSha };
  }
  const lines = (await git(repo, ['rev-parse', '--revs-only', `${base}^{commit}`, `refs/heads/${branch}`]))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (!lines[0]) throw new MissingBaseError(base, repo);
  return { baseSha: lines[0], branchSha: lines[1] ?? null };
}

const LOCK_RETRIES = 12;

/** Lock files held by a concurrent git, or another `worktree add` caught half-way (no commondir/gitdir yet). */
const LOCKED = /\.lock'?: File exists|Unable to create .*\.lock|cannot lock ref|failed to read .*\/(commondir|gitdir)/i;

/**
 * Runs a git operation, retried with a growing, jittered wait while another
 * process holds one of the repository's lock files (many agents starting at
 * once in one repository, a spare being added).
 */
export async function retryingLocks<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!LOCKED.test(String((err as Error).message)) || attempt >= LOCK_RETRIES) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1_000, 10 * 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}

/**
 * A linked worktree at `dir` (src/git/link-worktree.ts: constant time, where
 * `git worktree add` reads every other worktree), retried while another git
 * holds one of the repository's lock files.
 */
export async function addWorktree(repo: string, dir: string, head: WorktreeHead, copy?: CopySource): Promise<void> {
  await retryingLocks(() => linkWorktree(repo, dir, head, copy));
}

/** The checkout and its registration, in constant time (src/git/link-worktree.ts). */
export { unlinkWorktree as removeWorktree };
