import { stat } from 'node:fs/promises';
import path from 'node:path';
import { SamgitaError } from '../errors.js';
import { git, tryGit } from './git.js';

export interface RepoInfo {
  root: string;
  headSha: string;
  branch: string | null;
  originUrl: string | null;
}

/** Resolves a directory to the git repository it belongs to, with a fix-it error otherwise. */
export async function inspectRepo(dir: string): Promise<RepoInfo> {
  const abs = path.resolve(dir);
  const st = await stat(abs).catch(() => null);
  if (!st?.isDirectory()) {
    throw new SamgitaError('REPO_INVALID', `${abs} is not a directory`, {
      hint: 'pass the path of a git repository that contains PRD.md',
    });
  }
  const root = await tryGit(abs, ['rev-parse', '--show-toplevel']);
  if (root === null) {
    throw new SamgitaError('REPO_NOT_GIT', `${abs} is not inside a git repository`, {
      hint: `run \`git init && git add PRD.md && git commit -m "Add PRD"\` in ${abs}`,
    });
  }
  const headSha = await tryGit(root, ['rev-parse', '--verify', 'HEAD']);
  if (headSha === null) {
    throw new SamgitaError('REPO_INVALID', `${root} has no commits yet`, {
      hint: 'commit PRD.md first: git add PRD.md && git commit -m "Add PRD"',
    });
  }
  const branch = (await tryGit(root, ['symbolic-ref', '--short', '-q', 'HEAD']))?.trim() || null;
  const originUrl = (await tryGit(root, ['remote', 'get-url', 'origin']))?.trim() || null;
  return { root: root.trim(), headSha: headSha.trim(), branch, originUrl };
}

/** A file's content at a commit, or null when the commit does not have it. */
export async function readFileAtCommit(repo: string, sha: string, file: string): Promise<string | null> {
  return tryGit(repo, ['show', `${sha}:${file}`], { timeoutMs: 30_000 }).then((out) => (out === null ? null : out));
}

export async function isDirtyPath(repo: string, file: string): Promise<boolean> {
  const out = await git(repo, ['status', '--porcelain', '--', file]);
  return out.trim().length > 0;
}

export async function branchExists(repo: string, branch: string): Promise<boolean> {
  return (await tryGit(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`])) !== null;
}
