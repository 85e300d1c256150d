/**
 * Task worktrees on one repository: many created at once (git's own races
 * between concurrent `worktree add`s), and spare checkouts (taken, recycled,
 * discarded when the base moves, swept when their runner process is gone).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { moveWorktree } from '../../src/git/link-worktree.js';
import { addWorktree, ensureWorktree, removeWorktree } from '../../src/git/worktree.js';
import { WorktreeSpares } from '../../src/git/worktree-spares.js';
import { git, makeRepo } from '../support/cli.js';
import { waitFor } from '../support/runner-harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-wt-'));
  dirs.push(d);
  return d;
}

/** A repository of `n` files (spares are only kept for repositories of 300+). */
async function repoOf(n: number): Promise<string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`f${i}.txt`] = `${i}\n`;
  const repo = await makeRepo(files);
  dirs.push(repo);
  return repo;
}

describe('task worktrees', () => {
  it('60 created at once on one repository all succeed, each on its own branch at the base', async () => {
    const repo = await repoOf(3);
    const root = tmp();
    const base = await git(repo, 'rev-parse', 'main');
    const made = await Promise.all(
      Array.from({ length: 60 }, (_, i) => ensureWorktree(repo, path.join(root, `t${i}`), `samgita/t${i}`, 'main')),
    );
    for (const [i, wt] of made.entries()) {
      expect(wt).toMatchObject({ branch: `samgita/t${i}`, resumed: false, baseSha: base });
      expect(await git(wt.path, 'symbolic-ref', '--short', 'HEAD')).toBe(`samgita/t${i}`);
      expect(await git(wt.path, 'rev-parse', 'HEAD')).toBe(base);
    }
    // Ensuring again resumes the same checkout.
    expect(await ensureWorktree(repo, made[0]!.path, 'samgita/t0', 'main')).toMatchObject({ resumed: true });
  });

  it('a branch with checkpoint commits is checked out as it is (resume), not reset to the base', async () => {
    const repo = await repoOf(2);
    const root = tmp();
    const wt = await ensureWorktree(repo, path.join(root, 'a'), 'samgita/a', 'main');
    fs.writeFileSync(path.join(wt.path, 'work.txt'), 'w\n');
    await git(wt.path, 'add', '.');
    await git(wt.path, 'commit', '-qm', 'checkpoint');
    const head = await git(wt.path, 'rev-parse', 'HEAD');
    fs.rmSync(wt.path, { recursive: true, force: true }); // machine lost the checkout
    const again = await ensureWorktree(repo, path.join(root, 'a'), 'samgita/a', 'main');
    expect(again.resumed).toBe(true);
    expect(await git(again.path, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('addWorktree retries past a stale registration', async () => {
    const repo = await repoOf(2);
    const root = tmp();
    await addWorktree(repo, path.join(root, 'x'), { detached: await git(repo, 'rev-parse', 'main') });
    fs.rmSync(path.join(root, 'x'), { recursive: true, force: true });
    await git(repo, 'branch', 'other', 'main');
    // The branch is not checked out anywhere; the old registration of x is stale.
    await addWorktree(repo, path.join(root, 'x'), { branch: 'other' });
    expect(await git(path.join(root, 'x'), 'symbolic-ref', '--short', 'HEAD')).toBe('other');
  });
});

describe('spare worktrees', () => {
  it('a new task takes a ready spare; a finished one is recycled into a spare; none left after close', async () => {
    const repo = await repoOf(320);
    const root = tmp();
    const spares = new WorktreeSpares(2);
    const base = await git(repo, 'rev-parse', 'main');
    const first = await ensureWorktree(repo, path.join(root, 'a'), 'samgita/a', 'main', { spares });
    expect(first.resumed).toBe(false);
    // Refilled in the background.
    const ready = () => fs.readdirSync(root).filter((n) => n.startsWith('.spare-'));
    await waitFor('two spares', async () => ready().length === 2, 15_000);
    const second = await ensureWorktree(repo, path.join(root, 'b'), 'samgita/b', 'main', { spares });
    expect(await git(second.path, 'symbolic-ref', '--short', 'HEAD')).toBe('samgita/b');
    expect(await git(second.path, 'rev-parse', 'HEAD')).toBe(base);
    expect(await git(second.path, 'status', '--porcelain')).toBe('');
    expect(fs.readFileSync(path.join(second.path, 'f319.txt'), 'utf8')).toBe('319\n');

    // Task a worked (a commit and an untracked file), finished: its checkout becomes a clean spare.
    fs.writeFileSync(path.join(first.path, 'f0.txt'), 'changed\n');
    fs.writeFileSync(path.join(first.path, 'untracked.txt'), 'u\n');
    await git(first.path, 'commit', '-qam', 'work');
    await waitFor('refill done', async () => ready().length === 2, 15_000);
    // Room for one more: take one first.
    const c = await ensureWorktree(repo, path.join(root, 'c'), 'samgita/c', 'main', { spares });
    expect(c.resumed).toBe(false);
    expect(await spares.recycle(repo, first.path)).toBe(true);
    expect(fs.existsSync(first.path)).toBe(false);
    // The branch keeps the work.
    expect(await git(repo, 'show', 'samgita/a:f0.txt')).toBe('changed');
    const recycled = await ensureWorktree(repo, path.join(root, 'd'), 'samgita/d', 'main', { spares });
    expect(fs.readFileSync(path.join(recycled.path, 'f0.txt'), 'utf8')).toBe('0\n');
    expect(fs.existsSync(path.join(recycled.path, 'untracked.txt'))).toBe(false);

    await spares.close();
    expect(ready()).toEqual([]);
    const list = await git(repo, 'worktree', 'list');
    expect(list).not.toContain('.spare-');
  });

  it('spares at an old base are not used; spares of a dead process are swept', async () => {
    const repo = await repoOf(320);
    const root = tmp();
    // A spare left behind by a runner process that no longer exists.
    const deadPid = 2 ** 22 - 1;
    await addWorktree(repo, path.join(root, `.spare-${deadPid}-1`), { detached: await git(repo, 'rev-parse', 'main') });
    const spares = new WorktreeSpares(1);
    await ensureWorktree(repo, path.join(root, 'a'), 'samgita/a', 'main', { spares });
    await waitFor(
      'dead spare swept, own spare made',
      async () => {
        const names = fs.readdirSync(root).filter((n) => n.startsWith('.spare-'));
        return names.length === 1 && names[0]!.startsWith(`.spare-${process.pid}-`);
      },
      15_000,
    );
    // The base moves on: the spare (of the old commit) must not be used.
    fs.writeFileSync(path.join(repo, 'new.txt'), 'n\n');
    await git(repo, 'add', '.');
    await git(repo, 'commit', '-qm', 'moved');
    const b = await ensureWorktree(repo, path.join(root, 'b'), 'samgita/b', 'main', { spares });
    expect(await git(b.path, 'rev-parse', 'HEAD')).toBe(await git(repo, 'rev-parse', 'main'));
    expect(fs.existsSync(path.join(b.path, 'new.txt'))).toBe(true);
    await spares.close();
  });
});

describe('linked worktrees written in constant time (src/git/link-worktree.ts)', () => {
  const read = (p: string) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null);

  it('writes what `git worktree add` writes, and git treats the result as its own', async () => {
    const repo = await repoOf(2);
    const root = tmp();
    const sha = await git(repo, 'rev-parse', 'main');
    await git(repo, 'worktree', 'add', '-q', '-B', 'by-git', path.join(root, 'g', 'one'), sha);
    await addWorktree(repo, path.join(root, 'o', 'one'), { branch: 'by-us', at: sha });
    // Same basename: git's naming rule gives ours the next free id.
    const admin = (id: string, f: string) => read(path.join(repo, '.git', 'worktrees', id, f));
    const real = fs.realpathSync(root);
    expect(admin('one1', 'gitdir')).toBe(`${real}/o/one/.git\n`);
    expect(admin('one1', 'commondir')).toBe(admin('one', 'commondir'));
    expect(admin('one1', 'HEAD')).toBe('ref: refs/heads/by-us\n');
    expect(admin('one1', 'locked')).toBeNull();
    expect(read(path.join(root, 'o', 'one', '.git'))).toBe(
      read(path.join(root, 'g', 'one', '.git'))!.replace(/worktrees\/one\n$/, 'worktrees/one1\n'),
    );
    const list = await git(repo, 'worktree', 'list', '--porcelain');
    expect(list).toContain(`worktree ${real}/o/one\nHEAD ${sha}\nbranch refs/heads/by-us`);
    expect(await git(path.join(root, 'o', 'one'), 'status', '--porcelain')).toBe('');
    expect(await git(repo, 'rev-parse', 'by-us')).toBe(sha);
    // git checked the files out and made the branch (its reflog says how: the test below tells the paths apart).
    expect(await git(repo, 'reflog', 'show', '-1', '--format=%gs', 'by-us')).toMatch(/^reset: /);
    // Nothing for prune to take; git's own remove works on it.
    expect(await git(repo, 'worktree', 'prune', '-n', '-v')).toBe('');
    await git(repo, 'worktree', 'remove', '--force', path.join(root, 'o', 'one'));
    expect(await git(repo, 'worktree', 'list')).not.toContain('/o/one');
  });

  it('removes and moves without git; a stale registration of the same path is taken over', async () => {
    const repo = await repoOf(2);
    const root = tmp();
    const sha = await git(repo, 'rev-parse', 'main');
    const dir = path.join(root, 'a');
    await addWorktree(repo, dir, { detached: sha });
    fs.rmSync(dir, { recursive: true, force: true }); // the checkout is lost, its registration stays
    await addWorktree(repo, dir, { branch: 'samgita/a', at: sha });
    const ids = fs.readdirSync(path.join(repo, '.git', 'worktrees'));
    expect(ids).toEqual(['a']);
    expect(await git(dir, 'symbolic-ref', '--short', 'HEAD')).toBe('samgita/a');

    await moveWorktree(repo, dir, path.join(root, 'b'));
    expect(await git(path.join(root, 'b'), 'status', '--porcelain')).toBe('');
    expect(await git(repo, 'worktree', 'list', '--porcelain')).toContain(`${fs.realpathSync(root)}/b\n`);
    await removeWorktree(repo, path.join(root, 'b'));
    expect(fs.existsSync(path.join(root, 'b'))).toBe(false);
    expect(fs.readdirSync(path.join(repo, '.git', 'worktrees'))).toEqual([]);
    // The branch keeps its commit.
    expect(await git(repo, 'rev-parse', 'samgita/a')).toBe(sha);
  });

  it('a repository with per-worktree config gets git worktree itself', async () => {
    const repo = await repoOf(2);
    const root = tmp();
    await git(repo, 'config', 'extensions.worktreeConfig', 'true');
    const sha = await git(repo, 'rev-parse', 'main');
    await addWorktree(repo, path.join(root, 'w'), { branch: 'samgita/w', at: sha });
    expect(await git(path.join(root, 'w'), 'symbolic-ref', '--short', 'HEAD')).toBe('samgita/w');
    // git's own `-B` writes the branch's creation into its reflog; ours would say `reset`.
    expect(await git(repo, 'reflog', 'show', '-1', '--format=%gs', 'samgita/w')).toMatch(/^branch: /);
  });
});
