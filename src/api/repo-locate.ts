import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CloneFailed, cloneAtomically, guardedArgv } from '../git/clone.js';
import { classifyGitUrl, GitUrlError, redactUrl } from '../git/url.js';
import { canonicalLocalGitUrl, gitUrlSpellings } from '../projects/identity.js';
import type { ApiContext } from './context.js';
import { ApiError, badInput } from './errors.js';

const exec = promisify(execFile);

export { redactUrl };

/** `p` with symlinks resolved as far as it exists; the missing tail is appended as given. */
export function realpathLoose(p: string): string {
  const abs = path.resolve(p);
  const tail: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(realpathSync(cur), ...tail.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      tail.push(path.basename(cur));
      cur = parent;
    }
  }
}

/**
 * Canonical form of a git URL for comparison: scheme and credentials dropped,
 * scp syntax (`git@host:org/repo`) and `ssh://` folded together, host lower
 * case, `.git` and trailing slashes removed; a local path and its file:// URL
 * become the same `file:<real path>`.
 */
export function normalizeGitUrl(url: string): string {
  let u = url.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(u);
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(u);
  if (!hasScheme && path.isAbsolute(u)) u = `file:${realpathLoose(u)}`;
  else if (scp && !hasScheme) u = `${scp[1]!.toLowerCase()}/${scp[2]}`;
  else {
    try {
      const p = new URL(u);
      if (p.protocol === 'file:') u = `file:${realpathLoose(decodeURIComponent(p.pathname))}`;
      else u = `${p.hostname.toLowerCase()}${p.port ? `:${p.port}` : ''}${p.pathname}`;
    } catch {
      u = path.resolve(u);
    }
  }
  return u.replace(/\/+$/, '').replace(/\.git$/, '');
}

