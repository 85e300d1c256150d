/**
 * A new task branch written into git's files, as `git reset --hard <commit>`
 * in a worktree whose HEAD names a branch not made yet writes it: the loose
 * ref through its lock file, and (with core.logAllRefUpdates) a reflog line for
 * the branch and for the worktree's HEAD, before the lock is renamed into
 * place (gitrepository-layout(5), git-update-ref(1) "Logging Updates").
 *
 * Only what is certain is done here; anything else (a lock held by a running
 * git, a name that is a directory or sits under a file, an odd name) returns
 * false and the caller leaves the work to git.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { CommitIdentity } from './commit.js';
import type { RepoLayout } from './layout.js';
import { isSimpleRefName, readRef } from './read-ref.js';

export interface NewBranch {
  branch: string;
  /** The commit it starts at. */
  at: string;
  /** The admin directory of the worktree whose HEAD names the branch (its HEAD reflog). */
  worktreeAdmin: string;
  /** Who the reflog lines name. */
  identity: CommitIdentity;
}

/** Writes `refs/heads/<branch>` = `at` (replacing it, as `-B` does). False: not done, ask git. */
export async function writeNewBranch(layout: RepoLayout, b: NewBranch): Promise<boolean> {
  if (!layout.filesRefs || !isSimpleRefName(b.branch) || /[\n<>]/.test(b.identity.name + b.identity.email))
    return false;
  const ref = `refs/heads/${b.branch}`;
  const file = path.join(layout.commonDir, ref);
  const lock = `${file}.lock`;
  let fd: number;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    fd = openSync(lock, 'wx');
  } catch {
    return false; // a git holds the lock, or `refs/heads/<a>` is a file where a directory must be
  }
  try {
    try {
      writeSync(fd, `${b.at}\n`);
    } finally {
      closeSync(fd);
    }
    // Read under the lock, as git does: no other writer can move it now.
    const old = await readRef(layout.commonDir, ref);
    if (old === undefined) throw new Error('a ref git must read');
    if (layout.logAllRefUpdates) {
      const line = reflogLine(old ?? '0'.repeat(b.at.length), b.at, b.identity, `reset: moving to ${b.at}`);
      appendLog(path.join(layout.commonDir, 'logs', ref), line);
      appendLog(path.join(b.worktreeAdmin, 'logs', 'HEAD'), line);
    }
    renameSync(lock, file);
    return true;
  } catch {
    rmSync(lock, { force: true });
    return false; // e.g. `refs/heads/<branch>` is a directory: git reports that properly
  }
}

function appendLog(file: string, line: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, line);
}

/** `<old> <new> <name> <<email>> <seconds> <±hhmm>\t<message>`, the local offset as git writes it. */
export function reflogLine(
  oldOid: string,
  newOid: string,
  who: CommitIdentity,
  message: string,
  now = new Date(),
): string {
  const offset = -now.getTimezoneOffset();
  const abs = Math.abs(offset);
  const tz = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  return `${oldOid} ${newOid} ${who.name} <${who.email}> ${Math.floor(now.getTime() / 1000)} ${tz}\t${message}\n`;
}
