/**
 * Linked worktrees made, moved and removed in constant time.
 *
 * Every `git worktree` subcommand (add, move, remove) first reads the whole
 * list of worktrees: each one's gitdir, commondir and HEAD, and the ref HEAD
 * names. With 1,000 agents in one repository that is 3,000+ file reads per
 * call, and `git worktree add` went from 5 ms to 75 ms (measured on this
 * machine, git 2.39: 21 ms at 200 worktrees, 50 ms at 600, 75 ms at 1,000).
 * Starting 1,000 tasks cost ~40 s of CPU in those scans alone.
 *
 * A linked worktree is a documented on-disk layout (git-worktree(1) DETAILS,
 * gitrepository-layout(5)): `$GIT_COMMON_DIR/worktrees/<id>/` holding `gitdir`
 * (the worktree's `.git` file), `commondir` (`../..`) and `HEAD`, and a `.git`
 * file in the worktree pointing back. This module writes exactly what
 * `git worktree add` writes (the tests compare them byte for byte), in the
 * same order, guarded by the same `locked` file against a concurrent
 * `git worktree prune`; git itself then checks out the files (`reset --hard`,
 * which is what `worktree add` runs too), so the index, filters and the
 * branch's reflog are git's own. Removing is deleting both directories, as
 * `git worktree remove --force` does after its scan.
 *
 * Repositories whose worktrees need more than that layout (per-worktree
 * config, sparse checkout) get git's own commands: see `plainLayout`.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommitIdentity } from './commit.js';
import { git, tryGit } from './git.js';
import { repoLayout as layoutOf } from './layout.js';
import { worktreeGitDir } from './read-ref.js';
import { writeNewBranch } from './write-ref.js';

export type WorktreeHead =
  /** HEAD on `branch`; with `at`, the branch is (re)set to that commit, as `worktree add -B` does. */
  | { branch: string; at?: string }
  /** A detached HEAD at this commit. */
  | { detached: string };

/** git's own name for a worktree's admin directory: the path's basename, made ref-safe. */
export function worktreeId(dir: string): string {
  const id = path
    .basename(dir)
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^\.+/, '');
  return id || 'worktree';
}

/** How many `<id><n>` names are tried before giving the job to git (which would scan). */
const MAX_ID_SUFFIX = 100;

/**
 * Claims `worktrees/<id>` for `gitFile` as git does (mkdir, then `<id>1`,
 * `<id>2`, … while taken). A directory already registered for this same path
 * is a stale registration (the checkout was lost: crash, deleted by hand) and
 * is taken over rather than left to `git worktree prune`.
 */
