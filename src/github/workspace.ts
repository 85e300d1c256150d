import { existsSync } from 'node:fs';
import path from 'node:path';
import { SamgitaError } from '../errors.js';
import { CloneFailed, cloneAtomically } from '../git/clone.js';
import { unpushedDiff } from '../git/commit.js';
import { git } from '../git/git.js';
import { redactUrl } from '../git/url.js';
import { scanDiff } from '../sandbox/secret-scan.js';
import { knownSecrets } from '../sandbox/secrets.js';
import { gitAuthEnv, scrubToken } from './git-auth.js';

/** Where a GitHub repository is cloned for runners: $SAMGITA_HOME/repos/<owner>/<repo>. */
export function clonePath(samgitaHome: string, fullName: string): string {
  const [owner, repo] = fullName.split('/');
  if (!owner || !repo || owner.startsWith('.') || repo.startsWith('.')) {
    throw new SamgitaError('INVALID_INPUT', `not a GitHub repository name: ${fullName}`);
  }
  return path.join(samgitaHome, 'repos', owner, repo);
}

const locks = new Map<string, Promise<unknown>>();

/** One git operation at a time per clone in this process (fetches race on ref locks). */
async function serialized<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(dir) ?? Promise.resolve();
  const next = prev.catch(() => {}).then(fn);
  locks.set(dir, next);
  try {
    return await next;
  } finally {
    if (locks.get(dir) === next) locks.delete(dir);
  }
}

async function authedGit(dir: string, args: string[], token: string): Promise<string> {
  try {
    return await git(dir, args, { env: gitAuthEnv(token), timeoutMs: 120_000 });
  } catch (err) {
    // git's own messages never carry the header, but keep any echo of it out of logs anyway.
    if (err instanceof SamgitaError) {
      throw new SamgitaError(err.code, scrubToken(err.message, token), { hint: err.hint, details: err.details });
    }
    throw err;
  }
}

/**
 * Makes sure the runner's clone of a GitHub repository exists and its default
 * branch is current. The clone keeps a detached HEAD so fetch can move the
 * default branch; task branches live in worktrees and are never touched here.
 */
export async function ensureClone(input: {
  dir: string;
  cloneUrl: string;
  defaultBranch: string;
  token: string;
}): Promise<void> {
  await serialized(input.dir, async () => {
    if (!existsSync(path.join(input.dir, '.git'))) {
      // Into a temporary sibling renamed into place when complete: a crash never leaves a half-made clone.
      try {
        await cloneAtomically(input.cloneUrl, input.dir, {
          timeoutMs: 120_000,
          cloneArgs: ['--no-checkout', '--quiet'],
          env: gitAuthEnv(input.token),
          prepare: async (tmp) => {
            const head = (await git(tmp, ['rev-parse', 'HEAD'])).trim();
            await git(tmp, ['update-ref', '--no-deref', 'HEAD', head]);
          },
        });
      } catch (err) {
        const why = err instanceof CloneFailed ? err.message : (err as Error).message;
        throw new SamgitaError(
          'GIT_FAILED',
          scrubToken(redactUrl(`git clone ${input.cloneUrl} failed: ${why}`), input.token),
          {
            details:
              err instanceof CloneFailed ? { stderr: scrubToken(err.stderr.slice(-2000), input.token) } : undefined,
          },
        );
      }
    }
    await authedGit(
      input.dir,
      [
        'fetch',
        '--quiet',
        '--prune',
        'origin',
        `+refs/heads/${input.defaultBranch}:refs/heads/${input.defaultBranch}`,
        '+refs/heads/*:refs/remotes/origin/*',
      ],
      input.token,
    );
  });
}

/**
 * Refuses (SECRET_DETECTED) when what a push of `branch` would add carries a
 * secret Samgita knows (the installation token included) or a credential pattern.
 */
async function scanBeforePush(dir: string, branch: string, token: string): Promise<void> {
  const secrets = knownSecrets(process.env, [{ name: 'GitHub installation token', value: token }]);
  const reason = await scanDiff(await unpushedDiff(dir, branch), secrets, 'push');
  if (reason) throw new SamgitaError('SECRET_DETECTED', reason, { details: { branch } });
}

/** Pushes a task branch (fast-forward only: reviewers' commits on it are never overwritten). */
export async function pushBranch(input: { worktree: string; branch: string; token: string }): Promise<void> {
  await scanBeforePush(input.worktree, input.branch, input.token);
  await authedGit(
    input.worktree,
    ['push', '--quiet', 'origin', `refs/heads/${input.branch}:refs/heads/${input.branch}`],
    input.token,
  );
}

/**
 * Brings the clone's `branch` to GitHub's head of it (GitHub is the truth for
 * a GitHub project's integration branch). A branch GitHub does not have yet is
 * pushed from the clone, where the merge queue made it from the project's base.
 */
export async function syncBranch(input: { dir: string; branch: string; token: string }): Promise<void> {
  await serialized(input.dir, async () => {
    const remote = await authedGit(
      input.dir,
      ['ls-remote', '--heads', 'origin', `refs/heads/${input.branch}`],
      input.token,
    );
    if (remote.trim()) {
      await authedGit(
        input.dir,
        ['fetch', '--quiet', 'origin', `+refs/heads/${input.branch}:refs/heads/${input.branch}`],
        input.token,
      );
    } else {
      await scanBeforePush(input.dir, input.branch, input.token);
      await authedGit(
        input.dir,
        ['push', '--quiet', 'origin', `refs/heads/${input.branch}:refs/heads/${input.branch}`],
        input.token,
      );
    }
  });
}

/** GitHub's copy of the state ref over the clone's: the remote is the record two deployments share. */
export async function pullStateRef(input: { dir: string; token: string }): Promise<void> {
  await serialized(input.dir, async () => {
    const remote = await authedGit(input.dir, ['ls-remote', 'origin', 'refs/samgita/state'], input.token);
    if (remote.trim())
      await authedGit(
        input.dir,
        ['fetch', '--quiet', '--no-tags', 'origin', '+refs/samgita/state:refs/samgita/state'],
        input.token,
      );
  });
}

/**
 * Pushes the state ref (fast-forward only: a ref another deployment moved is
 * not overwritten; the next checkpoint reads it and sees who holds the project).
 */
export async function pushStateRef(input: { dir: string; token: string }): Promise<void> {
  await authedGit(input.dir, ['push', '--quiet', 'origin', 'refs/samgita/state:refs/samgita/state'], input.token);
}
