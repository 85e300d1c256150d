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
