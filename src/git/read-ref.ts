/**
 * Branch heads read from the repository's files instead of a `git rev-parse`.
 *
 * A task start asked git for two things before its checkout: the commit of
 * the integration branch, and whether the task's branch already exists. On a
 * virtual machine where starting a process costs 5–10 ms, that call was a
 * third of a task start's git time. Both answers are files in the "files" ref
 * backend (gitrepository-layout(5)): a loose ref `refs/heads/<name>` holding
 * a commit id, else a line of `packed-refs`; git reads them in that order.
 *
 * Every answer this module cannot give with certainty is `undefined`, and the
 * caller asks git: a repository using the reftable backend, a symbolic ref, a
 * name another ref would shadow (gitrevisions(7): `refs/<name>` and
 * `refs/tags/<name>` come before `refs/heads/<name>`), a name git would refuse.
 */
import { readFileSync, type Stats, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** A commit id, `null` when the ref does not exist, `undefined` when git must be asked. */
export type RefAnswer = string | null | undefined;

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Names this reader handles: plain path segments, nothing git's check-ref-format would need to judge. */
const SIMPLE_NAME = /^(?!.*(?:\.\.|\/\/|@\{|\.lock(?:\/|$)|\/\.))[A-Za-z0-9][A-Za-z0-9._/-]*(?<![./])$/;

export function isSimpleRefName(name: string): boolean {
  return SIMPLE_NAME.test(name);
}

/** `packed-refs` as a map from ref name to commit id (peeled lines `^…` are not refs). */
export function parsePackedRefs(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const space = line.indexOf(' ');
    const oid = line.slice(0, space);
    if (space > 0 && OID.test(oid)) refs.set(line.slice(space + 1).trimEnd(), oid);
  }
  return refs;
}

interface Packed {
  ino: number;
  size: number;
  mtimeMs: number;
  refs: Map<string, string>;
}

/** Parsed once per change of the file (git itself checks the stat data the same way). */
const packedCache = new Map<string, Packed>();

async function packedRefs(commonDir: string): Promise<Map<string, string>> {
  const file = path.join(commonDir, 'packed-refs');
  const st = statOrNull(file);
  if (!st) {
    packedCache.delete(commonDir);
    return new Map();
  }
  const cached = packedCache.get(commonDir);
  if (cached && cached.ino === st.ino && cached.size === st.size && cached.mtimeMs === st.mtimeMs) return cached.refs;
  const refs = parsePackedRefs(await readFile(file, 'utf8').catch(() => ''));
  packedCache.set(commonDir, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, refs });
  return refs;
}

/** A full ref name (`refs/heads/x`) in a files-backend repository whose common dir is `commonDir`. */
export async function readRef(commonDir: string, ref: string): Promise<RefAnswer> {
  if (!ref.startsWith('refs/') || !SIMPLE_NAME.test(ref)) return undefined;
  let loose: string | null;
  try {
    // Synchronous: a 41-byte file, and each asynchronous read is a thread-pool round trip.
    loose = readFileSync(path.join(commonDir, ref), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A directory (`refs/heads/a` when `a/b` exists) or a missing parent is no ref, as for git.
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') return undefined;
    loose = null;
  }
  if (loose !== null) {
    const oid = loose.trim();
    return OID.test(oid) ? oid : undefined; // `ref: …` (symbolic) or a torn write: git decides
  }
  return (await packedRefs(commonDir)).get(ref) ?? null;
}

/**
 * The commit a branch name means to `git rev-parse <name>`, when it is the
 * branch: undefined if a ref earlier in git's lookup order has the same name.
 */
export async function resolveBranchName(commonDir: string, name: string): Promise<RefAnswer> {
  if (!SIMPLE_NAME.test(name) || name === 'HEAD' || name.startsWith('refs/')) return undefined;
  for (const shadow of [`refs/${name}`, `refs/tags/${name}`]) {
    if ((await readRef(commonDir, shadow)) !== null) return undefined;
  }
  // `$GIT_DIR/<name>` comes first of all (HEAD, FETCH_HEAD, ORIG_HEAD…): such a file means ask git.
  if (statOrNull(path.join(commonDir, name))) return undefined;
  return readRef(commonDir, `refs/heads/${name}`);
}

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

/** The git directory of a checkout: `.git` itself, or where a linked worktree's `.git` file points. */
export function worktreeGitDir(dir: string): string | undefined {
  const dotGit = path.join(dir, '.git');
  const st = statOrNull(dotGit);
  if (!st) return undefined;
  if (st.isDirectory()) return dotGit;
  try {
    const target = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
    return target ? path.resolve(dir, target) : undefined;
  } catch {
    return undefined;
  }
}

/** The commit a detached HEAD is at; undefined when HEAD names a branch or cannot be read (ask git). */
export function detachedHead(dir: string): string | undefined {
  const gitDir = worktreeGitDir(dir);
  if (!gitDir) return undefined;
  try {
    const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    return OID.test(head) ? head : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a merge is in progress in the checkout (`MERGE_HEAD`); undefined when that cannot be told. */
export function mergeHeadExists(dir: string): boolean | undefined {
  const gitDir = worktreeGitDir(dir);
  return gitDir ? statOrNull(path.join(gitDir, 'MERGE_HEAD')) !== null : undefined;
}
