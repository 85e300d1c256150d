import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The canonical identity of a local repository: its origin URL, else its file:// URL. */
export function canonicalGitUrl(root: string, originUrl: string | null): string {
  return originUrl ?? pathToFileURL(path.resolve(root)).toString();
}

/**
 * The one spelling a local repository is stored under: the file:// URL of its
 * real path, without a trailing slash, so `/x`, `/x/` and `file:///x/` are one
 * project (the same form canonicalGitUrl gives a repository without origin).
 */
export function canonicalLocalGitUrl(realPath: string): string {
  const p = path.resolve(realPath).replace(/\/+$/, '') || '/';
  return pathToFileURL(p).toString();
}

/**
 * Spellings of one git URL that earlier versions may have stored: with and
 * without a trailing slash or `.git`, and for a local repository its bare
 * path as well as its file:// URL. Used to refuse registering a repository twice.
 */
export function gitUrlSpellings(url: string, localPath: string | null): string[] {
  const out = new Set<string>();
  const add = (v: string) => {
    out.add(v);
    out.add(`${v}/`);
  };
  const base = url.trim().replace(/\/+$/, '');
  add(base);
  if (localPath) {
    const p = path.resolve(localPath).replace(/\/+$/, '') || '/';
    for (const v of [p, canonicalLocalGitUrl(p), `file://${p}`]) add(v);
  } else {
    const noGit = base.replace(/\.git$/, '');
    add(noGit);
    add(`${noGit}.git`);
  }
  return [...out];
}
