import { execFile } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApiError, badInput } from './errors.js';

const exec = promisify(execFile);

/**
 * Canonical form of a git URL for comparison: scheme and credentials dropped,
 * scp syntax (`git@host:org/repo`) and `ssh://` folded together, host lower
 * case, `.git` and trailing slashes removed.
 */
export function normalizeGitUrl(url: string): string {
  let u = url.trim();
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(u);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) u = `${scp[1]!.toLowerCase()}/${scp[2]}`;
  else {
    try {
      const p = new URL(u);
      if (p.protocol === 'file:') u = `file:${path.resolve(decodeURIComponent(p.pathname))}`;
      else u = `${p.hostname.toLowerCase()}${p.port ? `:${p.port}` : ''}${p.pathname}`;
    } catch {
      u = path.resolve(u);
    }
  }
  return u.replace(/\/+$/, '').replace(/\.git$/, '');
}

export async function originOf(dir: string, timeoutMs = 5000): Promise<string | null> {
  try {
    const { stdout } = await exec('git', ['-C', dir, 'remote', 'get-url', 'origin'], { timeout: timeoutMs });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** A directory under `roots` (up to two levels deep) whose origin is `gitUrl`. */
export async function findLocalClone(gitUrl: string, roots: readonly string[]): Promise<string | null> {
  const want = normalizeGitUrl(gitUrl);
  for (const root of roots) {
    const queue: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
    while (queue.length) {
      const { dir, depth } = queue.shift()!;
      if (await isDir(path.join(dir, '.git'))) {
        const origin = await originOf(dir);
        if (origin && normalizeGitUrl(origin) === want) return dir;
        continue;
      }
      if (depth >= 2) continue;
      let entries: string[];
      try {
        entries = (await readdir(dir, { withFileTypes: true }))
          .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
          .map((e) => e.name);
      } catch {
        continue;
      }
      for (const name of entries.slice(0, 500)) queue.push({ dir: path.join(dir, name), depth: depth + 1 });
    }
  }
  return null;
}

/** Checks that `dir` is a clone of `gitUrl`; 400 on `field` otherwise. */
export async function assertCloneOf(dir: string, gitUrl: string, field: string): Promise<string> {
  const abs = path.resolve(dir);
  if (!(await isDir(abs))) throw badInput(field, `${field} ${abs} is not a directory`);
  const origin = await originOf(abs);
  if (!origin) throw badInput(field, `${field} ${abs} is not a git repository with an origin remote`);
  if (normalizeGitUrl(origin) !== normalizeGitUrl(gitUrl)) {
    throw badInput(field, `${field} ${abs} is a clone of ${origin}, not of ${gitUrl}`);
  }
  return abs;
}

export function repoDirName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'project'
  );
}

/** `git clone` with a timeout; the process is killed when it runs over. */
export async function cloneRepo(gitUrl: string, dest: string, timeoutMs: number): Promise<string> {
  if (await isDir(dest)) {
    const origin = await originOf(dest);
    if (origin && normalizeGitUrl(origin) === normalizeGitUrl(gitUrl)) return dest;
    throw new ApiError(409, 'CONFLICT', `${dest} already exists and is not a clone of ${gitUrl}`, 'name');
  }
  await mkdir(path.dirname(dest), { recursive: true });
  try {
    await exec('git', ['clone', '--quiet', '--', gitUrl, dest], {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    });
  } catch (err) {
    const e = err as { killed?: boolean; stderr?: string; message: string };
    const why = e.killed ? `timed out after ${timeoutMs} ms` : (e.stderr?.trim() || e.message).split('\n')[0];
    throw new ApiError(
      400,
      'GIT_FAILED',
      `cannot clone ${gitUrl}: ${why}`,
      'git_url',
      'check the URL and that this machine can reach it, or pass working_path of an existing clone',
    );
  }
  return dest;
}