/** The origin URL of a clone, by running git (honours includes and insteadOf). */
export async function originOf(dir: string, timeoutMs = 5000): Promise<string | null> {
  try {
    const argv = guardedArgv('git', ['-C', dir, 'remote', 'get-url', 'origin'], timeoutMs);
    const { stdout } = await exec(argv[0]!, argv.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL' });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/**
 * `[remote "origin"] url` read from `<dir>/.git/config` as a file, without a
 * git process. undefined when the file cannot answer alone (no `.git`
 * directory, includes, insteadOf rewrites): ask git then.
 */
export async function originFromConfig(dir: string): Promise<string | null | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, '.git', 'config'), 'utf8');
  } catch {
    return undefined;
  }
  if (/^\s*\[\s*include|insteadof\s*=/im.test(text)) return undefined;
  let inOrigin = false;
  for (const line of text.split('\n')) {
    const section = /^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (section) {
      inOrigin = section[1]!.toLowerCase() === 'remote' && section[2] === 'origin';
      continue;
    }
    if (!inOrigin) continue;
    const kv = /^\s*url\s*=\s*(.*?)\s*$/i.exec(line);
    if (!kv) continue;
    let v = kv[1]!;
    if (v.startsWith('"')) v = v.slice(1, v.lastIndexOf('"') > 0 ? v.lastIndexOf('"') : undefined);
    else v = v.replace(/\s[#;].*$/, '');
    return v.replace(/\\(.)/g, '$1') || null;
  }
  return null;
}

/** The origin of a clone: from its config file when possible, else from git. */
export async function readOrigin(dir: string, timeoutMs = 5000): Promise<string | null> {
  const fromFile = await originFromConfig(dir);
  return fromFile === undefined ? originOf(dir, timeoutMs) : fromFile;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Where project working paths and local git URLs may be: SAMGITA_HOME, its repos/, SAMGITA_PROJECT_ROOTS. */
export function projectRootsOf(ctx: Pick<ApiContext, 'env'>): string[] {
  const roots = [ctx.env.samgitaHome, path.join(ctx.env.samgitaHome, 'repos'), ...ctx.env.projectRoots];
  return [...new Set(roots.map((r) => realpathLoose(r)))];
}

function isUnder(p: string, roots: readonly string[]): boolean {
  return roots.some((r) => p === r || p.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
}

function outsideRoots(field: string, what: string, roots: readonly string[]): ApiError {
  return new ApiError(
    400,
    'INVALID_INPUT',
    `${field} must be ${what} inside one of the project roots: ${roots.join(', ')}`,
    field,
    'to use a directory elsewhere, add it (or a parent) to SAMGITA_PROJECT_ROOTS (colon-separated absolute paths) in the server environment and restart it',
  );
}

/**
 * The real path of `dir` when it is under `roots`; else 400 with one message
 * whether or not the path exists (no existence oracle outside the roots).
 */
export function assertInsideRoots(dir: string, field: string, roots: readonly string[]): string {
  const real = realpathLoose(dir);
  if (!isUnder(real, roots)) throw outsideRoots(field, 'a directory', roots);
  return real;
}

/**
 * Checks that `dir` is a clone of `gitUrl` (and under `roots`, when given);
 * 400 on `field` otherwise. Messages never quote the directory's origin.
 */
export async function assertCloneOf(
  dir: string,
  gitUrl: string,
  field: string,
  roots?: readonly string[],
): Promise<string> {
  const abs = roots ? assertInsideRoots(dir, field, roots) : realpathLoose(dir);
  if (!(await isDir(abs))) throw badInput(field, `${field} ${abs} is not a directory`);
  const origin = await readOrigin(abs);
  if (!origin) throw badInput(field, `${field} ${abs} is not a git repository with an origin remote`);
  if (normalizeGitUrl(origin) !== normalizeGitUrl(gitUrl)) {
    throw badInput(field, `${field} ${abs} is a clone of a different repository, not of ${redactUrl(gitUrl)}`);
  }
  return abs;
}

export interface CheckedGitUrl {
  /** The form to store: as given for a remote, the file:// URL of the real path for a local repository. */
  url: string;
  /** Every spelling of the same repository a project may already be stored under. */
  spellings: string[];
  local: boolean;
}

/**
 * Validates a git_url (see classifyGitUrl). A local path or file:// URL is
 * accepted only under `roots`, or anywhere when `allowLocal` (SAMGITA_ALLOW_LOCAL_GIT=1).
 */
export function checkGitUrl(raw: string, opts: { roots: readonly string[]; allowLocal: boolean }): CheckedGitUrl {
  let kind: ReturnType<typeof classifyGitUrl>;
  try {
    kind = classifyGitUrl(raw);
  } catch (err) {
    if (!(err instanceof GitUrlError)) throw err;
    throw new ApiError(
      400,
      'INVALID_INPUT',
      `git_url ${err.message}`,
      'git_url',
      'give an https://, http://, ssh://, git:// URL or git@host:org/repo',
    );
  }
  const url = raw.trim();
  if (kind.kind === 'remote') return { url, spellings: gitUrlSpellings(url, null), local: false };
  const real = realpathLoose(kind.path);
  if (!opts.allowLocal && !isUnder(real, opts.roots)) {
    throw new ApiError(
      400,
      'INVALID_INPUT',
      `git_url is a local repository outside the project roots (${opts.roots.join(', ')}); local repositories are accepted only under them`,
      'git_url',
      'add a parent directory to SAMGITA_PROJECT_ROOTS, or set SAMGITA_ALLOW_LOCAL_GIT=1 in the server environment to accept any local repository',
    );
  }
  const stored = canonicalLocalGitUrl(real);
  const spellings = [...new Set([...gitUrlSpellings(url, kind.path), ...gitUrlSpellings(stored, real)])];
  return { url: stored, spellings, local: true };
}

/** A directory under `roots` (up to two levels deep) whose origin is `gitUrl`. */
export async function findLocalClone(gitUrl: string, roots: readonly string[], maxDirs = 2000): Promise<string | null> {
  const want = normalizeGitUrl(gitUrl);
  let examined = 0;
  for (const root of roots) {
    const queue: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
    while (queue.length && examined < maxDirs) {
      const { dir, depth } = queue.shift()!;
      examined++;
      if (await isDir(path.join(dir, '.git'))) {
        const origin = await readOrigin(dir);
        if (origin && normalizeGitUrl(origin) === want) return dir;
        continue;
      }
      if (depth >= 2) continue;
      let entries: string[];
      try {
        entries = (await readdir(dir, { withFileTypes: true }))
          .filter(
            (e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules' && !e.name.includes('.tmp-'),
          )
          .map((e) => e.name);
      } catch {
        continue;
      }
      for (const name of entries.slice(0, 500)) queue.push({ dir: path.join(dir, name), depth: depth + 1 });
    }
  }
  return null;
}

/** A directory name for a project: never empty, `.`/`..`, or starting with `.` or `-`. */
export function repoDirName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 80) || 'project'
  );
}

/**
 * True when `dest` is already a clone of `gitUrl`; false when nothing is
 * there; 409 when something else is (a project name clashing with a directory).
 */
export async function existingCloneOf(dest: string, gitUrl: string): Promise<boolean> {
  if (!(await isDir(dest))) return false;
  const origin = await readOrigin(dest);
  if (origin && normalizeGitUrl(origin) === normalizeGitUrl(gitUrl)) return true;
  throw new ApiError(409, 'CONFLICT', `${dest} already exists and is not a clone of ${redactUrl(gitUrl)}`, 'name');
}

/**
 * `git clone` with a timeout the child enforces itself, into a temporary
 * sibling renamed onto `dest` when complete: `dest` exists only as a whole clone.
 */
export async function cloneRepo(gitUrl: string, dest: string, timeoutMs: number): Promise<string> {
  if (await existingCloneOf(dest, gitUrl)) return dest;
  try {
    await cloneAtomically(gitUrl, dest, { timeoutMs, cloneArgs: ['--quiet'] });
  } catch (err) {
    const why = err instanceof CloneFailed ? err.message : (err as Error).message.split('\n')[0];
    throw new ApiError(
      400,
      'GIT_FAILED',
      redactUrl(`cannot clone ${gitUrl}: ${why}`),
      'git_url',
      'check the URL and that this machine can reach it, or pass working_path of an existing clone',
    );
  }
  return dest;
}
