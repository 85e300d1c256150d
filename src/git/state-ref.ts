/**
 * The project's state ref, refs/samgita/state: a history of commits that hold
 * files and nothing else (no working tree, no branch a person sees). Written
 * with plumbing (fast-import, mktree, commit-tree) so no checkout or index of
 * the repository is touched, and moved by compare-and-swap so two writers
 * never lose each other's commit.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { CommitIdentity } from './commit.js';
import { git, tryGit } from './git.js';

export const STATE_REF = 'refs/samgita/state';

/** The ref's commit, or null when the repository has none. */
export async function stateHead(repo: string): Promise<string | null> {
  const sha = await tryGit(repo, ['rev-parse', '--verify', '-q', `${STATE_REF}^{commit}`]);
  return sha?.trim() || null;
}

export interface StateCommit {
  sha: string;
  at: string;
  subject: string;
}

/** The ref's commits, newest first. */
export async function stateLog(repo: string, limit = 1000): Promise<StateCommit[]> {
  if (!(await stateHead(repo))) return [];
  const out = await git(repo, ['log', `--max-count=${limit}`, '--format=%H%x00%cI%x00%s', STATE_REF, '--']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [sha, at, subject] = l.split('\0');
      return { sha: sha!, at: at!, subject: subject ?? '' };
    });
}

/** Every file of the commit's tree, by path, in two git calls whatever their number. */
export async function readStateFiles(repo: string, commit: string): Promise<Record<string, string>> {
  const listing = await git(repo, ['ls-tree', '-r', '-z', '--full-tree', commit]);
  const entries = listing
    .split('\0')
    .filter(Boolean)
    .map((e) => {
      const tab = e.indexOf('\t');
      const [, type, sha] = e.slice(0, tab).split(' ');
      return { type, sha: sha!, file: e.slice(tab + 1) };
    })
    .filter((e) => e.type === 'blob');
  if (entries.length === 0) return {};
  const out = await git(repo, ['cat-file', '--batch'], {
    input: `${entries.map((e) => e.sha).join('\n')}\n`,
    raw: true,
  });
  // `<sha> blob <size>\n<content>\n` per object; sizes are bytes, so read from a Buffer.
  const buf = Buffer.from(out, 'utf8');
  const files: Record<string, string> = {};
  let at = 0;
  for (const e of entries) {
    const nl = buf.indexOf(10, at);
    const size = Number(buf.subarray(at, nl).toString().split(' ')[2]);
    files[e.file] = buf.subarray(nl + 1, nl + 1 + size).toString('utf8');
    at = nl + 1 + size + 1;
  }
  return files;
}

export type StateWrite =
  | { kind: 'written'; sha: string }
  /** The tree equals the ref's current one: no commit. */
  | { kind: 'unchanged'; sha: string }
  /** Someone else moved the ref since `parent` was read: nothing written; read it again. */
  | { kind: 'moved'; head: string | null };

/**
 * Commits `files` as the whole tree of a new state commit on top of `parent`
 * (null: the first) and moves the ref to it only if it still points at `parent`.
 */
export async function writeStateCommit(
  repo: string,
  files: Record<string, string>,
  opts: { parent: string | null; message: string; identity: CommitIdentity },
): Promise<StateWrite> {
  const tree = await writeTree(repo, files);
  if (opts.parent) {
    const parentTree = (await git(repo, ['rev-parse', `${opts.parent}^{tree}`])).trim();
    if (parentTree === tree) return { kind: 'unchanged', sha: opts.parent };
  }
  const env = {
    GIT_AUTHOR_NAME: opts.identity.name,
    GIT_AUTHOR_EMAIL: opts.identity.email,
    GIT_COMMITTER_NAME: opts.identity.name,
    GIT_COMMITTER_EMAIL: opts.identity.email,
  };
  const sha = (
    await git(repo, ['commit-tree', tree, ...(opts.parent ? ['-p', opts.parent] : []), '-m', opts.message], { env })
  ).trim();
  const moved = await tryGit(repo, [
    'update-ref',
    '-m',
    'samgita state',
    STATE_REF,
    sha,
    opts.parent ?? ''.padEnd(40, '0'),
  ]);
  if (moved === null) return { kind: 'moved', head: await stateHead(repo) };
  return { kind: 'written', sha };
}