async function claimAdminDir(commonDir: string, dir: string, gitFile: string): Promise<string | null> {
  const parent = path.join(commonDir, 'worktrees');
  mkdirSync(parent, { recursive: true });
  const id = worktreeId(dir);
  for (let n = 0; n <= MAX_ID_SUFFIX; n++) {
    const admin = path.join(parent, n === 0 ? id : `${id}${n}`);
    try {
      mkdirSync(admin);
      return admin;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const registered = await readFile(path.join(admin, 'gitdir'), 'utf8').catch(() => null);
    if (registered?.trim() === gitFile) {
      await rm(admin, { recursive: true, force: true });
      await mkdir(admin).catch(() => {});
      return admin;
    }
  }
  return null;
}

/** A clean checkout of the commit a new branch starts at, to copy instead of asking git to write the tree. */
export interface CopySource {
  /** The checkout (src/git/checkout-copies.ts: a linked worktree of the same repository, detached there). */
  dir: string;
  /** Who the new branch's reflog lines name. */
  identity: CommitIdentity;
}

/**
 * `git worktree add [--detach | -B <branch>] <dir> [<commit>]`, with `--force`'s
 * tolerance of a stale registration of `dir`. A leftover `dir` without a `.git`
 * (a checkout that was being made when its process died) is replaced. With
 * `copy`, a new branch's files and index are copied from that checkout and the
 * branch written (src/git/write-ref.ts) instead of running `git reset --hard`;
 * anything the copy cannot do is left to the reset, which overwrites it.
 */
export async function linkWorktree(repo: string, dir: string, head: WorktreeHead, copy?: CopySource): Promise<void> {
  const layout = await layoutOf(repo);
  // A leftover checkout may be large: removed off the main thread. The rest are a few tiny
  // files, written synchronously: each asynchronous call costs a thread-pool round trip, and on
  // this 2-core VM a directory and five small files cost 2 to 5 times the CPU of the same calls made directly.
  if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const real = realpathSync(dir);
  const admin = layout.plain ? await claimAdminDir(layout.commonDir, real, path.join(real, '.git')) : null;
  if (!admin) {
    await rm(dir, { recursive: true, force: true });
    await gitWorktreeAdd(repo, dir, head);
    return;
  }
  try {
    // Until `locked` is gone, `git worktree prune` leaves the half-made worktree alone.
    writeFileSync(path.join(admin, 'locked'), 'initializing\n');
    writeFileSync(path.join(real, '.git'), `gitdir: ${admin}\n`);
    writeFileSync(path.join(admin, 'commondir'), '../..\n');
    writeFileSync(
      path.join(admin, 'HEAD'),
      'branch' in head ? `ref: refs/heads/${head.branch}\n` : `${head.detached}\n`,
    );
    writeFileSync(path.join(admin, 'gitdir'), `${path.join(real, '.git')}\n`);
    // `worktree add` runs `reset --hard` too; with a commit it also moves (or creates) the branch.
    const at = 'branch' in head ? head.at : undefined;
    const copied =
      copy !== undefined &&
      'branch' in head &&
      at !== undefined &&
      copyCheckout(copy.dir, real, admin) &&
      (await writeNewBranch(layout, { branch: head.branch, at, worktreeAdmin: admin, identity: copy.identity }));
    if (!copied) await git(real, ['reset', '-q', '--hard', '--no-recurse-submodules', ...(at ? [at] : [])]);
    rmSync(path.join(admin, 'locked'), { force: true });
  } catch (err) {
    await rm(real, { recursive: true, force: true });
    await rm(admin, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The files of `source` (everything but its `.git` file: a clean checkout holds only
 * tracked files) and its index. The index keeps the source's stat data, which no
 * copied file matches, so git re-reads a file's content before trusting it, as after
 * any copy of a repository. Synchronous: for the small trees this is used for, a
 * copy costs less than the thread-pool round trips would (src/git/checkout-copies.ts).
 */
function copyCheckout(source: string, dir: string, admin: string): boolean {
  const sourceAdmin = worktreeGitDir(source);
  if (!sourceAdmin) return false;
  const sourceGitFile = path.join(source, '.git');
  try {
    copyTree(source, dir, sourceGitFile);
    copyFileSync(path.join(sourceAdmin, 'index'), path.join(admin, 'index'));
    return true;
  } catch {
    return false;
  }
}

/**
 * What a checkout holds: directories, files (with their mode: libuv's copy sets the
 * source's) and symbolic links as they are. Three calls per entry, where fs.cpSync
 * stats source and destination of each and checked the parents: 2% of a runner's CPU
 * while 1,000 agents started, for a two-file tree.
 */
function copyTree(from: string, to: string, skip: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (source === skip) continue;
    if (entry.isDirectory()) {
      mkdirSync(target);
      copyTree(source, target, skip);
    } else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (entry.isFile()) copyFileSync(source, target);
    else throw new Error(`${source} is neither a file, a directory nor a link`);
  }
}

async function gitWorktreeAdd(repo: string, dir: string, head: WorktreeHead): Promise<void> {
  const args =
    'detached' in head
      ? ['--detach', dir, head.detached]
      : head.at
        ? ['-B', head.branch, dir, head.at]
        : [dir, head.branch];
  let pruned = false;
  for (;;) {
    try {
      await git(repo, ['worktree', 'add', '-q', '--force', ...args]);
      return;
    } catch (err) {
      if (pruned || !/already registered|already checked out|already exists/i.test(String((err as Error).message)))
        throw err;
      pruned = true;
      // A stale registration (directory deleted by hand, machine crashed).
      await tryGit(repo, ['worktree', 'prune']);
    }
  }
}

/** The admin directory `dir/.git` points to, when it is one of `repo`'s plain linked worktrees. */
async function adminOf(repo: string, dir: string): Promise<string | null> {
  const layout = await layoutOf(repo).catch(() => null);
  if (!layout?.plain) return null;
  const admin = worktreeGitDir(dir);
  if (!admin || path.dirname(admin) !== path.join(layout.commonDir, 'worktrees')) return null;
  return (await stat(admin).catch(() => null))?.isDirectory() ? admin : null;
}

/**
 * `git worktree remove --force <dir>`: the checkout, then its registration (a
 * crash between the two leaves a registration `git worktree prune` clears).
 */
export async function unlinkWorktree(repo: string, dir: string): Promise<void> {
  const admin = await adminOf(repo, dir);
  if (admin) {
    await rm(dir, { recursive: true, force: true });
    await rm(admin, { recursive: true, force: true });
    return;
  }
  // Not a worktree any more, half-created, or one git must handle.
  if ((await tryGit(repo, ['worktree', 'remove', '--force', dir])) !== null) return;
  await rm(dir, { recursive: true, force: true });
  await tryGit(repo, ['worktree', 'prune']);
}

/** `git worktree move <from> <to>`: a rename and the registration's new path. */
export async function moveWorktree(repo: string, from: string, to: string): Promise<void> {
  const admin = await adminOf(repo, from);
  if (!admin) {
    await git(repo, ['worktree', 'move', from, to]);
    return;
  }
  await mkdir(path.dirname(to), { recursive: true });
  await rename(from, to);
  await writeFile(path.join(admin, 'gitdir'), `${path.join(await realpath(to), '.git')}\n`);
}
