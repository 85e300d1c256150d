/**
 * Branch heads read from git's files (src/git/read-ref.ts) agree with
 * `git rev-parse` on real repositories, and every case the reader is not
 * sure of is handed back to git (undefined), never answered wrongly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { layoutSettings, repoLayout } from '../../src/git/layout.js';
import { parsePackedRefs, readRef, resolveBranchName } from '../../src/git/read-ref.js';
import { ensureWorktree } from '../../src/git/worktree.js';
import { git, makeRepo } from '../support/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function repoWithBranches(): Promise<{ repo: string; common: string; main: string; second: string }> {
  const repo = await makeRepo({ 'a.txt': 'a\n' });
  dirs.push(repo);
  const main = await git(repo, 'rev-parse', 'main');
  fs.writeFileSync(path.join(repo, 'b.txt'), 'b\n');
  await git(repo, 'add', '.');
  await git(repo, 'commit', '-qm', 'second');
  const second = await git(repo, 'rev-parse', 'HEAD');
  await git(repo, 'reset', '-q', '--hard', main);
  await git(repo, 'branch', 'samgita/integration', second);
  return { repo, common: (await repoLayout(repo)).commonDir, main, second };
}

describe('branch heads from git files', () => {
  it('loose and packed refs resolve to what git rev-parse says; a missing branch is null', async () => {
    const { repo, common, main, second } = await repoWithBranches();
    expect(await resolveBranchName(common, 'main')).toBe(main);
    expect(await resolveBranchName(common, 'samgita/integration')).toBe(second);
    expect(await readRef(common, 'refs/heads/samgita/nope')).toBeNull();
    // `refs/heads/samgita` is a directory here: no such ref, as for git.
    expect(await readRef(common, 'refs/heads/samgita')).toBeNull();
    expect(await readRef(common, 'refs/heads/main/deeper')).toBeNull();

    await git(repo, 'pack-refs', '--all');
    expect(fs.existsSync(path.join(common, 'refs/heads/samgita/integration'))).toBe(false);
    expect(await resolveBranchName(common, 'samgita/integration')).toBe(second);
    // A loose ref written after packing wins over the packed line, as in git.
    await git(repo, 'update-ref', 'refs/heads/samgita/integration', main);
    expect(await resolveBranchName(common, 'samgita/integration')).toBe(main);
    expect(await git(repo, 'rev-parse', 'samgita/integration')).toBe(main);
    // A re-packed file is read again (the cache follows the file).
    await git(repo, 'branch', '-f', 'later', second);
    await git(repo, 'pack-refs', '--all');
    expect(await readRef(common, 'refs/heads/later')).toBe(second);
  });

  it('hands back to git what it cannot be sure of: shadowing tags, symbolic refs, odd names', async () => {
    const { repo, common, main, second } = await repoWithBranches();
    // rev-parse prefers refs/tags/<name> over refs/heads/<name>.
    await git(repo, 'tag', 'samgita/integration', main);
    expect(await git(repo, 'rev-parse', 'samgita/integration^{commit}')).toBe(main);
    expect(await resolveBranchName(common, 'samgita/integration')).toBeUndefined();
    await git(repo, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main');
    expect(await readRef(common, 'refs/heads/alias')).toBeUndefined();
    for (const name of ['HEAD', 'a..b', 'x.lock', '-x', 'refs/heads/main', 'a//b', 'tail/']) {
      expect(await resolveBranchName(common, name)).toBeUndefined();
    }
    expect(second).not.toBe(main);
  });

  it('a task checkout resolves its base without git when it can, and still by git when it cannot', async () => {
    const { repo, main, second } = await repoWithBranches();
    const root = fs.mkdtempSync(path.join(repo, '..', 'samgita-rr-'));
    dirs.push(root);
    const first = await ensureWorktree(repo, path.join(root, 't1'), 'samgita/t1', 'samgita/integration');
    expect(first).toMatchObject({ resumed: false, baseSha: second });
    // Shadowed by a tag: git's answer (the tag's commit) is the one used.
    await git(repo, 'tag', 'samgita/integration', main);
    const shadowed = await ensureWorktree(repo, path.join(root, 't2'), 'samgita/t2', 'samgita/integration');
    expect(shadowed).toMatchObject({ resumed: false, baseSha: main });
    expect(await git(shadowed.path, 'rev-parse', 'HEAD')).toBe(main);
    // An existing branch (packed) is resumed, not reset.
    await git(repo, 'pack-refs', '--all');
    fs.rmSync(path.join(root, 't1'), { recursive: true, force: true });
    const again = await ensureWorktree(repo, path.join(root, 't1'), 'samgita/t1', 'main');
    expect(again).toMatchObject({ resumed: true });
    expect(await git(again.path, 'rev-parse', 'HEAD')).toBe(second);
  });

  it('repository settings: reftable, per-worktree config or sparse checkout leave the files to git', async () => {
    expect(layoutSettings('')).toMatchObject({ plain: true, filesRefs: true });
    expect(layoutSettings('extensions.refstorage files\ncore.sparsecheckout false\n')).toMatchObject({
      plain: true,
      filesRefs: true,
    });
    expect(layoutSettings('extensions.refstorage reftable')).toMatchObject({ plain: false, filesRefs: false });
    expect(layoutSettings('extensions.worktreeconfig true')).toMatchObject({ plain: false, filesRefs: true });
    expect(layoutSettings('core.sparsecheckout yes')).toMatchObject({ plain: false, filesRefs: true });
    // A bare key is true to git.
    expect(layoutSettings('core.sparsecheckout')).toMatchObject({ plain: false, filesRefs: true });
    // What git prints for a real repository, read through the same path.
    const repo = await makeRepo({ 'a.txt': 'a\n' });
    dirs.push(repo);
    await git(repo, 'config', 'core.sparseCheckout', 'on');
    expect(await repoLayout(repo)).toMatchObject({ plain: false, filesRefs: true });
  });

  it('packed-refs lines: comments and peeled lines are not refs', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const refs = parsePackedRefs(
      `# pack-refs with: peeled fully-peeled sorted \n${a} refs/heads/x\n${b} refs/tags/v1\n^${a}\n`,
    );
    expect([...refs]).toEqual([
      ['refs/heads/x', a],
      ['refs/tags/v1', b],
    ]);
  });
});
