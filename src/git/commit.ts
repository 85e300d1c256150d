import { git } from './git.js';

export interface CommitIdentity {
  name: string;
  email: string;
}

export interface CheckpointCommit {
  sha: string;
  files: string[];
}

export type Checkpoint =
  | ({ kind: 'committed' } & CheckpointCommit)
  | { kind: 'nothing' }
  /** The check refused the staged change (a secret): nothing was committed, the files stay as they are. */
  | { kind: 'blocked'; reason: string };

/** Judges the staged change from its `git diff --cached -U0`: a reason to refuse it, or null. */
export type StagedCheck = (diff: string) => Promise<string | null>;

/** What a push or a commit adds, as a -U0 diff text (for the secret scan). */
const DIFF_FLAGS = ['-U0', '--no-color', '--no-ext-diff', '--no-renames', '--no-textconv'];

/** Builds `Key: value` trailer arguments; values are kept on one line. */
export function trailerArgs(trailers: Record<string, string>): string[] {
  return Object.entries(trailers).flatMap(([k, v]) => ['--trailer', `${k}: ${v.replace(/\s+/g, ' ').trim()}`]);
}

/**
 * Commits everything in the worktree as a checkpoint with Samgita trailers,
 * unless `check` refuses the staged change (then it is unstaged again).
 */
export async function commitCheckpoint(
  worktree: string,
  message: string,
  trailers: Record<string, string>,
  identity: CommitIdentity,
  check?: StagedCheck,
): Promise<Checkpoint> {
  // Most often nothing changed since the last checkpoint (or at all): one git call says so.
  const status = await git(worktree, ['status', '--porcelain', '-z', '--untracked-files=all']);
  if (!status) return { kind: 'nothing' };
  await git(worktree, ['add', '--all']);
  const staged = (await git(worktree, ['diff', '--cached', '--name-only', '-z'])).split('\0').filter(Boolean);
  if (staged.length === 0) return { kind: 'nothing' };
  if (check) {
    const reason = await check(await git(worktree, ['diff', '--cached', ...DIFF_FLAGS]));
    if (reason) {
      await git(worktree, ['reset', '-q']);
      return { kind: 'blocked', reason };
    }
  }
  await git(
    worktree,
    [
      '-c',
      `user.name=${identity.name}`,
      '-c',
      `user.email=${identity.email}`,
      'commit',
      '--no-verify',
      '-q',
      '-m',
      message,
      ...trailerArgs(trailers),
    ],
    { env: { GIT_COMMITTER_NAME: identity.name, GIT_COMMITTER_EMAIL: identity.email } },
  );
  const sha = (await git(worktree, ['rev-parse', 'HEAD'])).trim();
  return { kind: 'committed', sha, files: staged };
}

/** What pushing `branch` would add to the remote: its commits on no remote branch yet, as one -U0 diff text. */
export async function unpushedDiff(worktree: string, branch: string): Promise<string> {
  return git(worktree, ['log', '-p', ...DIFF_FLAGS, '--format=', `refs/heads/${branch}`, '--not', '--remotes=origin']);
}

/** `git log --oneline -n 10 <sha>` by commit sha (immutable), for fresh branches. */
const baseLogs = new Map<string, string[]>();

/** Files changed on the branch since it left `base`, and the latest commits: repo state for the Reason step. */
export async function branchState(
  worktree: string,
  base: string,
  options: { fresh?: boolean } = {},
): Promise<{ changedFiles: string[]; recentCommits: string[] }> {
  // `fresh`: the branch was created at `base` just now, so nothing changed on it yet and
  // its log is the base commit's, which never changes: asked of git once per commit.
  if (options.fresh) {
    let recent = baseLogs.get(base);
    if (!recent) {
      const out = await git(worktree, ['log', '--oneline', '-n', '10', base], { allowFailure: true });
      recent = out.split('\n').filter(Boolean);
      if (out) {
        if (baseLogs.size >= 64) baseLogs.delete(baseLogs.keys().next().value as string);
        baseLogs.set(base, recent);
      }
    }
    return { changedFiles: [], recentCommits: [...recent] };
  }
  const [changed, log] = await Promise.all([
    git(worktree, ['diff', '--name-only', `${base}...HEAD`], { allowFailure: true }),
    git(worktree, ['log', '--oneline', '-n', '10'], { allowFailure: true }),
  ]);
  return {
    changedFiles: changed.split('\n').filter(Boolean),
    recentCommits: log.split('\n').filter(Boolean),
  };
}

export interface IntegratedSince {
  /** `<short sha> <subject>`, newest first, at most `maxCommits`. */
  commits: string[];
  /** There were more commits than listed. */
  moreCommits: boolean;
  /** Files changed, at most `maxFiles`. */
  files: string[];
  /** How many changed files are not listed. */
  moreFiles: number;
}

/**
 * What was integrated onto `branch` since `base`: its commits, newest first,
 * and the files they changed, both bounded (a long-lived integration branch
 * must not crowd out the rest of an agent's prompt). Null when the branch does
 * not exist (yet), git cannot tell in time, or nothing was integrated.
 */
export async function integratedSince(
  worktree: string,
  base: string,
  branch: string,
  options: { maxCommits?: number; maxFiles?: number; timeoutMs?: number } = {},
): Promise<IntegratedSince | null> {
  const maxCommits = options.maxCommits ?? 15;
  const maxFiles = options.maxFiles ?? 40;
  // Short: this is context for the prompt, not worth holding up a task for.
  const opts = { allowFailure: true, timeoutMs: options.timeoutMs ?? 15_000 };
  const ref = `refs/heads/${branch}`;
  const [log, diff] = await Promise.all([
    git(worktree, ['log', `--max-count=${maxCommits + 1}`, '--format=%h %s', `${base}..${ref}`, '--'], opts),
    git(worktree, ['diff', '--name-only', '--no-renames', `${base}...${ref}`, '--'], opts),
  ]);
  const commits = log.split('\n').filter(Boolean);
  if (commits.length === 0) return null;
  const files = diff.split('\n').filter(Boolean);
  return {
    commits: commits.slice(0, maxCommits),
    moreCommits: commits.length > maxCommits,
    files: files.slice(0, maxFiles),
    moreFiles: Math.max(0, files.length - maxFiles),
  };
}
