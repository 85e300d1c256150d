/**
 * What this process needs to know about a repository's on-disk layout before
 * it reads or writes git's files itself (src/git/link-worktree.ts,
 * src/git/read-ref.ts): where the common directory is, and whether anything
 * makes the documented files-only layout untrue.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { git, tryGit } from './git.js';

export interface RepoLayout {
  /** Absolute, real `$GIT_COMMON_DIR`. */
  commonDir: string;
  /** Worktrees here are only the documented layout: no per-worktree config, no sparse checkout, files refs. */
  plain: boolean;
  /** Refs are loose files and `packed-refs` (not reftable). */
  filesRefs: boolean;
}

const layouts = new Map<string, Promise<RepoLayout>>();

/** Once per repository and process: two git calls, whatever the number of worktrees or tasks. */
export function repoLayout(repo: string): Promise<RepoLayout> {
  let layout = layouts.get(repo);
  if (!layout) {
    layout = readLayout(repo);
    layouts.set(repo, layout);
    layout.catch(() => layouts.delete(repo));
  }
  return layout;
}

async function readLayout(repo: string): Promise<RepoLayout> {
  const [commonDir, special] = await Promise.all([
    git(repo, ['rev-parse', '--git-common-dir']),
    // Exit 1 (nothing set) is the common case.
    tryGit(repo, [
      'config',
      '--get-regexp',
      '^(extensions\\.worktreeconfig|core\\.sparsecheckout|extensions\\.refstorage)$',
    ]),
  ]);
  return {
    // Real, as git writes it into each worktree's `.git` file.
    commonDir: await realpath(path.resolve(repo, commonDir.trim())),
    ...layoutSettings(special ?? ''),
  };
}

/** `git config --get-regexp` output for the three settings that matter, read cautiously. */
export function layoutSettings(configOutput: string): Pick<RepoLayout, 'plain' | 'filesRefs'> {
  const settings = configOutput.split('\n').map((line) => {
    const [key = '', value = ''] = line.trim().split(/\s+(.*)/);
    return { key: key.toLowerCase(), value: value.trim().toLowerCase() };
  });
  // reftable keeps a ref stack per worktree and no loose files: git's own commands for both.
  const filesRefs = settings.every((s) => s.key !== 'extensions.refstorage' || s.value === 'files');
  // Any value but an explicit false counts as on: the cautious reading hands the work to git.
  const featureOn = settings.some(
    (s) => s.key !== 'extensions.refstorage' && s.key !== '' && !['false', 'no', 'off', '0'].includes(s.value),
  );
  return { plain: filesRefs && !featureOn, filesRefs };
}
