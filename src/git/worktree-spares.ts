import { closeSync, openSync, readSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../spawner/alive.js';
import { git, tryGit } from './git.js';
import { moveWorktree, unlinkWorktree } from './link-worktree.js';
import { addWorktree, retryingLocks } from './worktree.js';

async function tryGitLocked(cwd: string, args: string[]): Promise<boolean> {
  return retryingLocks(() => git(cwd, args)).then(
    () => true,
    () => false,
  );
}

interface RepoSpares {
  baseSha: string;
  ready: string[];
  filling: Promise<void> | null;
  swept: boolean;
}

const SPARE_PREFIX = '.spare-';

/**
 * Ready checkouts per repository, detached at the base commit, made in the
 * background so that starting a task does not wait for git to write the whole
 * tree: on a 1,000-file repository `git worktree add` costs 100-200 ms of file
 * creation, a spare costs a branch switch and a rename. One runner process owns
 * its spares (the directory name carries its pid); spares of a process that is
 * gone are removed the first time its repository is seen again. Spares at an
 * old base (the base branch moved) are discarded. Creation is one at a time per
 * repository, so spares never compete with each other for the repository's locks.
 */
export class WorktreeSpares {
  private readonly repos = new Map<string, RepoSpares>();
  private seq = 0;
  private closed = false;

  /** @param target spares kept ready per repository (0 disables). */
  constructor(private readonly target: number) {}

  /** A ready spare at `baseSha`, or null. The caller owns it from now on. */
  take(repo: string, baseSha: string): string | null {
    const r = this.repos.get(repo);
    if (!r || r.baseSha !== baseSha) return null;
    return r.ready.pop() ?? null;
  }

  /** Tops up the spares of `repo` at `baseSha` in the background, under `dir`. */
  refill(repo: string, baseSha: string, dir: string): void {
    if (this.closed || this.target <= 0 || !worthSpares(repo)) return;
    let r = this.repos.get(repo);
    if (!r) {
      r = { baseSha, ready: [], filling: null, swept: false };
      this.repos.set(repo, r);
    }
    if (r.baseSha !== baseSha) {
      // The base moved: spares of the old commit are of no use.
      const stale = r.ready.splice(0);
      r.baseSha = baseSha;
      for (const s of stale) void removeCheckout(repo, s);
    }
    if (r.filling) return;
    const state = r;
    state.filling = (async () => {
      try {
        if (!state.swept) {
          state.swept = true;
          await sweepDeadCheckouts(repo, dir, SPARE_PREFIX);
        }
        while (!this.closed && state.baseSha === baseSha && state.ready.length < this.target) {
          const spare = path.join(dir, `${SPARE_PREFIX}${process.pid}-${++this.seq}`);
          await addWorktree(repo, spare, { detached: baseSha });
          if (this.closed || state.baseSha !== baseSha) {
            await removeCheckout(repo, spare);
            break;
          }
          state.ready.push(spare);
        }
      } catch {
        // No spare this time: tasks check out their tree themselves.
      } finally {
        state.filling = null;
      }
    })();
  }

  /**
   * Turns a finished task's worktree into a spare instead of deleting it: back to
   * the base commit, detached, cleaned (only the files the task touched change),
   * renamed. False when there is no room or it could not be cleaned; the caller
   * then removes it as usual.
   */
  async recycle(repo: string, dir: string): Promise<boolean> {
    const r = this.repos.get(repo);
    if (this.closed || !r || r.ready.length >= this.target) return false;
    const baseSha = r.baseSha;
    const spare = path.join(path.dirname(dir), `${SPARE_PREFIX}${process.pid}-${++this.seq}`);
    // A refill may be adding a spare to the same repository right now: its lock files
    // make these fail for a moment (seen on a loaded machine), so they are retried.
    const ok =
      (await tryGitLocked(dir, ['checkout', '-q', '--force', '--detach', baseSha])) &&
      (await tryGitLocked(dir, ['clean', '-q', '-ffdx'])) &&
      (await moveWorktree(repo, dir, spare).then(
        () => true,
        () => false,
      ));
    if (!ok) {
      await removeCheckout(repo, spare);
      return false;
    }
    if (this.closed || r.baseSha !== baseSha || r.ready.length >= this.target) {
      await removeCheckout(repo, spare);
      return true;
    }
    r.ready.push(spare);
    return true;
  }

  /** Stops refilling and removes every spare. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.repos.entries()];
    await Promise.all(all.map(([, r]) => r.filling));
    await Promise.all(all.flatMap(([repo, r]) => r.ready.splice(0).map((s) => removeCheckout(repo, s))));
  }
}

/** Below this many files a checkout is as cheap as taking a spare (which costs two git calls). */
const MIN_FILES_FOR_SPARES = 300;
const worth = new Map<string, boolean>();

/**
 * Whether checking out `repo` costs enough to keep spares: the entry count in the
 * header of its index (bytes 8-11), read without running git. Unknown: yes.
 * Below it, new checkouts are copies of one (src/git/checkout-copies.ts).
 */
export function worthSpares(repo: string): boolean {
  let w = worth.get(repo);
  if (w === undefined) {
    w = true;
    try {
      const fd = openSync(path.join(repo, '.git', 'index'), 'r');
      try {
        const head = Buffer.alloc(12);
        if (readSync(fd, head, 0, 12, 0) === 12 && head.toString('latin1', 0, 4) === 'DIRC')
          w = head.readUInt32BE(8) >= MIN_FILES_FOR_SPARES;
      } finally {
        closeSync(fd);
      }
    } catch {
      /* no index (bare clone, linked worktree): assume a checkout is costly */
    }
    worth.set(repo, w);
  }
  return w;
}

/** A checkout and its registration; at worst the directory (the registration is then pruned). */
export async function removeCheckout(repo: string, dir: string): Promise<void> {
  await unlinkWorktree(repo, dir).catch(() => rm(dir, { recursive: true, force: true }));
}

/**
 * Checkouts named `<prefix><pid>-<n>` in `dir` whose runner process no longer
 * exists (crash, SIGKILL): spares, copy templates.
 */
export async function sweepDeadCheckouts(repo: string, dir: string, prefix: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = false;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-\d+$/.exec(name.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    await removeCheckout(repo, path.join(dir, name));
    removed = true;
  }
  if (removed) await tryGit(repo, ['worktree', 'prune']);
}
