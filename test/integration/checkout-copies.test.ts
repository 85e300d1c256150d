/**
 * Task checkouts of small repositories copied from a template checkout
 * (src/git/checkout-copies.ts, src/git/write-ref.ts): on real repositories,
 * a copy is what git's own checkout would have made, git treats it as its
 * own, and everything the copy cannot be sure of is left to git.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckoutCopies } from '../../src/git/checkout-copies.js';
import { layoutSettings, repoLayout } from '../../src/git/layout.js';
import { addWorktree, ensureWorktree } from '../../src/git/worktree.js';
import { reflogLine, writeNewBranch } from '../../src/git/write-ref.js';
import { git, makeRepo } from '../support/cli.js';
import { waitFor } from '../support/runner-harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-copies-'));
  dirs.push(d);
  return d;
}

const identity = { name: 'Samgita', email: 'samgita@example.invalid' };

/** Nested files, an executable, a symbolic link and a file git converts on checkout. */
async function smallRepo(): Promise<{ repo: string; base: string }> {
  const repo = await makeRepo({ 'README.md': '# small\n', '.gitattributes': 'crlf.txt eol=crlf\n' });
  dirs.push(repo);
  fs.mkdirSync(path.join(repo, 'src/deep'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'src/deep/a.ts'), 'export const a = 1;\n');
  fs.writeFileSync(path.join(repo, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  fs.symlinkSync('src/deep/a.ts', path.join(repo, 'link.ts'));
  fs.writeFileSync(path.join(repo, 'crlf.txt'), 'one\ntwo\n');
  await git(repo, 'add', '.');
  await git(repo, 'commit', '-qm', 'tree');
  return { repo, base: await git(repo, 'rev-parse', 'main') };
}

/** Every file under `dir` but `.git`: path → mode and content (a link's target). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = path.join(rel, e.name);
      if (p === '.git') continue;
      const full = path.join(dir, p);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) out[p] = `link ${fs.readlinkSync(full)}`;
      else out[p] = `${(fs.statSync(full).mode & 0o777).toString(8)} ${fs.readFileSync(full, 'latin1')}`;
    }
  };
  walk('');
  return out;
}

const adminOf = (wt: string) =>
  fs
    .readFileSync(path.join(wt, '.git'), 'utf8')
    .replace(/^gitdir: /, '')
    .trim();

describe('checkouts copied from a template (small repositories)', () => {
  it('the second task at a base makes a template; copies equal git’s checkout, and git takes them as its own', async () => {
    const { repo, base } = await smallRepo();
    const root = tmp();
    const copies = new CheckoutCopies();
    const opts = { copies: { from: copies, identity } };
    const made = [];
    for (const name of ['a', 'b', 'c'])
      made.push(await ensureWorktree(repo, path.join(root, name), `samgita/${name}`, 'main', opts));
    const [byGit, first, second] = made.map((w) => w.path) as [string, string, string];
    const templates = fs.readdirSync(root).filter((n) => n.startsWith('.template-'));
    expect(templates).toEqual([`.template-${process.pid}-1`]);
    const template = path.join(root, templates[0]!);
    // The copies' index is the template's, byte for byte: git did not write these trees.
    const index = (wt: string) => fs.readFileSync(path.join(adminOf(wt), 'index'));
    expect(index(first).equals(index(template))).toBe(true);
    expect(index(second).equals(index(template))).toBe(true);
    expect(index(byGit).equals(index(template))).toBe(false);

    const expected = snapshot(byGit);
    expect(expected['run.sh']).toMatch(/^755 /);
    expect(expected['link.ts']).toBe('link src/deep/a.ts');
    expect(expected['crlf.txt']).toBe('644 one\r\ntwo\r\n');
    for (const [wt, name] of [
      [first, 'b'],
      [second, 'c'],
    ] as const) {
      expect(snapshot(wt)).toEqual(expected);
      expect(await git(wt, 'status', '--porcelain')).toBe('');
      expect(await git(wt, 'symbolic-ref', '--short', 'HEAD')).toBe(`samgita/${name}`);
      expect(await git(repo, 'rev-parse', `samgita/${name}`)).toBe(base);
      // The same reflog lines git's checkout writes for the branch and the worktree's HEAD.
      expect(await git(repo, 'reflog', 'show', '--format=%H %gs', `samgita/${name}`)).toBe(
        `${base} reset: moving to ${base}`,
      );
      expect(await git(wt, 'reflog', 'show', '--format=%H %gs %gn <%ge>', 'HEAD')).toBe(
        `${base} reset: moving to ${base} Samgita <samgita@example.invalid>`,
      );
    }
    expect(await git(repo, 'reflog', 'show', '--format=%gs', 'samgita/a')).toBe(`reset: moving to ${base}`);

    // Work in a copy: a change of the same size in the same second is still seen (the copied
    // index's stat data is the template's, so git reads the content), and a commit holds only it.
    fs.writeFileSync(path.join(first, 'src/deep/a.ts'), 'export const a = 2;\n');
    expect(await git(first, 'status', '--porcelain')).toBe('M src/deep/a.ts');
    await git(first, 'commit', '-qam', 'work');
    expect(await git(first, 'diff', '--name-only', `${base}..HEAD`)).toBe('src/deep/a.ts');
    expect(await git(repo, 'worktree', 'prune', '-n', '-v')).toBe('');
    expect(await git(repo, 'fsck', '--no-progress')).toBe('');
    await copies.close();
    expect(fs.readdirSync(root).filter((n) => n.startsWith('.template-'))).toEqual([]);
    expect(await git(repo, 'worktree', 'list')).not.toContain('.template-');
  });

  it('a base that moved retires its template; a dead runner’s template is swept', async () => {
    const { repo } = await smallRepo();
    const root = tmp();
    const deadPid = 2 ** 22 - 1;
    await addWorktree(repo, path.join(root, `.template-${deadPid}-1`), {
      detached: await git(repo, 'rev-parse', 'main'),
    });
    const copies = new CheckoutCopies();
    const opts = { copies: { from: copies, identity } };
    await ensureWorktree(repo, path.join(root, 'a'), 'samgita/a', 'main', opts);
    await ensureWorktree(repo, path.join(root, 'b'), 'samgita/b', 'main', opts);
    const names = () => fs.readdirSync(root).filter((n) => n.startsWith('.template-'));
    expect(names()).toEqual([`.template-${process.pid}-1`]);

    fs.writeFileSync(path.join(repo, 'new.txt'), 'n\n');
    await git(repo, 'add', '.');
    await git(repo, 'commit', '-qm', 'moved');
    const moved = await git(repo, 'rev-parse', 'main');
    const c = await ensureWorktree(repo, path.join(root, 'c'), 'samgita/c', 'main', opts);
    const d = await ensureWorktree(repo, path.join(root, 'd'), 'samgita/d', 'main', opts);
    await waitFor('the old template removed', async () => names().join() === `.template-${process.pid}-2`);
    for (const wt of [c, d]) {
      expect(await git(wt.path, 'rev-parse', 'HEAD')).toBe(moved);
      expect(fs.readFileSync(path.join(wt.path, 'new.txt'), 'utf8')).toBe('n\n');
      expect(await git(wt.path, 'status', '--porcelain')).toBe('');
    }
    await copies.close();
    expect(names()).toEqual([]);
  });

  it('a template deleted from outside is replaced; tasks meanwhile get git’s checkout', async () => {
    const { repo, base } = await smallRepo();
    const root = tmp();
    const copies = new CheckoutCopies();
    const opts = { copies: { from: copies, identity } };
    const names = () => fs.readdirSync(root).filter((n) => n.startsWith('.template-'));
    await ensureWorktree(repo, path.join(root, 'a'), 'samgita/a', 'main', opts);
    await ensureWorktree(repo, path.join(root, 'b'), 'samgita/b', 'main', opts);
    expect(names()).toEqual([`.template-${process.pid}-1`]);
    fs.rmSync(path.join(root, names()[0]!), { recursive: true, force: true });
    const c = await ensureWorktree(repo, path.join(root, 'c'), 'samgita/c', 'main', opts);
    const d = await ensureWorktree(repo, path.join(root, 'd'), 'samgita/d', 'main', opts);
    const e = await ensureWorktree(repo, path.join(root, 'e'), 'samgita/e', 'main', opts);
    // c found the template gone (git's checkout); d was the first to ask again (git's too); e made a new one and copied it.
    expect(names()).toEqual([`.template-${process.pid}-2`]);
    // Compared before `git status`, which rewrites an index whose stat data it refreshed.
    const index = (wt: string) => fs.readFileSync(path.join(adminOf(wt), 'index'));
    expect(index(e.path).equals(index(path.join(root, names()[0]!)))).toBe(true);
    expect(index(d.path).equals(index(path.join(root, names()[0]!)))).toBe(false);
    for (const wt of [c, d, e]) {
      expect(await git(wt.path, 'rev-parse', 'HEAD')).toBe(base);
      expect(await git(wt.path, 'status', '--porcelain')).toBe('');
    }
    await copies.close();
  });

  it('40 tasks starting at once share one template, each on its own branch with a clean tree', async () => {
    const { repo, base } = await smallRepo();
    const root = tmp();
    const copies = new CheckoutCopies();
    const made = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ensureWorktree(repo, path.join(root, `t${i}`), `samgita/t${i}`, 'main', { copies: { from: copies, identity } }),
      ),
    );
    expect(fs.readdirSync(root).filter((n) => n.startsWith('.template-'))).toHaveLength(1);
    const expected = snapshot(made[0]!.path);
    for (const [i, wt] of made.entries()) {
      expect(await git(wt.path, 'symbolic-ref', '--short', 'HEAD')).toBe(`samgita/t${i}`);
      expect(await git(repo, 'rev-parse', `samgita/t${i}`)).toBe(base);
      expect(await git(wt.path, 'status', '--porcelain')).toBe('');
      expect(snapshot(wt.path)).toEqual(expected);
    }
    expect(await git(repo, 'worktree', 'prune', '-n', '-v')).toBe('');
    await copies.close();
  });

  it('settings that tie an index to its directory leave every checkout to git', async () => {
    const { repo } = await smallRepo();
    await git(repo, 'config', 'core.untrackedCache', 'true');
    const root = tmp();
    const copies = new CheckoutCopies();
    for (const name of ['a', 'b', 'c']) {
      const wt = await ensureWorktree(repo, path.join(root, name), `samgita/${name}`, 'main', {
        copies: { from: copies, identity },
      });
      expect(await git(wt.path, 'status', '--porcelain')).toBe('');
    }
    expect(fs.readdirSync(root).filter((n) => n.startsWith('.template-'))).toEqual([]);
    await copies.close();
  });

  it('a branch whose lock a git holds is not written; without reflogs configured none is written', async () => {
    const { repo, base } = await smallRepo();
    const layout = await repoLayout(repo);
    const admin = tmp();
    const lock = path.join(layout.commonDir, 'refs/heads/samgita/x.lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    fs.writeFileSync(lock, '');
    expect(await writeNewBranch(layout, { branch: 'samgita/x', at: base, worktreeAdmin: admin, identity })).toBe(false);
    expect(fs.existsSync(lock)).toBe(true); // someone else's lock is left alone
    expect(await git(repo, 'branch', '--list', 'samgita/x')).toBe('');
    fs.rmSync(lock);
    // `refs/heads/main` is a file: `main/y` cannot be a ref, for git either.
    expect(await writeNewBranch(layout, { branch: 'main/y', at: base, worktreeAdmin: admin, identity })).toBe(false);
    expect(await writeNewBranch(layout, { branch: 'odd..name', at: base, worktreeAdmin: admin, identity })).toBe(false);

    const unlogged = { ...layout, logAllRefUpdates: false };
    expect(await writeNewBranch(unlogged, { branch: 'samgita/x', at: base, worktreeAdmin: admin, identity })).toBe(
      true,
    );
    expect(await git(repo, 'rev-parse', 'samgita/x')).toBe(base);
    expect(fs.existsSync(path.join(layout.commonDir, 'logs/refs/heads/samgita/x'))).toBe(false);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('reflog lines and the settings that decide copying, read as git reads them', () => {
    const at = new Date('2026-12-01T10:00:00Z');
    const line = reflogLine('0'.repeat(40), 'a'.repeat(40), identity, 'reset: moving to x', at);
    expect(line).toMatch(/^0{40} a{40} Samgita <samgita@example.invalid> 1796119200 [+-]\d{4}\treset: moving to x\n$/);
    expect(layoutSettings('')).toMatchObject({ copyable: true, logAllRefUpdates: true });
    expect(layoutSettings('core.bare true')).toMatchObject({ logAllRefUpdates: false });
    expect(layoutSettings('core.logallrefupdates false')).toMatchObject({ logAllRefUpdates: false });
    expect(layoutSettings('core.bare true\ncore.logallrefupdates always')).toMatchObject({ logAllRefUpdates: true });
    for (const blocker of [
      'core.fsmonitor true',
      'core.untrackedcache keep',
      'core.splitindex',
      'feature.manyfiles yes',
    ])
      expect(layoutSettings(blocker)).toMatchObject({ plain: true, copyable: false });
    expect(layoutSettings('core.fsmonitor false')).toMatchObject({ copyable: true });
    // Not plain is not copyable either.
    expect(layoutSettings('core.sparsecheckout true')).toMatchObject({ plain: false, copyable: false });
  });
});
