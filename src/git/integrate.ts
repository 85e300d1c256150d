/**
 * The git side of the merge queue: the project's integration branch, a
 * worktree of its own where a verified task branch is merged onto the current
 * integration head (so verify can judge the combined tree), the check that no
 * conflict marker is ever integrated, and the compare-and-swap that advances
 * the branch. Sending work back merges the integration head into the task's
 * branch in the task's worktree, leaving any conflict for the agent to resolve.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type CommitIdentity, trailerArgs } from './commit.js';
import { git, tryGit } from './git.js';
import { repoLayout } from './layout.js';
import { detachedHead, mergeHeadExists, readRef } from './read-ref.js';
import { addWorktree, retryingLocks } from './worktree.js';

/** Makes the integration branch at `from` (the project's base) unless it exists; returns its head. */
export async function ensureIntegrationBranch(repo: string, branch: string, from: string): Promise<string> {
  const existing = (await tryGit(repo, ['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`]))?.trim();
  if (existing) return existing;
  const base = (await git(repo, ['rev-parse', '--verify', `${from}^{commit}`])).trim();
  // `update-ref` with an empty old value creates it only if nobody did meanwhile (another runner).
  await retryingLocks(() => git(repo, ['update-ref', `refs/heads/${branch}`, base, '']).catch(() => ''));
  return (await git(repo, ['rev-parse', '--verify', `refs/heads/${branch}^{commit}`])).trim();
}

export async function branchHead(repo: string, branch: string): Promise<string | null> {
  // The merge queue asks at every merge, one at a time per project: from the ref files when it can.
  const layout = await repoLayout(repo).catch(() => null);
  if (layout?.filesRefs) {
    const sha = await readRef(layout.commonDir, `refs/heads/${branch}`);
    if (sha !== undefined) return sha;
  }
  return (await tryGit(repo, ['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`]))?.trim() || null;
}

/**
 * The merge queue's own checkout, detached at `sha`: files of earlier merges
 * are reset, ignored build output (node_modules, target/) is kept so each
 * verify does not start from nothing.
 */
export async function checkoutIntegration(repo: string, dir: string, sha: string): Promise<void> {
  if (!existsSync(path.join(dir, '.git'))) {
    await addWorktree(repo, dir, { detached: sha });
  }
  // Only after a merge that was cut short (a runner killed mid-merge): one git process less per merge.
  if (mergeHeadExists(dir) !== false) await tryGit(dir, ['merge', '--abort']);
  await git(dir, ['checkout', '-q', '--force', '--detach', sha]);
  await git(dir, ['clean', '-q', '-fd']);
}

export type MergeResult =
  /** The task branch merged cleanly: `sha` is the new commit, `files` what it changed on the integration side. */
  | { kind: 'merged'; sha: string; files: string[] }
  /** Nothing of the task's is missing from the integration head (no commits of its own, or merged already). */
  | { kind: 'nothing' }
  /** The merge conflicted: the files, and the conflicting hunks as git shows them (bounded). */
  | { kind: 'conflict'; files: string[]; hunks: string };

const HUNKS_MAX = 12_000;

/**
 * Merges `taskBranch` into the integration checkout (at the integration head)
 * with a merge commit that carries the trailers. A conflict is aborted, so the
 * checkout is left at the integration head.
 */
export async function mergeTaskBranch(
  dir: string,
  taskBranch: string,
  message: string,
  trailers: Record<string, string>,
  identity: CommitIdentity,
  /** Fast-forward when the task branch already contains the head (its pull request's merge makes the commit). */
  fastForward = false,
): Promise<MergeResult> {
  // Merges are one at a time per project, so each git process here is on the queue's critical path:
  // HEAD is read from the checkout's files, and a branch with nothing new is told by the merge
  // itself ("Already up to date" leaves HEAD where it was) instead of a merge-base call first.
  const before = await headOf(dir);
  const env = {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
  const full = `${message}\n\n${Object.entries(trailers)
    .map(([k, v]) => `${k}: ${v.replace(/\s+/g, ' ').trim()}`)
    .join('\n')}`;
  const merged = await tryGit(
    dir,
    ['merge', fastForward ? '--ff' : '--no-ff', '--no-verify', '-q', '-m', full, taskBranch],
    { env },
  );
  if (merged === null) {
    const files = (await git(dir, ['diff', '--name-only', '--diff-filter=U'], { allowFailure: true }))
      .split('\n')
      .filter(Boolean);
    const hunks = await git(dir, ['diff', '--diff-filter=U'], { allowFailure: true });
    await tryGit(dir, ['merge', '--abort']);
    await git(dir, ['checkout', '-q', '--force', '--detach', before]);
    return {
      kind: 'conflict',
      files,
      hunks: hunks.length > HUNKS_MAX ? `${hunks.slice(0, HUNKS_MAX)}\n… [truncated]` : hunks,
    };
  }
  const sha = await headOf(dir);
  if (sha === before) return { kind: 'nothing' };
  const files = (await git(dir, ['diff', '--name-only', before, sha])).split('\n').filter(Boolean);
  return { kind: 'merged', sha, files };
}

async function headOf(dir: string): Promise<string> {
  return detachedHead(dir) ?? (await git(dir, ['rev-parse', 'HEAD'])).trim();
}

/** Lines a merge would add that are conflict markers: `<<<<<<< `, `=======`, `>>>>>>> `. Pure. */
export function conflictMarkers(diff: string): { file: string; line: string }[] {
  const found: { file: string; line: string }[] = [];
  let file = '';
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ ')) file = line.slice(4).replace(/^b\//, '');
    else if (/^\+(<{7}( |$)|={7}$|>{7}( |$))/.test(line)) found.push({ file, line: line.slice(1) });
  }
  return found;
}

/** Conflict markers the commit `to` adds over `from`, in any file. */
export async function markersAdded(dir: string, from: string, to: string): Promise<{ file: string; line: string }[]> {
  return conflictMarkers(await git(dir, ['diff', '--no-color', '--unified=0', from, to], { allowFailure: true }));
}

/**
 * Advances the integration branch from `from` to `to`, only if it is still
 * at `from` (git's compare-and-swap): a head that moved is never overwritten.
 */
export async function advanceIntegration(repo: string, branch: string, to: string, from: string): Promise<boolean> {
  try {
    await retryingLocks(() => git(repo, ['update-ref', `refs/heads/${branch}`, to, from]));
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves the task's branch (checked out in `worktree`) forward to `sha`, a merge
 * commit whose parents include the branch's head, so the branch that is pushed
 * and reviewed is exactly the combination the merge queue verified.
 */
export async function fastForwardTask(worktree: string, sha: string): Promise<void> {
  await git(worktree, ['merge', '--ff-only', '-q', sha]);
}

export type BringUpToDate =
  /** The integration head merged into the task branch cleanly and is committed there. */
  | { kind: 'merged' }
  /** Conflicts are left in the task's worktree (a merge in progress) for its agent to resolve. */
  | { kind: 'conflict'; files: string[] }
  /** The task branch already had it. */
  | { kind: 'current' };

/**
 * Sends work back: the integration head merged into the task's branch in its
 * own worktree. A clean merge is committed at once; a conflicting one is left
 * in progress with its markers, and the task's next checkpoint commit (after
 * the agent resolved them) concludes it.
 */
export async function mergeIntegrationIntoTask(
  dir: string,
  integrationRef: string,
  identity: CommitIdentity,
  trailers: Record<string, string>,
): Promise<BringUpToDate> {
  const contained = await tryGit(dir, ['merge-base', '--is-ancestor', integrationRef, 'HEAD']);
  if (contained !== null) return { kind: 'current' };
  const env = {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
  // Work the agent left uncommitted would make the merge refuse; it belongs to the task: commit it.
  const dirty = await git(dir, ['status', '--porcelain'], { allowFailure: true });
  if (dirty.trim()) {
    await git(dir, ['add', '--all']);
    await git(
      dir,
      ['commit', '--no-verify', '-q', '-m', 'Work in progress before integrating', ...trailerArgs(trailers)],
      {
        env,
      },
    );
  }
  const merged = await tryGit(
    dir,
    ['merge', '--no-ff', '--no-verify', '-q', '-m', `Merge ${integrationRef} into this task's branch`, integrationRef],
    { env },
  );
  if (merged !== null) return { kind: 'merged' };
  const files = (await git(dir, ['diff', '--name-only', '--diff-filter=U'], { allowFailure: true }))
    .split('\n')
    .filter(Boolean);
  return { kind: 'conflict', files };
}

/** Whether a merge is in progress in the worktree (a send-back left conflicts to resolve). */
export async function mergeInProgress(dir: string): Promise<boolean> {
  return (await tryGit(dir, ['rev-parse', '-q', '--verify', 'MERGE_HEAD'])) !== null;
}