/**
 * Blobs through one fast-import call (only contents not written before: a state
 * commit mostly repeats the last one's files), then one mktree per directory,
 * deepest first. A remembered blob that is gone (a state ref replaced by the
 * remote's, then pruned) fails mktree: forgotten, and written again.
 */
async function writeTree(repo: string, files: Record<string, string>): Promise<string> {
  try {
    return await writeTreeOnce(repo, files);
  } catch (err) {
    for (const k of [...BLOBS.keys()]) if (k.startsWith(`${repo}\0`)) BLOBS.delete(k);
    if (!(err instanceof Error && /mktree/.test(err.message))) throw err;
    return writeTreeOnce(repo, files);
  }
}

/** Blob ids by repository and content hash, the most recent first out (a few thousand files of a few projects). */
const BLOBS = new Map<string, string>();
const BLOBS_MAX = 20_000;

async function writeTreeOnce(repo: string, files: Record<string, string>): Promise<string> {
  const names = Object.keys(files).sort();
  const keyOf = (name: string) => `${repo}\0${createHash('sha256').update(files[name]!).digest('hex')}`;
  const keys = names.map(keyOf);
  const missing = names.filter((_, i) => !BLOBS.has(keys[i]!));
  if (missing.length) {
    const shas = await writeBlobs(
      repo,
      missing.map((name) => files[name]!),
    );
    missing.forEach((name, i) => {
      BLOBS.set(keyOf(name), shas[i]!);
      if (BLOBS.size > BLOBS_MAX) BLOBS.delete(BLOBS.keys().next().value!);
    });
  }
  // dir → its entries (`mode type sha\tname`)
  const dirs = new Map<string, string[]>([['', []]]);
  const entriesOf = (dir: string) => {
    let e = dirs.get(dir);
    if (!e) {
      e = [];
      dirs.set(dir, e);
    }
    return e;
  };
  const parentOf = (p: string) => (path.posix.dirname(p) === '.' ? '' : path.posix.dirname(p));
  names.forEach((name, i) => {
    const dir = parentOf(name);
    const sha = BLOBS.get(keys[i]!);
    if (!sha) throw new Error(`state file ${name} has no blob`);
    entriesOf(dir).push(`100644 blob ${sha}\t${path.posix.basename(name)}`);
    for (let d = dir; d !== ''; d = parentOf(d)) entriesOf(d);
  });
  const ordered = [...dirs.keys()].sort((a, b) => depth(b) - depth(a));
  let root = '';
  for (const dir of ordered) {
    const tree = (
      await git(repo, ['mktree', '-z'], {
        input: dirs
          .get(dir)!
          .map((e) => `${e}\0`)
          .join(''),
      })
    ).trim();
    if (dir === '') root = tree;
    else entriesOf(parentOf(dir)).push(`040000 tree ${tree}\t${path.posix.basename(dir)}`);
  }
  return root;
}

/**
 * Blobs written by one `git fast-import`, their ids in order. No temporary file
 * per blob (a burst of 1,000 task changes was 1,000 files made and deleted in
 * /tmp, then 1,000 loose objects): fast-import reads the contents from stdin
 * and writes one pack, or loose objects when there are few (fastimport.unpackLimit).
 */
async function writeBlobs(repo: string, contents: string[]): Promise<string[]> {
  const stream = contents
    .map((c, i) => `blob\nmark :${i + 1}\ndata ${Buffer.byteLength(c)}\n${c}\n`)
    .concat(contents.map((_, i) => `get-mark :${i + 1}\n`))
    .join('');
  const shas = (await git(repo, ['fast-import', '--quiet'], { input: stream })).split('\n').filter(Boolean);
  if (shas.length !== contents.length)
    throw new Error(`git fast-import wrote ${shas.length} of ${contents.length} state files`);
  return shas;
}

function depth(dir: string): number {
  return dir === '' ? 0 : dir.split('/').length;
}

/** Fetches the remote's state ref over ours (the remote is the shared record); false when it has none. */
export async function fetchStateRef(repo: string, remote: string, env?: Record<string, string>): Promise<boolean> {
  const r = await tryGit(repo, ['fetch', '--no-tags', '-q', remote, `+${STATE_REF}:${STATE_REF}`], {
    timeoutMs: 120_000,
    ...(env ? { env } : {}),
  });
  return r !== null;
}
