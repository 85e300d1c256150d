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
  /**
   * A checkout and its index may be copied to make another (src/git/checkout-copies.ts): plain, and
   * no setting ties the index to one directory or gives files permissions a copy would not
   * (fsmonitor, untracked cache, split or sparse index, manyFiles, sharedRepository).
   */
  copyable: boolean;
  /** Branch updates are logged (core.logAllRefUpdates; by default on in a repository with a work tree). */
  logAllRefUpdates: boolean;
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

/** Settings under which a linked worktree is more than the documented layout. */
const PLAIN_BLOCKERS = ['extensions.worktreeconfig', 'core.sparsecheckout'];
/** Settings under which a copied index would be wrong for its new directory, or files need other permissions. */
const COPY_BLOCKERS = [
  'core.fsmonitor',
  'core.untrackedcache',
  'core.splitindex',
  'index.sparse',
  'feature.manyfiles',
  'core.sharedrepository',
];
const FALSE = ['false', 'no', 'off', '0'];

/** One `git config --get-regexp` for all of them. */
const SETTINGS_PATTERN = `^(${[
  ...PLAIN_BLOCKERS,
  ...COPY_BLOCKERS,
  'extensions.refstorage',
  'core.logallrefupdates',
  'core.bare',
]
  .map((k) => k.replace('.', '\\.'))
  .join('|')})$`;

async function readLayout(repo: string): Promise<RepoLayout> {
  const [commonDir, special] = await Promise.all([
    git(repo, ['rev-parse', '--git-common-dir']),
    // Exit 1 (nothing set) is the common case.
    tryGit(repo, ['config', '--get-regexp', SETTINGS_PATTERN]),
  ]);
  return {
    // Real, as git writes it into each worktree's `.git` file.
    commonDir: await realpath(path.resolve(repo, commonDir.trim())),
    ...layoutSettings(special ?? ''),
  };
}

/** `git config --get-regexp` output for the settings that matter, read cautiously. */
export function layoutSettings(
  configOutput: string,
): Pick<RepoLayout, 'plain' | 'filesRefs' | 'copyable' | 'logAllRefUpdates'> {
  const settings = new Map<string, string>();
  for (const line of configOutput.split('\n')) {
    const [key = '', value = ''] = line.trim().split(/\s+(.*)/);
    // The last value wins, as for git (repository config after global after system).
    if (key) settings.set(key.toLowerCase(), value.trim().toLowerCase());
  }
  // reftable keeps a ref stack per worktree and no loose files: git's own commands for both.
  const refStorage = settings.get('extensions.refstorage');
  const filesRefs = refStorage === undefined || refStorage === 'files';
  // Any value but an explicit false counts as on (a bare key is true to git): the cautious reading hands the work to git.
  const on = (key: string) => settings.has(key) && !FALSE.includes(settings.get(key) ?? '');
  const plain = filesRefs && !PLAIN_BLOCKERS.some(on);
  const logged = settings.get('core.logallrefupdates');
  return {
    plain,
    filesRefs,
    copyable: plain && !COPY_BLOCKERS.some(on),
    logAllRefUpdates: logged === undefined ? !on('core.bare') : logged === 'always' || on('core.logallrefupdates'),
  };
}
